"""Code ownership: which repository files implement which modeled element.

An element names the code that implements it in ``code=[...]``: repository-relative paths or
glob patterns. This module matches those patterns against file names (it never reads a file):

- Paths are relative to the repository root (the git top-level of the model file, else the
  config file's directory, else the model file's directory; the same root as evidence) and use
  ``/``; a leading ``./`` is ignored, ``\\`` is read as ``/``.
- ``*`` matches any run of characters within one path segment (never ``/``), ``?`` one
  character, ``[abc]`` / ``[a-z]`` / ``[!abc]`` one character of (or not of) a set.
  ``*`` and ``?`` match a leading dot too (unlike the shell): hidden files are code as well.
- ``**`` as a whole segment matches zero or more segments: ``src/**/views.py`` matches
  ``src/views.py`` and ``src/a/b/views.py``; ``**`` elsewhere in a segment is ``*``.
- A pattern that names a directory matches everything below it: ``src/retriever``,
  ``src/retriever/`` and ``src/retriever/**`` are the same pattern in effect. The same holds for
  a glob matching a directory: ``services/*`` covers every file under each service.
- Matching is case-sensitive and byte-exact (git's view of names).
- A pattern that is absolute, uses a URL scheme or climbs out of the repository with ``..`` is
  an input error: code ownership never points threatgraph outside the repository.

Which files exist: in a git work tree, one ``git ls-files --cached --others
--exclude-standard`` (tracked files plus untracked ones that are not ignored, minus tracked
files deleted from the work tree); otherwise one walk of the directory tree (not following
symlinked directories, skipping ``.git``, ``.hg`` and ``.svn``). Either way the list is read
once per root and searched in memory: literal patterns by set lookups, globs by a regular
expression over the files under their literal leading directories only (a sorted list and
bisection), so a repository of thousands of files and dozens of patterns is checked in
milliseconds.
"""

from __future__ import annotations

import bisect
import difflib
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from threatgraph.model.schema import Location, SystemModel
from threatgraph.util.errors import InputError, Problem

_GLOB_CHARS = frozenset("*?[")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
#: Most ``**`` segments in one pattern. Each may try every split of a path's directories, so the
#: cost grows as depth ** count; four is more than any real layout needs.
MAX_DOUBLE_STARS = 4
MAX_PATTERN_LENGTH = 1024
#: Most entries (files and directories) a directory walk (outside git) looks at before it
#: stops with an error at the model's file:line: a tree of empty directories costs as much
#: to walk as one of files.
MAX_WALK_FILES = 500_000
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


class PatternError(ValueError):
    """A code pattern that is malformed or leaves the repository."""


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` has glob characters (``*``, ``?``, ``[``)."""
    return any(ch in _GLOB_CHARS for ch in pattern)


def normalise(pattern: str) -> str:
    """The canonical form of a pattern (``/`` separators, no ``./``, no trailing ``/``).

    ``"."`` (or ``"./"``) stays ``"."`` and means the whole repository. Raises
    :class:`PatternError` for empty, absolute, URL-like or escaping patterns.
    """
    raw = pattern.strip()
    if not raw:
        raise PatternError("empty code pattern")
    if len(raw) > MAX_PATTERN_LENGTH:
        raise PatternError(f"code pattern longer than {MAX_PATTERN_LENGTH} characters")
    if "\0" in raw or "\n" in raw:
        raise PatternError(f"code pattern {pattern!r} contains a control character")
    if raw.startswith(("/", "\\", "~")) or _DRIVE.match(raw):
        raise PatternError(
            f"code pattern {pattern!r} is absolute; name a path relative to the repository"
        )
    if _SCHEME.match(raw):
        raise PatternError(f"code pattern {pattern!r} is not a repository path or glob")
    norm = posixpath.normpath(raw.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise PatternError(f"code pattern {pattern!r} leaves the repository (through '..')")
    return norm


def _segment_regex(seg: str) -> str:
    """One path segment of a glob as a regular expression that never crosses ``/``.

    A ``*`` followed by more pattern is an atomic lazy group (as ``fnmatch`` does), so a
    segment with many stars matches in linear time instead of backtracking.
    """
    pieces: list[str] = []  # literal/class/? text between stars, as regex
    stars = 0
    cur: list[str] = []
    i, n = 0, len(seg)
    while i < n:
        ch = seg[i]
        i += 1
        if ch == "*":
            pieces.append("".join(cur))
            cur = []
            stars += 1
            while i < n and seg[i] == "*":
                i += 1
        elif ch == "?":
            cur.append("[^/]")
        elif ch == "[":
            j = i
            if j < n and seg[j] in "!^":
                j += 1
            if j < n and seg[j] == "]":
                j += 1
            while j < n and seg[j] != "]":
                j += 1
            if j >= n:
                cur.append(re.escape("["))  # no closing bracket: a literal '['
                continue
            body = seg[i:j]
            i = j + 1
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = body.replace("/", "")
            # Escape what Python's set syntax would read specially; '-' keeps making ranges.
            body = "".join("\\" + c if c in "\\^[]&~|" else c for c in body)
            if negate:
                cur.append(f"[^/{body}]")
            elif body:
                cur.append(f"[{body}]")
            else:
                cur.append("(?!)")
        else:
            cur.append(re.escape(ch))
    pieces.append("".join(cur))
    if stars == 0:
        return pieces[0]
    out = [pieces[0]]
    for middle in pieces[1:-1]:
        out.append(f"(?>[^/]*?{middle})")
    out.append(f"[^/]*{pieces[-1]}")
    return "".join(out)


def _glob_regex(norm: str) -> str:
    segs = norm.split("/")
    if sum(1 for s in segs if s == "**") > MAX_DOUBLE_STARS:
        raise PatternError(f"code pattern {norm!r} has more than {MAX_DOUBLE_STARS} '**' segments")
    out: list[str] = []
    last = len(segs) - 1
    for i, seg in enumerate(segs):
        if seg == "**":
            if i > 0 and segs[i - 1] == "**":
                continue  # '**/**' is '**'
            out.append(".+" if i == last else "(?:[^/]+/)*")
        else:
            out.append(_segment_regex(seg) + ("" if i == last else "/"))
    # The directory rule: a match of the pattern, or anything below a matching directory.
    return "(?:" + "".join(out) + ")(?:/.*)?"


@dataclass(frozen=True)
class CodePattern:
    """A compiled code pattern."""

    text: str  # as written
    norm: str  # normalised
    regex: re.Pattern[str] | None  # None for a literal path (set lookups)

    @property
    def prefix(self) -> str:
        """The literal leading directories (``src/retriever/`` for ``src/retriever/*.py``)."""
        if self.norm == ".":
            return ""
        if self.regex is None:
            return self.norm
        segs = self.norm.split("/")
        lit: list[str] = []
        for s in segs[:-1]:
            if is_glob(s):
                break
            lit.append(s)
        return "/".join(lit) + "/" if lit else ""

    def matches(self, path: str) -> bool:
        """Whether repo-relative posix ``path`` is covered by the pattern."""
        if self.norm == ".":
            return True
        if self.regex is None:
            return path == self.norm or path.startswith(self.norm + "/")
        return self.regex.fullmatch(path) is not None


def compile_pattern(pattern: str) -> CodePattern:
    """Normalise and compile ``pattern`` (raises :class:`PatternError`)."""
    norm = normalise(pattern)
    if norm == "." or not is_glob(norm):
        return CodePattern(pattern, norm, None)
    try:
        regex = re.compile(_glob_regex(norm), re.DOTALL)
    except re.error as exc:  # e.g. a reversed range '[z-a]'
        raise PatternError(f"code pattern {pattern!r} is not a valid glob: {exc}") from None
    return CodePattern(pattern, norm, regex)


class FileIndex:
    """The files of a repository (repo-relative posix paths), indexed for pattern queries."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files: list[str] = sorted(set(files))
        self._set = frozenset(self.files)

    def __len__(self) -> int:
        return len(self.files)

    @cached_property
    def dirs(self) -> frozenset[str]:
        """Every directory that holds a file, at any depth."""
        out: set[str] = set()
        for f in self.files:
            d = f
            while "/" in d:
                d = d.rsplit("/", 1)[0]
                if d in out:
                    break
                out.add(d)
        return frozenset(out)

    def _under(self, prefix: str) -> list[str]:
        """The files whose path starts with ``prefix`` (a slice of the sorted list)."""
        if not prefix:
            return self.files
        lo = bisect.bisect_left(self.files, prefix)
        hi = bisect.bisect_left(self.files, prefix + "\U0010ffff")
        return self.files[lo:hi]

    def matching(self, pat: CodePattern, limit: int | None = None) -> list[str]:
        """The files ``pat`` covers, in sorted order (at most ``limit``)."""
        if pat.regex is None:
            if pat.norm == ".":
                hits = self.files
            elif pat.norm in self._set:
                hits = [pat.norm]
            else:
                hits = self._under(pat.norm + "/")
            return hits[:limit] if limit is not None else list(hits)
        out: list[str] = []
        for f in self._under(pat.prefix):
            if pat.regex.fullmatch(f):
                out.append(f)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def any_match(self, pat: CodePattern) -> bool:
        """Whether ``pat`` covers at least one file."""
        if pat.regex is None:
            if pat.norm == ".":
                return bool(self.files)
            return pat.norm in self._set or pat.norm in self.dirs
        return bool(self.matching(pat, limit=1))

    def suggest(self, pat: CodePattern) -> str | None:
        """A close existing directory or file for a pattern whose literal part does not exist."""
        lit = pat.norm if pat.regex is None else pat.prefix.rstrip("/")
        if not lit or lit in self.dirs or lit in self._set:
            return None
        pool = sorted(self.dirs | ({*self.files} if pat.regex is None else set()))
        close = difflib.get_close_matches(lit, pool, n=1, cutoff=0.75)
        if not close:
            return None
        return close[0] + pat.norm[len(lit) :]


def _git_files(root: Path) -> list[str] | None:
    """Tracked (minus deleted) and untracked-not-ignored files, or None outside git."""
    from threatgraph.repo import gitrev

    if not (root / ".git").exists():
        return None
    try:
        listed = gitrev.git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root)
        deleted = gitrev.git(["ls-files", "-z", "--deleted"], root)
    except InputError:
        return None  # git missing or not a work tree after all: walk the directory instead
    gone = {p for p in deleted.split(b"\0") if p}
    return [
        p.decode("utf-8", "surrogateescape") for p in listed.split(b"\0") if p and p not in gone
    ]


class WalkLimit(Exception):
    """The directory walk met more than MAX_WALK_FILES entries."""


def _walk_files(root: Path) -> list[str]:
    out: list[str] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root).as_posix()
        base = "" if rel == "." else rel + "/"
        # A symlinked directory is listed as one entry, as git does, and never entered.
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        seen += len(dirnames) + len(filenames)
        if seen > MAX_WALK_FILES:
            raise WalkLimit(
                f"more than {MAX_WALK_FILES} files and directories under {root}; "
                "make it a git work tree (git's file list is used then) or name less code"
            )
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and d not in links)
        out.extend(base + f for f in [*filenames, *links])
    return out


def list_files(root: Path) -> FileIndex:
    """The files of the repository at ``root`` (git's list in a work tree, else a walk).

    Raises :class:`WalkLimit` when a walk meets more than MAX_WALK_FILES entries.
    """
    files = _git_files(root)
    return FileIndex(_walk_files(root) if files is None else files)


@dataclass(frozen=True)
class ElementCode:
    """The compiled code patterns of one element."""

    element: str  # element id
    name: str
    location: Location | None
    patterns: tuple[CodePattern, ...]

    def matches(self, path: str) -> list[CodePattern]:
        """The patterns of this element that cover ``path``."""
        return [p for p in self.patterns if p.matches(path)]


def element_code(model: SystemModel) -> tuple[list[ElementCode], list[Problem]]:
    """The compiled ``code`` patterns of every element that names code, and pattern errors."""
    out: list[ElementCode] = []
    problems: list[Problem] = []
    for el in model.elements:
        if not el.code:
            continue
        pats: list[CodePattern] = []
        for raw in el.code:
            try:
                pats.append(compile_pattern(raw))
            except PatternError as exc:
                where = el.location or model.location or Location(file="<model>", line=0)
                problems.append(Problem(where.file, where.line, f"element {el.id}: {exc}", "code"))
        out.append(ElementCode(el.id, el.name, el.location, tuple(pats)))
    return out, problems


@dataclass(frozen=True)
class Unmatched:
    """A code pattern that covers no file."""

    element: str
    pattern: str
    location: Location | None
    suggestion: str | None = None

    @property
    def message(self) -> str:
        """'element ID: code pattern 'P' matches no file (did you mean ...?)'."""
        hint = f" (did you mean {self.suggestion!r}?)" if self.suggestion else ""
        return f"element {self.element}: code pattern {self.pattern!r} matches no file{hint}"


@dataclass
class CodeReport:
    """The code-ownership check of one model."""

    root: Path
    unmatched: list[Unmatched] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # malformed or escaping patterns
    patterns: int = 0


def verify(
    model: SystemModel,
    root: Path,
    index: FileIndex | None = None,
    *,
    cache: dict[Path, FileIndex] | None = None,
) -> CodeReport:
    """Check every element's ``code`` patterns against the files under ``root``.

    The file list is read only when some element names code; ``cache`` (root -> index) lets
    the models of one run share it.
    """
    root = root.resolve()
    report = CodeReport(root)
    elements, report.problems = element_code(model)
    report.patterns = sum(len(e.patterns) for e in elements)
    if not report.patterns or report.problems:
        return report
    if index is None:
        if cache is not None and root in cache:
            index = cache[root]
        else:
            try:
                index = list_files(root)
            except WalkLimit as exc:
                # Reported at the first element that names code: the model asked for it.
                first = next(e for e in elements if e.patterns)
                where = first.location or model.location or Location(file="<model>", line=0)
                report.problems.append(
                    Problem(where.file, where.line, f"element {first.element}: {exc}", "code")
                )
                return report
            if cache is not None:
                cache[root] = index
    for ec in elements:
        for pat in ec.patterns:
            if not index.any_match(pat):
                report.unmatched.append(
                    Unmatched(ec.element, pat.text, ec.location, index.suggest(pat))
                )
    return report


def owners(files: Sequence[str], elements: Sequence[ElementCode]) -> dict[str, list[str]]:
    """For each element id, the ``files`` its patterns cover (sorted; only elements with hits)."""
    out: dict[str, list[str]] = {}
    for ec in elements:
        hits = [f for f in files if ec.matches(f)]
        if hits:
            out[ec.element] = sorted(hits)
    return out
