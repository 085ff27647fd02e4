"""The parts of `threatgraph review` that moved from the command into features/review:
choosing the merge base, and which changed paths are threat-model inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_util import commit_all, git, git_init

from threatgraph.features import review as review_mod


def test_merge_base_of_a_revision_and_head(tmp_path: Path) -> None:
    git_init(tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    first = commit_all(tmp_path, "first")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    (tmp_path / "b.txt").write_text("b\n")
    commit_all(tmp_path, "second")
    assert review_mod.merge_base("main", tmp_path) == (first, "merge base of main and HEAD")
    assert review_mod.merge_base("no-such-revision", tmp_path) is None


def test_model_inputs_are_relative_sorted_and_inside_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "models" / "helpers").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    got = review_mod.model_inputs(
        loaded=["models/b.yaml", str(tmp_path / "models" / "a.py")],
        # the repository root itself would swallow every file: not an input
        targets=["models/helpers", ".", "models/b.yaml"],
        named=["tg.toml", "/elsewhere/decisions.yaml", "models/b.yaml"],
        root=tmp_path,
    )
    assert got == ["models/a.py", "models/b.yaml", "models/helpers", "tg.toml"]
