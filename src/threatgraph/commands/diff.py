"""`threatgraph diff`: what a change does to the models, for design reviews and PR comments."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import click

from threatgraph.commands._common import (
    build_policy,
    common_options,
    decisions_option,
    echo,
    echo_json,
    fail_on_option,
    format_option,
    input_errors_exit_2,
    model_paths,
    output_option,
    rel_to_config,
    resolve_run_options,
    settings_for,
)
from threatgraph.util.errors import InputError, Problem


def _split_args(args: Sequence[str], base: str | None, cwd: Path) -> tuple[str | None, list[str]]:
    """BASE is the first argument when it is not an existing path but names a commit."""
    from threatgraph.features import gitrev

    rest = list(args)
    if base is None and rest and not Path(rest[0]).exists():
        if gitrev.resolve(rest[0], cwd) is None:
            raise click.UsageError(f"{rest[0]!r} is neither a path nor a git revision")
        base = rest.pop(0)
    return base, rest


def _repo_rel(path: str, root: Path) -> str:
    p = Path(path).resolve()
    if not p.is_relative_to(root):
        raise InputError.single(path, 0, f"outside the git repository at {root}")
    rel = p.relative_to(root).as_posix()
    return "" if rel == "." else rel


def _materialise_models(rev: str, rel_paths: Sequence[str], dest: Path, root: Path) -> list[str]:
    """Copy the model paths' directories at ``rev`` into ``dest``; the paths that exist there.

    A directory is copied whole; for a file, its directory is (only the top-level files when
    the file sits at the repository root), so that sibling modules a model imports are there.
    """
    from threatgraph.features import gitrev

    wanted: dict[str, tuple[str, str]] = {}
    present: list[str] = []
    for rel in rel_paths:
        entries = [
            line.split(b"\t", 1)
            for line in gitrev.git(
                ["ls-tree", "-z", "--full-tree", rev, "--", rel or "."], root
            ).split(b"\0")
            if line
        ]
        kinds = {e[1].decode("utf-8", "surrogateescape"): e[0].split()[1].decode() for e in entries}
        if rel == "" or kinds.get(rel) == "tree":
            files = gitrev.tracked(rev, [rel] if rel else [], root, recursive=True)
        elif kinds.get(rel) == "blob":
            parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if parent:
                files = gitrev.tracked(rev, [parent], root, recursive=True)
            else:
                files = gitrev.tracked(rev, [], root, recursive=False)
        else:
            continue  # the path does not exist at the base revision
        for oid, name in files:
            wanted[name] = (oid, name)
        present.append(rel)
    gitrev.materialise(rev, sorted(wanted.values(), key=lambda t: t[1]), dest, root)
    return [str(dest / rel) if rel else str(dest) for rel in present]


def _remap(exc: InputError, tmp: Path, label: str) -> InputError:
    """Problems in materialised files, shown as 'REV:path'."""
    out = []
    for p in exc.problems:
        file = p.file
        try:
            rel = Path(file).resolve().relative_to(tmp.resolve())
            file = f"{label}:{rel.as_posix()}"
        except ValueError:
            pass
        out.append(Problem(file, p.line, p.message, p.field))
    return InputError(out)


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
    from threatgraph.features import diff as diff_mod
    from threatgraph.features import gitrev
    from threatgraph.formats.common import display_path, write_atomic
    from threatgraph.load import decisions as decisions_mod
    from threatgraph.load.registry import load_paths
    from threatgraph.pipeline import evaluate_loaded

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
    short = commit[:12]
    targets = model_paths(settings, paths)
    rel_targets = [_repo_rel(t, root) for t in targets]
    dirs, dis, as_of_day = resolve_run_options(settings, rule_dirs, as_of)
    day = as_of_day or date.today()
    gate_sev = (fail_on or settings.fail_on).lower()
    lib = load_library(dirs, dis)
    known = lib.controls.keys() if lib.controls else None

    head_policy = build_policy(settings, decision_files=decision_files, use_baseline=False)
    head_policy.verify_evidence = False  # evidence is check's job; both sides alike
    head_policy.strict = False
    pytm = settings.pytm_threats
    head = evaluate_loaded(
        load_paths(targets, known, aliases=lib.aliases),
        lib,
        day,
        gate_sev,
        head_policy,
        pytm_threats=pytm,
    )

    with tempfile.TemporaryDirectory(prefix="threatgraph-diff-") as tmp_name:
        tmp = Path(tmp_name).resolve()
        base_paths = _materialise_models(commit, rel_targets, tmp / "tree", root)
        base_policy = build_policy(settings, use_baseline=False)
        base_policy.decisions = []
        for f in rel_to_config(settings, settings.decisions):
            rel = _repo_rel(f, root)
            content = gitrev.show(commit, rel, root)
            if content is None:
                continue
            copy = tmp / "decisions" / rel
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(content)
            try:
                base_policy.decisions.extend(decisions_mod.load(copy))
            except InputError as exc:
                raise _remap(exc, tmp / "decisions", short) from None
        base_policy.verify_evidence = False
        base_policy.strict = False
        base_policy.history = True  # the base is history: judge it, do not refuse it
        try:
            base_loaded = load_paths(base_paths, known, aliases=lib.aliases) if base_paths else []
            base = evaluate_loaded(base_loaded, lib, day, gate_sev, base_policy, pytm_threats=pytm)
        except InputError as exc:
            raise _remap(exc, tmp / "tree", short) from None

        def head_path(file: str) -> str:
            return display_path(file, root)

        def base_path(file: str) -> str:
            try:
                rel = Path(file).resolve().relative_to(tmp / "tree")
            except ValueError:
                return display_path(file, root)
            return f"{short}:{rel.as_posix()}"

        result = diff_mod.compare(base.results, head.results, gate_sev, label, "working tree")
        from threatgraph.formats import diff_report

        if fmt == "markdown":
            text = diff_report.render_markdown(result, head_path, base_path)
        elif fmt == "json":
            text = diff_report.to_json(result, head_path, base_path)
        else:
            text = diff_report.render_text(result, head_path, base_path)
    if output is not None:
        write_atomic(output, text)
    elif fmt == "json":
        echo_json(text, nl=False)
    else:
        echo(text, nl=False, block=True)
    sys.exit(result.exit_code)
