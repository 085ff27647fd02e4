"""One discovery run: walk the repository, hand each file to its recogniser, merge."""

from __future__ import annotations

import os
from pathlib import Path

from threatgraph.features.discover import configscan, jsscan, pyscan
from threatgraph.features.discover.result import Discovery
from threatgraph.features.discover.walk import (
    JS_SUFFIXES,
    LOCK_FILES,
    PY_SUFFIXES,
    YAML_SUFFIXES,
    SourceFile,
    read_text,
    walk,
)
from threatgraph.util.errors import InputError


def discover(root: Path, scope: list[str] | None = None) -> Discovery:
    """The AI components of the repository at ``root`` (statically: nothing is run).

    ``scope`` limits the run to these repository-relative directories or files (a monorepo's
    system); None reads the whole tree. Raises InputError when ``root`` is not a directory.
    """
    if not root.is_dir():
        raise InputError.single(str(root), 0, "not a directory")
    found = Discovery(root=root.resolve().as_posix())
    files = [f for f in walk(root, found.warnings) if _in_scope(f.rel, scope)]
    texts: dict[str, str] = {}
    locked: dict[str, set[str]] = {}  # directory -> package names its lock files list
    for f in files:
        text = read_text(f)
        if text is None:
            found.files_skipped += 1
            continue
        found.files_read += 1
        texts[f.rel] = text
        name = f.rel.rsplit("/", 1)[-1]
        if name in LOCK_FILES:
            locked.setdefault(_dir(f.rel), set()).update(configscan.locked_names(f.rel, text))
    for f in files:
        text = texts.get(f.rel)
        if text is not None:
            _scan_one(f, text, found, locked.get(_dir(f.rel), set()))
    return found


def _dir(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _in_scope(rel: str, scope: list[str] | None) -> bool:
    if scope is None:
        return True
    return any(s in ("", ".") or rel == s or rel.startswith(s.rstrip("/") + "/") for s in scope)


def _scan_one(f: SourceFile, text: str, found: Discovery, locked: set[str]) -> None:
    rel = f.rel
    name = rel.rsplit("/", 1)[-1]
    suffix = os.path.splitext(name)[1].lower()
    if suffix in PY_SUFFIXES:
        pyscan.scan(rel, text, found)
    elif suffix in JS_SUFFIXES:
        jsscan.scan(rel, text, found)
    elif configscan.is_mcp_config(rel):
        configscan.scan_mcp_config(rel, text, found)
    elif name == "pyproject.toml":
        configscan.scan_pyproject(rel, text, found, locked)
    elif name == "package.json":
        configscan.scan_package_json(rel, text, found, locked)
    elif configscan.is_dependency_file(rel):
        configscan.scan_requirements(rel, text, found, locked)
    elif suffix in YAML_SUFFIXES and name != "pnpm-lock.yaml":
        if configscan.is_compose(rel):
            configscan.scan_compose(rel, text, found)
        else:
            configscan.scan_kubernetes(rel, text, found)
