"""The adversarial test plan: which findings get tests, how they are specialised, the pytest
skeletons (valid, skipped, never overwritten, safe with hostile names) and the CLI."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.features import testplan
from threatgraph.pipeline import run
from threatgraph.reports import testplan as testplan_report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "clinical_notes_assistant.py"
DAY = date(2026, 6, 1)


def _plan(path: Path = EXAMPLE) -> testplan.Plan:
    return testplan.plan(run([str(path)], as_of=DAY))


def test_plan_specialises_tests_with_the_model() -> None:
    p = _plan()
    by_id = {t.id: t for t in p.tests}
    pi = by_id["TG-PI-002/hosted-llm#1"]
    assert pi.category == "prompt_injection"
    assert pi.title == "Prompt-injection suite against Hosted LLM"
    assert pi.entry_points == ["Uploaded referral letters"]
    assert pi.route[0] == "Uploaded referral letters" and pi.route[-1] == "Hosted LLM"
    assert pi.control == "testing.prompt_injection_suite" and not pi.control_declared
    assert "input.content_sanitisation (missing)" in pi.checks
    poi = [t for t in p.tests if t.finding == "TG-POI-003/guideline-and-referral-index"]
    assert poi and all(t.category == "poisoning" for t in poi)
    assert poi[0].control == "testing.poisoning_checks"


def test_plan_takes_open_and_mitigated_findings_only() -> None:
    r = run([str(EXAMPLE)], as_of=DAY)
    status = {f.id: f.status for f in r.results[0].findings}
    p = testplan.plan(r)
    planned = {t.finding for t in p.tests}
    assert {status[f] for f in planned} <= {"open", "mitigated"}
    assert "mitigated" in {status[f] for f in planned}
    assert "TG-VEC-003/guideline-and-referral-index" not in planned  # accepted
    # Findings whose rules list no attack are reported, not planned.
    skipped = dict(p.skipped)
    assert all(f not in planned for f in skipped)
    assert all(not f.rule.attack for f in r.results[0].findings if f.id in skipped)


AGENT = """\
threatgraph: 1
model: {name: Refund agent}
data:
  - {name: Orders, classification: pii}
elements:
  - {kind: actor, name: Customer}
  - {kind: external_content, name: Support emails, content: email}
  - {kind: agent, name: Refund agent}
  - {kind: tool, name: Refund tool, capabilities: [payments, write]}
  - kind: ml_model
    name: Churn model
    returns_scores: true
    trained_on: [orders]
    internet_facing: true
flows:
  - {from: customer, to: refund-agent, name: chat, protocol: https}
  - {from: support-emails, to: refund-agent, name: email, protocol: https}
  - {from: refund-agent, to: refund-tool, name: refund, data: [orders], protocol: https}
  - {from: customer, to: churn-model, name: score request, protocol: https}
"""


def test_categories_follow_the_target(tmp_path: Path) -> None:
    p = tmp_path / "agent.yaml"
    p.write_text(AGENT)
    plan = _plan(p)
    cats = {(t.category, t.target) for t in plan.tests}
    assert ("tool_abuse", "Refund agent") in cats or ("tool_abuse", "Refund tool") in cats
    assert ("prompt_injection", "Refund agent") in cats
    assert ("membership_inference", "Churn model") in cats
    for t in plan.tests:
        cat = testplan.BY_KEY[t.category]
        assert "kinds" not in cat or t.target_kind in cat["kinds"]


def test_pytest_skeletons_are_valid_skipped_and_tied_to_findings(tmp_path: Path) -> None:
    p = _plan()
    files = testplan_report.pytest_files(p, tmp_path)
    assert len(files) == len({t.finding for t in p.tests})
    for path, source in files.items():
        tree = ast.parse(source)
        funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        assert funcs and all(f.name.startswith("test_") for f in funcs)
        assert all(ast.get_docstring(f) for f in funcs) and ast.get_docstring(tree)
        assert source.count("@pytest.mark.skip(") == len(funcs)
        assert source.count("# threatgraph: finding=") == len(funcs)
        path.write_text(source)
    t = next(t for t in p.tests if t.id == "TG-PI-002/hosted-llm#1")
    src = files[Path(t.file) if Path(t.file).is_absolute() else Path.cwd() / t.file]
    assert (
        "# threatgraph: finding=TG-PI-002/hosted-llm control=testing.prompt_injection_suite" in src
    )
    assert "Entry points: Uploaded referral letters." in src
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{len(p.tests)} skipped" in res.stdout


def test_hostile_names_cannot_break_out_of_the_generated_code(tmp_path: Path) -> None:
    evil = '"""; import os; os.system("x"); """\\'
    text = AGENT.replace(
        "{kind: agent, name: Refund agent}",
        "{kind: agent, id: refund-agent, name: " + json.dumps(evil + " agent") + "}",
    )
    p = tmp_path / "evil.yaml"
    p.write_text(text)
    plan = _plan(p)
    assert any(evil in t.target for t in plan.tests)
    for source in testplan_report.pytest_files(plan, tmp_path / "out").values():
        tree = ast.parse(source)
        # Only the import, and the test functions: nothing else became code.
        kinds = {type(n).__name__ for n in tree.body}
        assert kinds <= {"Expr", "Import", "FunctionDef"}
        assert all(isinstance(n.value, ast.Constant) for n in tree.body if isinstance(n, ast.Expr))
        for f in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
            assert [type(s).__name__ for s in f.body] == ["Expr", "Raise"]


def test_cli_plan_files_and_no_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "plan"
    tests = tmp_path / "tests"
    args = ["testplan", str(EXAMPLE), "--as-of", "2026-06-01", "-o", str(out)]
    res = runner.invoke(cli, [*args, "--pytest", "--tests-dir", str(tests)])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "testplan.json").read_text())
    assert doc["as_of"] == "2026-06-01" and doc["tests"]
    md = (out / "testplan.md").read_text()
    assert "### Prompt-injection suites against LLM entry points" in md
    target = tests / "test_tg_pi_002_hosted_llm.py"
    assert target.exists()
    target.write_text("# filled in by the team\n")
    first_md = md
    res = runner.invoke(cli, [*args, "--pytest", "--tests-dir", str(tests)])
    assert res.exit_code == 0 and "kept" in res.output
    assert target.read_text() == "# filled in by the team\n"
    assert (out / "testplan.md").read_text() == first_md  # deterministic
    res = runner.invoke(cli, ["testplan", str(EXAMPLE), "--pytest"])
    assert res.exit_code == 2
    res = runner.invoke(
        cli, ["testplan", str(EXAMPLE), "--as-of", "2026-06-01", "--format", "json"]
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["tests"]  # notices go to stderr
