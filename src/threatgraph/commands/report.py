"""`threatgraph report`: design-review outputs for every model, one directory per model.

Writes, into DIR/<model-id>/: report.md, report.html, findings.json, findings.sarif,
findings.csv, diagram.dot, diagram.mmd and diagram.svg (diagram.png with --png), plus
DIR/index.md and DIR/index.html when there are several models. Exits like `check`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Unpack

import click

from threatgraph.commands._common import (
    AnalysisOptions,
    common_options,
    echo,
    fail_on_option,
    format_list_option,
    input_errors_exit_2,
    output_option,
    policy_options,
    pytm_threats_option,
    rel_to_config,
    settings_for,
)
from threatgraph.formats.base import ALIASES, DEFAULT_FORMATS, REGISTRY


def parse_formats(values: tuple[str, ...] | list[str], png: bool, render: bool = True) -> list[str]:
    """Format names from repeatable, comma-separated --format values (in canonical order).

    Without rendering, svg and png leave the default set, and asking for them is an error.
    """
    wanted: set[str] = set()
    asked: set[str] = set()
    for value in values:
        for raw in value.split(","):
            name = raw.strip().lower()
            if not name:
                continue
            name = ALIASES.get(name, name)
            if name == "all":
                wanted.update(DEFAULT_FORMATS)
                continue
            asked.add(name)
            if name not in REGISTRY:
                known = ", ".join([*REGISTRY, "all"])
                raise click.UsageError(f"unknown format {raw.strip()!r}; choose from {known}")
            wanted.add(name)
    if not wanted:
        wanted.update(DEFAULT_FORMATS)
    if png:
        wanted.add("png")
        asked.add("png")
    if not render:
        images = sorted(asked & {"svg", "png"})
        if images:
            raise click.UsageError(
                f"--no-render cannot write {' or '.join(images)}: drop it, or render"
            )
        wanted -= {"svg", "png"}
    return [n for n in REGISTRY if n in wanted]


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@output_option(
    "the reports",
    directory=True,
    dest="out_dir",
    note="; default: 'output' from the config, else threatgraph-report",
)
@format_list_option(
    (*REGISTRY, "all"),
    "Write only these (repeatable, or comma-separated). Default: all but png.",
)
@click.option("--png", is_flag=True, help="Also render diagram.png.")
@fail_on_option
@click.option(
    "--render-timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds one diagram may take to render before it is skipped.",
)
@click.option(
    "--render/--no-render",
    default=True,
    show_default=True,
    help="Run Graphviz to draw diagram.svg (and .png) and the diagram in report.html. "
    "--no-render skips the layout, which takes long on big models: no svg or png, and "
    "report.html shows the DOT source.",
)
@click.option(
    "--sarif-suppressed/--no-sarif-suppressed",
    default=True,
    show_default=True,
    help="Put mitigated and accepted findings in the SARIF as suppressed results.",
)
@pytm_threats_option
@policy_options
@common_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    out_dir: Path | None,
    formats: tuple[str, ...],
    png: bool,
    fail_on: str | None,
    render_timeout: float,
    render: bool,
    sarif_suppressed: bool,
    pytm_threats: bool | None,
    **options: Unpack[AnalysisOptions],
) -> None:
    """Write reports and diagrams for model files or directories (PATH...) into DIR.

    Each model gets DIR/<model-id>/ with report.md, report.html, findings.json,
    findings.sarif, findings.csv, diagram.dot, diagram.mmd and, when a Graphviz renderer
    (dot, or graphviz-pure) is installed, diagram.svg. Exit codes as for `check`.
    """
    from threatgraph.commands._analysis import run_models
    from threatgraph.formats.reportset import build_reports
    from threatgraph.formats.text import notice_text, render_text

    settings = settings_for(options["config_path"])
    chosen = parse_formats(formats or tuple(settings.formats), png, render)
    # The config's output directory is relative to the config file, like its other paths.
    target = out_dir or Path(rel_to_config(settings, [settings.output])[0])
    result = run_models(paths, options, fail_on=fail_on, pytm_threats=pytm_threats)
    # A write error (a full disk, a symlink in the way) is `error: PATH: reason`, exit 2,
    # from input_errors_exit_2; nothing of the report set has changed then.
    written = build_reports(
        result,
        target,
        chosen,
        render_timeout=render_timeout,
        sarif_suppressed=sarif_suppressed,
        warn=lambda msg: echo(f"warning: {msg}", err=True),
        render=render,
    )
    for model_dir, names in written:
        echo(f"wrote {model_dir.as_posix()}/: {', '.join(names)}")
    echo(render_text(result, quiet=True), nl=False, block=True)
    for n in result.verdict.notices:
        echo(notice_text(n), err=True)
    sys.exit(result.verdict.exit_code)
