"""The renderings of a model diff (``threatgraph diff``): text, Markdown, Mermaid, JSON.

:func:`threatgraph.features.diff.compare` computes the :class:`ModelDiff`; this module only
writes it, with the Markdown and Mermaid escapers of the format layer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from threatgraph.formats.common import count_text
from threatgraph.formats.markdown import code, escape
from threatgraph.formats.mermaid import label
from threatgraph.formats.text import missing_text
from threatgraph.util.safetext import terminal

if TYPE_CHECKING:
    from threatgraph.features.diff import ControlChange, FlowChange, ModelDiff
    from threatgraph.model.schema import Element
    from threatgraph.results import Finding

#: Most elements the Mermaid diagram of a diff shows before it says what it left out.
MAX_DIAGRAM_NODES = 80
DIFF_VERSION = "1.0"

#: A file path as the output shows it (relative to the repository, or at the base revision).
PathFn = Callable[[str], str]


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


class _Words(NamedTuple):
    """How one format writes model text: names, identifiers, and a flow's arrow."""

    name: Callable[[str], str]
    ident: Callable[[str], str]
    arrow: str


_PLAIN = _Words(str, str, "->")
_MARKDOWN = _Words(escape, code, "\u2192")


def _change_lists(d: ModelDiff, w: _Words) -> list[tuple[str, str, list[str]]]:
    """Each kind of change to the models as (title, mark, rows), in the order every format
    lists them; ``w`` says how the format writes names."""

    def element(e: Element) -> str:
        return f"{w.name(e.name)} ({w.name(e.kind.value)}, {w.ident(e.id)})"

    def flow(c: FlowChange, detail: str | None = None) -> str:
        text = w.name(c.text(w.arrow))
        return text if detail is None else f"{text}: {w.name(detail)}"

    return [
        ("models added", "+", [f"{w.name(n)} ({w.ident(m)})" for m, n in d.models_added]),
        ("models removed", "-", [f"{w.name(n)} ({w.ident(m)})" for m, n in d.models_removed]),
        ("elements added", "+", [f"{element(e)} in {w.ident(m)}" for m, e in d.elements_added]),
        (
            "elements removed",
            "-",
            [f"{element(e)} in {w.ident(m)}" for m, e in d.elements_removed],
        ),
        (
            "elements changed",
            "~",
            [
                f"{w.name(e.name)} ({w.ident(e.id)}): {', '.join(map(w.name, fs))}"
                for _, e, fs in d.elements_changed
            ],
        ),
        ("flows added", "+", [flow(c) for c in d.flows_added]),
        ("flows removed", "-", [flow(c) for c in d.flows_removed]),
        (
            "new trust-boundary crossings",
            "!",
            [flow(c, c.detail.replace("->", w.arrow)) for c in d.new_crossings],
        ),
        ("new flows of sensitive data", "!", [flow(c, c.detail) for c in d.new_sensitive]),
        (
            "controls removed",
            "-",
            [
                f"{w.ident(c.control)} from {c.owner_kind} {w.name(c.owner_name)}"
                for c in d.controls_removed
            ],
        ),
        (
            "controls added",
            "+",
            [
                f"{w.ident(c.control)} on {c.owner_kind} {w.name(c.owner_name)}"
                for c in d.controls_added
            ],
        ),
    ]


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
            # What closes it (an introduced finding is open), worded as `check` words it.
            closes = missing_text(f)
            if closes:
                out.append(f"      {closes}")
    section(
        "threats resolved",
        [
            f"- {bf.rule.id} {bf.severity} {bf.rule.title} ({_el_name(d, bf, base=True)}): "
            f"{_why_resolved(hf)}"
            for bf, hf in d.resolved
        ],
    )
    for title, mark, rows in _change_lists(d, _PLAIN):
        section(title, [f"{mark} {r}" for r in rows])
    if d.empty:
        out.append("no changes to the models' elements, flows, controls or threats.")
    failing = len(d.failing)
    if failing:
        out.append(
            f"FAIL: the change introduces {count_text(failing, 'open finding')} at or above "
            f"'{d.fail_on}'."
        )
    else:
        out.append(f"PASS: the change introduces no open finding at or above '{d.fail_on}'.")
    return "\n".join(terminal(line) for line in out) + "\n"


def _md_threats(d: ModelDiff, head_path: PathFn) -> list[str]:
    """The tables of threats introduced and resolved (none when there are none)."""
    md, ident = escape, code
    out: list[str] = []
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

    return out


def _md_changes(d: ModelDiff) -> list[str]:
    """The lists of models, elements, flows and controls added, removed or changed."""
    out: list[str] = []
    for title, _, rows in _change_lists(d, _MARKDOWN):
        if rows:
            out.extend([f"### {title.capitalize()}", "", *[f"- {r}" for r in rows], ""])
    return out


def render_markdown(d: ModelDiff, head_path: PathFn, base_path: PathFn) -> str:
    """The diff as a Markdown pull-request comment, with a Mermaid diagram."""
    # The Markdown escaper (which also keeps '@' from mentioning anyone in a PR comment).
    md = escape
    failing = len(d.failing)
    verdict = (
        f"**FAIL**: introduces {count_text(failing, 'open finding')} at or above `{d.fail_on}`"
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
    out += _md_threats(d, head_path)
    out += _md_changes(d)
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
