"""One CLI: every option has help, shared options are the same everywhere, format names
are the same in every command, and a closed stdout is a quiet exit (issue 20, part 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.commands._common import SHARED_OPTIONS, FormatChoice, SharedOption, format_help

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "clinical_notes_assistant.py"
DAY = "2026-06-01"


def _commands() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)

    def walk(prefix: str, group: click.Group) -> Iterator[tuple[str, click.Command]]:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None, name
            path = f"{prefix} {name}".strip()
            if isinstance(cmd, click.Group):
                yield from walk(path, cmd)
            else:
                yield path, cmd

    yield from walk("", cli)


COMMANDS = dict(_commands())


def _options(cmd: click.Command) -> list[click.Option]:
    return [p for p in cmd.params if isinstance(p, click.Option)]


def test_the_walk_finds_the_commands() -> None:
    assert {"check", "coverage", "diff", "controls list", "threats show", "validate"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help(name: str) -> None:
    for opt in _options(COMMANDS[name]):
        assert opt.help and opt.help.strip(), f"{name} {opt.opts[0]} has no help text"


def _shared_name(opt: click.Option) -> str | None:
    names = set(opt.opts) | set(opt.secondary_opts)
    hit = [n for n in SHARED_OPTIONS if n in names]
    return hit[0] if hit else None


def test_shared_options_are_made_once_and_are_the_same_everywhere() -> None:
    seen: dict[str, dict[str, tuple[str, str]]] = {}
    for name, cmd in COMMANDS.items():
        for opt in _options(cmd):
            shared = _shared_name(opt)
            if shared is None:
                continue
            assert isinstance(opt, SharedOption), f"{name} {shared} is not made in _common.py"
            seen.setdefault(shared, {})[name] = (opt.help or "", repr(opt.type.to_info_dict()))
    assert set(seen) == set(SHARED_OPTIONS)
    for shared in ("--fail-on", "--decisions", "--config", "--rules", "--as-of"):
        variants = set(seen[shared].values())
        assert len(variants) == 1, (shared, variants)
        assert len(seen[shared]) >= 3  # really shared
    for name, (help_text, _) in seen["--output"].items():
        assert help_text.startswith("Write "), name
    for name, cmd in COMMANDS.items():
        for opt in _options(cmd):
            if _shared_name(opt) != "--format":
                continue
            if name == "report":  # comma-separated lists, parsed with the same aliases
                assert opt.help and opt.help.startswith("Output format: markdown, html")
                continue
            assert isinstance(opt.type, FormatChoice), name
            assert opt.help and opt.help.startswith(format_help(opt.type.names)), name


def test_markdown_has_one_name_and_both_spellings_work_everywhere() -> None:
    for name, cmd in COMMANDS.items():
        for opt in _options(cmd):
            if isinstance(opt.type, FormatChoice):
                assert "md" not in opt.type.names, name  # the canonical name is 'markdown'
                if "markdown" in opt.type.names:
                    assert opt.type.convert("md", opt, None) == "markdown"
                    assert opt.type.convert("markdown", opt, None) == "markdown"
                    assert opt.type.convert("MD", opt, None) == "markdown"


@pytest.mark.parametrize("spelling", ["md", "markdown"])
def test_coverage_takes_both_spellings(spelling: str) -> None:
    res = CliRunner().invoke(cli, ["coverage", str(MODEL), "--format", spelling])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("#")


def test_check_format_sarif(tmp_path: Path) -> None:
    out = tmp_path / "check.sarif"
    res = CliRunner().invoke(
        cli, ["check", str(MODEL), "--format", "sarif", "-o", str(out), "--as-of", DAY]
    )
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "threatgraph"
    assert run["results"] and all(r["ruleId"].startswith("TG-") for r in run["results"])
    # the same results as the findings.sarif of `report`
    res2 = CliRunner().invoke(
        cli,
        ["report", str(MODEL), "-o", str(tmp_path / "r"), "--format", "sarif", "--as-of", DAY],
    )
    assert res2.exit_code in (0, 1), res2.output
    (sarif,) = (tmp_path / "r").rglob("findings.sarif")
    assert json.loads(sarif.read_text())["runs"][0]["results"] == run["results"]


def _threatgraph(*args: str) -> list[str]:
    return [sys.executable, "-m", "threatgraph", *args]


@pytest.mark.parametrize(
    "args",
    [
        ("threats", "show", "TG-PI-001"),
        ("threats", "list", "--format", "json"),
        ("check", str(MODEL), "--as-of", "2026-06-01"),
    ],
)
def test_closed_stdout_is_a_quiet_normal_exit(args: tuple[str, ...]) -> None:
    # The reader goes away before the first write: every write meets a closed pipe.
    p = subprocess.Popen(
        _threatgraph(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0, err
    assert err == b""


def test_head_one_in_a_shell_pipeline() -> None:
    cmd = " ".join(_threatgraph("threats", "list")) + " | head -1; echo rc=${PIPESTATUS[0]}"
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and lines[1] == "rc=0", res.stdout
    assert "Broken pipe" not in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("required", "flag", "mode", "verified"),
    [
        (False, None, "always", True),
        (False, None, "if_required", False),
        (True, None, "if_required", True),
        (False, True, "if_required", True),  # --require-evidence over the config
        (True, False, "if_required", False),
    ],
)
def test_build_policy_verifies_evidence_as_asked(
    required: bool, flag: bool | None, mode: str, verified: bool
) -> None:
    """Commands say what the policy needs; none changes its fields after build_policy."""
    from threatgraph.commands._common import build_policy
    from threatgraph.settings import Settings

    pol = build_policy(
        Settings(require_evidence=required),
        require_evidence=flag,
        verify_evidence=mode,  # type: ignore[arg-type]
        use_baseline=False,
    )
    assert (pol.require_evidence, pol.verify_evidence) == (
        required if flag is None else flag,
        verified,
    )
