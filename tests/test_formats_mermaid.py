"""diagram.mmd: a strict line grammar, escaping, severity classes, splitting over the limits."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from report_support import ASSISTANT, HOSTILE, analyse, render, text

from threatgraph.formats.mermaid import MAX_EDGES, MAX_TEXT, escape, render_mermaid
from threatgraph.formats.view import ModelView

LABEL = r'"[^"`]*"'
SHAPE = (
    r"(\[|\(|\(\[|\[\(|\{\{|\[\[|>|\[/|\[\\|\{|\(\()"
    + LABEL
    + r"(\]|\)|\]\)|\)\]|\}\}|\]\]|\\\]|/\]|\}|\)\))"
)
GRAMMAR = [
    r"flowchart LR",
    r"\s*subgraph b\d+\[" + LABEL + r"\]",
    r"\s*end",
    r"\s*[ng]\d+" + SHAPE,
    r"\s*[ng]\d+ (-->|-\.->)\|" + LABEL + r"\| [ng]\d+",
    r"\s*classDef sev(critical|high|medium|low|info) [a-z0-9:#,.-]+",
    r"\s*class [ng]\d+(,[ng]\d+)* sev(critical|high|medium|low|info)",
    r"\s*style b\d+ [a-z0-9:#,. -]+",
    r"\s*linkStyle \d+(,\d+)* [a-z0-9:#,.-]+",
]


def _check_grammar(mmd: str) -> None:
    for line in mmd.splitlines():
        assert any(re.fullmatch(g, line) for g in GRAMMAR), f"unexpected line: {line!r}"
        for m in re.finditer(LABEL, line):
            inner = m.group(0)[1:-1]
            # no raw metacharacter survives inside a label (entities are #...;)
            assert not re.search(r"[<>\[\](){}|`%\\:]", inner.replace("<br/>", "")), inner
            assert not re.search(r"#(?![a-z]+;|\d+;)", inner), inner


def _view(path: Path) -> ModelView:
    r = analyse(path)
    m = r.results[0]
    return ModelView.build(m.graph, m.findings, r.library, r.as_of, "high", str(path))


def test_escape_turns_every_metacharacter_into_an_entity() -> None:
    assert escape('a"b') == "a#quot;b"
    assert escape("<b>&") == "#lt;b#gt;#amp;"
    assert escape("#quot;") == "#35;quot#59;"  # an entity in the input stays literal
    assert escape("[x](y){z}|`%\\;:") == "#91;x#93;#40;y#41;#123;z#125;#124;#96;#37;#92;#59;#58;"
    assert escape("two\nlines") == "two lines"


def test_assistant_diagram_follows_the_grammar() -> None:
    mmd = text(render(ASSISTANT, formats=("mermaid",)), "support-assistant/diagram.mmd")
    _check_grammar(mmd)
    assert 'subgraph b1["Corporate network · internal trust"]' in mmd
    # the vault (b3) is nested in the corporate network (b1): opened before b1 ends
    assert mmd.index("subgraph b1[") < mmd.index("        subgraph b3[") < mmd.index("    end\n")


def test_hostile_diagram_follows_the_grammar() -> None:
    mmd = text(render(HOSTILE, formats=("mermaid",)), "hostile/diagram.mmd")
    _check_grammar(mmd)
    assert "```" not in mmd  # cannot close the Markdown code fence around it
    assert "%%" not in mmd  # no directive or comment can start inside a label


def test_findings_highlighted_and_unencrypted_flows_red() -> None:
    view = _view(ASSISTANT)
    (name, mmd), *_ = render_mermaid(view)[0]
    assert name == "diagram.mmd"
    for el in view.elements:
        sid = view.element_sid[el.id]
        worst = view.worst_open(el.id)
        classes = re.findall(r"class ([\w,]+) sev(\w+)", mmd)
        mine = [sev for ids, sev in classes if sid in ids.split(",")]
        assert mine == ([worst] if worst else [])
    edges = [ln for ln in mmd.splitlines() if "-->|" in ln or "-.->|" in ln]
    red = [i for i, ln in enumerate(edges) if "-.->" in ln]
    assert red and all("UNENCRYPTED" in edges[i] for i in red)
    assert f"linkStyle {','.join(map(str, red))} stroke:#c00000" in mmd


def _big_model(path: Path, flows_per_zone: int) -> Path:
    zones = ["alpha", "beta", "gamma"]
    elements = []
    for z in zones:
        for i in range(12):
            elements.append(
                {"id": f"{z}-{i}", "kind": "process", "name": f"{z} {i}", "boundary": z}
            )
    elements.append({"id": "loose", "kind": "llm", "name": "Loose LLM"})
    flows = []
    for zi, z in enumerate(zones):
        for k in range(flows_per_zone):
            target_zone = zones[(zi + (k % 2)) % 3]
            t = (k * 7 + 1) % 12
            if target_zone == z and t == k % 12:
                t = (t + 1) % 12
            flows.append(
                {
                    "from": f"{z}-{k % 12}",
                    "to": f"{target_zone}-{t}",
                    "name": f"flow {k} with a fairly long descriptive name",
                }
            )
    flows.append({"from": "loose", "to": "alpha-0", "name": "answer"})
    doc = {
        "threatgraph": 1,
        "model": {"name": "Big model", "id": "big"},
        "boundaries": [{"id": z, "name": z.title(), "trust": "internal"} for z in zones],
        "elements": elements,
        "flows": flows,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_small_model_is_one_diagram() -> None:
    files, titles = render_mermaid(_view(ASSISTANT))
    assert [f for f, _ in files] == ["diagram.mmd"] and titles == [""]


def test_model_over_the_edge_limit_is_split_by_top_level_boundary(tmp_path: Path) -> None:
    view = _view(_big_model(tmp_path / "big.yaml", flows_per_zone=220))
    assert len(view.flows) > MAX_EDGES
    files, titles = render_mermaid(view)
    assert files[0][0] == "diagram.mmd" and titles[0].startswith("Overview")
    assert [f for f, _ in files[1:]] == [f"diagram-{i}.mmd" for i in range(1, len(files))]
    seen = []
    for (_, mmd), title in zip(files, titles, strict=True):
        _check_grammar(mmd)
        edges = [ln for ln in mmd.splitlines() if re.search(r"\| [ng]\d+$", ln)]
        assert len(edges) <= MAX_EDGES and len(mmd) <= MAX_TEXT, title
        if not title.startswith("Overview"):
            seen.extend(edges)
    assert len(seen) == len(view.flows)  # every flow in exactly one part
    assert any("Alpha (internal)" in t for t in titles)
    assert any("outside any boundary" in t for t in titles)
    overview = files[0][1]
    assert "g1[" in overview and "flows" in overview


def test_parts_are_chunked_further_when_one_boundary_is_too_big(tmp_path: Path) -> None:
    view = _view(_big_model(tmp_path / "big.yaml", flows_per_zone=30))
    files, titles = render_mermaid(view, max_edges=10)
    parts = files[1:]
    total = 0
    for _, mmd in parts:
        n = len([ln for ln in mmd.splitlines() if re.search(r"\| n\d+$", ln)])
        assert n <= 10
        total += n
    assert total == len(view.flows)
    assert any(re.search(r", \d+ of \d+ ", t) for t in titles)


def test_text_limit_also_splits(tmp_path: Path) -> None:
    view = _view(_big_model(tmp_path / "big.yaml", flows_per_zone=30))
    files, _ = render_mermaid(view, max_text=4000)
    assert len(files) > 2 and all(len(t) <= 4000 for _, t in files[1:])
