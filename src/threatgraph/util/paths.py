"""Paths as the user reads them (relative to the working directory when inside it), and
where the shipped threat library is.

Every layer that names a file in its output (reports, exports, command messages) shows it
the same way, so this sits in the utility layer rather than in one of them.
"""

from __future__ import annotations

import functools
from pathlib import Path


def display_path(file: str, base: Path | None = None) -> str:
    """A path relative to ``base`` (default: the cwd) when inside it, with '/' separators."""
    return _display(file, str(base or Path.cwd()))


@functools.lru_cache(maxsize=4096)
def _display(file: str, base: str) -> str:
    # Every finding of a model shares its file: resolve each (file, base) pair once.
    try:
        return Path(file).resolve().relative_to(Path(base).resolve()).as_posix()
    except (ValueError, OSError):
        return Path(file).as_posix()


def display_location(location: str) -> str:
    """A 'file:line' location with the file shown as by :func:`display_path`."""
    if not location:
        return ""
    file, sep, line = location.rpartition(":")
    if sep and line.isdigit():
        return f"{display_path(file)}:{line}"
    return display_path(location)


def builtin_root() -> Path:
    """The shipped threat library: inside the wheel, or threats/ in a source checkout.

    Here rather than beside the library loader because loaders that were given no library
    read its control catalogue too, and they sit below the engine.
    """
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_library"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "threats"
