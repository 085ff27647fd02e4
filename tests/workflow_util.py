"""Helpers of the workflow tests: a CLI runner, configs that pin the active rules, git repos."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.engine.library import load_library

#: A model where an internet visitor reaches an LLM through an app: TG-PI-001 (high, since the
#: visitor is untrusted) with three mitigations, none declared.
CHATBOT = """\
from threatgraph import Model

m = Model("Support bot")
internet = m.boundary("Internet", trust="untrusted")
cloud = m.boundary("Cloud", trust="internal")
visitor = m.actor("Visitor", inside=internet)
app = m.app("Chat app", inside=cloud)
llm = m.llm("Chat model", inside=cloud{controls})
m.flow(visitor, app, "message", protocol="https")
m.flow(app, llm, "prompt", protocol="https")
{extra}"""

PI001_CONTROLS = (
    "guardrail.input_filter",
    "guardrail.system_prompt_hardening",
    "testing.prompt_injection_suite",
)


def chatbot(controls: str = "", extra: str = "") -> str:
    """The chatbot model source, with ``controls=`` text for the LLM and extra lines."""
    return CHATBOT.format(controls=f", controls={controls}" if controls else "", extra=extra)


def disable_table(keep: tuple[str, ...] = ("TG-PI-001",)) -> str:
    """TOML lines of a disable table that leaves only ``keep`` active.

    The library grows while these tests stand still: pinning the active rules keeps the
    expected findings exact.
    """
    rule_ids = sorted(r.rule.id for r in load_library().rules)
    lines = [
        f"{json.dumps(rid)} = {json.dumps('not under test')}" for rid in rule_ids if rid not in keep
    ]
    return "\n".join(lines) + "\n"


def write_config(
    root: Path, body: str, keep: tuple[str, ...] = ("TG-PI-001",), name: str = ".threatgraph.toml"
) -> Path:
    """A .threatgraph.toml (top-level keys in ``body``) that keeps only ``keep`` rules."""
    path = root / name
    path.write_text(body + "\n[disable]\n" + disable_table(keep), encoding="utf-8")
    return path


def run_cli(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process: (exit code, stdout, stderr)."""
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


GIT_ENV = {
    "GIT_AUTHOR_NAME": "threatgraph tests",
    "GIT_AUTHOR_EMAIL": "tests@threatgraph.invalid",
    "GIT_COMMITTER_NAME": "threatgraph tests",
    "GIT_COMMITTER_EMAIL": "tests@threatgraph.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity and dates (deterministic commits)."""
    env = {**os.environ, **GIT_ENV, "HOME": str(repo)}
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def git_init(repo: Path, branch: str = "main") -> None:
    """A new repository with ``branch`` as its first branch."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", branch)


def commit_all(repo: Path, message: str) -> str:
    """Stage everything and commit; returns the commit id."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")
