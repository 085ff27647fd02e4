"""Ways a pull request could pass the gate without its model being checked, each closed.

1. file names read as options (pre-commit hook entries, the CI recipes);
2. model files that a directory search or the hook fails to recognise (big files, files that
   do not parse, YAML spellings of the top-level key) and skips without a word;
3. acceptances dated in the future, which would stretch the longest allowed span.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from workflow_util import chatbot, commit_all, git_init, run_cli, write_config

from threatgraph.load import registry

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"

#: File names a pull request can commit that, read as options, would weaken the gate.
HOSTILE_NAMES = (
    "--disable=TG-PI-001=not ours.yaml",
    "--fail-on=critical.yaml",
    "--config=evil.toml",
    "--no-baseline.yaml",
    "--as-of=2099-01-01.yaml",
    "-q.yaml",
    "--hook.py",
)


def _entry(hook_id: str) -> list[str]:
    """The argv of a hook entry of .pre-commit-hooks.yaml, without the program name."""
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    argv = shlex.split(hooks[hook_id]["entry"])
    assert argv[0] == "threatgraph"
    return argv[1:]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one model that has an open high finding (TG-PI-001) and the
    hostile files committed beside it."""
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "models" / "bot.py").write_text(chatbot(), encoding="utf-8")
    write_config(root, 'models = ["models"]\n')
    (root / "evil.toml").write_text('fail_on = "critical"\n', encoding="utf-8")
    for name in HOSTILE_NAMES:
        (root / name).write_text("threatgraph-decisions: 1\ndecisions: []\n", encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def test_every_hook_entry_ends_its_options() -> None:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert hooks
    for hook in hooks:
        if hook.get("pass_filenames", True):
            assert shlex.split(hook["entry"])[-1] == "--", hook["id"]


def test_check_hook_with_hostile_file_names_still_fails(repo: Path) -> None:
    del repo
    files = ["models/bot.py", *HOSTILE_NAMES]
    code, out, err = run_cli(*_entry("threatgraph"), *files)
    assert code == 1, out + err
    assert "TG-PI-001 high" in out
    assert "TG-PI-001 (not ours)" not in out


def test_review_hook_with_hostile_file_names_reads_them_as_files(repo: Path) -> None:
    del repo
    code, out, err = run_cli(*_entry("threatgraph-review"), "models/bot.py", *HOSTILE_NAMES)
    # review gates on touched elements; what matters here is that no name became an option
    assert code in (0, 1), out + err
    assert "No such option" not in err


@pytest.mark.parametrize("hook_id", ["threatgraph", "threatgraph-review", "threatgraph-drift"])
def test_hook_args_that_are_not_files_are_an_error(repo: Path, hook_id: str) -> None:
    del repo
    # pre-commit puts a hook's `args:` after the entry's `--`: say so instead of ignoring them.
    code, _, err = run_cli(*_entry(hook_id), "--fail-on", "low", "models/bot.py")
    assert code == 2
    assert "'--fail-on' is not a file" in err and "[tool.threatgraph]" in err


def test_no_command_line_option_disables_a_rule(repo: Path) -> None:
    del repo
    code, _, err = run_cli("check", "--disable", "TG-PI-001=reason", "models/bot.py")
    assert code == 2 and "No such option" in err
    code, _, _ = run_cli("check", "models/bot.py")
    assert code == 1


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_security_md_fork_recipe_with_hostile_file_names(tmp_path: Path) -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    block = re.search(
        r"```yaml\n(- name: threatgraph \(data models only for forks\).*?)```", text, re.S
    )
    assert block is not None
    script = yaml.safe_load(block.group(1))[0]["run"]
    repo = tmp_path / "fork"
    git_init(repo)
    (repo / "models").mkdir()
    (repo / "models" / "bot.yaml").write_text(
        "threatgraph: 1\nmodel: {name: Bot}\nboundaries:\n"
        "  - {name: Internet, trust: untrusted}\n"
        "elements:\n  - {kind: actor, name: Visitor, boundary: internet}\n"
        "  - {kind: llm, name: Chat model}\n"
        "flows:\n  - {from: visitor, to: chat-model, name: prompt}\n",
        encoding="utf-8",
    )
    # Each is itself a valid model file (so the recipe's grep names it) and an option.
    for name in ("--fail-on=critical.yaml", "--disable=TG-PI-001=x.yaml"):
        (repo / name).write_text("threatgraph: 1\nmodel: {name: Empty}\n", encoding="utf-8")
    (repo / "-q.json").write_text('{"threatgraph": 1, "model": {"name": "Q"}}', encoding="utf-8")
    commit_all(repo, "fork")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    res = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert "TG-PI-001" in res.stdout and "FAIL:" in res.stdout


# ---- 2. recognising model files, whatever their size and shape ------------------------------

PYTM_HEAD = """\
from pytm import TM, Actor, Server, Dataflow, Boundary

tm = TM("Big estate")
internet = Boundary("Internet")
"""


def _big_pytm(n: int) -> str:
    lines = [PYTM_HEAD]
    for i in range(n):
        lines.append(f'a{i} = Actor("User {i} with a long name to make the file grow quickly")\n')
        lines.append(f"a{i}.inBoundary = internet\n")
    lines.append('srv = Server("Web")\n')
    return "".join(lines)


def test_big_pytm_file_is_found_by_a_search(tmp_path: Path) -> None:
    text = _big_pytm(6000)
    assert len(text.encode()) > 256 * 1024
    (tmp_path / "tm.py").write_text(text, encoding="utf-8")
    found = registry.discover([tmp_path])
    assert [(p.name, f.name) for p, f in found] == [("tm.py", "pytm")]


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=len(PYTM_HEAD), max_value=20_000))
def test_recognition_does_not_depend_on_where_a_read_stops(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    # A file longer than the sniff limit is judged on its start; wherever the limit falls
    # (mid-token included), a pytm file stays a pytm file and a model stays a model.
    d = tmp_path_factory.mktemp("cut")
    (d / "tm.py").write_text(_big_pytm(400), encoding="utf-8")
    (d / "model.py").write_text(
        chatbot() + "".join(f"x{i} = {i}  # padding\n" for i in range(2000)), encoding="utf-8"
    )
    old = registry.SNIFF_LIMIT
    registry.SNIFF_LIMIT = cut
    try:
        found = sorted((p.name, f.name) for p, f in registry.discover([d]))
    finally:
        registry.SNIFF_LIMIT = old
    assert found == [("model.py", "python"), ("tm.py", "pytm")]


def test_unparseable_pytm_file_is_an_error_not_a_skip(tmp_path: Path) -> None:
    (tmp_path / "tm.py").write_text(PYTM_HEAD + "a = Actor(\n", encoding="utf-8")
    code, out, err = run_cli("check", str(tmp_path))
    assert code == 2, out + err
    assert "tm.py" in err


@pytest.mark.parametrize(
    "head",
    [
        '"threatgraph": 1\n',
        "'threatgraph': 1\n",
        "threatgraph : 1\n",
        "\ufeffthreatgraph: 1\n",
        "%YAML 1.1\n---\nthreatgraph: 1\n",
    ],
)
def test_yaml_spellings_of_the_top_level_key_are_found(tmp_path: Path, head: str) -> None:
    (tmp_path / "m.yaml").write_text(head + "model: {name: X}\n", encoding="utf-8")
    assert [p.name for p, _ in registry.discover([tmp_path])] == ["m.yaml"]


def test_flow_style_yaml_model_is_found(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("{threatgraph: 1, model: {name: X}}\n", encoding="utf-8")
    assert [p.name for p, _ in registry.discover([tmp_path])] == ["m.yaml"]


def test_a_ci_workflow_with_a_job_named_threatgraph_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "ci.yaml").write_text(
        "jobs:\n  threatgraph:\n    runs-on: ubuntu-latest\n", encoding="utf-8"
    )
    assert registry.discover([tmp_path]) == []


def test_model_with_a_nul_byte_is_reported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(chatbot() + "\x00\n", encoding="utf-8")
    code, _, err = run_cli("check", str(tmp_path))
    assert code == 2 and "m.py" in err


# ---- 3. decisions dated in the future ----------------------------------------------------------

DECISIONS = """\
threatgraph-decisions: 1
decisions:
  - finding: TG-PI-001/chat-model
    status: accepted
    owner: someone@example.org
    reason: {reason}
    date: {day}
    expires: {expires}
"""


def _decisions(root: Path, day: str, expires: str) -> None:
    (root / "decisions.yaml").write_text(
        DECISIONS.format(reason="risk owner signed", day=day, expires=expires), encoding="utf-8"
    )


@pytest.mark.parametrize("strict", [False, True])
def test_future_dated_acceptance_is_an_error(repo: Path, strict: bool) -> None:
    _decisions(repo, "9999-01-01", "9999-12-31")
    args = ["check", "--as-of", "2026-12-01", "--decisions", "decisions.yaml"]
    code, out, err = run_cli(*args, *(["--strict"] if strict else []), "models/bot.py")
    assert code == 2, out + err
    assert "decisions.yaml:3" in err and "after the run's date 2026-12-01" in err


def test_acceptance_span_counts_from_a_date_not_after_the_run(repo: Path) -> None:
    # Dated today, expiring within the limit: accepted.
    _decisions(repo, "2026-12-01", "2027-06-01")
    base = ["check", "--as-of", "2026-12-01", "--decisions", "decisions.yaml"]
    code, out, err = run_cli(*base, "models/bot.py")
    assert code == 0, out + err
    # Dated long ago with a span over the limit: refused even though little time is left.
    _decisions(repo, "2020-01-01", "2026-12-31")
    code, _, err = run_cli(*base, "models/bot.py")
    assert code == 2 and "max_acceptance_days" in err


def test_in_model_future_dated_decision_is_an_error(tmp_path: Path) -> None:
    model = tmp_path / "bot.py"
    model.write_text(
        chatbot(
            extra='m.accept("TG-PI-001/chat-model", owner="a@example.org", reason="r", '
            f'decided="{date(9999, 1, 1).isoformat()}", expires="9999-12-31")\n'
        ),
        encoding="utf-8",
    )
    code, _, err = run_cli("check", "--as-of", "2026-12-01", str(model))
    assert code == 2 and "after the run's date" in err
