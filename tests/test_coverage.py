"""Framework coverage: categories, rule outcomes, not-applicable reasons, JSON, Navigator layer."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from helpers import builtin_library

from threatgraph.cli import cli
from threatgraph.features import coverage
from threatgraph.features.coverage import run_coverage
from threatgraph.pipeline import run
from threatgraph.reports import coverage as coverage_report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "clinical_notes_assistant.py"

CHAT = """\
threatgraph: 1
model: {name: Chat}
boundaries:
  - {name: Internet, trust: untrusted}
  - {name: Cloud, trust: internal}
elements:
  - {kind: actor, name: Visitor, boundary: internet}
  - {kind: app, name: Chat app, boundary: cloud}
  - {kind: llm, name: Chat model, boundary: cloud, controls: [guardrail.input_filter]}
flows:
  - {from: visitor, to: chat-app, name: message, protocol: https}
  - {from: chat-app, to: chat-model, name: prompt, protocol: https}
"""


def _run(tmp_path: Path, text: str = CHAT) -> object:
    p = tmp_path / "chat.yaml"
    p.write_text(text)
    return run([str(p)], as_of=date(2026, 6, 1), disabled={"TG-PI-007": "tested elsewhere"})


def test_every_category_and_tactic_is_listed() -> None:
    cats = coverage.categories(builtin_library())
    assert [c for c, _ in cats["owasp-llm"]] == [f"LLM{i:02d}" for i in range(1, 11)]
    assert [c for c, _ in cats["owasp-ml"]] == [f"ML{i:02d}" for i in range(1, 11)]
    assert [c for c, _ in cats["owasp-asi"]] == [f"ASI{i:02d}" for i in range(1, 11)]
    assert len(cats["atlas"]) == 16 and all(c.startswith("AML.TA") for c, _ in cats["atlas"])


def test_techniques_map_to_tactics_through_their_parent() -> None:
    t = coverage.technique_tactics(builtin_library())
    assert t["AML.T0051"] == ["AML.TA0005"]
    assert t["AML.T0051.001"] == ["AML.TA0005"]  # sub-technique inherits
    lr = builtin_library().rule("TG-PI-002")
    assert ("atlas", "AML.TA0005") in coverage.rule_categories(lr, t)
    assert ("owasp-llm", "LLM01") in coverage.rule_categories(lr, t)


def test_outcomes_fired_quiet_not_applicable_disabled(tmp_path: Path) -> None:
    r = _run(tmp_path)
    res = r.results[0]  # type: ignore[attr-defined]
    outs = coverage.outcomes(r.library, res.graph, res.findings)  # type: ignore[attr-defined]
    assert outs["TG-PI-001"].status == "fired" and outs["TG-PI-001"].open == [
        "TG-PI-001/chat-model"
    ]
    assert outs["TG-PI-007"].status == "disabled" and outs["TG-PI-007"].reason == "tested elsewhere"
    # Acting through an element is a capability of any kind, so no kind rules it out.
    assert outs["TG-AG-001"].status == "no_match"
    ag = outs["TG-AG-004"]  # a code runner reached by a model: code runners are any kind too
    assert ag.status == "no_match"
    assert outs["TG-VEN-001"].status == "no_match"  # hosted: true does not say which kind
    assert outs["TG-VEN-002"].status == "not_applicable"
    assert "vendor" in outs["TG-VEN-002"].reason
    # Training rules cannot apply to a model without training pipelines or datasets.
    assert outs["TG-POI-002"].status == "not_applicable"


def test_kinds_needed_resolves_named_predicates() -> None:
    from threatgraph.engine.rules import ElementPred
    from threatgraph.model.schema import Kind

    k = coverage.kinds_needed(
        ElementPred.model_validate({"use": "llm-consumer"}), builtin_library().predicates
    )
    # Models and agents, and agent loops drawn as an app or process (derived: agentic).
    assert k == frozenset({Kind.LLM, Kind.AGENT, Kind.APP, Kind.PROCESS})
    k = coverage.kinds_needed(
        ElementPred.model_validate({"kind": ["llm", "tool"], "not_kind": "tool"}),
        builtin_library().predicates,
    )
    assert k == frozenset({Kind.LLM})
    assert (
        coverage.kinds_needed(
            ElementPred.model_validate({"hosted": True}), builtin_library().predicates
        )
        is None
    )


def test_markdown_and_json(tmp_path: Path) -> None:
    r = _run(tmp_path)
    md = coverage_report.render_markdown(run_coverage(r))
    assert "## OWASP Top 10 for LLM Applications" in md and "## MITRE ATLAS tactics" in md
    assert "| LLM01 Prompt Injection |" in md and "`TG-PI-001` (1 open)" in md
    assert "- `TG-VEC-001`: no element of kind" in md
    assert "- `TG-PI-007`: disabled: tested elsewhere" in md
    doc = coverage_report.document(run_coverage(r))
    llm01 = next(c for c in doc["models"][0]["frameworks"]["owasp-llm"] if c["id"] == "LLM01")
    assert {
        "rule": "TG-PI-001",
        "open": ["TG-PI-001/chat-model"],
        "mitigated": [],
        "accepted": [],
        "false_positive": [],
    } in llm01["fired"]
    # No memory in the model: the memory rules cannot apply (an MCP server, which TG-PI-003
    # looks for, may be drawn as any kind, so that rule is evaluated).
    assert any(x["rule"] == "TG-PI-005" for x in llm01["not_applicable"])
    assert "TG-PI-003" in llm01["evaluated_no_finding"]
    assert set(llm01["rules"]) == (
        {x["rule"] for x in llm01["fired"]}
        | set(llm01["evaluated_no_finding"])
        | {x["rule"] for x in llm01["not_applicable"]}
        | {x["rule"] for x in llm01["disabled"]}
    )


def test_navigator_layer(tmp_path: Path) -> None:
    r = _run(tmp_path)
    layer = coverage_report.navigator_layer(run_coverage(r))
    assert layer["domain"] == "atlas-atlas"
    assert set(layer["versions"]) == {"layer", "navigator"}
    assert {"name": "atlas_data_version", "value": "5.6.0"} in layer["metadata"]
    by_id: dict[str, list[dict[str, object]]] = {}
    for t in layer["techniques"]:
        by_id.setdefault(str(t["techniqueID"]), []).append(t)
    # TG-PI-001 (open, high: an untrusted actor reaches the model) cites AML.T0051.000.
    sub = by_id["AML.T0051.000"][0]
    assert sub["score"] == 3 and sub["color"] == coverage_report.SEVERITY_COLORS["high"]
    assert "TG-PI-001/chat-model" in str(sub["comment"])
    parent = by_id["AML.T0051"][0]
    assert parent["tactic"] == "execution" and parent["showSubtechniques"] is True
    # Exactly the ATLAS techniques that open findings cite are coloured.
    atlas = builtin_library().references["entries"]["atlas"]
    expected = {
        ref.split(":", 1)[1].rsplit("@", 1)[0]
        for f in r.results[0].findings  # type: ignore[attr-defined]
        if f.status == "open"
        for ref in f.rule.references
        if ref.startswith("atlas:")
    }
    expected = {t for t in expected if atlas[t]["type"] == "technique"}
    assert {str(t["techniqueID"]) for t in layer["techniques"] if "score" in t} == expected


def test_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    nav = tmp_path / "layer.json"
    args = ["coverage", str(EXAMPLE), "--as-of", "2026-06-01"]
    a = runner.invoke(cli, [*args, "--navigator", str(nav)])
    b = runner.invoke(cli, args)
    assert a.exit_code == 0 and a.output == b.output
    assert "# Framework coverage: Clinical notes assistant" in a.output
    layer = json.loads(nav.read_text())
    assert layer["techniques"] and layer["domain"] == "atlas-atlas"
    out = tmp_path / "cov.json"
    c = runner.invoke(cli, [*args, "--format", "json", "-o", str(out)])
    assert c.exit_code == 0 and json.loads(out.read_text())["as_of"] == "2026-06-01"


def test_hipaa_is_a_framework_like_the_others() -> None:
    r = run([str(EXAMPLE)], as_of=date(2026, 6, 1))
    res = r.results[0]
    cov = coverage.coverage(r.library, res.graph, res.findings)
    rows = {row.id: row for row in cov["hipaa"]}
    # Every Security Rule standard and specification, the part headings left out.
    assert "164.308" not in rows and "164.308(a)(5)(ii)(D)" in rows
    # A rule citing a specification covers its standard too.
    spec = {o.rule for o in rows["164.308(a)(7)(ii)(A)"].rules}
    assert spec and spec <= {o.rule for o in rows["164.308(a)(7)"].rules}
    fired = {o.rule for o in rows["164.312(b)"].by_status("fired")}
    assert "TG-SEC-005" in fired
    md = coverage_report.render_markdown(coverage.run_coverage(r))
    assert "## HIPAA (45 CFR Part 164) standards and specifications" in md
