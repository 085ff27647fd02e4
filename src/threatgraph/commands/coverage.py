"""`threatgraph coverage`: framework coverage of models (OWASP LLM/ML/Agentic, ATLAS tactics)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Unpack

import click

from threatgraph.commands._analysis import analysis_options, run_models
from threatgraph.commands._common import (
    AnalysisOptions,
    echo,
    echo_json,
    format_option,
    input_errors_exit_2,
    output_option,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@format_option("markdown", "json", default="markdown")
@output_option("the report")
@click.option(
    "--navigator",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an ATLAS Navigator layer (JSON) of the techniques open findings cite.",
)
@analysis_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    fmt: str,
    output: Path | None,
    navigator: Path | None,
    **options: Unpack[AnalysisOptions],
) -> None:
    """Show, per OWASP LLM 2025, ML 2023 and Agentic 2026 category and ATLAS tactic, which
    rules were evaluated against the models in PATH, which fired, and which cannot apply.

    Exit code 0 (a coverage report does not gate; use `check`).
    """
    from threatgraph.features.coverage import run_coverage
    from threatgraph.reports import coverage as coverage_report
    from threatgraph.util.writer import write_files

    result = run_models(paths, options)
    cov = run_coverage(result)
    render = coverage_report.to_json if fmt == "json" else coverage_report.render_markdown
    text = render(cov)
    files: dict[Path, str | bytes] = {}
    if output is not None:
        files[output] = text
    if navigator is not None:
        files[navigator] = coverage_report.navigator_json(cov)
    write_files(files, through=True)  # both files, or neither; both named by the user
    if output is None and fmt == "json":
        echo_json(text, nl=False)
    elif output is None:
        echo(text, nl=False, block=True)
    for n in result.verdict.notices:
        echo(f"{n.level}: {n}", err=True)
    sys.exit(0)
