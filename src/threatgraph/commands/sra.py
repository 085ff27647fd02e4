"""`threatgraph sra`: write the security risk analysis of each model (Markdown, HTML, CSV, JSON)."""

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

FORMATS = ("markdown", "html", "csv", "json")
SUFFIX = {"markdown": "md", "html": "html", "csv": "csv", "json": "json"}


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@output_option(
    "sra-<model id>.md, .html, .csv and .json", directory=True, required=True, dest="out_dir"
)
@format_option(*FORMATS, multiple=True, note="Repeatable; default: all four.")
@click.option(
    "--register",
    "register_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Risk register file (threatgraph-register: 1): responses, owners, due dates, "
    "tickets, sign-offs and the review log.",
)
@click.option(
    "--previous",
    "previous_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The JSON export of an earlier analysis: the document lists what changed since.",
)
@click.option(
    "--rule-edition",
    type=click.Choice(["2013", "2025-proposed"]),
    default="2013",
    show_default=True,
    help="The Security Rule in force (2013) or as HHS proposed to amend it in January 2025.",
)
@click.option(
    "--no-render",
    is_flag=True,
    help="Do not run Graphviz: the HTML shows the network map's DOT source.",
)
@click.option(
    "--no-git",
    is_flag=True,
    help="Do not ask git for the model's commit and history.",
)
@analysis_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    out_dir: Path,
    fmt: tuple[str, ...],
    register_file: Path | None,
    previous_file: Path | None,
    rule_edition: str,
    no_render: bool,
    no_git: bool,
    **options: Unpack[AnalysisOptions],
) -> None:
    """Write the security risk analysis (HIPAA 164.308(a)(1)(ii)(A)) of each model in PATH.

    The document is dated with --as-of (default: today) and names the model file and commit,
    the threatgraph version and the threat library version, so it can be filed. The CSV is
    the risk register; the JSON export is the whole analysis, which --previous reads back
    next time. Exit code 0 when written (the analysis documents open findings; use `check`
    to gate on them); 2 on bad input, with nothing written.
    """
    from threatgraph.features.sra import build, export, registerfile
    from threatgraph.features.sra import html as html_mod
    from threatgraph.features.sra import markdown as md_mod
    from threatgraph.features.sra.build import Options
    from threatgraph.formats.render import find_renderer
    from threatgraph.util.writer import write_files

    wanted = set(fmt or FORMATS)
    register = registerfile.load(register_file) if register_file is not None else None
    result = run_models(paths, options)
    opts = Options(
        previous=previous_file,
        edition="2025-proposed" if rule_edition == "2025-proposed" else "2013",
        renderer=find_renderer() if "html" in wanted and not no_render else None,
        use_git=not no_git,
    )
    if register is not None:
        opts.register = register
    files: dict[Path, str | bytes] = {}
    for res in result.results:
        doc = build(res, result.library, result.as_of, opts)
        stem = out_dir / f"sra-{res.model_id}"
        out = {
            "markdown": md_mod.render,
            "html": html_mod.render,
            "csv": lambda s: export.to_csv([s]),
            "json": export.to_json,
        }
        for name in FORMATS:
            if name in wanted:
                files[stem.with_name(f"{stem.name}.{SUFFIX[name]}")] = out[name](doc)
        for note in doc.input_notices:
            echo(f"warning: {note}", err=True)
    # Every model's documents, or (on an error or an interrupt) none of them.
    write_files(files)
    for path in files:
        echo(f"wrote {path}", err=True)
    for n in result.verdict.notices:
        echo(f"{n.level}: {n}", err=True)
    sys.exit(0)
