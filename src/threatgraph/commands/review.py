"""`threatgraph review`: which modeled elements and controls a change touches, and what to check."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

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
    reject_option_like,
    rel_to_config,
    resolve_run_options,
    settings_for,
)

if TYPE_CHECKING:
    from threatgraph.features.review import ChangeSet, Review
    from threatgraph.settings import Settings


def _named_inputs(
    settings: Settings, decision_files: Sequence[Path], baseline_file: Path | None
) -> list[str]:
    """The threat-model inputs the config and flags name: decisions, baseline, the config."""
    out = rel_to_config(settings, settings.decisions)
    out += [str(p) for p in decision_files]
    if settings.baseline:
        out += rel_to_config(settings, [settings.baseline])
    if baseline_file is not None:
        out.append(str(baseline_file))
    if settings.source:
        out.append(settings.source)
    return out


def _changes(files: tuple[str, ...], base: str | None, settings: Settings) -> ChangeSet:
    """The change to review: the FILEs named, else the work tree against the merge base."""
    from threatgraph.features import review as review_mod
    from threatgraph.repo import gitrev
    from threatgraph.repo.evidence import find_repo_root

    cwd = Path.cwd()
    if files:
        root = find_repo_root(cwd) or Path(settings.root or cwd).resolve()
        return review_mod.changes_from_names(files, root, cwd)
    root = gitrev.repo_root(cwd)
    found = review_mod.merge_base(base, root)
    if found is None:
        raise click.UsageError(f"{base!r} is not a git revision")
    merge, what = found
    return review_mod.changes_since(merge, root, f"{merge[:12]} ({what}) .. working tree")


def _render(review: Review, fmt: str, root: Path) -> str:
    """The review as text, Markdown or JSON, with paths shown relative to ``root``."""
    from threatgraph.reports import review as review_report
    from threatgraph.util.paths import display_path

    def shown(file: str) -> str:
        return display_path(file, root)

    if fmt == "markdown":
        return review_report.render_markdown(review, shown)
    if fmt == "json":
        return review_report.to_json(review, shown)
    return review_report.render_text(review, shown)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=str), metavar="[FILE]...")
@click.option(
    "--base",
    metavar="REV",
    help="Review the changes since the merge base of REV and HEAD (default, when no FILE is "
    "given: the merge base with the default branch).",
)
@click.option(
    "-m",
    "--model",
    "models",
    multiple=True,
    type=click.Path(path_type=str),
    help="Model file or directory to load (repeatable; default: the configured 'models').",
)
@format_option("text", "markdown", "json", default="text")
@output_option("the review")
@fail_on_option
@click.option(
    "--fail-on-unmapped/--no-fail-on-unmapped",
    default=None,
    help="Also exit 1 when a changed file belongs to no element (and is not ignored) "
    "(default: the config's review.fail_on_unmapped, else no).",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="PATTERN",
    help="Changed files matching this glob are never reported as unmapped (repeatable; "
    "added to the config's review.ignore).",
)
@decisions_option
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Baseline file: open findings listed in it do not fail the review.",
)
@click.option("--no-baseline", is_flag=True, help="Ignore the configured baseline file.")
@common_options
@input_errors_exit_2
def command(
    files: tuple[str, ...],
    base: str | None,
    models: tuple[str, ...],
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    fail_on_unmapped: bool | None,
    ignore: tuple[str, ...],
    decision_files: tuple[Path, ...],
    baseline_file: Path | None,
    no_baseline: bool,
    config_path: Path | None,
    rule_dirs: tuple[Path, ...],
    as_of: datetime | None,
) -> None:
    """Review a change: the modeled elements whose code it touches, their findings, the
    controls whose evidence it changes, and the files no element covers.

    Without FILEs, the change is every file that differs between the merge base (of --base
    REV, default the default branch, with HEAD) and the working tree, plus untracked files
    git does not ignore. With FILEs (as a pre-commit hook passes them), the change is those
    files. Elements name their code with code=[...] globs, controls their evidence with
    evidence=[...]. Exits 1 when a touched element has open findings at or above the gate
    (--fail-on, default: config), 2 on errors.
    """
    from threatgraph.features import review as review_mod
    from threatgraph.pipeline import run

    reject_option_like(files, "review")
    if files and base is not None:
        raise click.UsageError("give either --base REV or FILEs, not both")
    settings = settings_for(config_path)
    changes = _changes(files, base, settings)
    root = changes.root

    targets = list(models) if models else model_paths(settings, ())
    dirs, dis, day = resolve_run_options(settings, rule_dirs, as_of)
    gate_sev = (fail_on or settings.fail_on).lower()
    policy = build_policy(
        settings,
        decision_files=decision_files,
        baseline_file=baseline_file,
        no_baseline=no_baseline,
        strict=False,
        partial=True,  # stale decisions and baseline entries are check's business
        # Checking every cited path against the disk is check's job; review needs it only
        # when unevidenced controls must not count.
        verify_evidence="if_required",
    )
    result = run(
        targets,
        fail_on=gate_sev,
        rule_dirs=dirs,
        disabled=dis,
        as_of=day,
        policy=policy,
        pytm_threats=settings.pytm_threats,
    )

    model_inputs = review_mod.model_inputs(
        [str(r.loaded.path) for r in result.results],
        targets,
        _named_inputs(settings, decision_files, baseline_file),
        root,
    )

    review = review_mod.build(
        result,
        changes,
        fail_on=gate_sev,
        config_root=settings.root,
        model_files=model_inputs,
        # The config's [review] table, which the pre-commit hook (no arguments) relies on;
        # flags add patterns and override the switch.
        ignore=[*settings.review.ignore, *ignore],
        fail_on_unmapped=(
            settings.review.fail_on_unmapped if fail_on_unmapped is None else fail_on_unmapped
        ),
    )

    emit(_render(review, fmt, root), output, json_text=fmt == "json")
    sys.exit(review.exit_code)
