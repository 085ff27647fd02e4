"""diagram.dot: structure, marks, legend, and escaping that survives `dot` itself."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date

import pytest
from report_support import AS_OF, ASSISTANT, HAVE_DOT, HOSTILE, ROOT, analyse, render, text

from threatgraph.formats.dot import (
    BADGE,
    SHAPES,
    data_text,
    edge_groups,
    escape,
    layouts,
    longest_chain,
    rankdir,
    render_dot,
    wrap,
)
from threatgraph.formats.view import ModelView
from threatgraph.model.schema import Kind


def _view(path):  # type: ignore[no-untyped-def]
    # The reference models' decisions are dated up to late 2026: judge them as of then.
    r = analyse(path, as_of="2026-12-01" if path.parent.name == "models" else AS_OF)
    m = r.results[0]
    return ModelView.build(m.graph, m.findings, r.library, r.as_of, "high", str(path))


def test_escape_neutralises_dot_escapes_and_line_breaks() -> None:
    assert escape("a\\nb") == "a\\\\nb"  # a literal backslash-n, not a line break
    assert escape("C:\\dir\\") == "C:\\\\dir\\\\"  # even count: the quote cannot be escaped
    assert escape("\\N \\G \\l") == "\\\\N \\\\G \\\\l"
    assert escape("line\nbreak\ttab") == "line break tab"


def test_labels_are_never_html_like() -> None:
    from threatgraph.formats.dot import _label, quote

    assert quote(_label("<b>bold</b>")) == '"<b>bold</b>"'  # quoted string, not <...>


def test_every_kind_has_its_own_shape() -> None:
    assert set(SHAPES) == set(Kind)
    assert len(set(SHAPES.values())) == len(Kind)


def test_clusters_nest_and_carry_trust() -> None:
    dot = render_dot(_view(ASSISTANT))
    corp = dot.index('label="Corporate network\\n[trust: internal]"')
    vault = dot.index('label="Customer data vault\\n[trust: restricted]"')
    # the vault cluster is opened inside the corporate cluster, before that one closes
    corp_open = dot.rfind("subgraph cluster_", 0, corp)
    vault_open = dot.rfind("subgraph cluster_", 0, vault)
    assert corp_open < vault_open
    depth = dot[:vault_open].count("{") - dot[:vault_open].count("}")
    assert depth == 2  # digraph { corp { vault


def _group_lines(dot: str, flow_sid: str) -> tuple[str, list[str]]:
    """The label node line of the group holding a flow, and its two edge lines."""
    gid = rf"fl_(?:e\d+_)*{flow_sid}(?:_e\d+)*"
    lines = dot.splitlines()
    node = next(ln for ln in lines if re.search(rf"\bid={gid}\b", ln))
    edges = [ln for ln in lines if re.search(rf"\bid={gid}_(in|out)\b", ln)]
    return node, edges


def test_flows_labelled_and_unencrypted_sensitive_marked() -> None:
    view = _view(ASSISTANT)
    dot = render_dot(view)
    raw = view.flow_by_id["web-app--shield--raw-prompt"]
    node, edges = _group_lines(dot, raw.sid)
    assert "UNENCRYPTED sensitive data" in node and "Customer questions [pii]" in node
    assert "#c00000" in node and "\\nhttp" in node
    assert len(edges) == 2 and all("style=dashed" in e and "#c00000" in e for e in edges)
    ok = view.flow_by_id["customer--web-app--question"]
    node, edges = _group_lines(dot, ok.sid)
    assert "UNENCRYPTED" not in node and not any("dashed" in e for e in edges)


def test_flow_labels_are_nodes_so_graphviz_keeps_them_apart() -> None:
    # Edge labels may overlap in Graphviz; nodes never do. Each flow edge runs through its
    # label node, with the arrowhead at the target only.
    view = _view(ASSISTANT)
    dot = render_dot(view)
    assert "label=" not in "".join(ln for ln in dot.splitlines() if " -> " in ln)
    fv = view.flow_by_id["customer--web-app--question"]
    node, edges = _group_lines(dot, fv.sid)
    name = re.match(r"\s*(f\d+) \[", node)
    assert name is not None
    f = name.group(1)
    assert edges[0].strip().startswith(f"{fv.source} -> {f} ") and "dir=none" in edges[0]
    assert edges[1].strip().startswith(f"{f} -> {fv.target} ") and "dir=forward" in edges[1]


def test_opposite_flows_are_one_label_naming_each_target() -> None:
    view = _view(ROOT / "models" / "support_agent.py")
    groups = edge_groups(view)
    assert sum(len(g) for g in groups) == len(view.flows)
    pairs = [frozenset((g[0].source, g[0].target)) for g in groups]
    assert len(pairs) == len(set(pairs))  # one edge per pair of elements
    two_way = [g for g in groups if len({fv.source for fv in g}) == 2]
    assert two_way, "the support agent has requests and their responses"
    dot = render_dot(view)
    for g in two_way:
        node, edges = _group_lines(dot, g[0].sid)
        for fv in g:
            assert f"{fv.name} → {view.name(fv.flow.target)}" in node.replace("\\n", " ")
        assert "dir=back" in edges[0] and "dir=forward" in edges[1]


def test_vendors_are_joined_to_what_they_host() -> None:
    view = _view(ASSISTANT)
    hosting = view.hosting()
    assert hosting, "the assistant's LLM is hosted by a vendor"
    dot = render_dot(view)
    for vendor, element in hosting:
        vs, es = view.element_sid[vendor], view.element_sid[element]
        line = next(ln for ln in dot.splitlines() if f"id=vh_{vs}_{es}" in ln)
        assert line.strip().startswith(f"{vs} -> {es} ") and "style=dotted" in line
    assert "hosted or provided by the vendor" in dot


def test_wrap_breaks_at_spaces_and_keeps_long_words() -> None:
    assert wrap("a bb ccc dddd", 6) == ["a bb", "ccc", "dddd"]
    assert wrap("supercalifragilistic x", 5) == ["supercalifragilistic", "x"]
    assert wrap("", 5) == []
    assert wrap("line\nbreak", 40) == ["line break"]


def test_data_grouped_by_classification() -> None:
    view = _view(ASSISTANT)
    for fv in view.flows:
        text = data_text(fv)
        for d in fv.data:
            assert d.name in text
        classes = {d.classification.value for d in fv.data}
        assert sum(text.count(f"[{c}]") for c in classes) == len(classes)


def view_of(elements: int, flows: list[tuple[int, int]]) -> ModelView:
    """A model of ``elements`` processes p0, p1... and the flows between them."""
    from helpers import model

    from threatgraph.graph import build as build_graph

    doc = {
        "model": {"id": "m", "name": "m"},
        "elements": [{"id": f"p{i}", "name": f"p{i}", "kind": "process"} for i in range(elements)],
        "flows": [{"name": "f", "source": f"p{a}", "target": f"p{b}"} for a, b in flows],
    }
    g = build_graph(model(doc))
    return ModelView.build(g, [], _view(ASSISTANT).library, date(2026, 6, 1), "high", "m.yaml")


def test_long_chains_are_drawn_top_to_bottom() -> None:
    # a chain of eight, with a flow back to the start: the cycle is broken, not followed
    assert rankdir(view_of(8, [(i, i + 1) for i in range(7)] + [(7, 0)])) == "TB"
    assert rankdir(view_of(9, [(0, i) for i in range(1, 9)])) == "LR"  # a star
    assert rankdir(view_of(0, [])) == "LR"


def test_elements_coloured_by_worst_open_finding_with_count() -> None:
    view = _view(ASSISTANT)
    dot = render_dot(view)
    for el in view.elements:
        line = next(
            ln for ln in dot.splitlines() if re.search(rf"\bid=el_{view.element_sid[el.id]}\b", ln)
        )
        worst = view.worst_open(el.id)
        if worst is None:
            assert f"{BADGE} " not in line and 'fillcolor="#ffffff"' in line
        else:
            n = len(view.open_by_element[el.id])
            assert f"{BADGE} {n} open ({worst})" in line
            assert 'fillcolor="#ffffff"' not in line


def test_legend_lists_only_what_the_diagram_shows() -> None:
    view = _view(ASSISTANT)
    dot = render_dot(view)
    legend = next(ln for ln in dot.splitlines() if ln.strip().startswith("legend ["))
    drawn = {view.worst_open(e) for e in view.graph.elements} - {None}
    for sev in ("critical", "high", "medium", "low", "info"):
        assert (f">{sev}</FONT>" in legend) == (sev in drawn), sev
    assert ("unencrypted" in legend) == any(fv.unencrypted_sensitive for fv in view.flows)
    assert "trust boundary" in legend
    # fixed words only: no model text in the one HTML-like label
    assert not any(el.name in legend for el in view.elements)


def test_marks_are_ascii_so_every_font_draws_them() -> None:
    assert BADGE.isascii()
    dot = render_dot(_view(ASSISTANT))
    assert "\u26a0" not in dot


def test_node_names_are_generated_ids() -> None:
    dot = text(render(HOSTILE, formats=("dot",)), "hostile/diagram.dot")
    names = re.findall(r"^\s*([^\s\[]+) \[", dot, flags=re.M)
    names = [n for n in names if n not in ("graph", "node", "edge")]
    assert names and all(re.fullmatch(r"[nf]\d+|legend", n) for n in names)


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz dot is not installed")
def test_hostile_dot_is_accepted_by_dot_and_adds_nothing() -> None:
    dot = text(render(HOSTILE, formats=("dot",)), "hostile/diagram.dot")
    proc = subprocess.run(
        ["dot", "-Tjson"], input=dot.encode(), capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert not proc.stderr.strip(), proc.stderr.decode()  # no syntax warnings either
    graph = json.loads(proc.stdout)
    nodes = {o["name"]: o for o in graph["objects"] if "nodes" not in o}
    elements = [n for n in nodes if n.startswith("n")]
    assert sorted(elements, key=lambda s: int(s[1:])) == [f"n{i}" for i in range(1, 9)]
    clusters = [o["name"] for o in graph["objects"] if "nodes" in o]
    assert not any("evil" in c for c in clusters)
    # the payloads are there, literally, as label text
    labels = " ".join(o.get("label", "") for o in graph["objects"])
    labels += " ".join(o.get("label", "") for o in graph["objects"]).replace("\\n", " ")  # wrapped
    assert "</script><script>document.title='PWNED'</script>" in labels
    assert '"]; subgraph evil { n99 [label="PWNED"] }' in labels
    assert len(graph.get("edges", [])) >= 6
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60, check=True
    ).stdout.decode()
    # DOT escapes stayed literal: the drawn text shows the backslashes, no line breaks but
    # our own (the name is wrapped at spaces)
    texts = " ".join(re.findall(r">([^<>]*)</text>", svg))
    assert "Deep \\\\server\\share\\ \\N \\G \\l trailing backslash \\" in texts


def test_statements_are_what_the_graphviz_package_writes() -> None:
    # The DOT text is written directly, not through the graphviz package: statements, their
    # quoting and the nesting of clusters must stay what the package writes.
    import graphviz

    from threatgraph.formats.dot import _body, _label, _Writer, quote

    samples = ["n1", "node", "Edge", "-4.2", ".5", "a b", 'say "hi"', 'x\\"y', "<b>x</b>", ""]
    view = _view(HOSTILE)
    texts = samples + [el.name for el in view.elements] + [fv.name for fv in view.flows]
    for s in texts:
        lab = _label(s, "second line") if s else ""
        assert quote(lab) == graphviz.quoting.quote(graphviz.nohtml(lab)), s
        assert quote(s) == graphviz.quoting.quote(graphviz.nohtml(s)), s
        attrs = {"label": lab, "shape": "box", "id": "el_x", "color": "#000000", "z": s}
        out = _Writer()
        out.attr(1, "graph", {"label": lab, "a": "1"})
        out.open(1, "cluster_x")
        out.attr(2, None, {"label": lab, "color": "red"})
        out.node(2, "n1", attrs)
        out.close(1)
        out.edge(1, "n1", "n2", attrs)
        theirs = graphviz.Digraph()
        theirs.attr("graph", label=graphviz.nohtml(lab), a="1")
        with theirs.subgraph(name="cluster_x") as c:
            c.attr(label=graphviz.nohtml(lab), color="red")
            c.node("n1", **{**attrs, "label": graphviz.nohtml(lab), "z": graphviz.nohtml(s)})
        theirs.edge("n1", "n2", **{**attrs, "label": graphviz.nohtml(lab), "z": graphviz.nohtml(s)})
        assert "digraph {\n" + "".join(out.lines) + "}\n" == theirs.source, s
    for lay in layouts(view):
        assert graphviz.Digraph(name="dfd", body=_body(view, lay)).source == render_dot(view, lay)


def test_layouts_move_only_the_longest_chains_labels() -> None:
    from threatgraph.formats.dot import Layout

    # A chain 0 -> 1 -> 2 -> 3 and a side flow 0 -> 3.
    view = view_of(4, [(0, 1), (1, 2), (2, 3), (0, 3)])
    chain = longest_chain(view)
    assert len(chain) == 3 and all(a != b for a, b in chain)
    assert layouts(view)[0] == Layout(rankdir(view))
    assert len(set(layouts(view))) == len(layouts(view))
    plain, loose = (render_dot(view, Layout("TB", b)) for b in ("", "loose"))
    assert "constraint" not in plain
    assert loose.count("constraint=false") == 3
    # Only edges into a label (source -> label) move.
    assert all("_in " in ln or "_in]" in ln for ln in loose.splitlines() if "constraint" in ln)
    assert "rankdir=TB" in loose and render_dot(view) == render_dot(view, layouts(view)[0])


def test_a_narrow_layout_wraps_names_shorter() -> None:
    from threatgraph.formats.dot import NARROW_NODE_WRAP, Layout, wrap

    name = "Customer support escalation console"
    assert len(wrap(name, NARROW_NODE_WRAP)) > len(wrap(name, 20))
    view = _view(ASSISTANT)
    assert render_dot(view, Layout("TB", narrow=True)) != render_dot(view, Layout("TB"))
    assert Layout("TB", narrow=True).node_wrap == NARROW_NODE_WRAP
    assert Layout("TB").node_wrap == 20
