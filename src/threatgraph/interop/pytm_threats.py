"""pytm's classic threat library, run by pytm's own engine, as threatgraph findings.

``check --pytm-threats`` (config ``pytm_threats = true``) calls :func:`pytm_findings` for each
model. A model loaded from a pytm file is evaluated on its original pytm objects (carried on
its ``LoadedModel``, however many models the run has), so pytm's
own attributes (``usesEnvironmentVariables``, ``tlsVersion``...) count exactly as in
``python tm.py --report``. Any other model (YAML, Python DSL, OTM) is first rebuilt as a pytm
model with the tables in :mod:`threatgraph.load.pytm_map`.

Each pytm finding becomes a :class:`~threatgraph.engine.findings.Finding` of a
:class:`PytmRule` built from pytm's threat data: id ``pytm:<SID>``, severity and likelihood
mapped, CWE and OWASP references kept where the reference index knows them (the others become
a note), and a checklist of the catalogue controls that match the control flags pytm's
condition reads. pytm decides applicability, so these findings are open unless a decision in
the model says otherwise.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import re
import sys
from collections import deque
from typing import Any

from pydantic import Field

from threatgraph.engine.findings import CheckItem, Finding, finding_id
from threatgraph.engine.library import Library
from threatgraph.engine.rules import ElementPred, FlowPred, Match, Mitigation, Rule
from threatgraph.graph import Graph
from threatgraph.load import pytm_map
from threatgraph.load.pytm_loader import LOCK, PytmSource, pytm_state
from threatgraph.load.registry import LoadedModel
from threatgraph.model.schema import (
    SENSITIVE,
    Classification,
    Element,
    Flow,
    Kind,
    Location,
    SystemModel,
    Trust,
)
from threatgraph.util.errors import InputError

PYTM_RULE_ID_PATTERN = r"^pytm:[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class PytmRule(Rule):
    """A rule made from one pytm threat. pytm's engine, not threatgraph's, decides matches.

    ``match`` records what pytm targets (element kinds, or flows) for readers and reports;
    it is never compiled. The id is ``pytm:<SID>`` so it cannot collide with library ids.
    """

    id: str = Field(pattern=PYTM_RULE_ID_PATTERN)


def pytm_version() -> str:
    """The installed pytm version (for references and reports)."""
    try:
        return importlib.metadata.version("pytm")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - pytm is a dependency
        return "unknown"


# -- references -----------------------------------------------------------------------------

_CWE_URL = re.compile(r"cwe\.mitre\.org/data/definitions/(\d+)\.html", re.IGNORECASE)
_CAPEC_URL = re.compile(r"capec\.mitre\.org/data/definitions/(\d+)\.html", re.IGNORECASE)


def _url_index(index: dict[str, Any]) -> dict[str, str]:
    """URL -> pinned reference, for URLs that name exactly one entry of the index."""
    schemes = index.get("schemes") or {}
    entries = index.get("entries") or {}
    seen: dict[str, list[str]] = {}
    for scheme, items in entries.items():
        edition = (schemes.get(scheme) or {}).get("edition")
        if not isinstance(items, dict) or edition is None:
            continue
        for rid, entry in items.items():
            if isinstance(entry, dict) and entry.get("url"):
                url = str(entry["url"]).rstrip("/").lower()
                # An entry may be pinned to its own edition (CoSAI's 2025 risks under SAIF).
                pinned = entry.get("edition", edition)
                seen.setdefault(url, []).append(f"{scheme}:{rid}@{pinned}")
    return {u: refs[0] for u, refs in seen.items() if len(refs) == 1}


def map_references(text: str, index: dict[str, Any]) -> tuple[list[str], list[str]]:
    """pytm's free-text references -> (pinned references in the index, the rest as text).

    CWE links become ``cwe:CWE-N@<edition>`` when the index has that weakness; a link equal to
    an index entry's URL becomes that entry. CAPEC links are shortened to ``CAPEC-N``.
    """
    schemes = index.get("schemes") or {}
    cwe_entries = (index.get("entries") or {}).get("cwe") or {}
    cwe_edition = (schemes.get("cwe") or {}).get("edition")
    by_url = _url_index(index)
    refs: list[str] = []
    rest: list[str] = []
    for part in (p.strip() for p in re.split(r",\s+|\s*\n\s*", text or "")):
        if not part:
            continue
        m = _CWE_URL.search(part)
        ref: str | None = None
        if m and cwe_edition is not None and f"CWE-{m.group(1)}" in cwe_entries:
            ref = f"cwe:CWE-{m.group(1)}@{cwe_edition}"
        elif part.rstrip("/").lower() in by_url:
            ref = by_url[part.rstrip("/").lower()]
        if ref is not None:
            if ref not in refs:
                refs.append(ref)
            continue
        capec = _CAPEC_URL.search(part)
        label = f"CAPEC-{capec.group(1)}" if capec else (f"CWE-{m.group(1)}" if m else part)
        if label not in rest:
            rest.append(label)
    return refs, rest


# -- rules ----------------------------------------------------------------------------------

_FLAG = re.compile(r"target\.(?:(source|sink)\.)?controls\.(\w+)")
_ATTR = re.compile(r"target\.(\w+)")


def _targets(threat: Any) -> list[str]:
    out = []
    for t in threat.target or ():
        name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
        out.append(name)
    return out


def _mitigations(threat: Any, targets: list[str]) -> list[Mitigation]:
    """Catalogue controls for the control flags pytm's condition reads, where they count."""
    cond = threat.condition or ""
    on_flows = "Dataflow" in targets
    on_elements = any(t != "Dataflow" for t in targets)
    own: list[str] = (["element"] if on_elements else []) + (["flow"] if on_flows else [])
    found: dict[str, tuple[list[str], list[str]]] = {}  # control -> (places, flags)
    for end, flag in _FLAG.findall(cond):
        places = ["source"] if end == "source" else ["target"] if end == "sink" else own
        for control in pytm_map.CONTROL_OF_FLAG.get(flag, ()):
            at, flags = found.setdefault(control, ([], []))
            at.extend(p for p in places if p not in at)
            if flag not in flags:
                flags.append(flag)
    attrs = set(_ATTR.findall(cond))
    for cls in targets:
        for attr, controls in pytm_map.CONTROL_OF_ATTRIBUTE.get(cls, {}).items():
            if attr in attrs:
                for control in controls:
                    at, flags = found.setdefault(control, ([], []))
                    if "element" not in at:
                        at.append("element")
                    if attr not in flags:
                        flags.append(attr)
    out = [
        Mitigation(
            control=control,
            at=at,  # type: ignore[arg-type]
            why="pytm's condition reads " + ", ".join(flags) + " (see the mapping table).",
        )
        for control, (at, flags) in found.items()
    ]
    if out:
        return out
    text = " ".join((threat.mitigations or "").split())
    if len(text) > 300:
        text = text[:297] + "..."
    return [
        Mitigation(
            control=f"pytm:{threat.id}",
            at=own,  # type: ignore[arg-type]
            why=text or "No catalogue control matches this pytm threat's condition.",
        )
    ]


def build_rule(threat: Any, index: dict[str, Any]) -> tuple[PytmRule, list[str]]:
    """A validated rule from one pytm Threat, and the references that stay as notes."""
    sid = str(threat.id)
    targets = _targets(threat)
    refs, rest = map_references(threat.references or "", index)
    title = " ".join((threat.description or "").split()) or f"pytm threat {sid}"
    if len(title) < 5:
        title = f"pytm {sid}: {title}"
    if len(title) > 120:
        title = title[:117] + "..."
    description = " ".join((threat.details or "").split())
    if len(description) < 40:
        description = f"{title}. {description} (pytm threat {sid})".strip()
    kinds = sorted(
        {pytm_map.KIND_OF_CLASS[t] for t in targets if t in pytm_map.KIND_OF_CLASS},
        key=lambda k: k.value,
    )
    if kinds or "Dataflow" not in targets:
        match = Match(element=ElementPred(kind=kinds or None))
    else:
        match = Match(flow=FlowPred())
    severity = pytm_map.SEVERITY_OF.get((threat.severity or "").strip().lower(), "medium")
    likelihood = pytm_map.LIKELIHOOD_OF.get(
        (threat.likelihood or "").strip().lower(), pytm_map.DEFAULT_LIKELIHOOD
    )
    cond = " ".join((threat.condition or "").split())
    rule = PytmRule(
        id=f"pytm:{sid}",
        title=title,
        family="pytm",
        description=description,
        severity=severity,  # type: ignore[arg-type]
        likelihood=likelihood,  # type: ignore[arg-type]
        stride=list(pytm_map.stride_for(sid)),  # type: ignore[arg-type]
        references=refs or [f"pytm:{sid}@{pytm_version()}"],
        mitigations=_mitigations(threat, targets),
        mitigated_when="all",
        match=match,
        detection="pytm's engine evaluates this condition on each "
        f"{', '.join(targets) or 'element'}: {cond or 'True'}",
        false_positives="pytm reads only its own attributes and control flags: a control "
        "declared in threatgraph that has no pytm flag (see docs/migrating-from-pytm.md) is "
        "invisible to it.",
        tags=["pytm", sid],
    )
    return rule, rest


# -- running pytm's engine ------------------------------------------------------------------


def _run_engine(src: PytmSource, where: Location) -> list[Any]:
    """pytm's check() and resolve() on a source's objects; pytm's own findings."""
    with LOCK, pytm_state(src.state), contextlib.redirect_stdout(sys.stderr):
        try:
            src.tm.check()
            for obj, attrs, controls in src.fixups:
                for k, v in attrs.items():
                    setattr(obj, k, v)
                for k, v in controls.items():
                    setattr(obj.controls, k, v)
            src.tm.resolve()
        except Exception as exc:
            raise InputError.single(
                where.file,
                where.line,
                f"pytm's engine failed on this model: {type(exc).__name__}: "
                + " ".join(str(exc).split())[:300],
            ) from None
        return list(src.tm.findings)


def pytm_findings(loaded: LoadedModel, graph: Graph, lib: Library) -> list[Finding]:
    """Findings of pytm's threat library on one loaded model, sorted like library findings."""
    model = loaded.model
    where = model.location or Location(file=str(loaded.path), line=0)
    # A pytm file's model carries its original pytm objects; any other model is rebuilt.
    src = loaded.pytm if loaded.pytm is not None else rebuild(model, graph)
    raw = _run_engine(src, where)
    threats = {str(t.id): t for t in src.state.threats}
    rules: dict[str, tuple[PytmRule, list[str]]] = {}
    out: list[Finding] = []
    for pf in raw:
        target = src.targets.get(id(pf.element))
        threat = threats.get(str(pf.threat_id))
        if target is None or threat is None:
            continue
        if threat.id not in rules:
            rules[threat.id] = build_rule(threat, lib.references)
        rule, rest = rules[threat.id]
        out.append(_finding(rule, rest, pf, target, graph, where))
    out.sort(key=lambda f: f.sort_key())
    return out


def _finding(
    rule: PytmRule,
    rest: list[str],
    pf: Any,
    target: Element | Flow,
    graph: Graph,
    where: Location,
) -> Finding:
    if isinstance(target, Flow):
        primary, other, flow = target.target, target.source, target.id
        bound = target.id
        loc = target.location or graph.elements[primary].location or where
        subject = f"flow '{target.name or target.id}'"
    else:
        primary, other, flow = target.id, None, None
        bound = target.id
        loc = target.location or where
        subject = target.name
    checklist = []
    for m in rule.mitigations:
        places = tuple(m.at or ())
        present_at: list[str] = []
        if not m.control.startswith("pytm:"):
            for place in places:
                if place == "element" and flow is None:
                    holder = graph.elements[primary].control_ids()
                    if m.control in holder:
                        present_at.append(primary)
                elif place == "flow" and flow is not None:
                    if m.control in graph.flows[flow].flow.control_ids():
                        present_at.append(flow)
                elif place in ("source", "target") and isinstance(target, Flow):
                    end = target.source if place == "source" else target.target
                    if m.control in graph.elements[end].control_ids():
                        present_at.append(end)
        checklist.append(CheckItem(m.control, bool(present_at), tuple(present_at), places, m.why))
    notes = []
    if rest:
        notes.append("pytm references: " + ", ".join(rest))
    if getattr(pf, "response", ""):
        notes.append(f"pytm response: {pf.response}")
    severity = pytm_map.SEVERITY_OF.get(str(pf.severity or "").strip().lower(), rule.severity)
    return Finding(
        id=finding_id(rule.id, [bound]),
        rule=rule,
        model_id=graph.model.model.id,
        element=primary,
        elements=(primary, other) if other else (primary,),
        flow=flow,
        path=(),
        path_flows=(),
        sources=(),
        location=loc,
        severity=severity,
        checklist=checklist,
        explanation=f"pytm's threat {rule.id.removeprefix('pytm:')} applies to {subject}: "
        "its condition holds on the pytm model.",
        notes=notes,
    )


# -- rebuilding a pytm model from a threatgraph model ---------------------------------------


def _upstream_untrusted(graph: Graph, element_id: str) -> bool:
    """Whether anything untrusted (or outside content) reaches the element through flows."""
    seen = {element_id}
    todo = deque([element_id])
    while todo:
        cur = todo.popleft()
        for fid in graph.flows_in[cur]:
            src = graph.flows[fid].flow.source
            if src in seen:
                continue
            seen.add(src)
            el = graph.elements[src]
            if el.kind is Kind.EXTERNAL_CONTENT or graph.trust[src].rank < Trust.INTERNAL.rank:
                return True
            todo.append(src)
    return False


def rebuild(model: SystemModel, graph: Graph) -> PytmSource:
    """A pytm model equivalent to a threatgraph model, for pytm's engine.

    Kinds become pytm classes by ``CLASS_OF_KIND``, declared controls become pytm control
    flags by ``CONTROL_OF_FLAG`` (every flag whose control is declared), and the AI attributes
    pytm's LLM and Agent threats read are derived from the graph.
    """
    import pytm

    with pytm_state() as state:
        tm = pytm.TM(model.model.name, description=model.model.description or model.model.name)
        state = pytm.TM._state
        made: list[Any] = [tm]
        bounds: dict[str, Any] = {}
        for b in model.boundaries:
            bounds[b.id] = pytm.Boundary(b.name, description=b.description or "")
            made.append(bounds[b.id])
        for b in model.boundaries:
            if b.parent and b.parent in bounds:
                bounds[b.id].inBoundary = bounds[b.parent]
        datas: dict[str, Any] = {}
        for d in model.data:
            level, pii, cred = pytm_map.PYTM_CLASSIFICATION[d.classification]
            datas[d.id] = pytm.Data(
                d.name,
                description=d.description or "",
                classification=pytm.Classification[level],
                isPII=pii,
                isCredentials=cred,
            )
            made.append(datas[d.id])
        targets: dict[int, Element | Flow] = {}
        objs: dict[str, Any] = {}
        for el in model.elements:
            obj = _pytm_element(pytm, el, graph)
            if el.boundary and el.boundary in bounds:
                obj.inBoundary = bounds[el.boundary]
            owned = [datas[d] for d in [*el.stores, *el.processes] if d in datas]
            if owned and hasattr(obj, "data"):
                obj.data = owned
            objs[el.id] = obj
            targets[id(obj)] = el
            made.append(obj)
        fixups: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
        for fl in model.flows:
            f = pytm.Dataflow(objs[fl.source], objs[fl.target], fl.name or fl.id)
            f.data = [datas[d] for d in fl.data if d in datas]
            flags = {flag: True for flag in pytm_map.flags_for_controls(fl.control_ids())}
            flags["isEncrypted"] = fl.is_encrypted
            # pytm says whether the source proves who it is: a person by signing in, a
            # program by its own identity (a person's session an app passes on is not the
            # app's). A drawn answer's source is the server, which pytm does not ask about.
            own = "user" if graph.elements[fl.source].kind is Kind.ACTOR else "service"
            flags["authenticatesSource"] = fl.authn in (own, "both") or flags.get(
                "authenticatesSource", False
            )
            attrs: dict[str, Any] = {"protocol": (fl.protocol or "").upper()}
            for k, v in attrs.items():
                setattr(f, k, v)
            for k, v in flags.items():
                setattr(f.controls, k, v)
            # pytm's check() copies the sink's protocol and encryption onto every flow; put
            # the flow's own facts back afterwards.
            fixups.append((f, attrs, {"isEncrypted": flags["isEncrypted"]}))
            targets[id(f)] = fl
            made.append(f)
    return PytmSource(tm, state, targets, made, original=False, fixups=fixups)


def _pytm_element(pytm: Any, el: Element, graph: Graph) -> Any:
    cls_name = pytm_map.CLASS_OF_KIND[el.kind]
    cls = getattr(pytm, cls_name)
    obj = cls(el.name, description=el.description or "")
    declared = el.control_ids()
    for flag in pytm_map.flags_for_controls(declared):
        if flag not in pytm_map.FLOW_ONLY_FLAGS:
            setattr(obj.controls, flag, True)
    for attr, controls in pytm_map.CONTROL_OF_ATTRIBUTE.get(cls_name, {}).items():
        setattr(obj, attr, any(c in declared for c in controls))
    handled = graph.element_data(el.id)
    stored = {graph.data[d].classification for d in el.stores if d in graph.data}
    out_kinds = {graph.elements[graph.flows[f].flow.target].kind for f in graph.flows_out[el.id]}
    in_kinds = {graph.elements[graph.flows[f].flow.source].kind for f in graph.flows_in[el.id]}
    if cls_name == "LLM":
        third = el.provider is not None or el.source == "vendor"
        obj.isThirdParty = third
        obj.isSelfHosted = not third
        obj.processesPersonalData = bool(handled & {Classification.PII, Classification.PHI})
        obj.executesCode = "execute_code" in el.capabilities or el.interpreter in (
            "python",
            "shell",
            "javascript",
        )
        obj.hasAgentCapabilities = bool(el.capabilities) or Kind.TOOL in out_kinds
        obj.hasAccessToSensitiveSystems = any(
            graph.element_data(graph.flows[f].flow.target) & SENSITIVE
            for f in graph.flows_out[el.id]
        )
        obj.processesUntrustedInput = _upstream_untrusted(graph, el.id)
        obj.hasRAG = Kind.VECTOR_STORE in in_kinds
        obj.hasFineTuning = bool(el.trained_on)
    elif cls_name == "Agent":
        obj.usesExternalTools = Kind.TOOL in out_kinds or bool(el.capabilities)
    elif cls_name == "Datastore":
        obj.storesPII = bool(stored & {Classification.PII, Classification.PHI})
        obj.storesSensitiveData = bool(stored & SENSITIVE)
        obj.isSQL = el.kind is Kind.DATASTORE and el.interpreter in (None, "sql")
        obj.isShared = bool(el.multi_tenant)
    if "pytm:out-of-scope" in el.tags:
        obj.inScope = False
    return obj
