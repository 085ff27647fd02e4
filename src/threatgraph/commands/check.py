"""`threatgraph check`: match models against the library and gate on open findings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

import click

from threatgraph.commands._common import (
    AnalysisOptions,
    common_options,
    echo,
    emit,
    fail_on_option,
    format_option,
    input_errors_exit_2,
    map_type_option,
    model_paths,
    output_option,
    policy_options,
    pytm_threats_option,
    reject_option_like,
    settings_for,
)

if TYPE_CHECKING:
    from threatgraph.results import Run


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@fail_on_option
@format_option("text", "json", "sarif", default="text")
@output_option("the text, JSON or SARIF")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary line.")
@click.option(
    "--hook",
    is_flag=True,
    help="Pre-commit mode: PATHs are a commit's files; check only the model files among them "
    "(recognised statically, nothing else runs).",
)
@click.option(
    "--drift",
    is_flag=True,
    help="Also compare each model with the AI components found in its code: unmodeled "
    "components and stale code links are findings (TG-DRIFT-*; config key drift_scope). With "
    "--hook, every configured model is checked whatever the commit changed.",
)
@pytm_threats_option
@map_type_option
@policy_options
@common_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    fail_on: str | None,
    fmt: str,
    output: Path | None,
    quiet: bool,
    hook: bool,
    drift: bool,
    pytm_threats: bool | None,
    map_types: tuple[str, ...],
    **options: Unpack[AnalysisOptions],
) -> None:
    """Check model files or directories (PATH...) for AI threats.

    Prints one line per open finding as file:line: RULE-ID severity title (element), then
    accepted findings and a summary. Decisions files, a baseline and evidence checks come from
    the config ([tool.threatgraph] or .threatgraph.toml) and the options below.
    """
    settings = settings_for(options["config_path"])
    partial = False
    if hook and drift:
        # Any code change can drift from any model: check them all, whatever was staged.
        reject_option_like(paths, "check --drift --hook")
        if not settings.models:
            raise click.UsageError(
                "check --drift --hook needs 'models' in [tool.threatgraph] or .threatgraph.toml"
            )
        targets = model_paths(settings, ())
    elif hook:
        from threatgraph.commands._hook import select

        reject_option_like(paths, "check --hook")
        selected, partial = select(paths, settings)
        if not selected:
            sys.exit(0)  # no model file in this commit: nothing to check, nothing loaded
        targets = selected
    else:
        targets = model_paths(settings, paths)

    from threatgraph.commands._analysis import run_models
    from threatgraph.pipeline import collector_paused

    # The report is written while the run's objects are still paused for the collector:
    # they stay alive until the command ends, and the scans it would start over them while
    # the report is made find nothing to free (docs/performance.md).
    with collector_paused():
        result = run_models(
            targets,
            options,
            fail_on=fail_on,
            pytm_threats=pytm_threats,
            explicit_targets=True,
            partial=partial,
            map_types=map_types,
            drift=drift,
        )
        text = _report_text(result, fmt, quiet)
        emit(text, output, json_text=fmt in ("json", "sarif"))
    from threatgraph.formats.text import notice_text

    for n in result.verdict.notices:
        echo(notice_text(n), err=True)
    sys.exit(result.verdict.exit_code)


def _report_text(result: Run, fmt: str, quiet: bool) -> str:
    """The check report in ``fmt``: json, sarif or text."""
    if fmt == "json":
        from threatgraph.formats import jsonout

        return jsonout.render_document(result.results, result)
    if fmt == "sarif":
        from threatgraph.formats import sarif

        return sarif.render_run(result)
    from threatgraph.formats.text import render_text

    return render_text(result, quiet)
