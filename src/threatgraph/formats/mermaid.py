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

import re
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
#: Any character that needs an entity (most names have none: translate() is the slow part).
_SPECIAL = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")
#: The open-findings and unencrypted mark: ASCII, as in the Graphviz diagram.
BADGE = "!"


def escape(text: str) -> str:
    """One line of model text as the inside of a quoted Mermaid label."""
    line = one_line(text)
    return line.translate(_TABLE) if _SPECIAL.search(line) else line


def label(*lines: str) -> str:
    """A quoted, escaped label; our own line breaks are ``<br/>``."""
    return '"' + "<br/>".join(escape(line) for line in lines if line) + '"'


@dataclass
class _Part:
    title: str
    elements: set[str]
    flows: list[FlowView]


class _Drawer:
    """The pieces of one model's diagrams, each made once.

    A big model is drawn as an overview and many parts, and a part that is too big is
    measured and split again: node lines, edge lines and boundary lines are the same in
    every diagram that shows them, so they are escaped and formatted once here and a
    diagram is only their assembly.
    """

    def __init__(self, view: ModelView) -> None:
        self.view = view
        self.worst: dict[str, str] = {
            e: max((f.severity for f in fs), key=severity_rank)
            for e, fs in view.open_by_element.items()
            if fs
        }
        self.boundaries = sorted(view.graph.boundaries)
        self._nodes: dict[str, str] = {}
        self._edges: dict[str, tuple[str, bool]] = {}
        self._heads: dict[str, str] = {}
        self._styles: dict[str, str] = {}
        self._escaped: dict[str, str] = {}

    def label(self, *lines: str) -> str:
        """:func:`label`, each distinct line escaped once (flow names, data and protocols
        repeat across a big model)."""
        out = []
        for line in lines:
            if line:
                got = self._escaped.get(line)
                if got is None:
                    got = self._escaped[line] = escape(line)
                out.append(got)
        return '"' + "<br/>".join(out) + '"'

    def node(self, e: str) -> str:
        """The node statement of an element (shape, name, kind, open findings)."""
        got = self._nodes.get(e)
        if got is None:
            view = self.view
            el = view.graph.elements[e]
            lines = [el.name, f"\u00ab{KIND_LABELS[el.kind]}\u00bb"]
            worst = self.worst.get(e)
            if worst is not None:
                lines.append(f"{BADGE} {len(view.open_by_element[e])} open ({worst})")
            o, c = SHAPES[el.kind]
            got = self._nodes[e] = f"{view.element_sid[e]}{o}{label(*lines)}{c}"
        return got

    def edge(self, fv: FlowView) -> tuple[str, bool]:
        """The edge statement of a flow, and whether it is drawn red (unencrypted)."""
        got = self._edges.get(fv.sid)
        if got is None:
            text = [fv.name]
            if fv.data:
                text.append(fv.data_text())
            text.append(one_line(fv.flow.protocol) or "protocol unspecified")
            if fv.unencrypted_sensitive:
                text.insert(0, f"{BADGE} UNENCRYPTED sensitive data")
                got = (f"    {fv.source} -.->|{self.label(*text)}| {fv.target}", True)
            else:
                got = (f"    {fv.source} -->|{self.label(*text)}| {fv.target}", False)
            self._edges[fv.sid] = got
        return got

    def marked(self, elements: set[str]) -> set[str]:
        """The boundaries that hold (directly or in a nested boundary) one of ``elements``."""
        view = self.view
        out: set[str] = set()
        for e in elements:
            b = view.graph.elements[e].boundary
            while b is not None and b in view.graph.boundaries and b not in out:
                out.add(b)
                b = view.boundary_parent(b)
        return out

    def subgraph(self, bid: str, elements: set[str], marked: set[str], depth: int) -> list[str]:
        """A boundary as a subgraph with what it holds of ``elements``."""
        view = self.view
        pad = "    " * depth
        head = self._heads.get(bid)
        if head is None:
            name, trust = view.boundary_label(bid)
            head = self._heads[bid] = (
                f"subgraph {view.boundary_sid[bid]}[{label(f'{name} · {trust} trust')}]"
            )
        out = [pad + head]
        for child in view.child_boundaries(bid):
            if child in marked:
                out.extend(self.subgraph(child, elements, marked, depth + 1))
        for e in view.elements_in(bid):
            if e in elements:
                out.append(f"{pad}    {self.node(e)}")
        out.append(f"{pad}end")
        return out

    def style(self, bid: str) -> str:
        """The style line of a boundary (dashed, in its trust colour)."""
        got = self._styles.get(bid)
        if got is None:
            view = self.view
            color = TRUST_COLORS[view.graph.boundaries[bid].trust]
            got = self._styles[bid] = (
                f"    style {view.boundary_sid[bid]} fill:none,stroke:{color},"
                "stroke-width:2px,stroke-dasharray:6 4"
            )
        return got

    def diagram(self, elements: set[str], flows: list[FlowView]) -> str:
        """A flowchart of ``elements`` (in their boundaries) and ``flows``."""
        view = self.view
        marked = self.marked(elements)
        lines = ["flowchart LR"]
        for bid in view.child_boundaries(None):
            if bid in marked:
                lines.extend(self.subgraph(bid, elements, marked, 1))
        for e in view.elements_in(None):
            if e in elements:
                lines.append(f"    {self.node(e)}")
        red = []
        for i, fv in enumerate(flows):
            line, is_red = self.edge(fv)
            lines.append(line)
            if is_red:
                red.append(i)
        sid, worst = view.element_sid, self.worst
        lines.extend(_classes(view, ((sid[e], worst.get(e)) for e in sorted(elements))))
        lines.extend(self.style(bid) for bid in self.boundaries if bid in marked)
        if red:
            lines.append(
                f"    linkStyle {','.join(map(str, red))} stroke:{UNENCRYPTED_COLOR},"
                f"stroke-width:3px,color:{UNENCRYPTED_COLOR}"
            )
        return "\n".join(lines) + "\n"


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


def _group_name(view: ModelView, group: str | None) -> str:
    if group is None:
        return "outside any boundary"
    name, trust = view.boundary_label(group)
    return f"{name} ({trust})"


def _overview(
    view: ModelView,
    draw: _Drawer,
    groups: list[str | None],
    members: dict[str | None, list[str]],
    top: dict[str, str | None],
    max_edges: int,
) -> str:
    gid = {g: f"g{i}" for i, g in enumerate(groups, 1)}
    lines = ["flowchart LR"]
    worst: dict[str, str | None] = {}
    for g in groups:
        mine = members.get(g, [])
        open_n = sum(len(view.open_by_element.get(e, [])) for e in mine)
        sevs = [s for e in mine if (s := draw.worst.get(e)) is not None]
        worst[gid[g]] = max(sevs, key=severity_rank) if sevs else None
        text = [_group_name(view, g), f"{len(mine)} elements"]
        if open_n:
            text.append(f"{BADGE} {open_n} open findings")
        lines.append(f"    {gid[g]}[{label(*text)}]")
    between: dict[tuple[str, str], list[FlowView]] = {}
    for fv in view.flows:
        s = gid[top[fv.flow.source]]
        t = gid[top[fv.flow.target]]
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
    draw: _Drawer, part: _Part, max_edges: int, max_text: int
) -> list[tuple[set[str], list[FlowView], str]]:
    """Split a part's flows into diagrams within both limits (the first keeps every element),
    each with its text."""
    # Over the edge limit a part is split without being drawn; one flow cannot be split.
    if len(part.flows) <= max_edges or len(part.flows) <= 1:
        elements = part.elements | _ends(part.flows)
        text = draw.diagram(elements, part.flows)
        if len(text) <= max_text or len(part.flows) <= 1:
            return [(elements, part.flows, text)]
    half = len(part.flows) // 2
    first = _Part(part.title, part.elements, part.flows[:half])
    rest = _Part(part.title, set(), part.flows[half:])
    return _chunks(draw, first, max_edges, max_text) + _chunks(draw, rest, max_edges, max_text)


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
    else an overview in diagram.mmd and parts in diagram-N.mmd, diagram-2.mmd...
    """
    draw = _Drawer(view)
    if len(view.flows) <= max_edges:  # over the edge limit the whole is never drawn
        whole = draw.diagram(set(view.graph.elements), view.flows)
        if len(whole) <= max_text:
            return [("diagram.mmd", whole)], [""]
    tops = view.child_boundaries(None)
    groups: list[str | None] = [*tops]
    if view.elements_in(None):
        groups.append(None)
    top = {e: view.top_boundary(e) for e in view.graph.elements}
    members: dict[str | None, list[str]] = {}
    for e, g in top.items():
        members.setdefault(g, []).append(e)
    leaving: dict[str | None, list[FlowView]] = {}
    for fv in view.flows:
        leaving.setdefault(top[fv.flow.source], []).append(fv)
    files = [("diagram.mmd", _overview(view, draw, groups, members, top, max_edges))]
    titles = ["Overview: top-level trust boundaries and the flows between them"]
    n = 0
    for g in groups:
        mine = set(members.get(g, []))
        if not mine:
            continue
        flows = leaving.get(g, [])
        chunks = _chunks(draw, _Part(_group_name(view, g), mine, flows), max_edges, max_text)
        for k, (_els, fls, text) in enumerate(chunks, 1):
            n += 1
            files.append((f"diagram-{n}.mmd", text))
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
