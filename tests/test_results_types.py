"""The result types sit below every output, and features compute while formats render."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing
from datetime import date
from pathlib import Path

import pytest

from threatgraph.formats import base, common, jsonout
from threatgraph.formats.view import ModelView, decision_text
from threatgraph.model.schema import Decision
from threatgraph.pipeline import run
from threatgraph.repo import evidence
from threatgraph.results import EvidenceReport, ModelResult, Run

SRC = Path(__file__).resolve().parents[1] / "src" / "threatgraph"
ROOT = SRC.parents[1]


def test_results_imports_no_later_stage() -> None:
    code = (
        "import sys, threatgraph.results\n"
        "late = sorted(m for m in sys.modules if m.split('.')[1:2] in "
        "(['formats'], ['features'], ['commands'], ['pipeline'], ['cli']))\n"
        "print(','.join(late))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("feature", ["diff", "review", "coverage"])
def test_features_compute_and_never_render(feature: str) -> None:
    # Their text, Markdown and JSON are in reports/<feature>.py.
    imported = _imports(SRC / "features" / f"{feature}.py")
    assert not {m for m in imported if m.startswith(("threatgraph.formats", "threatgraph.reports"))}
    assert (SRC / "reports" / f"{feature}.py").is_file()


def test_the_seams_are_typed_with_the_result_types() -> None:
    names = vars(base) | {"Run": Run, "ModelResult": ModelResult, "ModelView": ModelView}
    hints = typing.get_type_hints(base.ReportInput, names)
    assert hints["run"] is Run and hints["result"] is ModelResult
    assert evidence.EvidenceReport is EvidenceReport  # one class, re-homed in results


def test_one_model_json_counts_its_own_failing_findings() -> None:
    # findings.json of one model of a run (report) holds that model's share of the verdict.
    models = [ROOT / "models" / "support_agent.py", ROOT / "models" / "rag_search.yaml"]
    whole = run(models, as_of=date(2026, 12, 1), fail_on="low")
    assert len(whole.results) == 2
    counts = set()
    for r in whole.results:
        mine = [f for f in whole.verdict.failing if f.model_id == r.model_id]
        inp = base.ReportInput(None, None, whole, r, ROOT)  # type: ignore[arg-type]
        text = jsonout.FORMAT.render(inp)["findings.json"]
        assert f'"failing": {len(mine)}' in str(text)
        counts.add(len(mine))
    assert len(counts) == 2  # the models' shares differ: the run's total would show in both


def test_decision_text_is_one_line_and_complete() -> None:
    d = Decision(
        finding="TG-X/a",
        status="accepted",
        reason="beta\nonly",
        owner="sec",
        ticket="T-1",
        expires=date(2027, 1, 1),
        evidence=["docs/x.md"],
    )
    assert decision_text(d) == (
        "accepted by sec until 2027-01-01: beta only (ticket T-1); evidence: docs/x.md"
    )
    assert decision_text(None) == ""


@pytest.mark.parametrize(("n", "text"), [(0, "0 files"), (1, "1 file"), (2, "2 files")])
def test_count_text(n: int, text: str) -> None:
    assert common.count_text(n, "file") == text
