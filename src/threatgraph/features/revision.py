"""The models at a git revision beside the working tree, each analysed: what ``diff`` compares.

The base revision is read through git into a temporary directory (the working tree is never
checked out or changed), with the decisions files as they were at that revision. Both sides
are analysed without evidence checks (that is ``check``'s job, and the base's files are not on
disk); the base's decisions are history, judged but never refused.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from threatgraph.engine.library import Library
from threatgraph.features import diff as diff_mod
from threatgraph.load import decisions as decisions_mod
from threatgraph.load.registry import load_paths
from threatgraph.model.schema import Decision
from threatgraph.pipeline import evaluate_loaded
from threatgraph.policy import PolicyConfig
from threatgraph.repo import gitrev
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.paths import display_path


@dataclass(frozen=True)
class RevisionDiff:
    """The diff of the models at a revision and in the working tree, and how to show the
    files of each side (``REV:path`` for the base's, which lived in a temporary directory)."""

    diff: diff_mod.ModelDiff
    head_path: Callable[[str], str]
    base_path: Callable[[str], str]


def diff_with_revision(
    commit: str,
    label: str,
    targets: Sequence[str],
    root: Path,
    lib: Library,
    day: date,
    fail_on: str,
    policy: PolicyConfig,
    decision_files: Sequence[str] = (),
    *,
    pytm_threats: bool = False,
) -> RevisionDiff:
    """Analyse ``targets`` in the working tree and at ``commit`` and compare them.

    ``policy`` is the working tree's (its decisions included); the base takes the same
    options with the decisions of ``decision_files`` (the configured decisions files) as they
    were at ``commit``. Problems in the base's files are reported as ``REV:path``.
    """
    short = commit[:12]
    rel_targets = [gitrev.repo_relative(t, root) for t in targets]
    rel_decisions = [gitrev.repo_relative(f, root) for f in decision_files]
    known = lib.controls.keys() if lib.controls else None
    head_policy = dataclasses.replace(policy, verify_evidence=False, strict=False)
    head = evaluate_loaded(
        load_paths(targets, known, aliases=lib.aliases),
        lib,
        day,
        fail_on,
        head_policy,
        pytm_threats=pytm_threats,
    )
    with tempfile.TemporaryDirectory(prefix="threatgraph-diff-") as tmp_name:
        tmp = Path(tmp_name).resolve()
        tree = tmp / "tree"
        base_paths = gitrev.materialise_paths(commit, rel_targets, tree, root)
        base_policy = dataclasses.replace(
            head_policy,
            decisions=_decisions_at(commit, rel_decisions, tmp / "decisions", root),
            history=True,  # the base is history: judge it, do not refuse it
        )
        try:
            base_loaded = load_paths(base_paths, known, aliases=lib.aliases) if base_paths else []
            base = evaluate_loaded(
                base_loaded, lib, day, fail_on, base_policy, pytm_threats=pytm_threats
            )
        except InputError as exc:
            raise _remap(exc, tree, short) from None

    def head_path(file: str) -> str:
        return display_path(file, root)

    def base_path(file: str) -> str:
        try:
            rel = Path(file).resolve().relative_to(tree)
        except ValueError:
            return display_path(file, root)
        return f"{short}:{rel.as_posix()}"

    diff = diff_mod.compare(base.results, head.results, fail_on, label, "working tree")
    return RevisionDiff(diff, head_path, base_path)


def _decisions_at(commit: str, rel_files: Sequence[str], dest: Path, root: Path) -> list[Decision]:
    """The decisions of the decisions files as they were at ``commit`` (absent ones skipped)."""
    out: list[Decision] = []
    for rel in rel_files:
        content = gitrev.show(commit, rel, root)
        if content is None:
            continue
        copy = dest / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(content)
        try:
            out.extend(decisions_mod.load(copy))
        except InputError as exc:
            raise _remap(exc, dest, commit[:12]) from None
    return out


def _remap(exc: InputError, tmp: Path, label: str) -> InputError:
    """Problems in files copied out of git, shown as 'REV:path'."""
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
