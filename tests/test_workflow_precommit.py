"""The pre-commit hook, end to end, in a consumer repository built from tests/fixtures/consumer.

pre-commit installs threatgraph into its own virtualenv from a snapshot of this checkout (a
git repository made from the working tree, so uncommitted work is what gets tested). The
snapshot's commit is deterministic (fixed dates and identity), and the run-based tests share
one PRE_COMMIT_HOME per test session, so the environment is built once. Set
THREATGRAPH_TEST_PRE_COMMIT_HOME to keep that environment between sessions.

``pre-commit try-repo`` always builds a fresh store, so it is used for one scenario; the
others commit for real through an installed hook, as a consumer would.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from workflow_util import GIT_ENV, disable_table

ROOT = Path(__file__).resolve().parents[1]
CONSUMER = Path(__file__).resolve().parent / "fixtures" / "consumer"
SNAPSHOT = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "src", "threats")

pytestmark = [
    # pre-commit builds a virtualenv with threatgraph in it: about 100 s.
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed"
    ),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def _env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update({k: v for k, v in GIT_ENV.items() if not k.endswith("_DATE")})
    if home is not None:
        env["PRE_COMMIT_HOME"] = str(home)
    env["PRE_COMMIT_COLOR"] = "never"
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = _run(["git", *args], repo, env or _env())
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this checkout's package files, and its commit id."""
    repo = tmp_path_factory.mktemp("hook-repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*_cache")
    for name in SNAPSHOT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, repo / name)
    env = {**_env(), **GIT_ENV}
    _git(repo, "init", "-q", "-b", "main", env=env)
    _git(repo, "add", "-A", env=env)
    _git(repo, "commit", "-q", "-m", "snapshot", env=env)
    return repo, _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit store for the session (or the one named by the environment)."""
    named = os.environ.get("THREATGRAPH_TEST_PRE_COMMIT_HOME")
    if named:
        Path(named).mkdir(parents=True, exist_ok=True)
        return Path(named)
    return tmp_path_factory.mktemp("pre-commit-home")


def _consumer(root: Path, with_model: bool) -> Path:
    shutil.copytree(CONSUMER, root)
    if not with_model:
        (root / "models" / "assistant.py").unlink()
    with (root / "pyproject.toml").open("a", encoding="utf-8") as fh:
        # Only TG-PI-001 is active, so the outcome does not move as the library grows.
        fh.write("\n[tool.threatgraph.disable]\n" + disable_table(("TG-PI-001",)))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "consumer")
    return root


Commit = Callable[..., subprocess.CompletedProcess[str]]


def _install(
    tmp_path: Path,
    hook_repo: tuple[Path, str],
    home: Path,
    consumer: Path,
    hook_id: str,
) -> Commit:
    """Install ``hook_id`` of the snapshot into ``consumer``; a function that stages paths
    and commits them through the installed hook."""
    repo, rev = hook_repo
    config = tmp_path / "pre-commit-config.yaml"
    config.write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: {hook_id}\n"
    )
    env = _env(home)
    hook = _run([sys.executable, "-m", "pre_commit", "install", "-c", str(config)], consumer, env)
    assert hook.returncode == 0, hook.stderr

    def commit(message: str, *paths: str) -> subprocess.CompletedProcess[str]:
        _git(consumer, "add", *paths, env=env)
        return _run(["git", "commit", "-q", "-m", message], consumer, env)

    return commit


def _commit_ordinary_code(consumer: Path, commit: Commit) -> None:
    """Commit a change to app/main.py (which writes a marker if run): it passes the hook
    and is never executed."""
    main = consumer / "app" / "main.py"
    main.write_text(main.read_text() + "# touched\n")
    res = commit("touch app", "app/main.py")
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (consumer / "app" / "EXECUTED").exists()


def _decisions(root: Path, expires: date) -> None:
    (root / "security" / "decisions.yaml").write_text(
        "threatgraph-decisions: 1\n"
        "decisions:\n"
        "  - finding: TG-PI-001/answer-model\n"
        "    status: accepted\n"
        "    reason: Beta with invited users only; the input filter ships next sprint.\n"
        "    owner: security@example.org\n"
        "    ticket: SEC-7\n"
        f"    expires: {expires.isoformat()}\n",
        encoding="utf-8",
    )


def test_try_repo_blocks_a_bad_model_and_never_runs_other_code(
    tmp_path: Path, hook_repo: tuple[Path, str]
) -> None:
    repo, rev = hook_repo
    consumer = _consumer(tmp_path / "consumer", with_model=True)
    proc = _run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(repo),
            "threatgraph",
            "--ref",
            rev,
            "--files",
            "models/assistant.py",
            "app/main.py",
        ],
        consumer,
        _env(),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "models/assistant.py:15: TG-PI-001 high" in out
    assert "FAIL: 1 open finding at or above 'high'." in out
    assert not (consumer / "app" / "EXECUTED").exists()


def test_installed_hook_gates_commits(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    consumer = _consumer(tmp_path / "consumer", with_model=False)
    commit = _install(tmp_path, hook_repo, pre_commit_home, consumer, "threatgraph")

    # Ordinary code: the hook passes it by without executing it.
    _commit_ordinary_code(consumer, commit)

    # An unmitigated high threat blocks the commit.
    shutil.copy(CONSUMER / "models" / "assistant.py", consumer / "models" / "assistant.py")
    res = commit("add the model", "models/assistant.py")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "TG-PI-001 high Direct prompt injection" in out
    assert _git(consumer, "log", "-1", "--format=%s") == "touch app"  # nothing committed

    # An unexpired acceptance lets it in.
    _decisions(consumer, date.today() + timedelta(days=30))
    res = commit("accept for now", "models/assistant.py", "security/decisions.yaml")
    assert res.returncode == 0, res.stdout + res.stderr

    # Expired: the same model blocks again (the decisions file change re-checks the models).
    _decisions(consumer, date.today() - timedelta(days=1))
    res = commit("let the acceptance lapse", "security/decisions.yaml")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "expired on" in out and "TG-PI-001 high" in out

    # Declaring the controls passes, and the now-unneeded acceptance is only a warning.
    _decisions(consumer, date.today() + timedelta(days=30))
    shutil.copy(
        CONSUMER / "variants" / "assistant_mitigated.py", consumer / "models" / "assistant.py"
    )
    res = commit("declare the controls", "models/assistant.py", "security/decisions.yaml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _git(consumer, "log", "-1", "--format=%s") == "declare the controls"


def test_installed_drift_hook_fails_an_unmodeled_component_until_it_is_modeled(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    consumer = _consumer(tmp_path / "consumer", with_model=True)
    # The model's own open finding is accepted, so only drift decides the outcome.
    _decisions(consumer, date.today() + timedelta(days=30))
    _git(consumer, "add", "-A")
    _git(consumer, "commit", "-q", "-m", "accept TG-PI-001 for now")
    commit = _install(tmp_path, hook_repo, pre_commit_home, consumer, "threatgraph-drift")

    # Ordinary code: nothing drifts, and the code is read, never executed.
    _commit_ordinary_code(consumer, commit)

    # A commit that starts calling a vendor the model does not have is refused.
    (consumer / "app" / "claude.py").write_text(
        "import anthropic\n\nclient = anthropic.Anthropic()\n", encoding="utf-8"
    )
    res = commit("call claude", "app/claude.py")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "app/claude.py:1: TG-DRIFT-001 high AI component in the code is not in the model" in out
    assert _git(consumer, "log", "-1", "--format=%s") == "touch app"

    # Once the model covers it, the same commit passes.
    with (consumer / "models" / "assistant.py").open("a", encoding="utf-8") as fh:
        fh.write('claude = m.llm("Anthropic Claude", inside=cloud, code=["app/claude.py"])\n')
    res = commit("call claude, modeled", "app/claude.py", "models/assistant.py")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _git(consumer, "log", "-1", "--format=%s") == "call claude, modeled"
