"""`threatgraph testplan`: adversarial tests to run, from open and mitigated findings."""

from __future__ import annotations

import os
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
@output_option(
    "testplan.md and testplan.json",
    directory=True,
    dest="out_dir",
    note="; default: print the plan in the --format",
)
@format_option("markdown", "json", default="markdown", note="What to print when no -o is given.")
@click.option(
    "--pytest",
    "with_pytest",
    is_flag=True,
    help="Also write pytest skeleton files (one per finding; existing files are kept).",
)
@click.option(
    "--tests-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where --pytest writes its files (default: the -o directory).",
)
@analysis_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    out_dir: Path | None,
    fmt: str,
    with_pytest: bool,
    tests_dir: Path | None,
    **options: Unpack[AnalysisOptions],
) -> None:
    """Plan adversarial tests for the models in PATH: prompt-injection suites against the
    named LLM entry points, poisoning and provenance checks on the named pipelines,
    membership-inference and extraction audits on the named APIs, tool-abuse scenarios for
    the named agents. Each test is tied to its finding and to the control it evidences.

    With --pytest, writes one skeleton test file per finding (tests skipped until filled in);
    a file that already exists is never overwritten. Exit code 0.
    """
    from threatgraph.features import testplan
    from threatgraph.reports import testplan as testplan_report
    from threatgraph.util.writer import write_files

    target = tests_dir or out_dir
    if with_pytest and target is None:
        raise click.UsageError("--pytest needs -o DIR or --tests-dir DIR")
    result = run_models(paths, options)
    plan = testplan.plan(result)
    files: dict[Path, str | bytes] = {}
    kept: list[Path] = []
    if with_pytest and target is not None:
        for path, source in testplan_report.pytest_files(plan, target).items():
            if os.path.lexists(path):
                kept.append(path)
            else:
                files[path] = source
    md = testplan_report.render_markdown(plan)
    js = testplan_report.to_json(plan)
    if out_dir is not None:
        files[out_dir / "testplan.md"] = md
        files[out_dir / "testplan.json"] = js
    # The plan and its new test files together, or (on an error or an interrupt) none.
    write_files(files)
    for path in kept:
        echo(f"kept {path} (exists)", err=True)
    for path in files:
        if path.suffix == ".py":
            echo(f"wrote {path}", err=True)
    if out_dir is not None:
        echo(
            f"wrote {out_dir / 'testplan.md'} and testplan.json ({len(plan.tests)} tests)", err=True
        )
    else:
        if fmt == "json":
            echo_json(js, nl=False)
        else:
            echo(md, nl=False, block=True)
    for n in result.verdict.notices:
        echo(f"{n.level}: {n}", err=True)
    sys.exit(0)
