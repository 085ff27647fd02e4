"""The data-flow diagram as Graphviz DOT.

- trust boundaries are nested clusters labelled with their trust level;
- each element kind has its own node shape;
- flows are labelled with their name, the data they carry (with its classification) and the
  protocol; an unencrypted flow of sensitive data is red, dashed and says so;
- an element with open findings is filled with the colour of its worst severity and badged
  with the count;
- a legend explains shapes, colours and the unencrypted-flow mark.

Escaping: node, cluster and edge names are generated ids (n1, b1, e1), never model text.
Labels are plain DOT strings (never HTML-like labels): backslashes are doubled so that
``\\N``, ``\\G``, ``\\l`` and friends in a name stay literal, quotes are escaped, line
breaks in names become spaces, and our own line breaks are ``\\n``.

The text is what the ``graphviz`` package writes for the same statements (a test holds the
statements to it), written directly: the package quotes every attribute on every call
through argument-checking wrappers and copies a cluster's lines once per level of nesting,
which cost more than the rest of the diagram for a big model (and importing it, more than
drawing a small one). :func:`build` still hands out a ``graphviz.Digraph``.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import graphviz

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
LEGEND_ROWS = 5
BADGE = "\u26a0"  # warning sign

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


def label(*lines: str) -> str:
    """A multi-line label from lines of model text (each escaped, joined by DOT ``\\n``).

    The result is marked ``nohtml`` so that, given to the graphviz package, a name like
    ``<b>x</b>`` is never taken for an HTML-like label (this module quotes every label).
    """
    import graphviz

    text: str = graphviz.nohtml(_label(*lines))
    return text


def quote(value: str) -> str:
    """A DOT identifier or quoted string, as ``graphviz.quoting.quote(nohtml(value))``.

    Never an HTML-like label. A label made by :func:`escape` cannot end in an odd number of
    backslashes, the one case where the package warns instead.
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


def _node_lines(view: ModelView, element_id: str, worst: str | None) -> list[str]:
    el = view.graph.elements[element_id]
    lines = [el.name, f"\u00ab{KIND_LABELS[el.kind]}\u00bb"]
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
    label = quote(_label(*_node_lines(view, element_id, worst)))
    out.lines.append(
        f"{chr(9) * depth}{quote(sid)} [label={label}{around[0]} "
        f"id={quote(f'el_{sid}')}{around[1]}]\n"
    )


def _add_boundary(view: ModelView, out: _Writer, bid: str, depth: int) -> None:
    name, trust = view.boundary_label(bid)
    color = TRUST_COLORS[Trust(trust)]
    out.open(depth, f"cluster_{view.boundary_sid[bid]}")
    attrs = {
        "label": _label(name, f"[trust: {trust}]"),
        "color": color,
        "fontcolor": color,
        "style": "dashed,rounded",
        "penwidth": "1.5",
        "id": f"bd_{view.boundary_sid[bid]}",
    }
    out.attr(depth + 1, None, attrs)
    for child in view.child_boundaries(bid):
        _add_boundary(view, out, child, depth + 1)
    for e in view.elements_in(bid):
        _node(view, out, depth + 1, e)
    out.close(depth)


def _edge_lines(fv: FlowView, marked: bool) -> list[str]:
    """The label lines of a flow's edge: name, data, protocol (and the unencrypted mark)."""
    lines = [fv.name]
    if fv.data:
        lines.append(fv.data_text())
    lines.append(one_line(fv.flow.protocol) or "protocol unspecified")
    if marked:
        lines.insert(0, f"{BADGE} UNENCRYPTED sensitive data")
    return lines


def _edge_attrs_for(marked: bool) -> dict[str, str]:
    """A flow edge's attributes but its label and id (an unencrypted sensitive flow is red
    and dashed)."""
    if marked:
        return {
            "color": UNENCRYPTED_COLOR,
            "fontcolor": UNENCRYPTED_COLOR,
            "style": "dashed",
            "penwidth": "2.5",
        }
    return {"color": "#374151", "fontcolor": "#111827"}


def _flow_edges(view: ModelView, out: _Writer) -> None:
    """One edge per flow, its attributes written in the package's order: label, then the
    rest sorted by name. Only the label and the id differ between flows, so the other
    attributes are quoted once, and each distinct label (flows repeat names, data and
    protocols) is escaped and quoted once."""
    around = {marked: out.around_id(_edge_attrs_for(marked)) for marked in (False, True)}
    labels: dict[tuple[str, tuple[str, ...], str, bool], str] = {}
    ends = {sid: quote(sid) for sid in view.element_sid.values()}
    put = out.lines.append
    for fv in view.flows:
        marked = fv.unencrypted_sensitive
        key = (fv.name, tuple([d.id for d in fv.data]), fv.flow.protocol or "", marked)
        label = labels.get(key)
        if label is None:
            label = labels[key] = quote(_label(*_edge_lines(fv, marked)))
        before, after = around[marked]
        edge = f"{ends[fv.source]} -> {ends[fv.target]}"
        put(f"\t{edge} [label={label}{before} id={quote(f'fl_{fv.sid}')}{after}]\n")


def _legend(view: ModelView, out: _Writer) -> None:
    kinds = sorted({el.kind for el in view.elements}, key=lambda k: list(Kind).index(k))
    items: list[tuple[str, dict[str, str]]] = []
    for i, kind in enumerate(kinds, 1):
        shape, extra = SHAPES[kind]
        style = "filled" + (f",{extra}" if extra else "")
        attrs = {"label": _label(KIND_LABELS[kind]), "shape": shape, "style": style}
        items.append((f"lgk{i}", {**attrs, "fillcolor": "#ffffff"}))
    for sev in reversed(SEVERITIES):
        attrs = {"label": _label(f"open finding: {sev}"), "shape": "box", "style": "filled"}
        items.append((f"lgs{sev}", {**attrs, **_severity_style(sev)}))
    out.open(1, "cluster_legend")
    legend = {"label": "Legend", "style": "rounded", "color": "#9ca3af", "fontcolor": "#374151"}
    out.attr(2, None, {**legend, "id": "legend"})
    # Columns of LEGEND_ROWS items (one rank each: with rankdir=LR a rank is a column),
    # chained by invisible edges so that the legend stays compact.
    heads = []
    for c in range(0, len(items), LEGEND_ROWS):
        out.open(2, f"legend_col{c // LEGEND_ROWS + 1}")
        out.attr(3, None, {"rank": "same"})
        for nid, attrs in items[c : c + LEGEND_ROWS]:
            out.node(3, nid, {"fontsize": "8", "height": "0.3", **attrs})
        out.close(2)
        heads.append(items[c][0])
    for a, b in itertools.pairwise(heads):
        out.edge(2, a, b, {"style": "invis"})
    out.node(2, "lga", {"label": "", "shape": "point", "width": "0.05"})
    out.node(2, "lgb", {"label": "", "shape": "point", "width": "0.05"})
    out.edge(2, heads[-1], "lga", {"style": "invis"})
    unencrypted = {
        "label": _label(f"{BADGE} unencrypted", "sensitive flow"),
        "color": UNENCRYPTED_COLOR,
        "fontcolor": UNENCRYPTED_COLOR,
        "style": "dashed",
        "penwidth": "2.5",
        "fontsize": "8",
    }
    out.edge(2, "lga", "lgb", unencrypted)
    out.close(1)


def _body(view: ModelView) -> list[str]:
    """The lines between ``digraph dfd {`` and the closing brace."""
    out = _Writer()
    out.attr(
        1,
        "graph",
        {
            "rankdir": "LR",
            "fontname": FONT,
            "fontsize": "11",
            "label": _label(view.model_name, "data-flow diagram (threatgraph)"),
            "labelloc": "t",
            "compound": "true",
            "newrank": "true",
            "nodesep": "0.3",
            "ranksep": "0.7",
            "id": "dfd",
        },
    )
    out.attr(1, "node", {"fontname": FONT, "fontsize": "10"})
    out.attr(1, "edge", {"fontname": FONT, "fontsize": "8"})
    for bid in view.child_boundaries(None):
        _add_boundary(view, out, bid, 1)
    for e in view.elements_in(None):
        _node(view, out, 1, e)
    _flow_edges(view, out)
    _legend(view, out)
    return out.lines


def build(view: ModelView) -> graphviz.Digraph:
    """The diagram of one model as a ``graphviz.Digraph`` (its source is :func:`render_dot`)."""
    import graphviz

    return graphviz.Digraph(name="dfd", body=_body(view))


def render_dot(view: ModelView) -> str:
    """DOT source text (deterministic: everything is sorted, no timestamps)."""
    return "digraph dfd {\n" + "".join(_body(view)) + "}\n"


class DotFormat(ReportFormat):
    """diagram.dot: the Graphviz source of the data-flow diagram."""

    name = "dot"
    summary = "diagram.dot: Graphviz source of the data-flow diagram"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """The DOT text drawn for this model."""
        return {"diagram.dot": inp.diagrams.dot}


FORMAT = DotFormat()

__all__ = ["FORMAT", "SHAPES", "build", "escape", "label", "quote", "render_dot"]
