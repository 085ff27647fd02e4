"""Pre-commit mode of `check`: which of a commit's files to check, decided without running any.

pre-commit passes every staged Python, YAML, JSON and TOML file. Only model files are kept,
recognised statically: a Python file must import threatgraph *and* call ``Model(...)``
(helper modules and ordinary code are skipped, never executed); a YAML or JSON file must have
the top-level ``threatgraph:`` key; other registered formats use their own static sniff.
When the config lists ``models``, files outside those paths are skipped too (rule fixtures and
test models stay out of the gate). A change to the config file, a decisions file or the
baseline re-checks every configured model, since any of them may be affected.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

from threatgraph.load.python import imports_module
from threatgraph.settings import Settings


def _calls_model(source: str) -> bool:
    """Whether Python source calls ``Model(...)`` or ``<something>.Model(...)`` anywhere."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True  # let the loader report the syntax error with file:line
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            if (isinstance(fn, ast.Name) and fn.id == "Model") or (
                isinstance(fn, ast.Attribute) and fn.attr == "Model"
            ):
                return True
    return False


def is_model_file(path: Path) -> bool:
    """A static guess that ``path`` is a model file. Nothing in the file runs."""
    from threatgraph.load.registry import _head, formats

    suffix = path.suffix.lower()
    head: str | None = None
    for fmt in formats():
        if suffix not in fmt.suffixes:
            continue
        if head is None:
            head = _head(path)
        if not fmt.sniff(path, head):
            continue
        if fmt.name == "python":
            return imports_module(head, "threatgraph") and _calls_model(head)
        return True
    return False


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def select(files: Sequence[str], settings: Settings) -> tuple[list[str], bool]:
    """The paths to check for a commit's ``files``, and whether the run is partial.

    Partial means only some of the project's models are checked, so unmatched entries of
    decisions files and the baseline are not reported as stale.
    """
    from threatgraph.commands._common import rel_to_config

    configured = [Path(p).resolve() for p in rel_to_config(settings, settings.models)]
    policy_files = {Path(p).resolve() for p in rel_to_config(settings, settings.decisions)}
    if settings.baseline:
        policy_files.add(Path(rel_to_config(settings, [settings.baseline])[0]).resolve())
    if settings.source:
        policy_files.add(Path(settings.source).resolve())
    keep: list[str] = []
    for name in files:
        p = Path(name)
        if not p.is_file() or p.is_symlink():
            continue
        rp = p.resolve()
        if rp in policy_files:
            if configured:
                return [str(c) for c in configured], False
            continue
        if configured and not _under(rp, configured):
            continue
        if is_model_file(p):
            keep.append(name)
    return keep, True
