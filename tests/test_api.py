"""The Python API (`threatgraph.check` and the result types): docs/api.md."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import networkx as nx
import pytest

import threatgraph
from threatgraph import Finding, InputError, Model, ModelResult, Run, Verdict, check

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = ROOT / "models" / "support_agent.py"
DAY = date(2026, 12, 1)


def small_model() -> Model:
    m = Model("API demo")
    net = m.boundary("Internet", trust="untrusted")
    user = m.actor("User", inside=net)
    app = m.app("App", internet_facing=True)
    llm = m.llm("Answer model")
    m.flow(user, app, "question")
    m.flow(app, llm, "prompt")
    return m


def ids(run: Run) -> list[tuple[str, str, str]]:
    return [(f.id, f.severity, f.status) for f in run.findings]


def test_public_names_are_stable() -> None:
    assert threatgraph.__all__ == [
        "CheckItem",
        "Finding",
        "InputError",
        "Model",
        "ModelResult",
        "Notice",
        "Problem",
        "Ref",
        "Run",
        "Verdict",
        "__version__",
        "check",
        "control",
        "graph_of",
    ]
    for name in threatgraph.__all__:
        assert getattr(threatgraph, name) is not None
    with pytest.raises(AttributeError):
        _ = threatgraph.no_such_name  # type: ignore[attr-defined]


def test_check_a_model_file_is_what_the_cli_reports() -> None:
    run = check(SUPPORT, as_of=DAY)
    assert isinstance(run, Run)
    assert isinstance(run.verdict, Verdict)
    [result] = run.results
    assert isinstance(result, ModelResult)
    assert result.model_id == "customer-support-agent"
    assert run.findings and all(isinstance(f, Finding) for f in run.findings)
    assert run.findings == result.findings
    assert run.as_of == DAY
    # The same findings and exit code as `threatgraph check --format json`.
    import json

    from click.testing import CliRunner

    from threatgraph.cli import cli

    out = CliRunner().invoke(
        cli, ["check", str(SUPPORT), "--format", "json", "--as-of", DAY.isoformat()]
    )
    doc = json.loads(out.stdout)
    assert [(f["id"], f["severity"], f["status"]) for f in doc["findings"]] == ids(run)
    assert out.exit_code == run.verdict.exit_code == 1
    assert len(run.verdict.failing) == doc["failing"]


def test_check_a_model_object_matches_its_file(tmp_path: Path) -> None:
    by_object = check(small_model(), as_of=DAY)
    src = tmp_path / "demo.py"
    src.write_text(
        "from threatgraph import Model\n"
        "m = Model('API demo')\n"
        "net = m.boundary('Internet', trust='untrusted')\n"
        "user = m.actor('User', inside=net)\n"
        "app = m.app('App', internet_facing=True)\n"
        "llm = m.llm('Answer model')\n"
        "m.flow(user, app, 'question')\n"
        "m.flow(app, llm, 'prompt')\n",
        encoding="utf-8",
    )
    by_file = check(src, as_of=DAY)
    assert ids(by_object) and ids(by_object) == ids(by_file)
    # The object's location is this test file: findings point at the line that declared it.
    assert by_object.findings[0].location.file == __file__


def test_check_a_validated_model() -> None:
    from threatgraph.load.registry import load_paths

    [loaded] = load_paths([SUPPORT])
    assert ids(check(loaded.model, as_of=DAY)) == ids(check(SUPPORT, as_of=DAY))


def test_the_graph_comes_with_the_result() -> None:
    [result] = check(small_model(), as_of=DAY).results
    g = result.networkx
    assert isinstance(g, nx.MultiDiGraph)
    assert set(g.nodes) == {"user", "app", "answer-model"}
    assert nx.has_path(g, "user", "answer-model")
    assert nx.utils.graphs_equal(g, threatgraph.graph_of(small_model()))


def decisions_file(tmp_path: Path, finding: str, expires: str) -> Path:
    path = tmp_path / "decisions.yaml"
    path.write_text(
        "threatgraph-decisions: 1\n"
        "decisions:\n"
        f"  - finding: {finding}\n"
        "    status: accepted\n"
        "    reason: Beta with invited users only.\n"
        "    owner: security@example.org\n"
        "    date: 2026-03-01\n"
        f"    expires: {expires}\n",
        encoding="utf-8",
    )
    return path


def test_decisions_and_the_as_of_date(tmp_path: Path) -> None:
    first = check(small_model(), as_of=DAY)
    target = next(f for f in first.findings if f.status == "open")
    path = decisions_file(tmp_path, target.id, "2027-06-30")

    def status(run: Run) -> str:
        return next(f.status for f in run.findings if f.id == target.id)

    assert status(check(small_model(), decisions=[path], as_of=DAY)) == "accepted"
    # The day after it expires, the finding is open again and the run says why.
    late = check(small_model(), decisions=[path], as_of=date(2027, 7, 1))
    assert status(late) == "open"
    assert any("expired" in n.message for n in late.verdict.notices)


def test_fail_on_sets_the_gate() -> None:
    strict = check(small_model(), as_of=DAY, fail_on="info")
    lax = check(small_model(), as_of=DAY, fail_on="critical")
    assert strict.verdict.fail_on == "info"
    assert len(strict.verdict.failing) == sum(1 for f in strict.findings if f.status == "open")
    assert all(f.severity == "critical" for f in lax.verdict.failing)


def test_bad_input_raises_input_error_with_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("threatgraph: 1\nmodel: {name: X}\nelements:\n  - {name: A, kind: nope}\n")
    with pytest.raises(InputError) as exc:
        check(bad)
    [problem] = exc.value.problems
    assert problem.file == str(bad) and problem.line == 4

    broken = tmp_path / "decisions.yaml"
    broken.write_text("decisions: []\n", encoding="utf-8")  # no header line
    with pytest.raises(InputError) as exc:
        check(small_model(), decisions=[broken])
    assert exc.value.problems and exc.value.problems[0].file == str(broken)

    with pytest.raises(InputError) as exc:
        check(small_model(), fail_on="severe")
    assert "'severe' is not one of" in exc.value.problems[0].message

    with pytest.raises(InputError):
        check(tmp_path / "missing.py")

    bad_dsl = Model("Broken")
    bad_dsl.flow("nobody", "nothing", "x")
    with pytest.raises(InputError) as exc:
        check(bad_dsl)
    assert all(p.file == __file__ for p in exc.value.problems)

    with pytest.raises(TypeError):
        check(42)  # type: ignore[arg-type]


def _block_after(text: str, marker: str) -> str:
    found = re.search(re.escape(marker) + r".*?```python\n(.*?)```", text, re.DOTALL)
    assert found, marker
    return found.group(1)


def test_the_docs_pytest_example_runs_and_can_fail(tmp_path: Path) -> None:
    # docs/api.md's project test, run by pytest on a model with open critical findings (it
    # must fail) and on one without (it must pass).
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    test = _block_after(page, "<!-- api-test -->")
    (tmp_path / "threatmodel").mkdir()
    (tmp_path / "threatmodel" / "system.py").write_text(
        SUPPORT.read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_threat_model.py").write_text(test, encoding="utf-8")

    def pytest_in(where: Path) -> int:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
        return subprocess.run(cmd, cwd=where, capture_output=True, check=False).returncode

    assert pytest_in(tmp_path) == 1  # the support agent has open critical findings
    (tmp_path / "threatmodel" / "system.py").write_text(
        "from threatgraph import Model\nm = Model('Quiet')\nm.actor('User')\n", encoding="utf-8"
    )
    assert pytest_in(tmp_path) == 0
