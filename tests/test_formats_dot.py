"""diagram.dot: structure, marks, legend, and escaping that survives `dot` itself."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from report_support import ASSISTANT, HAVE_DOT, HOSTILE, analyse, render, text

from threatgraph.formats.dot import SHAPES, escape, label, render_dot
from threatgraph.formats.view import ModelView
from threatgraph.model.schema import Kind


def _view(path):  # type: ignore[no-untyped-def]
    r = analyse(path)
    m = r.results[0]
    return ModelView.build(m.graph, m.findings, r.library, r.as_of, "high", str(path))


def test_escape_neutralises_dot_escapes_and_line_breaks() -> None:
    assert escape("a\\nb") == "a\\\\nb"  # a literal backslash-n, not a line break
    assert escape("C:\\dir\\") == "C:\\\\dir\\\\"  # even count: the quote cannot be escaped
    assert escape("\\N \\G \\l") == "\\\\N \\\\G \\\\l"
    assert escape("line\nbreak\ttab") == "line break tab"


def test_labels_are_never_html_like() -> None:
    import graphviz

    lab = label("<b>bold</b>")
    stmt = graphviz.Digraph()
    stmt.node("n1", label=lab)
    assert 'label="<b>bold</b>"' in stmt.source  # quoted string, not <...> HTML label


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


def test_flows_labelled_and_unencrypted_sensitive_marked() -> None:
    view = _view(ASSISTANT)
    dot = render_dot(view)
    raw = view.flow_by_id["web-app--shield--raw-prompt"]
    line = next(ln for ln in dot.splitlines() if re.search(rf"\bid=fl_{raw.sid}\b", ln))
    assert "UNENCRYPTED sensitive data" in line and "Customer questions [pii]" in line
    assert "style=dashed" in line and "#c00000" in line and "\\nhttp" in line
    ok = view.flow_by_id["customer--web-app--question"]
    line = next(ln for ln in dot.splitlines() if re.search(rf"\bid=fl_{ok.sid}\b", ln))
    assert "UNENCRYPTED" not in line and "dashed" not in line


def test_elements_coloured_by_worst_open_finding_with_count() -> None:
    view = _view(ASSISTANT)
    dot = render_dot(view)
    for el in view.elements:
        line = next(
            ln for ln in dot.splitlines() if re.search(rf"\bid=el_{view.element_sid[el.id]}\b", ln)
        )
        worst = view.worst_open(el.id)
        if worst is None:
            assert "⚠" not in line and 'fillcolor="#ffffff"' in line
        else:
            n = len(view.open_by_element[el.id])
            assert f"⚠ {n} open ({worst})" in line
            assert 'fillcolor="#ffffff"' not in line


def test_legend_lists_kinds_severities_and_the_unencrypted_mark() -> None:
    dot = render_dot(_view(ASSISTANT))
    legend = dot[dot.index("subgraph cluster_legend") :]
    for word in ("actor", "agent", "LLM", "vector store", "open finding: critical", "unencrypted"):
        assert word in legend


def test_node_names_are_generated_ids() -> None:
    dot = text(render(HOSTILE, formats=("dot",)), "hostile/diagram.dot")
    names = re.findall(r"^\s*([^\s\[]+) \[", dot, flags=re.M)
    names = [n for n in names if n not in ("graph", "node", "edge")]
    assert names and all(re.fullmatch(r"n\d+|lg[a-z0-9]+", n) for n in names)


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
    assert "</script><script>document.title='PWNED'</script>" in labels
    assert '"]; subgraph evil { n99 [label="PWNED"] }' in labels
    assert len(graph.get("edges", [])) >= 6
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60, check=True
    ).stdout.decode()
    # DOT escapes stayed literal: the drawn text shows the backslashes, no line breaks
    assert "Deep \\\\server\\share\\ \\N \\G \\l trailing backslash \\</text>" in svg


def test_statements_are_what_the_graphviz_package_writes() -> None:
    # The DOT text is written directly, not through the graphviz package: statements, their
    # quoting and the nesting of clusters must stay what the package writes.
    import graphviz

    from threatgraph.formats.dot import _label, _Writer, build, quote

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
    assert build(view).source == render_dot(view)
