"""The library cache: same library from cache, rebuilt when a file changes, damage ignored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from threatgraph.engine.library import load_library
from threatgraph.util.paths import builtin_root


@pytest.fixture
def lib_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lib"
    shutil.copytree(builtin_root() / "rules" / "prompt-injection", root / "rules" / "pi")
    for name in ("controls.yaml", "references.yaml", "predicates.yaml"):
        shutil.copy(builtin_root() / name, root / name)
    monkeypatch.setenv("THREATGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("THREATGRAPH_NO_CACHE", raising=False)
    return root


def _summary(root: Path) -> list[tuple[str, str, int, int]]:
    lib = load_library([root], include_builtin=False)
    return [
        (lr.rule.model_dump_json(), str(lr.path), len(lr.positives), len(lr.negatives))
        for lr in lib.rules
    ]


def test_cached_library_equals_parsed_library(lib_copy: Path, tmp_path: Path) -> None:
    first = _summary(lib_copy)
    assert list((tmp_path / "cache").glob("library-*.json"))
    assert _summary(lib_copy) == first


def test_changed_rule_invalidates_the_cache(lib_copy: Path) -> None:
    _summary(lib_copy)
    rule = next(lib_copy.rglob("rule.yaml"))
    text = rule.read_text().replace("severity: medium", "severity: low", 1)
    text = text.replace("severity: high\n", "severity: low\n", 1)
    rule.write_text(text + "\n")
    lib = load_library([lib_copy], include_builtin=False)
    changed = [lr for lr in lib.rules if lr.path == rule]
    assert changed[0].rule.severity == "low"


def test_damaged_cache_is_ignored(lib_copy: Path, tmp_path: Path) -> None:
    first = _summary(lib_copy)
    for f in (tmp_path / "cache").glob("library-*.json"):
        f.write_text('{"rules": [{"rule": {"id": 1}}]}')
    assert _summary(lib_copy) == first


def test_cache_can_be_disabled(
    lib_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREATGRAPH_NO_CACHE", "1")
    _summary(lib_copy)
    assert not (tmp_path / "cache").exists()


def test_invalid_rule_is_never_cached(lib_copy: Path, tmp_path: Path) -> None:
    rule = next(lib_copy.rglob("rule.yaml"))
    rule.write_text(rule.read_text().replace("likelihood:", "likelyhood:", 1))
    from threatgraph.util.errors import InputError

    with pytest.raises(InputError, match="unknown field"):
        load_library([lib_copy], include_builtin=False)
    assert not list((tmp_path / "cache").glob("library-*.json"))
