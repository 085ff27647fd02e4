"""The bounded walk of a repository: which files discovery reads, and reading them safely.

Directories that hold no code of the system (``.git``, ``node_modules``, virtual
environments, caches, build output, vendored copies) are skipped by name; a virtual
environment is also recognised by its ``pyvenv.cfg``. Symlinks are never followed (a link to
a file is read only when it resolves inside the tree; a link to a directory is not entered),
so a hostile repository cannot point the walk at ``/`` or loop it. Files are read through
:mod:`threatgraph.util.readfile` (regular files only, at most :data:`MAX_FILE_BYTES`); a file over
the cap, binary or not UTF-8 is skipped and counted, never an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from threatgraph.util.errors import InputError
from threatgraph.util.readfile import read_input

#: Largest file read (code and configuration): bigger ones are generated or data.
MAX_FILE_BYTES = 1024 * 1024
#: Most files looked at in one walk, and deepest directory entered.
MAX_FILES = 200_000
MAX_DEPTH = 40

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "jspm_packages",
        ".venv",
        "venv",
        "env",
        ".env",
        ".tox",
        ".nox",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        "site-packages",
        "dist",
        "build",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        "out",
        "coverage",
        "vendor",
        "third_party",
        "third-party",
        "generated",
        "__generated__",
        ".terraform",
        ".idea",
        "target",
    }
)

PY_SUFFIXES = frozenset({".py", ".pyi"})
JS_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
MCP_CONFIG_NAMES = frozenset({"mcp.json", ".mcp.json", "claude_desktop_config.json"})
#: Lock files: the packages they list are installed at fixed versions.
LOCK_FILES = frozenset(
    {
        "poetry.lock",
        "uv.lock",
        "pdm.lock",
        "Pipfile.lock",
        "package-lock.json",
        "pnpm-lock.yaml",
        "yarn.lock",
    }
)
DEPENDENCY_NAMES = frozenset({"pyproject.toml", "package.json"}) | LOCK_FILES
#: Minified bundles are generated: never read as code.
_GENERATED_SUFFIXES = (".min.js", ".bundle.js", ".d.ts")


@dataclass(frozen=True)
class SourceFile:
    """A file to read: its repository-relative posix path and its absolute path."""

    rel: str
    path: Path


def wanted(name: str) -> bool:
    """Whether a file of this name is one a recogniser reads."""
    lower = name.lower()
    if lower.endswith(_GENERATED_SUFFIXES):
        return False
    suffix = os.path.splitext(lower)[1]
    return (
        suffix in PY_SUFFIXES
        or suffix in JS_SUFFIXES
        or suffix in YAML_SUFFIXES
        or name in MCP_CONFIG_NAMES
        or name in DEPENDENCY_NAMES
        or (lower.startswith("requirements") and suffix in (".txt", ".in"))
    )


#: Characters a path discovery reads may not hold: a code pattern cannot name them (``\\``
#: reads as ``/``, control characters are refused), and a draft must load as it is.
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]")


def walk(root: Path, notes: list[str] | None = None) -> Iterator[SourceFile]:
    """The files under ``root`` that recognisers read, in sorted order (deterministic).

    Limits met (too many entries, too deep) and names skipped are told in ``notes``.
    """
    said: set[str] = set()

    def note(text: str) -> None:
        if notes is not None and text not in said:
            said.add(text)
            notes.append(text)

    root = root.resolve()
    seen = 0
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    while stack:
        here, rel, depth = stack.pop()
        try:
            with os.scandir(here) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs: list[tuple[Path, str, int]] = []
        for entry in entries:
            seen += 1
            if seen > MAX_FILES:
                note(f"{rel or '.'}: stopped after {MAX_FILES} entries; the rest is not read")
                return
            name = entry.name
            child_rel = f"{rel}{name}"
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if _BAD_NAME.search(name):
                note(f"{rel}{name!r}: a name with a control character or backslash, not read")
                continue
            if is_dir:
                if name in SKIP_DIRS:
                    continue
                if depth + 1 > MAX_DEPTH:
                    note(f"{child_rel}: deeper than {MAX_DEPTH} directories, not read")
                    continue
                if (Path(entry.path) / "pyvenv.cfg").exists():
                    continue  # a virtual environment under another name
                subdirs.append((Path(entry.path), child_rel + "/", depth + 1))
                continue
            if not wanted(name):
                continue
            if is_link and not _inside(Path(entry.path), root):
                continue
            yield SourceFile(child_rel, Path(entry.path))
        # Reversed onto the stack so that directories come out in name order.
        stack.extend(reversed(subdirs))


def _inside(path: Path, root: Path) -> bool:
    """Whether a symlink resolves to a regular file inside ``root`` (never followed out)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return target.is_relative_to(root) and target.is_file()


def read_text(file: SourceFile) -> str | None:
    """The text of ``file``, or None when it is over the cap, binary, not UTF-8 or unreadable."""
    try:
        raw = read_input(file.path, MAX_FILE_BYTES)
    except InputError:
        return None
    if b"\0" in raw[:8192]:
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
