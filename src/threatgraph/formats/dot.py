"""The data-flow diagram as Graphviz DOT.

- trust boundaries are nested clusters labelled with their trust level;
- each element kind has its own node shape;
- flows are labelled with their name, the data they carry (with its classification) and the
  protocol; an unencrypted flow of sensitive data is red, dashed and says so. All the flows
  between two elements are one edge with one label (arrows at both ends when they go both
  ways, each flow then naming its target), so that a request and its response never draw
  their labels on top of each other;
- a vendor is joined by a dotted line to each element it hosts or provides (``provider``);
- an element with open findings is filled with the colour of its worst severity and marked
  with the count (``!``: a mark every font has, where a warning sign draws as an empty box);
- long names and data lists are wrapped, and the layout is one of a few candidates
  (:func:`layouts`: the direction, and whether the labels along the longest chain of flows
  sit beside their source instead of on a rank of their own), the renderer keeping the first
  that fits the size budget (:mod:`threatgraph.formats.render`), so that the diagram of a
  twenty-element model fits a screen at a readable size;
- a small legend lists only what this diagram shows (the severities drawn, the unencrypted
  mark, vendor lines, boundaries).

Escaping: node, cluster and edge names are generated ids (n1, b1, e1), never model text.
Labels holding model text are plain DOT strings (never HTML-like labels): backslashes are
doubled so that ``\\N``, ``\\G``, ``\\l`` and friends in a name stay literal, quotes are
escaped, line breaks in names become spaces, and our own line breaks are ``\\n``. The legend
is the one HTML-like label, and it holds only this module's fixed words.

The text is what the ``graphviz`` package writes for the same statements (a test holds the
statements to it), written directly: the package quotes every attribute on every call
through argument-checking wrappers and copies a cluster's lines once per level of nesting,
which cost more than the rest of the diagram for a big model (and importing it, more than
drawing a small one). The package is not a dependency: only the tests use it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

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
from threatgraph.model.schema import Kind, Trust

#: Graphviz shape (and extra style) per element kind. Every kind looks different.
SHAPES: dict[Kind, tuple[str, str]] = {
    Kind.ACTOR: ("box", ""),  # DFD external entity
    Kind.APP: ("box", "rounded"),
    Kind.PROCESS: ("ellipse", ""),  # DFD process
    Kind.DATASTORE: ("cylinder", ""),
    Kind.LLM: ("hexagon", ""),
    Kind.ML_MODEL: ("octagon", ""),
    Kind.AGENT: ("doubleoctagon", ""),
    Kind.TOOL: ("component", ""),
    Kind.VECTOR_STORE: ("folder", ""),
    Kind.MEMORY: ("note", ""),
    Kind.TRAINING_PIPELINE: ("cds", ""),
    Kind.DATASET: ("tab", ""),
    Kind.FEATURE_STORE: ("box3d", ""),
    Kind.MODEL_REGISTRY: ("Msquare", ""),
    Kind.GUARDRAIL: ("invtrapezium", ""),
    Kind.EXTERNAL_CONTENT: ("parallelogram", ""),
    Kind.VENDOR: ("house", ""),
}

FONT = "Helvetica"
#: The open-findings and unencrypted mark: ASCII, so that every font draws it.
BADGE = "!"
#: Wrap widths in characters: an element's name, and a flow label's data list.
NODE_WRAP = 20
EDGE_WRAP = 26
#: The narrower widths of a layout that must save width (Layout.narrow).
NARROW_NODE_WRAP = 12
NARROW_EDGE_WRAP = 14
#: How many times longer than wide a model's chains of flows are drawn top to bottom.
LONG_CHAIN = 2.5
#: A flow label node: no outline, a small margin around the text, as small as its text.
_LABEL_NODE = {"margin": "0.04,0.02", "width": "0", "height": "0"}
#: Colour of the dotted line from a vendor to what it hosts.
HOSTING_COLOR = "#6b7280"

#: What the graphviz package leaves unquoted (graphviz.quoting.ID and KEYWORDS, 0.20-0.21):
#: a name or a number that is not a DOT keyword.
_ID = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?))$").match
_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})
#: graphviz.quoting.ESCAPE_UNESCAPED_QUOTES: a quote, with or without a backslash, becomes \".
_QUOTES = re.compile(r'(?P<escaped_backslashes>(?:\\{2})*)\\?(?P<literal_quote>")')


def escape(text: str) -> str:
    """One line of model text made literal inside a quoted DOT string.

    Line breaks and control characters become spaces; backslashes are doubled so that DOT's
    escape sequences (``\\n``, ``\\N``, ``\\G``, ``\\l``...) cannot be smuggled in, and
    ``&`` becomes ``&amp;`` because Graphviz decodes entities (``&lt;``, ``&#60;``) in every
    label: the name ``&lt;b&gt;`` must be drawn as typed. Double quotes are escaped when the
    whole label is quoted.
    """
    return one_line(text).replace("\\", "\\\\").replace("&", "&amp;")


def _label(*lines: str) -> str:
    # Lines of model text, each escaped, joined by DOT's \n.
    return "\\n".join(escape(line) for line in lines if line)


def wrap(text: str, width: int) -> list[str]:
    """``text`` (one line of model text) broken at spaces into lines of at most ``width``
    characters where it can be: a word longer than that keeps a line of its own."""
    words = one_line(text).split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return lines


def quote(value: str) -> str:
    """A DOT identifier or quoted string, as ``graphviz.quoting.quote(nohtml(value))``
    (so never an HTML-like label, whatever the value).

    A label made by :func:`escape` cannot end in an odd number of backslashes, the one case
    where the package warns instead.
    """
    if _ID(value) and value.lower() not in _KEYWORDS:
        return value
    if '"' in value:
        value = _QUOTES.sub(r"\g<escaped_backslashes>\\\g<literal_quote>", value)
    return f'"{value}"'


class _Writer:
    """DOT statements, one line each, as the graphviz package lays them out.

    Clusters are written in place with one tab per level (the package indents a subgraph's
    lines by one tab each time it is added to its parent); attribute lists put ``label``
    first for nodes and edges and sort the rest by name. Each distinct ``name=value`` pair
    is quoted once.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        #: The wrap widths of the layout being written.
        self.node_wrap, self.edge_wrap = NODE_WRAP, EDGE_WRAP
        self._pairs: dict[tuple[str, str], str] = {}
        #: Element nodes' shared attributes around their id, by kind and worst severity.
        self.styles: dict[tuple[Kind, str | None], tuple[str, str]] = {}

    def _pair(self, k: str, v: str) -> str:
        got = self._pairs.get((k, v))
        if got is None:
            got = self._pairs[(k, v)] = f"{quote(k)}={quote(v)}"
        return got

    def around_id(self, attrs: dict[str, str]) -> tuple[str, str]:
        """The attribute list of a node or edge that also has a label and an ``id``, as the
        text before the id and after it (label first, the rest sorted by name, as
        :meth:`node` and :meth:`edge` write them), for statements written directly."""
        ordered = sorted([*attrs, "id"])
        cut = ordered.index("id")
        return (
            "".join(f" {self._pair(k, attrs[k])}" for k in ordered[:cut]),
            "".join(f" {self._pair(k, attrs[k])}" for k in ordered[cut + 1 :]),
        )

    def _a_list(self, attrs: dict[str, str], label_first: bool) -> str:
        parts = []
        if label_first and "label" in attrs:
            parts.append(f"label={quote(attrs['label'])}")
        for k in sorted(attrs):
            if not (label_first and k == "label"):
                parts.append(self._pair(k, attrs[k]))
        return " ".join(parts)

    def attr(self, depth: int, kw: str | None, attrs: dict[str, str]) -> None:
        """``graph.attr(kw, **attrs)``: ``kw [a=...]``, or ``a=...`` alone without ``kw``."""
        a_list = self._a_list(attrs, label_first=False)
        tabs = "\t" * depth
        self.lines.append(f"{tabs}{kw} [{a_list}]\n" if kw else f"{tabs}{a_list}\n")

    def node(self, depth: int, name: str, attrs: dict[str, str]) -> None:
        """``graph.node(name, **attrs)``."""
        self.lines.append(f"{chr(9) * depth}{quote(name)} [{self._a_list(attrs, True)}]\n")

    def edge(self, depth: int, tail: str, head: str, attrs: dict[str, str]) -> None:
        """``graph.edge(tail, head, **attrs)`` (generated ids: no ports)."""
        a_list = self._a_list(attrs, label_first=True)
        self.lines.append(f"{chr(9) * depth}{quote(tail)} -> {quote(head)} [{a_list}]\n")

    def open(self, depth: int, name: str) -> None:
        """``with graph.subgraph(name=name)``: the head line."""
        self.lines.append(f"{chr(9) * depth}subgraph {quote(name)} {{\n")

    def close(self, depth: int) -> None:
        """The end of a subgraph opened at ``depth``."""
        self.lines.append(f"{chr(9) * depth}}}\n")


def _severity_style(severity: str) -> dict[str, str]:
    fill, font, border = SEVERITY_COLORS[severity]
    return {"fillcolor": fill, "fontcolor": font, "color": border, "penwidth": "2"}


def _node_style(kind: Kind, worst: str | None) -> dict[str, str]:
    """An element node's attributes but its label and id: its kind's shape, and the colours
    of its worst open finding."""
    shape, extra = SHAPES[kind]
    style = "filled" + (f",{extra}" if extra else "")
    attrs = {"shape": shape, "style": style, "fillcolor": "#ffffff", "color": "#374151"}
    if worst is not None:
        attrs.update(_severity_style(worst))
    return attrs


def _node_lines(view: ModelView, element_id: str, worst: str | None, width: int) -> list[str]:
    el = view.graph.elements[element_id]
    lines = [*wrap(el.name, width), f"\u00ab{KIND_LABELS[el.kind]}\u00bb"]
    if worst is not None:
        lines.append(f"{BADGE} {len(view.open_by_element[element_id])} open ({worst})")
    return lines


def _node(view: ModelView, out: _Writer, depth: int, element_id: str) -> None:
    """``out.node`` for an element, with the attributes its kind and worst finding share
    with other elements quoted once."""
    el = view.graph.elements[element_id]
    worst = view.worst_open(element_id)
    key = (el.kind, worst)
    around = out.styles.get(key)
    if around is None:
        around = out.styles[key] = out.around_id(_node_style(el.kind, worst))
    sid = view.element_sid[element_id]
    label = quote(_label(*_node_lines(view, element_id, worst, out.node_wrap)))
    out.lines.append(
        f"{chr(9) * depth}{quote(sid)} [label={label}{around[0]} "
        f"id={quote(f'el_{sid}')}{around[1]}]\n"
    )


def _add_boundary(view: ModelView, out: _Writer, flows: _Flows, bid: str, depth: int) -> None:
    name, trust = view.boundary_label(bid)
    color = TRUST_COLORS[Trust(trust)]
    out.open(depth, f"cluster_{view.boundary_sid[bid]}")
    attrs = {
        "label": _label(*wrap(name, 2 * out.node_wrap), f"[trust: {trust}]"),
        "color": color,
        "fontcolor": color,
        "style": "dashed,rounded",
        "penwidth": "1.5",
        "id": f"bd_{view.boundary_sid[bid]}",
    }
    out.attr(depth + 1, None, attrs)
    for child in view.child_boundaries(bid):
        _add_boundary(view, out, flows, child, depth + 1)
    for e in view.elements_in(bid):
        _node(view, out, depth + 1, e)
    flows.nodes(depth + 1, bid)
    out.close(depth)


def data_text(fv: FlowView) -> str:
    """The data a flow carries, grouped by classification: 'Notes, Orders [pii], Guide
    [public]' (classifications in the order of their first data item, which is by id)."""
    groups: dict[str, list[str]] = {}
    for d in fv.data:
        groups.setdefault(d.classification.value, []).append(one_line(d.name))
    return ", ".join(f"{', '.join(names)} [{c}]" for c, names in groups.items())


@dataclass(frozen=True)
class Layout:
    """How a diagram is laid out: the direction of its flows (``LR`` or ``TB``), and what
    the flow labels along one longest chain of flows do (``beside``):

    - ``""``: each label takes a rank of its own between its two ends (a chain of n elements
      is 2n - 1 ranks long);
    - ``"loose"``: the edge into the label does not rank it (``constraint=false``), so
      Graphviz puts it beside its source, the chain being as long as its elements.

    Only labels drawn in the innermost boundary of their source move: Graphviz routes an
    edge between two nodes of one rank badly when it crosses a cluster's border. (Making
    the edge flat with ``minlen=0`` instead does the same, but dot then reports failed
    spline routing on the reference models, and graphviz-pure fails outright.)
    """

    rankdir: str
    beside: str = ""
    #: Wrap names and data lists narrower (NARROW_NODE_WRAP, NARROW_EDGE_WRAP).
    narrow: bool = False

    @property
    def node_wrap(self) -> int:
        """Characters per line of an element's name."""
        return NARROW_NODE_WRAP if self.narrow else NODE_WRAP

    @property
    def edge_wrap(self) -> int:
        """Characters per line of a flow label's name and data."""
        return NARROW_EDGE_WRAP if self.narrow else EDGE_WRAP


def _ranks(view: ModelView) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Each element's rank as Graphviz would rank the flows, and the flows kept to do it.

    Cycles are broken by a depth-first search in id order, each element's rank is its
    longest path from a source.
    """
    succ: dict[str, list[str]] = {e: [] for e in view.graph.elements}
    for fv in view.flows:
        if fv.flow.source in succ and fv.flow.target in succ:
            succ[fv.flow.source].append(fv.flow.target)
    for targets in succ.values():
        targets.sort()
    order: list[str] = []  # post-order of the DFS: reversed, a topological order
    state: dict[str, int] = {}
    dag: dict[str, list[str]] = {e: [] for e in succ}
    for root in sorted(succ):
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            u, it = stack[-1]
            w = next(it, None)
            if w is None:
                state[u] = 2
                order.append(u)
                stack.pop()
            elif state.get(w) != 1:  # an edge back into the DFS path closes a cycle: drop it
                dag[u].append(w)
                if w not in state:
                    state[w] = 1
                    stack.append((w, iter(succ[w])))
    rank = dict.fromkeys(succ, 0)
    for u in reversed(order):
        for w in dag[u]:
            rank[w] = max(rank[w], rank[u] + 1)
    return rank, dag


def longest_chain(view: ModelView) -> set[tuple[str, str]]:
    """The flows (source, target) of one longest chain of the model (:func:`_ranks`): the
    one ending at the first element, by id, of the last rank, back through the last element
    by id of each rank before."""
    rank, dag = _ranks(view)
    if not rank:
        return set()
    end = max(sorted(rank), key=lambda e: rank[e])
    into: dict[str, str] = {}
    for u in sorted(dag):
        for w in dag[u]:
            if rank[w] == rank[u] + 1:
                into[w] = u  # the last by id
    chain: set[tuple[str, str]] = set()
    while end in into:
        chain.add((into[end], end))
        end = into[end]
    return chain


def layouts(view: ModelView) -> list[Layout]:
    """The layouts to try, best first: the direction :func:`rankdir` picks; top to bottom
    (a wide model); then top to bottom with the longest chain's labels beside their sources
    (a long chain), and so with narrower wrapping. A renderer keeps the first whose drawing
    fits the size budget (:func:`threatgraph.formats.render.render_fitting`): which one fits
    depends on the model's shape, and a little on the renderer."""
    out: list[Layout] = []
    for lay in (
        Layout(rankdir(view)),
        Layout("TB"),
        Layout("TB", "loose"),
        Layout("TB", "loose", narrow=True),
    ):
        if lay not in out:
            out.append(lay)
    return out


def rankdir(view: ModelView) -> str:
    """``LR`` (flows left to right), or ``TB`` for a model whose flows form chains much
    longer than the model is wide, which drawn left to right would be many screens wide.

    Length and width are estimated as Graphviz ranks nodes (:func:`_ranks`): the length is
    the number of ranks and the width the most elements of one rank. Chains at least
    :data:`LONG_CHAIN` times longer than wide are drawn top to bottom.
    """
    rank, _ = _ranks(view)
    if not rank:
        return "LR"
    per_rank: dict[int, int] = {}
    for r in rank.values():
        per_rank[r] = per_rank.get(r, 0) + 1
    length, width = max(rank.values()) + 1, max(per_rank.values())
    return "TB" if length >= LONG_CHAIN * width else "LR"


def _flow_lines(view: ModelView, fv: FlowView, both_ways: bool, width: int) -> list[str]:
    """The label lines of one flow: the unencrypted mark, its name (and, on an edge drawn
    both ways, the element it goes to), the data it carries, its protocol."""
    lines = [f"{BADGE} UNENCRYPTED sensitive data"] if fv.unencrypted_sensitive else []
    head = fv.name
    if both_ways:
        head = f"{head} \u2192 {view.name(fv.flow.target)}"
    lines.extend(wrap(head, width))
    if fv.data:
        lines.extend(wrap(data_text(fv), width))
    lines.append(one_line(fv.flow.protocol) or "protocol unspecified")
    return lines


def _edge_attrs_for(marked: bool) -> dict[str, str]:
    """The colours and line of a flow's edges (red and dashed when it carries sensitive data
    unencrypted)."""
    if marked:
        return {"color": UNENCRYPTED_COLOR, "style": "dashed", "penwidth": "2.5"}
    return {"color": "#374151"}


def edge_groups(view: ModelView) -> list[list[FlowView]]:
    """The flows drawn as one edge: all the flows between the same two elements, whichever
    way they go, in flow order; groups in the order of their first flow.

    Two edges between the same pair of nodes get their labels drawn on top of each other
    (a request and its response, in almost every agent model), so a pair gets one edge.
    """
    groups: dict[tuple[str, str], list[FlowView]] = {}
    for fv in view.flows:
        a, b = fv.flow.source, fv.flow.target
        groups.setdefault((a, b) if a <= b else (b, a), []).append(fv)
    return list(groups.values())


class _Flows:
    """The flow label nodes and edges of a diagram (:func:`edge_groups`): each group is a
    label node between its two elements (``f1``, ``f2``...), joined to them by two edges,
    from the source of its first flow to the label and on to the target, with an arrowhead
    at each end a flow goes to.

    The label is a node rather than an edge label because Graphviz never lets nodes overlap,
    while it does let edge labels overlap each other, edges and nodes (where edges fan out
    of one element, or meet between nodes of one rank). A label node is written in the
    innermost boundary holding both ends, where Graphviz would have put the edge.

    Statements are written in the package's order (label, then the rest sorted by name);
    the attributes other than label and id are quoted once, and each distinct one-flow
    label (flows repeat names, data and protocols) is escaped and quoted once.
    """

    def __init__(self, view: ModelView, out: _Writer, beside: str = "") -> None:
        self.view, self.out = view, out
        self.groups = edge_groups(view)
        self.by_boundary: dict[str | None, list[int]] = {}
        #: Per group, the attribute that lets its label sit beside its source (Layout.beside),
        #: or None.
        self.beside: list[tuple[str, str] | None] = []
        chain = longest_chain(view) if beside else set()
        attr = ("constraint", "false") if beside == "loose" else None
        for i, group in enumerate(self.groups):
            fl = group[0].flow
            common = self._common(fl.source, fl.target)
            self.by_boundary.setdefault(common, []).append(i)
            on_chain = (fl.source, fl.target) in chain or (fl.target, fl.source) in chain
            inner = self._chain(fl.source)
            self.beside.append(
                attr if on_chain and (inner[0] if inner else None) == common else None
            )
        self._node_around: dict[bool, tuple[str, str]] = {}
        self._edge_around: dict[tuple[bool, str, bool], tuple[str, str]] = {}
        self._labels: dict[tuple[str, tuple[str, ...], str, bool], str] = {}

    def _chain(self, element_id: str) -> list[str]:
        # The boundaries around an element, innermost first (drawn ones only).
        view = self.view
        b = view.graph.elements[element_id].boundary
        out: list[str] = []
        while b is not None and b in view.graph.boundaries and b not in out:
            out.append(b)
            b = view.boundary_parent(b)
        return out

    def _common(self, a: str, b: str) -> str | None:
        theirs = set(self._chain(b))
        return next((x for x in self._chain(a) if x in theirs), None)

    def nodes(self, depth: int, boundary: str | None) -> None:
        """The label nodes that belong in ``boundary`` (None: outside every boundary)."""
        view, out = self.view, self.out
        for i in self.by_boundary.get(boundary, []):
            group = self.groups[i]
            first = group[0]
            both = any(fv.flow.source != first.flow.source for fv in group)
            marked = any(fv.unencrypted_sensitive for fv in group)
            around = self._node_around.get(marked)
            if around is None:
                fontcolor = UNENCRYPTED_COLOR if marked else "#111827"
                around = self._node_around[marked] = out.around_id(
                    {"shape": "none", "fontsize": "8", "fontcolor": fontcolor, **_LABEL_NODE}
                )
            if len(group) == 1:
                fl = first.flow
                key = (first.name, tuple([d.id for d in first.data]), fl.protocol or "", marked)
                label = self._labels.get(key)
                if label is None:
                    label = self._labels[key] = quote(
                        _label(*_flow_lines(view, first, False, out.edge_wrap))
                    )
            else:
                # One block per flow, separated by an empty line.
                label = quote(
                    "\\n\\n".join(
                        _label(*_flow_lines(view, fv, both, out.edge_wrap)) for fv in group
                    )
                )
            gid = quote(_group_id(group))
            out.lines.append(
                f"{chr(9) * depth}f{i + 1} [label={label}{around[0]} id={gid}{around[1]}]\n"
            )

    def edges(self) -> None:
        """The two edges of every label node."""
        ends = {sid: quote(sid) for sid in self.view.element_sid.values()}
        put = self.out.lines.append
        for i, group in enumerate(self.groups, 1):
            first = group[0]
            both = any(fv.flow.source != first.flow.source for fv in group)
            marked = any(fv.unencrypted_sensitive for fv in group)
            gid = _group_id(group)
            # Into the label: an arrowhead at the first flow's source only when flows go back.
            beside = self.beside[i - 1]
            for part, tail, head, direction in (
                ("in", ends[first.source], f"f{i}", "back" if both else "none"),
                ("out", f"f{i}", ends[first.target], "forward"),
            ):
                moved = part == "in" and beside is not None
                key = (marked, direction, moved)
                around = self._edge_around.get(key)
                if around is None:
                    attrs = {**_edge_attrs_for(marked), "dir": direction}
                    if moved and beside is not None:
                        attrs[beside[0]] = beside[1]
                    around = self._edge_around[key] = self.out.around_id(attrs)
                eid = quote(f"{gid}_{part}")
                put(f"\t{tail} -> {head} [{around[0][1:]} id={eid}{around[1]}]\n")


def _group_id(group: list[FlowView]) -> str:
    """The SVG id of a group's label node: ``fl_`` and its flows' safe ids."""
    return "fl_" + "_".join(fv.sid for fv in group)


def _hosting_edges(view: ModelView, out: _Writer) -> None:
    """A dotted line from each vendor to each element it hosts or provides."""
    sid = view.element_sid
    attrs = {"style": "dotted", "arrowhead": "none", "color": HOSTING_COLOR, "penwidth": "1.5"}
    for vendor, element in view.hosting():
        out.edge(1, sid[vendor], sid[element], {**attrs, "id": f"vh_{sid[vendor]}_{sid[element]}"})


def _legend_rows(view: ModelView) -> list[str]:
    """The legend's table rows: only what this diagram draws."""
    h = html.escape
    rows: list[str] = []
    worst = {s for e in view.graph.elements if (s := view.worst_open(e)) is not None}
    if worst:
        cells = "".join(
            f'<TD BGCOLOR="{SEVERITY_COLORS[sev][0]}">'
            f'<FONT COLOR="{SEVERITY_COLORS[sev][1]}">{h(sev)}</FONT></TD>'
            for sev in reversed(SEVERITIES)
            if sev in worst
        )
        rows.append(
            f'<TR><TD ALIGN="LEFT" BORDER="0">{h(f"{BADGE} N open: worst open finding")}</TD>'
            f'<TD BORDER="0"><TABLE BORDER="0" CELLSPACING="1" CELLPADDING="1"><TR>{cells}'
            "</TR></TABLE></TD></TR>"
        )
    if any(fv.unencrypted_sensitive for fv in view.flows):
        rows.append(
            f'<TR><TD ALIGN="LEFT" BORDER="0"><FONT COLOR="{UNENCRYPTED_COLOR}">'
            f'{h("- - - -")}</FONT></TD><TD ALIGN="LEFT" BORDER="0">'
            f"{h('sensitive data unencrypted')}</TD></TR>"
        )
    if view.hosting():
        rows.append(
            f'<TR><TD ALIGN="LEFT" BORDER="0"><FONT COLOR="{HOSTING_COLOR}">'
            f'{h(". . . . .")}</FONT></TD><TD ALIGN="LEFT" BORDER="0">'
            f"{h('hosted or provided by the vendor')}</TD></TR>"
        )
    if view.graph.boundaries:
        rows.append(
            '<TR><TD ALIGN="LEFT" BORDER="0">dashed box</TD><TD ALIGN="LEFT" BORDER="0">'
            f"{h('trust boundary [trust level]')}</TD></TR>"
        )
    return rows


def _legend(view: ModelView, out: _Writer) -> None:
    """A compact legend node (an HTML-like table of fixed words), or none when the diagram
    has nothing that needs one. Shapes are not listed: every element says its «kind»."""
    rows = _legend_rows(view)
    if not rows:
        return
    table = (
        '<TABLE BORDER="1" COLOR="#9ca3af" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
        '<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>' + "".join(rows) + "</TABLE>"
    )
    # Written directly: quote() would make the HTML-like label a plain string.
    out.lines.append(
        f'\tlegend [label=<{table}> fontcolor="#374151" fontsize=8 id=legend shape=plain]\n'
    )


def _body(view: ModelView, layout: Layout) -> list[str]:
    """The lines between ``digraph dfd {`` and the closing brace."""
    out = _Writer()
    out.node_wrap, out.edge_wrap = layout.node_wrap, layout.edge_wrap
    out.attr(
        1,
        "graph",
        {
            "rankdir": layout.rankdir,
            "fontname": FONT,
            "fontsize": "11",
            "label": _label(view.model_name, "data-flow diagram (threatgraph)"),
            "labelloc": "t",
            "compound": "true",
            "newrank": "true",
            "nodesep": "0.15",
            # Every flow label is a node on a rank of its own: half the usual gap is enough.
            "ranksep": "0.15",
            "id": "dfd",
        },
    )
    out.attr(1, "node", {"fontname": FONT, "fontsize": "10"})
    out.attr(1, "edge", {"fontname": FONT, "fontsize": "8"})
    flows = _Flows(view, out, layout.beside)
    for bid in view.child_boundaries(None):
        _add_boundary(view, out, flows, bid, 1)
    for e in view.elements_in(None):
        _node(view, out, 1, e)
    flows.nodes(1, None)
    flows.edges()
    _hosting_edges(view, out)
    _legend(view, out)
    return out.lines


def render_dot(view: ModelView, layout: Layout | None = None) -> str:
    """DOT source text (deterministic: everything is sorted, no timestamps), laid out as
    ``layout`` (default: the first of :func:`layouts`)."""
    lay = layout if layout is not None else layouts(view)[0]
    return "digraph dfd {\n" + "".join(_body(view, lay)) + "}\n"


class DotFormat(ReportFormat):
    """diagram.dot: the Graphviz source of the data-flow diagram."""

    name = "dot"
    summary = "diagram.dot: Graphviz source of the data-flow diagram"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """The DOT text drawn for this model."""
        return {"diagram.dot": inp.diagrams.dot}


FORMAT = DotFormat()

__all__ = [
    "FORMAT",
    "SHAPES",
    "Layout",
    "data_text",
    "edge_groups",
    "escape",
    "layouts",
    "longest_chain",
    "quote",
    "rankdir",
    "render_dot",
    "wrap",
]
