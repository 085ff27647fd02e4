"""The data-flow diagram as a Mermaid flowchart, for Markdown (GitHub renders it in PRs).

- trust boundaries are (nested) subgraphs titled with their trust level;
- element kinds get different shapes and a «kind» line;
- elements with open findings get a class per worst severity and a count badge;
- unencrypted flows of sensitive data are dotted, red and say so.

Escaping: ids are generated (``n1``... elements, ``b1``... boundaries, ``g1``... overview
groups), never model text. Every label is a quoted string whose special characters are
Mermaid entity codes (``#quot;``, ``#lt;``, ``#35;``...): quotes, angle brackets, ``#``, ``&``,
brackets, braces, parentheses, pipes, backticks (which would also end a Markdown code fence),
``%`` (directives), colons and semicolons (Mermaid rewrites
``style ...:#...;`` anywhere on a line) and backslashes. Line breaks in model text become spaces.

Mermaid refuses diagrams with more than 500 edges (``maxEdges``) or 50,000 characters
(``maxTextSize``) by default. A model over either limit is split: ``diagram.mmd`` becomes an
overview (one node per top-level boundary, flows between them counted) and ``diagram-N.mmd``
hold the flows leaving each top-level boundary, chunked further when one part is still too big.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from threatgraph.engine.findings import severity_rank
from threatgraph.engine.rules import SEVERITIES
from threatgraph.formats.base import ReportFormat, ReportInput
from threatgraph.formats.view import (
    KIND_LABELS,
    SEVERITY_COLORS,
    TRUST_COLORS,
    UNENCRYPTED_COLOR,
    FlowView,
    ModelView,
    one_line,
)
from threatgraph.model.schema import Kind

#: Mermaid's default limits (mermaid.initialize: maxEdges, maxTextSize).
MAX_EDGES = 500
MAX_TEXT = 50_000

#: Opening and closing bracket of the node shape per kind.
SHAPES: dict[Kind, tuple[str, str]] = {
    Kind.ACTOR: ("[", "]"),  # rectangle
    Kind.APP: ("(", ")"),  # rounded
    Kind.PROCESS: ("([", "])"),  # stadium
    Kind.DATASTORE: ("[(", ")]"),  # cylinder
    Kind.LLM: ("{{", "}}"),  # hexagon
    Kind.ML_MODEL: ("[[", "]]"),  # subroutine
    Kind.AGENT: (">", "]"),  # asymmetric
    Kind.TOOL: ("[/", "\\]"),  # trapezoid
    Kind.VECTOR_STORE: ("[(", ")]"),
    Kind.MEMORY: ("[\\", "\\]"),  # parallelogram (alt)
    Kind.TRAINING_PIPELINE: ("[[", "]]"),
    Kind.DATASET: ("[\\", "/]"),  # trapezoid (alt)
    Kind.FEATURE_STORE: ("[(", ")]"),
    Kind.MODEL_REGISTRY: ("[[", "]]"),
    Kind.GUARDRAIL: ("{", "}"),  # rhombus
    Kind.EXTERNAL_CONTENT: ("[/", "/]"),  # parallelogram
    Kind.VENDOR: ("((", "))"),  # circle
}

_ENTITIES = {
    "#": "#35;",
    "&": "#amp;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "[": "#91;",
    "]": "#93;",
    "(": "#40;",
    ")": "#41;",
    "{": "#123;",
    "}": "#125;",
    "|": "#124;",
    "`": "#96;",
    "%": "#37;",
    "\\": "#92;",
    ";": "#59;",
    ":": "#58;",  # Mermaid drops a ';' after 'style...:...#' on a line; no ':' means no match
}
_TABLE = str.maketrans(_ENTITIES)
BADGE = "\u26a0"


def escape(text: str) -> str:
    """One line of model text as the inside of a quoted Mermaid label."""
    return one_line(text).translate(_TABLE)


def label(*lines: str) -> str:
    """A quoted, escaped label; our own line breaks are ``<br/>``."""
    return '"' + "<br/>".join(escape(line) for line in lines if line) + '"'


@dataclass
class _Part:
    title: str
    elements: set[str]
    flows: list[FlowView]


def _node(view: ModelView, e: str) -> str:
    el = view.graph.elements[e]
    lines = [el.name, f"\u00ab{KIND_LABELS[el.kind]}\u00bb"]
    worst = view.worst_open(e)
    if worst is not None:
        lines.append(f"{BADGE} {len(view.open_by_element[e])} open ({worst})")
    o, c = SHAPES[el.kind]
    return f"{view.element_sid[e]}{o}{label(*lines)}{c}"


def _boundary_has(view: ModelView, bid: str, elements: set[str]) -> bool:
    if any(e in elements for e in view.elements_in(bid)):
        return True
    return any(_boundary_has(view, c, elements) for c in view.child_boundaries(bid))


def _subgraph(view: ModelView, bid: str, elements: set[str], depth: int) -> list[str]:
    pad = "    " * depth
    name, trust = view.boundary_label(bid)
    sid = view.boundary_sid[bid]
    out = [f"{pad}subgraph {sid}[{label(f'{name} · {trust} trust')}]"]
    for child in view.child_boundaries(bid):
        if _boundary_has(view, child, elements):
            out.extend(_subgraph(view, child, elements, depth + 1))
    for e in view.elements_in(bid):
        if e in elements:
            out.append(f"{pad}    {_node(view, e)}")
    out.append(f"{pad}end")
    return out


def _classes(view: ModelView, pairs: Iterable[tuple[str, str | None]]) -> list[str]:
    by_sev: dict[str, list[str]] = {}
    for sid, sev in pairs:
        if sev is not None:
            by_sev.setdefault(sev, []).append(sid)
    out = []
    for sev in reversed(SEVERITIES):
        if sev in by_sev:
            fill, font, border = SEVERITY_COLORS[sev]
            out.append(
                f"    classDef sev{sev} fill:{fill},color:{font},stroke:{border},stroke-width:2px"
            )
            out.append(f"    class {','.join(by_sev[sev])} sev{sev}")
    return out


def _flow_lines(flows: list[FlowView]) -> tuple[list[str], list[int]]:
    lines, red = [], []
    for i, fv in enumerate(flows):
        text = [fv.name]
        if fv.data:
            text.append(fv.data_text())
        text.append(one_line(fv.flow.protocol) or "protocol unspecified")
        if fv.unencrypted_sensitive:
            text.insert(0, f"{BADGE} UNENCRYPTED sensitive data")
            lines.append(f"    {fv.source} -.->|{label(*text)}| {fv.target}")
            red.append(i)
        else:
            lines.append(f"    {fv.source} -->|{label(*text)}| {fv.target}")
    return lines, red


def _diagram(view: ModelView, elements: set[str], flows: list[FlowView]) -> str:
    lines = ["flowchart LR"]
    for bid in view.child_boundaries(None):
        if _boundary_has(view, bid, elements):
            lines.extend(_subgraph(view, bid, elements, 1))
    for e in view.elements_in(None):
        if e in elements:
            lines.append(f"    {_node(view, e)}")
    flow_lines, red = _flow_lines(flows)
    lines.extend(flow_lines)
    lines.extend(
        _classes(view, ((view.element_sid[e], view.worst_open(e)) for e in sorted(elements)))
    )
    for bid in sorted(view.graph.boundaries):
        if _boundary_has(view, bid, elements):
            color = TRUST_COLORS[view.graph.boundaries[bid].trust]
            lines.append(
                f"    style {view.boundary_sid[bid]} fill:none,stroke:{color},"
                "stroke-width:2px,stroke-dasharray:6 4"
            )
    if red:
        lines.append(
            f"    linkStyle {','.join(map(str, red))} stroke:{UNENCRYPTED_COLOR},"
            f"stroke-width:3px,color:{UNENCRYPTED_COLOR}"
        )
    return "\n".join(lines) + "\n"


def _group_name(view: ModelView, group: str | None) -> str:
    if group is None:
        return "outside any boundary"
    name, trust = view.boundary_label(group)
    return f"{name} ({trust})"


def _overview(view: ModelView, groups: list[str | None], max_edges: int) -> str:
    gid = {g: f"g{i}" for i, g in enumerate(groups, 1)}
    lines = ["flowchart LR"]
    worst: dict[str, str | None] = {}
    for g in groups:
        members = [e for e in view.graph.elements if view.top_boundary(e) == g]
        open_n = sum(len(view.open_by_element.get(e, [])) for e in members)
        sevs = [s for e in members if (s := view.worst_open(e)) is not None]
        worst[gid[g]] = max(sevs, key=severity_rank) if sevs else None
        text = [_group_name(view, g), f"{len(members)} elements"]
        if open_n:
            text.append(f"{BADGE} {open_n} open findings")
        lines.append(f"    {gid[g]}[{label(*text)}]")
    between: dict[tuple[str, str], list[FlowView]] = {}
    for fv in view.flows:
        s = gid[view.top_boundary(fv.flow.source)]
        t = gid[view.top_boundary(fv.flow.target)]
        if s != t:
            between.setdefault((s, t), []).append(fv)
    red = []
    pairs = sorted(between, key=lambda p: (int(p[0][1:]), int(p[1][1:])))
    for i, (s, t) in enumerate(pairs[:max_edges]):
        fvs = between[(s, t)]
        text = [f"{len(fvs)} flow{'s' if len(fvs) != 1 else ''}"]
        bad = sum(fv.unencrypted_sensitive for fv in fvs)
        if bad:
            text.append(f"{BADGE} {bad} unencrypted sensitive")
            red.append(i)
        lines.append(f"    {s} -->|{label(*text)}| {t}")
    lines.extend(_classes(view, worst.items()))
    if red:
        lines.append(
            f"    linkStyle {','.join(map(str, red))} stroke:{UNENCRYPTED_COLOR},stroke-width:3px"
        )
    return "\n".join(lines) + "\n"


def _chunks(
    view: ModelView, part: _Part, max_edges: int, max_text: int
) -> list[tuple[set[str], list[FlowView]]]:
    """Split a part's flows into diagrams within both limits (the first keeps every element)."""
    text = _diagram(view, part.elements | _ends(part.flows), part.flows)
    if len(part.flows) <= max_edges and len(text) <= max_text:
        return [(part.elements | _ends(part.flows), part.flows)]
    if len(part.flows) <= 1:
        return [(part.elements | _ends(part.flows), part.flows)]  # cannot split one flow
    half = len(part.flows) // 2
    first = _Part(part.title, part.elements, part.flows[:half])
    rest = _Part(part.title, set(), part.flows[half:])
    return _chunks(view, first, max_edges, max_text) + _chunks(view, rest, max_edges, max_text)


def _ends(flows: list[FlowView]) -> set[str]:
    out: set[str] = set()
    for fv in flows:
        out.add(fv.flow.source)
        out.add(fv.flow.target)
    return out


def render_mermaid(
    view: ModelView, max_edges: int = MAX_EDGES, max_text: int = MAX_TEXT
) -> tuple[list[tuple[str, str]], list[str]]:
    """The Mermaid files for a model and a title for each (titles empty when not split).

    Returns ``([("diagram.mmd", text)], [""])`` when the whole model fits Mermaid's limits,
    else an overview in diagram.mmd and parts in diagram-1.mmd, diagram-2.mmd...
    """
    everything = set(view.graph.elements)
    whole = _diagram(view, everything, view.flows)
    if len(view.flows) <= max_edges and len(whole) <= max_text:
        return [("diagram.mmd", whole)], [""]
    tops = view.child_boundaries(None)
    groups: list[str | None] = [*tops]
    if view.elements_in(None):
        groups.append(None)
    files = [("diagram.mmd", _overview(view, groups, max_edges))]
    titles = ["Overview: top-level trust boundaries and the flows between them"]
    n = 0
    for g in groups:
        members = {e for e in view.graph.elements if view.top_boundary(e) == g}
        flows = [fv for fv in view.flows if fv.flow.source in members]
        if not members:
            continue
        chunks = _chunks(view, _Part(_group_name(view, g), members, flows), max_edges, max_text)
        for k, (els, fls) in enumerate(chunks, 1):
            n += 1
            files.append((f"diagram-{n}.mmd", _diagram(view, els, fls)))
            more = f", {k} of {len(chunks)}" if len(chunks) > 1 else ""
            titles.append(
                f"Part {n}: {_group_name(view, g)}{more} "
                f"({len(fls)} flow{'s' if len(fls) != 1 else ''} leaving it)"
            )
    return files, titles


class MermaidFormat(ReportFormat):
    """diagram.mmd (and diagram-N.mmd parts for big models): the Mermaid flowchart."""

    name = "mermaid"
    summary = "diagram.mmd: Mermaid flowchart (split into parts over Mermaid's limits)"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """The Mermaid files drawn for this model."""
        return dict(inp.diagrams.mermaid)


FORMAT = MermaidFormat()

__all__ = ["FORMAT", "MAX_EDGES", "MAX_TEXT", "SHAPES", "escape", "label", "render_mermaid"]
