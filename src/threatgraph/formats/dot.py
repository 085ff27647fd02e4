"""The data-flow diagram as Graphviz DOT, built with the ``graphviz`` package.

- trust boundaries are nested clusters labelled with their trust level;
- each element kind has its own node shape;
- flows are labelled with their name, the data they carry (with its classification) and the
  protocol; an unencrypted flow of sensitive data is red, dashed and says so;
- an element with open findings is filled with the colour of its worst severity and badged
  with the count;
- a legend explains shapes, colours and the unencrypted-flow mark.

Escaping: node, cluster and edge names are generated ids (n1, b1, e1), never model text.
Labels are plain DOT strings (never HTML-like labels): backslashes are doubled so that
``\\N``, ``\\G``, ``\\l`` and friends in a name stay literal, quotes are escaped by the
graphviz package, line breaks in names become spaces, and our own line breaks are ``\\n``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import graphviz

from threatgraph.engine.rules import SEVERITIES
from threatgraph.formats.base import ReportFormat, ReportInput
from threatgraph.formats.view import (
    KIND_LABELS,
    SEVERITY_COLORS,
    TRUST_COLORS,
    UNENCRYPTED_COLOR,
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
LEGEND_ROWS = 5
BADGE = "\u26a0"  # warning sign


def escape(text: str) -> str:
    """One line of model text made literal inside a quoted DOT string.

    Line breaks and control characters become spaces; backslashes are doubled so that DOT's
    escape sequences (``\\n``, ``\\N``, ``\\G``, ``\\l``...) cannot be smuggled in, and
    ``&`` becomes ``&amp;`` because Graphviz decodes entities (``&lt;``, ``&#60;``) in every
    label: the name ``&lt;b&gt;`` must be drawn as typed. Double quotes are escaped when the
    graphviz package quotes the whole label.
    """
    return one_line(text).replace("\\", "\\\\").replace("&", "&amp;")


def label(*lines: str) -> str:
    """A multi-line label from lines of model text (each escaped, joined by DOT ``\\n``).

    The result is marked ``nohtml`` so that a name like ``<b>x</b>`` is never taken for an
    HTML-like label.
    """
    text: str = graphviz.nohtml("\\n".join(escape(line) for line in lines if line))
    return text


_IS_ID = graphviz.quoting.ID.match
_KEYWORDS = graphviz.quoting.KEYWORDS
_ESCAPE_QUOTES: Callable[[str], str] = graphviz.quoting.ESCAPE_UNESCAPED_QUOTES


def _quote(value: str) -> str:
    """``graphviz.quoting.quote(value)``, with the package's own patterns, without the
    per-call argument checks (it is called for every label and id of a big diagram)."""
    if _IS_ID(value) and value.lower() not in _KEYWORDS:
        return value
    if isinstance(value, graphviz.quoting.NoHtml):
        # A label made by label(): never HTML, and escape() doubles every backslash, so it
        # cannot end in the odd backslash that quote() warns about.
        return f'"{_ESCAPE_QUOTES(value)}"' if '"' in value else f'"{value}"'
    quoted: str = graphviz.quoting.quote(value)
    return quoted


class _Statements:
    """Node and edge statements, as graphviz's ``node()`` and ``edge()`` write them.

    The graphviz package quotes every attribute name and value on every call (through
    argument-checking wrappers), which cost more than the rest of the diagram for a big
    model; here each distinct value is quoted once, with the package's own ``quote``, and
    the statement is added to the graph's body as the package would add it.
    """

    def __init__(self) -> None:
        self._quoted: dict[tuple[type, str], str] = {}
        self._pairs: dict[tuple[str, str], str] = {}

    def quote(self, value: str) -> str:
        """``graphviz.quoting.quote``, once per distinct value (and type: nohtml labels)."""
        key = (value.__class__, value)
        got = self._quoted.get(key)
        if got is None:
            got = self._quoted[key] = _quote(value)
        return got

    def attr_list(self, attrs: dict[str, str]) -> str:
        """`` [label=... a=... b=...]``: the label first, then the others sorted by name."""
        label = attrs.get("label")
        parts = [f"label={_quote(label)}"] if label is not None else []
        pairs = self._pairs
        for k in sorted(attrs):
            if k != "label":
                v = attrs[k]
                pair = pairs.get((k, v))
                if pair is None:
                    pair = pairs[(k, v)] = f"{self.quote(k)}={self.quote(v)}"
                parts.append(pair)
        return f" [{' '.join(parts)}]" if parts else ""

    def node(self, graph: graphviz.Digraph, name: str, attrs: dict[str, str]) -> None:
        """``graph.node(name, **attrs)``."""
        graph.body.append(f"\t{self.quote(name)}{self.attr_list(attrs)}\n")

    def edge(self, graph: graphviz.Digraph, tail: str, head: str, attrs: dict[str, str]) -> None:
        """``graph.edge(tail, head, **attrs)`` (tail and head are generated ids: no ports)."""
        q = self.quote
        graph.body.append(f"\t{q(tail)} -> {q(head)}{self.attr_list(attrs)}\n")


def _severity_style(severity: str) -> dict[str, str]:
    fill, font, border = SEVERITY_COLORS[severity]
    return {"fillcolor": fill, "fontcolor": font, "color": border, "penwidth": "2"}


def _node_attrs(view: ModelView, element_id: str) -> dict[str, str]:
    el = view.graph.elements[element_id]
    shape, extra = SHAPES[el.kind]
    style = "filled" + (f",{extra}" if extra else "")
    lines = [el.name, f"\u00ab{KIND_LABELS[el.kind]}\u00bb"]
    attrs = {"shape": shape, "style": style, "fillcolor": "#ffffff", "color": "#374151"}
    worst = view.worst_open(element_id)
    if worst is not None:
        n = len(view.open_by_element[element_id])
        lines.append(f"{BADGE} {n} open ({worst})")
        attrs.update(_severity_style(worst))
    attrs["label"] = label(*lines)
    attrs["id"] = f"el_{view.element_sid[element_id]}"
    return attrs


def _add_boundary(view: ModelView, parent: graphviz.Digraph, bid: str, out: _Statements) -> None:
    name, trust = view.boundary_label(bid)
    color = TRUST_COLORS[Trust(trust)]
    with parent.subgraph(name=f"cluster_{view.boundary_sid[bid]}") as c:
        c.attr(
            label=label(name, f"[trust: {trust}]"),
            color=color,
            fontcolor=color,
            style="dashed,rounded",
            penwidth="1.5",
            id=f"bd_{view.boundary_sid[bid]}",
        )
        for child in view.child_boundaries(bid):
            _add_boundary(view, c, child, out)
        for e in view.elements_in(bid):
            out.node(c, view.element_sid[e], _node_attrs(view, e))


def _edge_attrs(view: ModelView, fv_index: int) -> dict[str, str]:
    fv = view.flows[fv_index]
    lines = [fv.name]
    if fv.data:
        lines.append(fv.data_text())
    proto = one_line(fv.flow.protocol) or "protocol unspecified"
    lines.append(proto)
    attrs = {"id": f"fl_{fv.sid}", "color": "#374151", "fontcolor": "#111827"}
    if fv.unencrypted_sensitive:
        lines.insert(0, f"{BADGE} UNENCRYPTED sensitive data")
        attrs.update(
            color=UNENCRYPTED_COLOR, fontcolor=UNENCRYPTED_COLOR, style="dashed", penwidth="2.5"
        )
    attrs["label"] = label(*lines)
    return attrs


def _legend(view: ModelView, g: graphviz.Digraph) -> None:
    kinds = sorted({el.kind for el in view.elements}, key=lambda k: list(Kind).index(k))
    items: list[tuple[str, dict[str, str]]] = []
    for i, kind in enumerate(kinds, 1):
        shape, extra = SHAPES[kind]
        style = "filled" + (f",{extra}" if extra else "")
        attrs = {"label": label(KIND_LABELS[kind]), "shape": shape, "style": style}
        items.append((f"lgk{i}", {**attrs, "fillcolor": "#ffffff"}))
    for sev in reversed(SEVERITIES):
        attrs = {"label": label(f"open finding: {sev}"), "shape": "box", "style": "filled"}
        items.append((f"lgs{sev}", {**attrs, **_severity_style(sev)}))
    with g.subgraph(name="cluster_legend") as lg:
        lg.attr(label="Legend", style="rounded", color="#9ca3af", fontcolor="#374151", id="legend")
        # Columns of LEGEND_ROWS items (one rank each: with rankdir=LR a rank is a column),
        # chained by invisible edges so that the legend stays compact.
        heads = []
        for c in range(0, len(items), LEGEND_ROWS):
            with lg.subgraph(name=f"legend_col{c // LEGEND_ROWS + 1}") as col:
                col.attr(rank="same")
                for nid, attrs in items[c : c + LEGEND_ROWS]:
                    col.node(nid, fontsize="8", height="0.3", **attrs)
            heads.append(items[c][0])
        for a, b in itertools.pairwise(heads):
            lg.edge(a, b, style="invis")
        lg.node("lga", label="", shape="point", width="0.05")
        lg.node("lgb", label="", shape="point", width="0.05")
        lg.edge(heads[-1], "lga", style="invis")
        lg.edge(
            "lga",
            "lgb",
            label=label(f"{BADGE} unencrypted", "sensitive flow"),
            color=UNENCRYPTED_COLOR,
            fontcolor=UNENCRYPTED_COLOR,
            style="dashed",
            penwidth="2.5",
            fontsize="8",
        )


def build(view: ModelView) -> graphviz.Digraph:
    """The diagram of one model as a ``graphviz.Digraph``."""
    g = graphviz.Digraph(name="dfd")
    g.attr(
        "graph",
        rankdir="LR",
        fontname=FONT,
        fontsize="11",
        label=label(view.model_name, "data-flow diagram (threatgraph)"),
        labelloc="t",
        compound="true",
        newrank="true",
        nodesep="0.3",
        ranksep="0.7",
        id="dfd",
    )
    g.attr("node", fontname=FONT, fontsize="10")
    g.attr("edge", fontname=FONT, fontsize="8")
    out = _Statements()
    for bid in view.child_boundaries(None):
        _add_boundary(view, g, bid, out)
    for e in view.elements_in(None):
        out.node(g, view.element_sid[e], _node_attrs(view, e))
    for i, fv in enumerate(view.flows):
        out.edge(g, fv.source, fv.target, _edge_attrs(view, i))
    _legend(view, g)
    return g


def render_dot(view: ModelView) -> str:
    """DOT source text (deterministic: everything is sorted, no timestamps)."""
    src: str = build(view).source
    return src


class DotFormat(ReportFormat):
    """diagram.dot: the Graphviz source of the data-flow diagram."""

    name = "dot"
    summary = "diagram.dot: Graphviz source of the data-flow diagram"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """The DOT text drawn for this model."""
        return {"diagram.dot": inp.diagrams.dot}


FORMAT = DotFormat()

__all__ = ["FORMAT", "SHAPES", "build", "escape", "label", "render_dot"]
