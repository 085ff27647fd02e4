"""A draft model from a discovery: YAML (default) or the Python DSL, byte-identical for the
same repository.

Every element carries ``tags: [discovered]``, the code it was found in as ``code`` patterns
(the links ``review`` and drift read) and a comment above it with the evidence (file:line).
Flows are drafted only where the code shows them (an app calls a model API, an agent its
tools and model, a retriever its store); the architect adds the rest.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Literal

from threatgraph.features.discover.result import Component, Discovery, Package
from threatgraph.model.schema import slugify

Format = Literal["yaml", "py"]
#: Tag on every drafted element and flow description prefix: what review should look at.
DISCOVERED_TAG = "discovered"
MAX_EVIDENCE = 6
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_GLOB = {"*": "[*]", "?": "[?]", "[": "[[]"}
_SHORT = {
    "agent": "agent",
    "tool": "tool",
    "mcp_server": "mcp",
    "vector_store": "store",
    "artifact": "model",
    "training": "training",
    "deployment": "deploy",
}
_SERVING = {"ollama", "vllm", "tgi", "triton", "torchserve"}


@dataclass
class _Element:
    id: str
    fields: dict[str, Any]
    evidence: list[str] = field(default_factory=list)


def display_name(text: str) -> str:
    """A name fit for a model: control characters as spaces, at most 120 characters."""
    name = " ".join(_CONTROL.sub(" ", text).split())[:120].strip()
    return name or "unnamed"


def _clean(text: str) -> str:
    """Text for a comment line: control and bidirectional characters shown as ``?``."""
    return _CONTROL.sub("?", text)


def code_pattern(path: str) -> str:
    """A repository path as a code pattern matching exactly it (glob characters escaped)."""
    return "".join(_GLOB.get(ch, ch) for ch in path)


def _software(packages: list[Package]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for p in sorted(packages):
        entry = seen.setdefault(
            (p.registry, p.name),
            {
                "kind": "package",
                "name": p.name,
                "origin": "open_source",
                "registry": p.registry,
                "pinned": True,
            },
        )
        entry["pinned"] = entry["pinned"] and p.pinned
    return list(seen.values())


def _evidence_lines(comp: Component) -> list[str]:
    items = [f"{e}: {e.what}" for e in sorted(comp.evidence)]
    items += [f"{p.evidence}: {p.evidence.what}" for p in sorted(comp.packages)]
    if len(items) > MAX_EVIDENCE:
        items = [*items[:MAX_EVIDENCE], f"... and {len(items) - MAX_EVIDENCE} more"]
    return items


def _mcp_server_fields(comp: Component, fields: dict[str, Any], desc: list[str]) -> str:
    """The fields and description of an MCP server; gives its boundary (a remote server is
    a third party's)."""
    fields["kind"] = "tool"
    fields["mcp"] = True
    if comp.transport:
        fields["transport"] = comp.transport
    if comp.command:
        how = "at" if "://" in comp.command else "started as"
        desc.append(f"{how} {comp.command}")
    else:
        desc.append("an MCP server defined in this repository")
    if comp.tools:
        desc.append("tools " + ", ".join(sorted(comp.tools)))
    if comp.image:
        registry = (
            "docker_hub"
            if "docker" in (comp.command or "")
            else (
                "npm"
                if (comp.command or "").split(" ")[0].endswith(("npx", "bunx", "pnpx"))
                else "pypi"
            )
        )
        fields["software"] = [
            {
                "kind": "mcp_server",
                "name": comp.image,
                "origin": "public",
                "registry": registry,
                "pinned": bool(comp.pinned),
                "at_runtime": bool(comp.at_runtime),
            }
        ]
        if not comp.pinned:
            desc.append("started from an unpinned package")
    if comp.command and "://" in comp.command:
        return "third-party"
    return "application"


def _artifact_fields(comp: Component, fields: dict[str, Any], desc: list[str]) -> None:
    """The fields and description of a model artifact loaded from a file or hub."""
    fields["kind"] = "ml_model"
    art: dict[str, Any] = {}
    if comp.artifact_format:
        art["format"] = comp.artifact_format
    if comp.hub:
        art["hub"] = comp.hub
        fields["source"] = "public_hub"
    if comp.pinned is not None:
        art["pinned"] = comp.pinned
    if comp.remote_code is not None:
        art["remote_code"] = comp.remote_code
    if comp.loader:
        art["loader"] = comp.loader
    fields["artifact"] = art
    desc.append(f"loaded with {comp.loader}")


class _Draft:
    def __init__(self, found: Discovery, name: str) -> None:
        self.found = found
        self.name = name
        self.elements: list[_Element] = []
        self.ids: dict[str, str] = {}  # component key -> element id
        self.flows: list[tuple[str, dict[str, Any], str]] = []  # id, fields, evidence
        self._taken: set[str] = set()

    def _id(self, base: str) -> str:
        out = slugify(base)
        n = 2
        while out in self._taken:
            out = f"{slugify(base)}-{n}"
            n += 1
        self._taken.add(out)
        return out

    def build(self) -> None:
        comps = self.found.sorted_components()
        code_files = sorted({e.file for c in comps for e in c.evidence})
        app_id = self._id("app")
        self.ids["app"] = app_id
        app: dict[str, Any] = {
            "name": f"{self.name} application",
            "kind": "app",
            "boundary": "application",
            "description": "Discovered: the code that uses the AI components below. Name it, "
            "split it into services, and add its users and data.",
        }
        if code_files:
            app["code"] = [code_pattern(f) for f in code_files]
        software = _software(self.found.frameworks)
        if software:
            app["software"] = software
        app["tags"] = [DISCOVERED_TAG]
        self.elements.append(_Element(app_id, app, [f"{len(code_files)} code files use AI"]))
        for comp in comps:
            if comp.category == "model_api":
                self._vendor(comp)
            else:
                self._component(comp)
        self._links()

    def _common(self, comp: Component, fields: dict[str, Any], description: list[str]) -> None:
        fields["description"] = "Discovered: " + "; ".join(description) + "."
        files = comp.files
        if files:
            fields["code"] = [code_pattern(f) for f in files]
        if comp.packages:
            fields.setdefault("software", []).extend(_software(comp.packages))
        fields["tags"] = [DISCOVERED_TAG]

    def _vendor(self, comp: Component) -> None:
        vendor_id = self._id(comp.vendor)
        vendor_name = comp.name.removesuffix(" API")
        self.elements.append(
            _Element(
                vendor_id,
                {
                    "name": vendor_name,
                    "kind": "vendor",
                    "boundary": "third-party",
                    "description": f"Discovered: the vendor behind {comp.name}. Add its "
                    "certifications, agreements and data terms.",
                    "tags": [DISCOVERED_TAG],
                },
                [f"vendor of {comp.key}"],
            )
        )
        llm_id = self._id(f"{comp.vendor}-api")
        self.ids[comp.key] = llm_id
        desc = []
        desc.append(
            "models " + ", ".join(sorted(comp.models)) if comp.models else "model names not literal"
        )
        if comp.env_vars:
            desc.append("API key from " + ", ".join(sorted(comp.env_vars)))
        elif comp.default_env:
            desc.append(f"API key from {comp.default_env} (the SDK default; not named in code)")
        if comp.declared_only:
            desc.append("declared as a dependency, no use found in code")
        fields: dict[str, Any] = {
            "name": comp.name,
            "kind": "llm",
            "boundary": "third-party",
            "provider": vendor_id,
            "source": "vendor",
        }
        self._common(comp, fields, desc)
        self.elements.append(_Element(llm_id, fields, _evidence_lines(comp)))

    def _component(self, comp: Component) -> None:
        short = _SHORT[comp.category]
        base = comp.name.removeprefix("MCP server ")
        # "Training in x.py" is already called what it is: no "training-training-...".
        named = slugify(base) == short or slugify(base).startswith(short + "-")
        eid = self._id(base if named else f"{short}-{base}")
        self.ids[comp.key] = eid
        fields: dict[str, Any] = {"name": comp.name}
        desc: list[str] = []
        boundary = "application"
        if comp.category == "agent":
            fields["kind"] = "agent"
            if comp.tools:
                desc.append("tools " + ", ".join(sorted(comp.tools)))
        elif comp.category == "tool":
            fields["kind"] = "tool"
            desc.append(f"a tool registered with {comp.tech}")
        elif comp.category == "mcp_server":
            boundary = _mcp_server_fields(comp, fields, desc)
        elif comp.category == "vector_store":
            fields["kind"] = "vector_store"
            if comp.image:
                desc.append(f"image {comp.image}")
        elif comp.category == "artifact":
            _artifact_fields(comp, fields, desc)
        elif comp.category == "training":
            fields["kind"] = "training_pipeline"
            desc.append("training or fine-tuning code")
        else:
            fields["kind"] = (
                "llm"
                if comp.platform in _SERVING
                else ("model_registry" if comp.platform == "mlflow" else "process")
            )
            fields["platform"] = comp.platform or "other"
            if comp.image:
                desc.append(f"image {comp.image}")
        if comp.ports:
            desc.append("ports " + ", ".join(sorted(comp.ports)))
        if comp.image and comp.category in ("deployment", "vector_store"):
            fields["software"] = [
                {
                    "kind": "container_image",
                    "name": comp.image,
                    "origin": "open_source",
                    "registry": "docker_hub",
                    "pinned": bool(comp.pinned),
                }
            ]
        caps = sorted(comp.capabilities)
        if caps:
            fields["capabilities"] = caps
        if comp.declared_only:
            desc.append("declared as a dependency, no use found in code")
        fields["boundary"] = boundary
        self._common(comp, fields, desc or [comp.name])
        self.elements.append(_Element(eid, fields, _evidence_lines(comp)))

    def _links(self) -> None:
        best: dict[tuple[str, str], Any] = {}
        for link in sorted(self.found.links):
            src, dst = self.ids.get(link.source), self.ids.get(link.target)
            if src is None or dst is None or src == dst:
                continue
            best.setdefault((src, dst), link)
        for (src, dst), link in sorted(best.items()):
            fields: dict[str, Any] = {
                "from": src,
                "to": dst,
                "name": link.name,
                "operation": link.operation,
            }
            target = next(e for e in self.elements if e.id == dst)
            if target.fields.get("boundary") == "third-party":
                fields["protocol"] = "https"
            fields["description"] = f"Discovered at {link.evidence}."
            self.flows.append((f"{src}-to-{dst}", fields, _clean(str(link.evidence))))


def draft(found: Discovery, name: str, fmt: Format = "yaml") -> str:
    """The draft model of ``found`` for a system called ``name``, as YAML or Python DSL text."""
    d = _Draft(found, display_name(name))
    d.build()
    for el in d.elements:
        el.fields["name"] = display_name(str(el.fields["name"]))
    return _yaml(d) if fmt == "yaml" else _python(d)


_HEADER = (
    "Draft threat model written by `threatgraph discover`. Every element and flow was found "
    "statically in the code (tag `discovered`, evidence as file:line above each). Review it: "
    "rename and merge elements, set boundaries and trust, add people, data, flows and "
    "controls, then drop the `discovered` tags you have confirmed. docs/discover.md"
)


def _wrap(text: str, width: int = 92) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def _y(value: Any) -> str:
    """A YAML flow value: JSON is YAML, and JSON escapes every control character."""
    return json.dumps(value, ensure_ascii=False)


def _yaml(d: _Draft) -> str:
    out = [f"# {line}" for line in _wrap(_HEADER)]
    out += [
        "threatgraph: 1",
        "model:",
        f"  name: {_y(d.name)}",
        f"  id: {_y(slugify(d.name))}",
        f"  description: {_y('Drafted from the code by threatgraph discover; to be reviewed.')}",
        "boundaries:",
        '  - {name: "Application", id: application, trust: internal}',
        '  - {name: "Third-party services", id: third-party, trust: third_party}',
        "elements:",
    ]
    for el in d.elements:
        out.extend(f"  # {_clean(e)}" for e in el.evidence)
        out.append(f"  - id: {_y(el.id)}")
        out.extend(f"    {k}: {_y(v)}" for k, v in el.fields.items())
    if d.flows:
        out.append("flows:")
        for fid, fields, ev in d.flows:
            out.append(f"  # {ev}")
            out.append(f"  - id: {_y(fid)}")
            out.extend(f"    {k}: {_y(v)}" for k, v in fields.items())
    return "\n".join(out) + "\n"


def _py(value: Any) -> str:
    """A Python literal; JSON's spelling of strings is a valid Python string literal."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _python(d: _Draft) -> str:
    out = [f"# {line}" for line in _wrap(_HEADER)]
    out += [
        '"""Draft threat model of '
        + json.dumps(d.name, ensure_ascii=True)[1:-1].replace('"""', "'''")
        + ', written by threatgraph discover."""',
        "",
        "from threatgraph import Model",
        "",
        f"m = Model({_py(d.name)}, description="
        f"{_py('Drafted from the code by threatgraph discover; to be reviewed.')})",
        'm.boundary("Application", id="application", trust="internal")',
        'm.boundary("Third-party services", id="third-party", trust="third_party")',
        "",
    ]
    for el in d.elements:
        f = dict(el.fields)
        out.extend(f"# {_clean(e)}" for e in el.evidence)
        kind, name = f.pop("kind"), f.pop("name")
        args = [_py(kind), _py(name), f"id={_py(el.id)}"]
        if "boundary" in f:
            args.append(f"inside={_py(f.pop('boundary'))}")
        args += [f"{k}={_py(v)}" for k, v in f.items()]
        out.append("m.element(")
        out.extend(f"    {a}," for a in args)
        out.append(")")
    for fid, fields, ev in d.flows:
        f = dict(fields)
        out.append(f"# {ev}")
        args = [_py(f.pop("from")), _py(f.pop("to")), _py(f.pop("name")), f"id={_py(fid)}"]
        args += [f"{k}={_py(v)}" for k, v in f.items()]
        out.append("m.flow(" + ", ".join(args) + ")")
    return "\n".join(out) + "\n"
