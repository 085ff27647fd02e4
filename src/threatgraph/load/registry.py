"""Which loader reads which file, directory search, and the load stage entry point."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from threatgraph.model.schema import Kind, SystemModel
from threatgraph.model.validate import finalize
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.readfile import not_regular, read_head
from threatgraph.util.yamlsafe import MAX_BYTES

if TYPE_CHECKING:  # the pytm loader imports pytm lazily; only its types are needed here
    from threatgraph.load.pytm_loader import PytmSource


@dataclass(frozen=True)
class Converted:
    """A model a loader converted from another tool's objects, with what later stages need
    of those objects (for a pytm file: the pytm objects, for ``--pytm-threats``)."""

    model: SystemModel
    pytm: PytmSource | None = None


@dataclass
class LoadContext:
    """What a loader may need from the run, and what it reports back besides models.

    ``known_controls`` are the control ids of the loaded library (the catalogue plus custom
    rule directories; None when no library was loaded); ``otm_types`` maps OTM component types
    to kinds (``--map-type``, config ``otm_types``). Loaders add warnings about what they could
    not carry over (one context per file).
    """

    known_controls: frozenset[str] | None = None
    otm_types: Mapping[str, Kind] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


LoadFn = Callable[[Path, LoadContext], Sequence[SystemModel | Converted]]
SniffFn = Callable[[Path, str], bool]

#: Directories never searched: environments, caches, VCS and build output.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".env",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "build",
        "dist",
        "site-packages",
        ".eggs",
    }
)


@dataclass(frozen=True)
class SourceFormat:
    """A model source format: file suffixes, a static sniff for searches, and a loader.

    ``mentions`` is a cheap textual test (an import line, a top-level key) used on files too
    big to sniff whole: such a file that mentions the format is claimed, and the loader then
    loads it or says why not. Without it, ``sniff`` is used on the part that was read.
    """

    name: str
    suffixes: tuple[str, ...]
    sniff: SniffFn
    load: LoadFn
    mentions: Callable[[str], bool] | None = None


@dataclass
class LoadedModel:
    """A validated model and the file it came from.

    ``pytm`` holds the pytm objects a model loaded from a pytm file was converted from, so
    that pytm's engine can run on them later; it lives exactly as long as the model.
    """

    model: SystemModel
    path: Path
    format: str
    extra: dict[str, object] = field(default_factory=dict)
    pytm: PytmSource | None = None
    #: What the loader could not carry over (shown as warnings by check and import).
    warnings: list[str] = field(default_factory=list)


_FORMATS: list[SourceFormat] = []


def register(fmt: SourceFormat) -> None:
    """Add a source format; earlier registrations win when several claim a file."""
    if all(f.name != fmt.name for f in _FORMATS):
        _FORMATS.append(fmt)


def _builtin() -> None:
    if _FORMATS:
        return
    from threatgraph.load import declarative, python

    def load_python(path: Path, ctx: LoadContext) -> list[SystemModel]:
        return python.load(path)

    def load_yaml(path: Path, ctx: LoadContext) -> list[SystemModel]:
        return declarative.load(path)

    register(
        SourceFormat(
            "python", (".py",), python.looks_like_model, load_python, python.mentions_threatgraph
        )
    )
    register(SourceFormat("yaml", declarative.SUFFIXES, declarative.looks_like_model, load_yaml))
    try:  # optional formats (pytm, OTM) register themselves when their module exists
        plugins = importlib.import_module("threatgraph.load.plugins")
    except ModuleNotFoundError:
        return
    plugins.register_all(register)


def formats() -> list[SourceFormat]:
    """The registered source formats."""
    _builtin()
    return list(_FORMATS)


#: Bytes of a file read to decide its format: the largest model any loader accepts. Sniffs see
#: the whole file below this size, so a decision never depends on where a read stopped.
SNIFF_LIMIT = MAX_BYTES


def sniff_head(path: Path) -> tuple[str, bool]:
    """The file's text for sniffing (up to :data:`SNIFF_LIMIT` bytes), and whether it is longer.

    Bytes that are not UTF-8 (NUL included) are replaced, not refused: a file that mentions
    a model format is claimed and its loader reports what is wrong with it.
    """
    # Only a regular file is read (a FIFO would block, a device never end).
    raw = read_head(path, SNIFF_LIMIT + 1)
    if raw is None:
        return "", False
    truncated = len(raw) > SNIFF_LIMIT
    return raw[:SNIFF_LIMIT].decode("utf-8-sig", errors="replace"), truncated


def sniff(path: Path, fmt: SourceFormat, text: str, truncated: bool) -> bool:
    """Whether ``fmt`` claims the file whose text (perhaps only its start) is ``text``."""
    if truncated and fmt.mentions is not None:
        return fmt.mentions(text)
    return fmt.sniff(path, text)


def _claim(path: Path, explicit: bool) -> SourceFormat | None:
    suffix = path.suffix.lower()
    candidates = [f for f in formats() if suffix in f.suffixes]
    if not candidates:
        return None
    head, truncated = sniff_head(path)
    for fmt in candidates:
        if sniff(path, fmt, head, truncated):
            return fmt
    # A file the user named explicitly goes to the first format for its suffix; a searched
    # file that no format recognises is skipped (never executed).
    return candidates[0] if explicit else None


def discover(paths: Sequence[str | Path]) -> list[tuple[Path, SourceFormat]]:
    """The model files among ``paths``: named files as given, directories searched.

    Searching only picks files recognisable as models without running them (a Python file
    that imports threatgraph, a YAML/JSON file with a top-level 'threatgraph' key...).
    """
    found: list[tuple[Path, SourceFormat]] = []
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(files):
                    fp = Path(root, name)
                    # Symlinks, FIFOs, devices and sockets are not model files: skipped
                    # without being opened.
                    if fp.is_symlink() or not_regular(fp) is not None:
                        continue
                    fmt = _claim(fp, explicit=False)
                    if fmt is not None:
                        found.append((fp, fmt))
        elif p.is_file():
            fmt = _claim(p, explicit=True)
            if fmt is None:
                problems.append(
                    Problem(
                        str(p),
                        0,
                        "not a model file: expected "
                        + ", ".join(sorted({s for f in formats() for s in f.suffixes})),
                    )
                )
            else:
                found.append((p, fmt))
        elif p.exists():
            kind = not_regular(p) or "a special file"
            problems.append(Problem(str(p), 0, f"not a regular file ({kind}): refused"))
        else:
            problems.append(Problem(str(p), 0, "no such file or directory"))
    if problems:
        raise InputError(problems)
    seen: set[Path] = set()
    unique = []
    for fp, fmt in found:
        key = fp.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((fp, fmt))
    return unique


def load_file(
    path: Path,
    fmt: SourceFormat,
    known_controls: Collection[str] | None = None,
    otm_types: Mapping[str, Kind] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[LoadedModel]:
    """Load and validate every model in one file.

    The loader gets the same known controls as the validation (a control of a custom rule
    directory is as good as a catalogue one), and the OTM type mappings. ``aliases``: former
    control ids and their current ids (the library's), read with a deprecation note.
    """
    ctx = LoadContext(
        frozenset(known_controls) if known_controls is not None else None, otm_types or {}
    )
    out = []
    for item in fmt.load(path, ctx):
        model, pytm = (item.model, item.pytm) if isinstance(item, Converted) else (item, None)
        out.append(LoadedModel(finalize(model, known_controls, aliases), path, fmt.name, pytm=pytm))
    for lm in out:
        lm.warnings = list(ctx.warnings)
    return out


def load_paths(
    paths: Iterable[str | Path],
    known_controls: Collection[str] | None = None,
    otm_types: Mapping[str, Kind] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[LoadedModel]:
    """The load stage: every model under ``paths``, validated. Collects all file errors."""
    models: list[LoadedModel] = []
    problems: list[Problem] = []
    found = discover(list(paths))
    for fp, fmt in found:
        try:
            models.extend(load_file(fp, fmt, known_controls, otm_types, aliases))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    ids: dict[str, Path] = {}
    for lm in models:
        mid = lm.model.model.id
        if mid in ids and ids[mid] != lm.path:
            lm.model.model.id = f"{mid}-{len(ids)}"
        ids[lm.model.model.id] = lm.path
    return models
