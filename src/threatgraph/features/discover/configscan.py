"""Configuration recognisers: MCP client configs, Docker Compose and Kubernetes manifests,
and dependency files (requirements, pyproject, lock files, package.json).

YAML and JSON are read with threatgraph's safe reader (no tags, no alias expansion, bounded
depth); a file it refuses is skipped with a warning. Nothing named in a config is run or
fetched: an MCP server's command is recorded, never started.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from threatgraph.features.discover import catalog
from threatgraph.features.discover.common import key, tech_component
from threatgraph.features.discover.result import Discovery, Evidence, Package
from threatgraph.util.errors import InputError
from threatgraph.util.yamlsafe import LineDict, LineList, parse_json, parse_text

_LAUNCHERS = {"npx": "npm", "bunx": "npm", "pnpx": "npm", "uvx": "pypi", "pipx": "pypi"}
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")
_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
_K8S_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "Pod", "Job", "CronJob", "ReplicaSet"}
)


def norm_package(name: str) -> str:
    """A dependency name as the catalogue spells it (lower case, ``_`` and ``.`` as ``-``)."""
    if name.startswith("@"):
        return name.lower()
    return re.sub(r"[-_.]+", "-", name).lower()


def _line(doc: Any, k: str) -> int:
    if isinstance(doc, LineDict):
        return doc.key_lines.get(k, doc.line)
    return 0


def _parse(rel: str, text: str, found: Discovery, *, json: bool) -> Any:
    try:
        return parse_json(text, rel) if json else parse_text(text, rel)
    except InputError as exc:
        problem = exc.problems[0] if exc.problems else None
        found.warnings.append(f"{problem}" if problem else f"{rel}: not read")
        return None


# -- MCP client configurations ----------------------------------------------------------------


def is_mcp_config(rel: str) -> bool:
    """Whether ``rel`` is an MCP client configuration file discovery reads."""
    name = rel.rsplit("/", 1)[-1]
    return name in ("mcp.json", ".mcp.json", "claude_desktop_config.json")


def scan_mcp_config(rel: str, text: str, found: Discovery) -> None:
    """Each server of an MCP client config: command or URL, transport, pinned or not."""
    doc = _parse(rel, _strip_jsonc(text), found, json=True)
    if not isinstance(doc, dict):
        return
    servers = doc.get("mcpServers", doc.get("servers"))
    if not isinstance(servers, LineDict):
        return
    for name in sorted(servers):
        spec = servers[name]
        if isinstance(spec, dict):
            ev = Evidence(rel, _line(servers, name), f"MCP server {name!r} configured")
            mcp_server(found, str(name), spec, ev)


def mcp_server(found: Discovery, name: str, spec: dict[str, Any], ev: Evidence) -> None:
    """One MCP server of a client configuration (a config file, or a dict literal in code
    given to an MCP client): command or URL, transport, and whether its package is pinned."""
    comp = found.add(key("mcp_server", name), "mcp_server", f"MCP server {name}", ev)
    comp.tech = "mcp"
    url = spec.get("url") or spec.get("serverUrl")
    command = spec.get("command")
    args = [str(a) for a in spec.get("args") or [] if isinstance(a, str | int)]
    declared = str(spec.get("type") or spec.get("transport") or "")
    if isinstance(url, str):
        comp.command = url
        sse = declared == "sse" or url.rstrip("/").endswith("/sse")
        comp.transport = "sse" if sse else "streamable_http"
    elif isinstance(command, str):
        comp.command = " ".join([command, *args])
        comp.transport = "stdio"
        launcher = command.rsplit("/", 1)[-1]
        if launcher in _LAUNCHERS:
            package = _launched_package(launcher, args)
            comp.at_runtime = True
            comp.pinned = package is not None and _pinned_spec(package, _LAUNCHERS[launcher])
            comp.image = package
        elif launcher == "docker":
            image = next((a for a in args if not a.startswith("-") and a != "run"), None)
            comp.image = image
            comp.pinned = image is not None and _image_pinned(image)
            comp.at_runtime = True


def _strip_jsonc(text: str) -> str:
    """VS Code's mcp.json may hold ``//`` comments: blank them (keeping lines) outside strings."""
    out: list[str] = []
    in_str = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_str:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            out.append(ch)
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _launched_package(launcher: str, args: list[str]) -> str | None:
    rest = list(args)
    if launcher == "pipx" and rest[:1] == ["run"]:
        rest = rest[1:]
    for idx, a in enumerate(rest):
        if a == "--from" and idx + 1 < len(rest):
            return rest[idx + 1]
        if a.startswith("--from="):
            return a.split("=", 1)[1]
        if a.startswith("--package=") or a.startswith("-p="):
            return a.split("=", 1)[1]
    return next((a for a in rest if not a.startswith("-")), None)


def _pinned_spec(package: str, registry: str) -> bool:
    if registry == "npm":
        at = package.rfind("@")
        version = package[at + 1 :] if at > 0 else ""
        return bool(re.match(r"^\d+\.\d+\.\d+", version))
    return "==" in package


def _image_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    tail = image.rsplit("/", 1)[-1]
    return ":" in tail and tail.rsplit(":", 1)[1] not in ("latest", "main", "nightly")


# -- Docker Compose and Kubernetes -------------------------------------------------------------


def is_compose(rel: str) -> bool:
    """Whether ``rel`` is named like a Docker Compose file."""
    name = rel.rsplit("/", 1)[-1].lower()
    return name.startswith(("docker-compose", "compose")) and name.endswith((".yml", ".yaml"))


def scan_compose(rel: str, text: str, found: Discovery) -> None:
    """Services of a Compose file that run model servers or AI infrastructure."""
    doc = _parse(rel, text, found, json=False)
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, LineDict):
        return
    for name in sorted(services):
        svc = services[name]
        if not isinstance(svc, dict) or not isinstance(svc.get("image"), str):
            continue
        ports = [str(p) for p in svc.get("ports") or [] if isinstance(p, str | int)]
        _image(found, rel, _line(services, name), name, svc["image"], ports)


def scan_kubernetes(rel: str, text: str, found: Discovery) -> None:
    """Containers of Kubernetes workloads that run model servers or AI infrastructure."""
    if "apiVersion" not in text or "image" not in text:
        return
    offset = 0
    for part in _DOC_SPLIT.split(text):
        doc = _parse(rel, part, found, json=False) if part.strip() else None
        if isinstance(doc, dict) and doc.get("kind") in _K8S_KINDS:
            meta = doc.get("metadata")
            wname = str(meta.get("name")) if isinstance(meta, dict) else rel
            for cont, line in _containers(doc):
                image = cont.get("image")
                if not isinstance(image, str):
                    continue
                ports = [
                    str(p.get("containerPort"))
                    for p in cont.get("ports") or []
                    if isinstance(p, dict) and p.get("containerPort") is not None
                ]
                _image(found, rel, offset + line, wname, image, ports)
        # The separator line's own newline starts the next part: its line 1 is that line.
        offset += part.count("\n")


def _containers(doc: Any) -> list[tuple[Any, int]]:
    out: list[tuple[Any, int]] = []
    stack = [doc]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for k in ("containers", "initContainers"):
                items = cur.get(k)
                if isinstance(items, LineList):
                    out.extend(
                        (c, items.item_lines[i]) for i, c in enumerate(items) if isinstance(c, dict)
                    )
            stack.extend(v for k, v in cur.items() if k not in ("containers", "initContainers"))
        elif isinstance(cur, list):
            stack.extend(cur)
    return sorted(out, key=lambda x: x[1])


def _image(found: Discovery, rel: str, line: int, name: str, image: str, ports: list[str]) -> None:
    lower = image.lower()
    entry = next((e for e in catalog.IMAGES if e[0] in lower), None)
    if entry is None:
        return
    _fragment, tech, label, category, platform = entry
    ev = Evidence(rel, line, f"{name}: image {image}")
    if category == "vector_store":
        comp = tech_component(found, catalog.BY_KEY[tech], ev)
    else:
        comp = found.add(key("deployment", f"{tech}-{name}"), "deployment", f"{label} ({name})", ev)
        comp.tech = tech
        comp.platform = platform
    comp.image = image
    comp.pinned = _image_pinned(image)
    comp.ports.update(ports)


# -- dependency files -----------------------------------------------------------------------


def is_dependency_file(rel: str) -> bool:
    """Whether ``rel`` is a dependency or lock file discovery reads."""
    name = rel.rsplit("/", 1)[-1]
    lower = name.lower()
    return name in ("pyproject.toml", "package.json") or (
        lower.startswith("requirements") and lower.endswith((".txt", ".in"))
    )


def scan_requirements(rel: str, text: str, found: Discovery, locked: set[str]) -> None:
    """AI packages of a requirements file; pinned with ``==`` (or a lock file beside it)."""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = _REQ.match(line)
        if m:
            pinned = "==" in m.group(3) or "--hash" in raw
            _package(found, m.group(1), "pypi", pinned or m.group(1).lower() in locked, rel, n)


def scan_pyproject(rel: str, text: str, found: Discovery, locked: set[str]) -> None:
    """AI packages of pyproject.toml (PEP 621 and Poetry tables)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found.warnings.append(f"{rel}: invalid TOML: {exc}")
        return
    lines = text.splitlines()
    specs: list[str] = []
    project = doc.get("project")
    if isinstance(project, dict):
        specs.extend(s for s in project.get("dependencies") or [] if isinstance(s, str))
        for group in (project.get("optional-dependencies") or {}).values():
            if isinstance(group, list):
                specs.extend(s for s in group if isinstance(s, str))
    poetry = (doc.get("tool") or {}).get("poetry") if isinstance(doc.get("tool"), dict) else None
    if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        for name, ver in poetry["dependencies"].items():
            specs.append(f"{name}=={ver}" if isinstance(ver, str) and ver[:1].isdigit() else name)
    for spec in specs:
        m = _REQ.match(spec)
        if not m:
            continue
        name = m.group(1)
        line = next((i for i, t in enumerate(lines, 1) if name in t), 0)
        pinned = "==" in m.group(3) or name.lower() in locked
        _package(found, name, "pypi", pinned, rel, line)


def scan_package_json(rel: str, text: str, found: Discovery, locked: set[str]) -> None:
    """AI packages of package.json; pinned when exact or listed in a lock file beside it."""
    doc = _parse(rel, text, found, json=True)
    if not isinstance(doc, dict):
        return
    for section in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        deps = doc.get(section)
        if not isinstance(deps, LineDict):
            continue
        for name in sorted(deps):
            ver = deps[name]
            exact = isinstance(ver, str) and bool(re.match(r"^\d+\.\d+\.\d+", ver))
            _package(found, name, "npm", exact or name.lower() in locked, rel, _line(deps, name))


def locked_names(rel: str, text: str) -> set[str]:
    """Package names a lock file lists (lower case): they are installed at a fixed version."""
    name = rel.rsplit("/", 1)[-1]
    out: set[str] = set()
    if name in ("poetry.lock", "uv.lock", "pdm.lock"):
        out.update(m.lower() for m in re.findall(r'^name\s*=\s*"([^"]+)"', text, re.MULTILINE))
    elif name == "package-lock.json":
        out.update(m.lower() for m in re.findall(r'"node_modules/((?:@[^/"]+/)?[^/"]+)"', text))
    elif name in ("pnpm-lock.yaml", "yarn.lock"):
        out.update(
            m.lower()
            for m in re.findall(r"^\s*['\"]?/?((?:@[^/@\s]+/)?[^@\s'\":/]+)@", text, re.MULTILINE)
        )
    elif name == "Pipfile.lock":
        out.update(m.lower() for m in re.findall(r'^\s{8}"([^"]+)":\s*\{', text, re.MULTILINE))
    return {norm_package(n) for n in out}


def _package(found: Discovery, name: str, registry: str, pinned: bool, rel: str, line: int) -> None:
    tech_key = catalog.PACKAGES.get(norm_package(name))
    if tech_key is None:
        return
    tech = catalog.BY_KEY[tech_key]
    ev = Evidence(rel, line, f"dependency {name}")
    pkg = Package(norm_package(name), "npm" if registry == "npm" else "pypi", pinned, ev)
    if tech.category is None:
        if pkg not in found.frameworks:
            found.frameworks.append(pkg)
        return
    comp = tech_component(found, tech, None)
    if pkg not in comp.packages:
        comp.packages.append(pkg)
