"""Evidence cited by controls: existence, escapes (absolute, '..', symlink), require_evidence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from workflow_util import PI001_CONTROLS, chatbot, run_cli, write_config

from threatgraph.repo.evidence import _Escape, check_item, classify

DAY = "2026-06-01"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "guard.py").write_text("def screen(text): return text\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_guard.py").write_text(
        "def test_blocks():\n    pass\n\nclass TestSuite:\n    def test_jailbreaks(self):\n"
        "        pass\n"
    )
    monkeypatch.chdir(root)
    return root


def _controls(filter_evidence: str) -> str:
    """LLM controls: the input filter cites ``filter_evidence``, the others cite none."""
    rest = ", ".join(repr(c) for c in PI001_CONTROLS[1:])
    return f"[control('guardrail.input_filter', {filter_evidence}), {rest}]"


def _model(repo: Path, filter_evidence: str, name: str = "bot.py") -> Path:
    src = chatbot(controls=_controls(filter_evidence)).replace(
        "from threatgraph import Model", "from threatgraph import Model, control"
    )
    p = repo / "models" / name
    p.parent.mkdir(exist_ok=True)
    p.write_text(src)
    return p


def test_classify() -> None:
    assert classify("https://example.org/x") == "url"
    assert classify("tests/test_x.py::test_y") == "test"
    assert classify("src/*.py") == "glob"
    assert classify("infra/tls.tf") == "path"


def test_check_item_paths_tests_globs(repo: Path) -> None:
    root = repo.resolve()
    assert check_item(root, "src/guard.py") is None
    assert check_item(root, "src/nope.py") == "'src/nope.py' does not exist"
    assert check_item(root, "tests/test_guard.py::test_blocks") is None
    assert check_item(root, "tests/test_guard.py::TestSuite::test_jailbreaks[case-1]") is None
    assert "defines no test" in str(check_item(root, "tests/test_guard.py::test_missing"))
    assert "does not exist" in str(check_item(root, "tests/test_nope.py::test_x"))
    assert check_item(root, "src/*.py") is None
    assert "matches no file" in str(check_item(root, "infra/*.tf"))
    assert check_item(root, "https://wiki.example.org/runbook") is None


@pytest.mark.parametrize(
    "item",
    ["/etc/passwd", "../outside.txt", "src/../../outside.txt", "~/x", "file:///etc/passwd"],
)
def test_check_item_escapes(repo: Path, item: str) -> None:
    with pytest.raises(_Escape):
        check_item(repo.resolve(), item)


def test_symlink_escape(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    os.symlink(outside, repo / "src" / "link.txt")
    os.symlink(tmp_path, repo / "src" / "linkdir")
    with pytest.raises(_Escape, match="symlink"):
        check_item(repo.resolve(), "src/link.txt")
    with pytest.raises(_Escape, match="symlink"):
        check_item(repo.resolve(), "src/linkdir/secret.txt")
    with pytest.raises(_Escape):
        check_item(repo.resolve(), "src/*.txt")


def test_check_reports_missing_evidence(repo: Path) -> None:
    _model(repo, "['src/guard.py', 'tests/test_guard.py::test_gone', 'docs/missing.md']")
    write_config(repo, 'models = ["models"]\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 0, out + err  # evidence does not change the gate unless required
    assert "evidence: 0 of 3 declared controls cite evidence that checks out, 2 cited items" in out
    assert "models/bot.py:8: element chat-model: guardrail.input_filter: evidence" in err
    assert "'docs/missing.md' does not exist" in err
    assert "defines no test 'test_gone'" in err


@pytest.mark.parametrize(
    ("evidence", "why"),
    [
        ("'/etc/passwd'", "is absolute"),
        ("'../../etc/passwd'", "through '..'"),
        ("'src/link.txt'", "through a symlink"),
    ],
)
def test_escaping_evidence_is_an_input_error(
    repo: Path, tmp_path: Path, evidence: str, why: str
) -> None:
    (tmp_path / "secret.txt").write_text("x")
    os.symlink(tmp_path / "secret.txt", repo / "src" / "link.txt")
    _model(repo, evidence)
    write_config(repo, 'models = ["models"]\n')
    code, _, err = run_cli("check", "--as-of", DAY)
    assert code == 2
    assert "models/bot.py:8: [evidence]" in err and why in err


def test_require_evidence_makes_unevidenced_controls_not_count(repo: Path) -> None:
    _model(repo, "'src/guard.py'")
    write_config(repo, 'models = ["models"]\n')
    code, out, _ = run_cli("check", "--as-of", DAY)
    assert code == 0 and "1 mitigated" in out

    code, out, err = run_cli("check", "--as-of", DAY, "--require-evidence")
    assert code == 1
    # The input filter cites existing evidence and counts; the two others do not.
    needed = "guardrail.system_prompt_hardening, testing.prompt_injection_suite"
    assert f"missing, all needed: {needed}" in out
    assert "without evidence that checks out (require_evidence)" in out
    assert "evidence: 1 of 3 declared controls" in out
    assert "guardrail.system_prompt_hardening cites no evidence; not counted" in err

    write_config(repo, 'models = ["models"]\nrequire_evidence = true\n')
    assert run_cli("check", "--as-of", DAY)[0] == 1
    assert run_cli("check", "--as-of", DAY, "--no-require-evidence")[0] == 0


def test_require_evidence_counts_fully_evidenced_controls(repo: Path) -> None:
    src = chatbot(
        controls="[control(c, 'tests/test_guard.py::test_blocks') for c in CONTROLS]",
        extra="",
    ).replace(
        "from threatgraph import Model",
        f"from threatgraph import Model, control\n\nCONTROLS = {list(PI001_CONTROLS)!r}",
    )
    (repo / "bot.py").write_text(src)
    write_config(repo, 'models = ["bot.py"]\nrequire_evidence = true\n')
    code, out, _ = run_cli("check", "--as-of", DAY)
    assert code == 0 and "evidence: 3 of 3 declared controls" in out and "1 mitigated" in out


def test_missing_cited_item_makes_the_control_not_count_when_required(repo: Path) -> None:
    _model(repo, "['src/guard.py', 'src/gone.py']")
    write_config(repo, 'models = ["models"]\nrequire_evidence = true\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 1
    assert "guardrail.input_filter: cited evidence is missing; not counted" in err
    assert "guardrail.input_filter" in out.split("missing")[1].splitlines()[0]


def test_evidence_root_is_config_dir_outside_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = tmp_path / "proj"
    (proj / "models").mkdir(parents=True)
    (proj / "src").mkdir()
    (proj / "src" / "guard.py").write_text("")
    monkeypatch.chdir(proj)
    _model(proj, "'src/guard.py'")
    write_config(proj, 'models = ["models"]\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 0, err
    assert "evidence: 1 of 3 declared controls" in out


def test_a_url_is_cited_not_checked(repo: Path) -> None:
    # A URL is never fetched: the summary must not count it as evidence that checks out.
    _model(repo, "['https://wiki.example.org/guardrail-runbook']")
    write_config(repo, 'models = ["models"]\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 0, out + err
    assert (
        "evidence: 0 of 3 declared controls cite evidence that checks out, "
        "1 cite only URLs (cited, not checked), 0 cited items missing." in out
    )


def test_a_url_next_to_a_checked_path_checks_out(repo: Path) -> None:
    _model(repo, "['src/guard.py', 'https://wiki.example.org/guardrail-runbook']")
    write_config(repo, 'models = ["models"]\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 0, out + err
    assert "evidence: 1 of 3 declared controls cite evidence that checks out, 0 cited" in out
    assert "cited, not checked" not in out
