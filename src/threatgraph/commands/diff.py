"""`threatgraph diff`: what a change does to the models, for design reviews and PR comments."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import click

from threatgraph.commands._common import (
    build_policy,
    common_options,
    decisions_option,
    emit,
    fail_on_option,
    format_option,
    input_errors_exit_2,
    model_paths,
    output_option,
    rel_to_config,
    resolve_run_options,
    settings_for,
)


def _split_args(args: Sequence[str], base: str | None, cwd: Path) -> tuple[str | None, list[str]]:
    """BASE is the first argument when it is not an existing path but names a commit."""
    from threatgraph.repo import gitrev

    rest = list(args)
    if base is None and rest and not Path(rest[0]).exists():
        if gitrev.resolve(rest[0], cwd) is None:
            raise click.UsageError(f"{rest[0]!r} is neither a path nor a git revision")
        base = rest.pop(0)
    return base, rest


@click.command()
@click.argument("args", nargs=-1, type=click.Path(path_type=str), metavar="[BASE] [PATH]...")
@click.option("--base", "base_opt", metavar="REV", help="Base revision (instead of BASE).")
@format_option("text", "markdown", "json", default="text")
@output_option("the diff")
@fail_on_option
@decisions_option
@common_options
@input_errors_exit_2
def command(
    args: tuple[str, ...],
    base_opt: str | None,
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    decision_files: tuple[Path, ...],
    config_path: Path | None,
    rule_dirs: tuple[Path, ...],
    as_of: datetime | None,
) -> None:
    """Compare the models at a git revision (BASE) with the working tree.

    BASE defaults to the merge base of HEAD with the default branch (origin/HEAD, else main
    or master); PATHs default to the configured models. The base revision is read through
    git into a temporary directory: the working tree is never checked out or changed.
    Reports threats introduced and resolved, elements and flows added and removed, new
    trust-boundary crossings, new flows of sensitive data and controls removed. Exits 1 when
    the change introduces open findings at or above the gate.
    """
    from threatgraph.engine.library import load_library
    from threatgraph.features.revision import diff_with_revision
    from threatgraph.repo import gitrev

    cwd = Path.cwd()
    root = gitrev.repo_root(cwd)
    settings = settings_for(config_path)
    base_rev, paths = _split_args(args, base_opt, cwd)
    if base_rev is not None:
        commit = gitrev.resolve(base_rev, cwd)
        if commit is None:
            raise click.UsageError(f"{base_rev!r} is not a git revision")
        label = base_rev
    else:
        commit, why = gitrev.default_base(cwd)
        label = f"{commit[:12]} ({why})"
    dirs, dis, as_of_day = resolve_run_options(settings, rule_dirs, as_of)
    gate_sev = (fail_on or settings.fail_on).lower()
    got = diff_with_revision(
        commit,
        label,
        model_paths(settings, paths),
        root,
        load_library(dirs, dis),
        as_of_day or date.today(),
        gate_sev,
        build_policy(settings, decision_files=decision_files, use_baseline=False),
        rel_to_config(settings, settings.decisions),
        pytm_threats=settings.pytm_threats,
    )
    result = got.diff
    from threatgraph.reports import diff as diff_report

    if fmt == "markdown":
        text = diff_report.render_markdown(result, got.head_path, got.base_path)
    elif fmt == "json":
        text = diff_report.to_json(result, got.head_path, got.base_path)
    else:
        text = diff_report.render_text(result, got.head_path, got.base_path)
    emit(text, output, json_text=fmt == "json")
    sys.exit(result.exit_code)
