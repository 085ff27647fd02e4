"""Model diff for design reviews: what a change does to the modeled system and its threats.

Compares two analysed runs (the models at a base revision and in the working tree) by stable
ids: models by model id, findings by finding id, elements and flows by their ids. Reports
threats introduced and resolved, elements and flows added or removed, new trust-boundary
crossings, new flows of sensitive data, and controls removed (and added). Renders as text, as
Markdown for a pull-request comment (with a Mermaid diagram of what changed) and as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.graph import FlowFacts, Graph
from threatgraph.model.schema import SENSITIVE, Element

#: Most elements the Mermaid diagram of a diff shows before it says what it left out.
MAX_DIAGRAM_NODES = 80
DIFF_VERSION = "1.0"

PathFn = Callable[[str], str]


@dataclass(frozen=True)
class FlowChange:
    """A flow that is new, gone, newly crossing a boundary or newly carrying sensitive data."""

    model: str
    flow: FlowFacts
    graph: Graph
    detail: str = ""

    @property
    def id(self) -> str:
        """The flow id."""
        return self.flow.flow.id

    def text(self, arrow: str = "->") -> str:
        """'Source -> Target (name)'."""
        fl = self.flow.flow
        name = f" ({fl.name})" if fl.name else ""
        return f"{self.graph.describe(fl.source)} {arrow} {self.graph.describe(fl.target)}{name}"


@dataclass(frozen=True)
class ControlChange:
    """A control declared at base and not now (or the other way round)."""

    model: str
    owner_kind: str  # 'element', 'flow' or 'model'
    owner: str  # element or flow id, or the model id
    owner_name: str
    control: str


@dataclass
class ModelDiff:
    """Everything that changed between two analysed runs."""

    base_label: str
    head_label: str
    fail_on: str
    introduced: list[Finding] = field(default_factory=list)
    resolved: list[tuple[Finding, Finding | None]] = field(default_factory=list)
    models_added: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    models_removed: list[tuple[str, str]] = field(default_factory=list)
    elements_added: list[tuple[str, Element]] = field(default_factory=list)
    elements_removed: list[tuple[str, Element]] = field(default_factory=list)
    elements_changed: list[tuple[str, Element, list[str]]] = field(default_factory=list)
    flows_added: list[FlowChange] = field(default_factory=list)
    flows_removed: list[FlowChange] = field(default_factory=list)
    new_crossings: list[FlowChange] = field(default_factory=list)
    new_sensitive: list[FlowChange] = field(default_factory=list)
    controls_removed: list[ControlChange] = field(default_factory=list)
    controls_added: list[ControlChange] = field(default_factory=list)
    head_graphs: dict[str, Graph] = field(default_factory=dict)
    base_graphs: dict[str, Graph] = field(default_factory=dict)

    @property
    def failing(self) -> list[Finding]:
        """Introduced open findings at or above the gate."""
        t = severity_rank(self.fail_on)
        return [f for f in self.introduced if severity_rank(f.severity) >= t]

    @property
    def exit_code(self) -> int:
        """1 when the change introduces open findings at or above the gate, else 0."""
        return 1 if self.failing else 0

    @property
    def empty(self) -> bool:
        """Nothing changed that the diff reports."""
        return not any(
            (
                self.introduced,
                self.resolved,
                self.models_added,
                self.models_removed,
                self.elements_added,
                self.elements_removed,
                self.elements_changed,
                self.flows_added,
                self.flows_removed,
                self.controls_removed,
                self.controls_added,
            )
        )


def _sensitive(facts: FlowFacts) -> set[str]:
    return {d.classification.value for d in facts.data if d.classification in SENSITIVE}


def _controls(g: Graph) -> dict[tuple[str, str], tuple[str, set[str]]]:
    """(owner kind, owner id) -> (display name, control ids)."""
    out: dict[tuple[str, str], tuple[str, set[str]]] = {
        ("model", g.model.model.id): (g.model.model.name, {c.id for c in g.model.model.controls})
    }
    for eid, el in g.elements.items():
        out[("element", eid)] = (el.name, set(el.control_ids()))
    for fid, ff in g.flows.items():
        fl = ff.flow
        name = f"{g.describe(fl.source)} -> {g.describe(fl.target)}" + (
            f" ({fl.name})" if fl.name else ""
        )
        out[("flow", fid)] = (name, set(fl.control_ids()))
    return out


_IGNORED_FIELDS = frozenset({"location", "controls"})


def _element_changes(a: Element, b: Element) -> list[str]:
    """Names of the fields that differ (controls are reported on their own)."""
    da = a.model_dump(mode="json", exclude=set(_IGNORED_FIELDS))
    db = b.model_dump(mode="json", exclude=set(_IGNORED_FIELDS))
    return sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))


def compare(
    base: list[Any], head: list[Any], fail_on: str, base_label: str, head_label: str
) -> ModelDiff:
    """Compare two lists of pipeline.ModelResult (base revision, working tree)."""
    d = ModelDiff(base_label, head_label, fail_on)
    b_by = {r.model_id: r for r in base}
    h_by = {r.model_id: r for r in head}
    d.base_graphs = {m: r.graph for m, r in b_by.items()}
    d.head_graphs = {m: r.graph for m, r in h_by.items()}
    d.models_added = sorted(
        (m, r.loaded.model.model.name) for m, r in h_by.items() if m not in b_by
    )
    d.models_removed = sorted(
        (m, r.loaded.model.model.name) for m, r in b_by.items() if m not in h_by
    )

    base_open = {(f.model_id, f.id): f for r in base for f in r.findings if f.status == "open"}
    head_all = {(f.model_id, f.id): f for r in head for f in r.findings}
    d.introduced = sorted(
        (f for key, f in head_all.items() if f.status == "open" and key not in base_open),
        key=lambda f: (*f.sort_key(), f.model_id),
    )
    resolved = [
        (bf, head_all.get(key))
        for key, bf in base_open.items()
        if key not in head_all or head_all[key].status != "open"
    ]
    d.resolved = sorted(resolved, key=lambda p: (*p[0].sort_key(), p[0].model_id))

    for mid in sorted(set(b_by) | set(h_by)):
        hg = h_by[mid].graph if mid in h_by else None
        bg = b_by[mid].graph if mid in b_by else None
        h_el = hg.elements if hg else {}
        b_el = bg.elements if bg else {}
        for eid in sorted(set(h_el) - set(b_el)):
            d.elements_added.append((mid, h_el[eid]))
        for eid in sorted(set(b_el) - set(h_el)):
            d.elements_removed.append((mid, b_el[eid]))
        for eid in sorted(set(h_el) & set(b_el)):
            fields = _element_changes(b_el[eid], h_el[eid])
            if fields:
                d.elements_changed.append((mid, h_el[eid], fields))
        h_fl = hg.flows if hg else {}
        b_fl = bg.flows if bg else {}
        if hg is not None:
            for fid in sorted(set(h_fl) - set(b_fl)):
                d.flows_added.append(FlowChange(mid, h_fl[fid], hg))
            for fid in sorted(h_fl):
                facts = h_fl[fid]
                before = b_fl.get(fid)
                if facts.crosses_boundary and (before is None or not before.crosses_boundary):
                    src, dst = facts.flow.source, facts.flow.target
                    detail = f"{hg.trust[src].value} -> {hg.trust[dst].value}"
                    d.new_crossings.append(FlowChange(mid, facts, hg, detail))
                new_data = _sensitive(facts) - (_sensitive(before) if before else set())
                if new_data:
                    enc = "encrypted" if facts.flow.is_encrypted else "NOT encrypted"
                    detail = f"{', '.join(sorted(new_data))}; {enc}"
                    d.new_sensitive.append(FlowChange(mid, facts, hg, detail))
        if bg is not None:
            for fid in sorted(set(b_fl) - set(h_fl)):
                d.flows_removed.append(FlowChange(mid, b_fl[fid], bg))
        if hg is not None and bg is not None:
            hc, bc = _controls(hg), _controls(bg)
            for key in sorted(set(hc) & set(bc)):
                name, now = hc[key]
                _, before_ids = bc[key]
                for cid in sorted(before_ids - now):
                    d.controls_removed.append(ControlChange(mid, key[0], key[1], name, cid))
                for cid in sorted(now - before_ids):
                    d.controls_added.append(ControlChange(mid, key[0], key[1], name, cid))
    return d


# -- rendering ----------------------------------------------------------------------------


def _loc(f: Finding, path: PathFn) -> str:
    return f"{path(f.location.file)}:{f.location.line}"


def _why_resolved(head: Finding | None) -> str:
    if head is None:
        return "no longer matches"
    if head.status == "mitigated":
        return "mitigated" + (" (decision)" if head.decision is not None else "")
    if head.status == "accepted" and head.decision is not None and head.decision.expires:
        return f"accepted until {head.decision.expires.isoformat()}"
    return head.status.replace("_", " ")


def _el_name(d: ModelDiff, f: Finding, base: bool = False) -> str:
    graphs = d.base_graphs if base else d.head_graphs
    g = graphs.get(f.model_id)
    return g.describe(f.element) if g else f.element


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(d: ModelDiff, head_path: PathFn, base_path: PathFn) -> str:
    """The diff for a terminal."""
    out = [f"threatgraph diff: {d.base_label} -> {d.head_label}"]

    def section(title: str, rows: list[str]) -> None:
        if rows:
            out.append(f"{title} ({len(rows)}):")
            out.extend(f"  {r}" for r in rows)

    if d.introduced:
        out.append(f"threats introduced ({len(d.introduced)}):")
        for f in d.introduced:
            out.append(
                f"  + {_loc(f, head_path)}: {f.rule.id} {f.severity} {f.rule.title} "
                f"({_el_name(d, f)})"
            )
            if f.missing:
                out.append(f"      missing: {', '.join(f.missing)}")
    section(
        "threats resolved",
        [
            f"- {bf.rule.id} {bf.severity} {bf.rule.title} ({_el_name(d, bf, base=True)}): "
            f"{_why_resolved(hf)}"
            for bf, hf in d.resolved
        ],
    )
    section("models added", [f"+ {name} ({mid})" for mid, name in d.models_added])
    section("models removed", [f"- {name} ({mid})" for mid, name in d.models_removed])
    section(
        "elements added",
        [f"+ {e.name} ({e.kind.value}, {e.id}) in {m}" for m, e in d.elements_added],
    )
    section(
        "elements removed",
        [f"- {e.name} ({e.kind.value}, {e.id}) in {m}" for m, e in d.elements_removed],
    )
    section(
        "elements changed",
        [f"~ {e.name} ({e.id}): {', '.join(fs)}" for _, e, fs in d.elements_changed],
    )
    section("flows added", [f"+ {c.text()}" for c in d.flows_added])
    section("flows removed", [f"- {c.text()}" for c in d.flows_removed])
    section("new trust-boundary crossings", [f"! {c.text()}: {c.detail}" for c in d.new_crossings])
    section("new flows of sensitive data", [f"! {c.text()}: {c.detail}" for c in d.new_sensitive])
    section(
        "controls removed",
        [f"- {c.control} from {c.owner_kind} {c.owner_name}" for c in d.controls_removed],
    )
    section(
        "controls added",
        [f"+ {c.control} on {c.owner_kind} {c.owner_name}" for c in d.controls_added],
    )
    if d.empty:
        out.append("no changes to the models' elements, flows, controls or threats.")
    failing = len(d.failing)
    if failing:
        out.append(
            f"FAIL: the change introduces {_count(failing, 'open finding')} at or above "
            f"'{d.fail_on}'."
        )
    else:
        out.append(f"PASS: the change introduces no open finding at or above '{d.fail_on}'.")
    from threatgraph.util.safetext import terminal

    return "\n".join(terminal(line) for line in out) + "\n"


def _md() -> tuple[Callable[[str | None], str], Callable[[str], str]]:
    # The Markdown escaper (which also keeps '@' from mentioning anyone in a PR comment).
    from threatgraph.formats.markdown import code, escape

    return escape, code


def render_markdown(d: ModelDiff, head_path: PathFn, base_path: PathFn) -> str:
    """The diff as a Markdown pull-request comment, with a Mermaid diagram."""
    md, ident = _md()
    failing = len(d.failing)
    verdict = (
        f"**FAIL**: introduces {_count(failing, 'open finding')} at or above `{d.fail_on}`"
        if failing
        else f"**PASS**: no new open finding at or above `{d.fail_on}`"
    )
    out = [
        "## threatgraph: model changes",
        "",
        f"Compared {md(d.base_label)} with {md(d.head_label)}. {verdict}.",
        "",
        "| Threats introduced | Threats resolved | Elements +/- | Flows +/- | Controls removed |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {len(d.introduced)} | {len(d.resolved)} | "
        f"{len(d.elements_added)} / {len(d.elements_removed)} | "
        f"{len(d.flows_added)} / {len(d.flows_removed)} | {len(d.controls_removed)} |",
        "",
    ]
    if d.introduced:
        out += [
            "### Threats introduced",
            "",
            "| Severity | Threat | Element | Where | Missing controls |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in d.introduced:
            out.append(
                f"| {f.severity} | {ident(f.rule.id)} {md(f.rule.title)} | {md(_el_name(d, f))} "
                f"| {ident(_loc(f, head_path))} | "
                f"{', '.join(ident(c) for c in f.missing) or '-'} |"
            )
        out.append("")
    if d.resolved:
        out += [
            "### Threats resolved",
            "",
            "| Severity | Threat | Element | Now |",
            "| --- | --- | --- | --- |",
        ]
        for bf, hf in d.resolved:
            out.append(
                f"| {bf.severity} | {ident(bf.rule.id)} {md(bf.rule.title)} | "
                f"{md(_el_name(d, bf, base=True))} | {md(_why_resolved(hf))} |"
            )
        out.append("")

    def bullets(title: str, rows: list[str]) -> None:
        if rows:
            out.extend([f"### {title}", "", *[f"- {r}" for r in rows], ""])

    bullets("Models added", [f"{md(name)} ({ident(mid)})" for mid, name in d.models_added])
    bullets("Models removed", [f"{md(name)} ({ident(mid)})" for mid, name in d.models_removed])
    bullets(
        "Elements added",
        [f"{md(e.name)} ({md(e.kind.value)}, {ident(e.id)})" for _, e in d.elements_added],
    )
    bullets(
        "Elements removed",
        [f"{md(e.name)} ({md(e.kind.value)}, {ident(e.id)})" for _, e in d.elements_removed],
    )
    bullets(
        "Elements changed",
        [
            f"{md(e.name)} ({ident(e.id)}): {', '.join(md(x) for x in fs)}"
            for _, e, fs in d.elements_changed
        ],
    )
    arrow = "\u2192"
    bullets("Flows added", [md(c.text(arrow)) for c in d.flows_added])
    bullets("Flows removed", [md(c.text(arrow)) for c in d.flows_removed])
    bullets(
        "New trust-boundary crossings",
        [f"{md(c.text(arrow))}: {md(c.detail.replace('->', arrow))}" for c in d.new_crossings],
    )
    bullets(
        "New flows of sensitive data",
        [f"{md(c.text(arrow))}: {md(c.detail)}" for c in d.new_sensitive],
    )
    bullets(
        "Controls removed",
        [f"{ident(c.control)} from {c.owner_kind} {md(c.owner_name)}" for c in d.controls_removed],
    )
    bullets(
        "Controls added",
        [f"{ident(c.control)} on {c.owner_kind} {md(c.owner_name)}" for c in d.controls_added],
    )
    diagram = render_mermaid(d)
    if diagram:
        out += ["### What changed", "", "```mermaid", diagram.rstrip("\n"), "```", ""]
        out.append(
            "Green: added. Red, dashed: removed. Amber: changed. "
            "Thick red border: carries a threat this change introduces."
        )
        out.append("")
    if d.empty:
        out += ["No changes to the models' elements, flows, controls or threats.", ""]
    return "\n".join(out)


def render_mermaid(d: ModelDiff) -> str:
    """A Mermaid flowchart of the changed elements and flows, or '' when nothing changed."""
    from threatgraph.formats.mermaid import label

    added = {(m, e.id) for m, e in d.elements_added}
    removed = {(m, e.id) for m, e in d.elements_removed}
    changed = {(m, e.id) for m, e, _ in d.elements_changed}
    changed |= {
        (c.model, c.owner)
        for c in d.controls_removed + d.controls_added
        if c.owner_kind == "element"
    }
    threat = {(f.model_id, f.element) for f in d.introduced}
    flows_add = {(c.model, c.id) for c in d.flows_added}
    flows_rm = {(c.model, c.id) for c in d.flows_removed}
    flows_changed = {(c.model, c.id) for c in d.new_crossings + d.new_sensitive}
    nodes = set(added | removed | changed | threat)
    for c in d.flows_added + d.flows_removed:
        nodes.add((c.model, c.flow.flow.source))
        nodes.add((c.model, c.flow.flow.target))
    for c in d.new_crossings + d.new_sensitive:
        nodes.add((c.model, c.flow.flow.source))
        nodes.add((c.model, c.flow.flow.target))
    if not nodes:
        return ""
    ordered = sorted(nodes)
    omitted = 0
    if len(ordered) > MAX_DIAGRAM_NODES:
        omitted = len(ordered) - MAX_DIAGRAM_NODES
        ordered = ordered[:MAX_DIAGRAM_NODES]
    sid = {n: f"n{i + 1}" for i, n in enumerate(ordered)}
    lines = ["flowchart LR"]
    models = sorted({m for m, _ in ordered})
    for mi, mid in enumerate(models, 1):
        g = d.head_graphs.get(mid) or d.base_graphs[mid]
        if len(models) > 1:
            lines.append(f"  subgraph m{mi}[{label(g.model.model.name)}]")
        for key in ordered:
            if key[0] != mid:
                continue
            hg, bg = d.head_graphs.get(mid), d.base_graphs.get(mid)
            el = (hg.elements.get(key[1]) if hg else None) or (bg.elements[key[1]] if bg else None)
            assert el is not None
            lines.append(f"    {sid[key]}[{label(el.name, el.kind.value)}]")
        if len(models) > 1:
            lines.append("  end")
    edges: list[tuple[str, str]] = []  # (line, style class)
    for mid in models:
        hg, bg = d.head_graphs.get(mid), d.base_graphs.get(mid)
        seen: set[str] = set()
        for gr, is_head in ((hg, True), (bg, False)):
            if gr is None:
                continue
            for fid in sorted(gr.flows):
                fl = gr.flows[fid].flow
                a, b = (mid, fl.source), (mid, fl.target)
                if a not in sid or b not in sid or fid in seen:
                    continue
                if not is_head and (mid, fid) not in flows_rm:
                    continue
                seen.add(fid)
                name = label(fl.name) if fl.name else ""
                arrow = "-.->" if (mid, fid) in flows_rm else "-->"
                text = f"|{name}|" if name else ""
                if (mid, fid) in flows_add:
                    style = "added"
                elif (mid, fid) in flows_rm:
                    style = "removed"
                elif (mid, fid) in flows_changed:
                    style = "changed"
                else:
                    style = ""
                edges.append((f"  {sid[a]} {arrow}{text} {sid[b]}", style))
    lines.extend(e for e, _ in edges)
    colors = {"added": "#1a7f37", "removed": "#cf222e", "changed": "#bf8700"}
    for i, (_, style) in enumerate(edges):
        if style:
            lines.append(f"  linkStyle {i} stroke:{colors[style]},stroke-width:3px")
    lines += [
        "  classDef added fill:#dafbe1,stroke:#1a7f37,color:#000",
        "  classDef removed fill:#ffebe9,stroke:#cf222e,stroke-dasharray:5 5,color:#000",
        "  classDef changed fill:#fff8c5,stroke:#bf8700,color:#000",
        "  classDef threat stroke:#cf222e,stroke-width:4px",
    ]
    for cls, members in (
        ("added", added),
        ("removed", removed),
        ("changed", changed - added - removed),
        ("threat", threat),
    ):
        ids = [sid[n] for n in ordered if n in members]
        if ids:
            lines.append(f"  class {','.join(ids)} {cls}")
    if omitted:
        lines.append(f"  more[{label(f'{omitted} more changed elements not shown')}]")
    return "\n".join(lines) + "\n"


def to_json(d: ModelDiff, head_path: PathFn, base_path: PathFn) -> str:
    """The diff as a JSON document (stable order)."""

    def finding(f: Finding, path: PathFn) -> dict[str, Any]:
        return {
            "id": f.id,
            "model": f.model_id,
            "threat": f.rule.id,
            "title": f.rule.title,
            "severity": f.severity,
            "status": f.status,
            "element": f.element,
            "location": {"file": path(f.location.file), "line": f.location.line},
            "missing": f.missing,
        }

    def flow(c: FlowChange) -> dict[str, Any]:
        fl = c.flow.flow
        return {
            "model": c.model,
            "id": fl.id,
            "source": fl.source,
            "target": fl.target,
            "name": fl.name,
            "detail": c.detail,
        }

    def ctl(c: ControlChange) -> dict[str, Any]:
        return {"model": c.model, "on": c.owner_kind, "owner": c.owner, "control": c.control}

    doc = {
        "schema_version": DIFF_VERSION,
        "base": d.base_label,
        "head": d.head_label,
        "gate": d.fail_on,
        "failing": len(d.failing),
        "introduced": [finding(f, head_path) for f in d.introduced],
        "resolved": [{**finding(bf, base_path), "now": _why_resolved(hf)} for bf, hf in d.resolved],
        "models_added": [m for m, _ in d.models_added],
        "models_removed": [m for m, _ in d.models_removed],
        "elements_added": [
            {"model": m, "id": e.id, "kind": e.kind.value} for m, e in d.elements_added
        ],
        "elements_removed": [
            {"model": m, "id": e.id, "kind": e.kind.value} for m, e in d.elements_removed
        ],
        "elements_changed": [
            {"model": m, "id": e.id, "fields": fs} for m, e, fs in d.elements_changed
        ],
        "flows_added": [flow(c) for c in d.flows_added],
        "flows_removed": [flow(c) for c in d.flows_removed],
        "new_trust_boundary_crossings": [flow(c) for c in d.new_crossings],
        "new_sensitive_flows": [flow(c) for c in d.new_sensitive],
        "controls_removed": [ctl(c) for c in d.controls_removed],
        "controls_added": [ctl(c) for c in d.controls_added],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
