"""`threatgraph sra`: write the AI security risk analysis of each model (Markdown and HTML)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Unpack

import click

from threatgraph.commands._analysis import analysis_options, run_models
from threatgraph.commands._common import (
    AnalysisOptions,
    echo,
    format_option,
    input_errors_exit_2,
    output_option,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@output_option("sra-<model id>.md and .html", directory=True, required=True, dest="out_dir")
@format_option("markdown", "html", multiple=True, note="Repeatable; default: both.")
@analysis_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    out_dir: Path,
    fmt: tuple[str, ...],
    **options: Unpack[AnalysisOptions],
) -> None:
    """Write the AI security risk analysis (HIPAA 164.308(a)(1)(ii)(A)) of each model in PATH.

    The document is dated with --as-of (default: today) and names the model file, the
    threatgraph version and the threat library version, so it can be filed. Exit code 0 when
    written (the analysis documents open findings; use `check` to gate on them).
    """
    from threatgraph.features.sra import build
    from threatgraph.features.sra import html as html_mod
    from threatgraph.features.sra import markdown as md_mod
    from threatgraph.util.writer import write_files

    result = run_models(paths, options)
    wanted = set(fmt or ("markdown", "html"))
    files: dict[Path, str | bytes] = {}
    for res in result.results:
        doc = build(res, result.library, result.as_of)
        stem = f"sra-{res.model_id}"
        if "markdown" in wanted:
            files[out_dir / f"{stem}.md"] = md_mod.render(doc)
        if "html" in wanted:
            files[out_dir / f"{stem}.html"] = html_mod.render(doc)
    # Every model's documents, or (on an error or an interrupt) none of them.
    write_files(files)
    for path in files:
        echo(f"wrote {path}", err=True)
    for n in result.verdict.notices:
        echo(f"{n.level}: {n}", err=True)
    sys.exit(0)
