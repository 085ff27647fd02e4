"""Pre-commit mode of `check`: which of a commit's files to check, decided without running any.

pre-commit passes every staged Python, YAML, JSON and TOML file. Only model files are kept,
recognised statically: a Python file must import threatgraph *and* call ``Model(...)``
(helper modules and ordinary code are skipped, never executed); a YAML or JSON file must have
the top-level ``threatgraph:`` key; other registered formats use their own static sniff.
When the config lists ``models``, files outside those paths are skipped too (rule fixtures and
test models stay out of the gate). A change to the config file, a decisions file or the
baseline re-checks every configured model, since any of them may be affected; a change to
another Python file beside configured models (a helper they import) re-checks the model files
of its directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from threatgraph.settings import Settings


def is_model_file(path: Path) -> bool:
    """A static guess that ``path`` is a model file (the loaders' own sniffs; nothing runs)."""
    from threatgraph.load.registry import formats, sniff, sniff_head

    suffix = path.suffix.lower()
    head: tuple[str, bool] | None = None
    for fmt in formats():
        if suffix not in fmt.suffixes:
            continue
        if head is None:
            head = sniff_head(path)
        if sniff(path, fmt, *head):
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
    helper_dirs: set[Path] = set()
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
        elif configured and p.suffix == ".py":
            # A helper module beside configured models (they may import it): re-check them.
            helper_dirs.add(p.parent)
    seen = {Path(k).resolve() for k in keep}
    for d in sorted(helper_dirs):
        for sibling in sorted(d.glob("*.py")):
            if (
                sibling.resolve() not in seen
                and not sibling.is_symlink()
                and is_model_file(sibling)
            ):
                keep.append(str(sibling))
                seen.add(sibling.resolve())
    return keep, True
