"""Evidence that declared controls (and 'mitigated' decisions) cite: repo paths, test ids, URLs.

A cited item is one of:

- a URL (``https://...`` or ``http://...``): recorded, never fetched;
- a test id ``path::name`` (pytest style, ``path::Class::name`` and ``name[param]`` allowed):
  the file must exist in the repository and, for a Python file, define ``name`` (read with
  ``ast``; nothing runs);
- a repo path or glob (``infra/tls.tf``, ``src/guard/*.py``): it must exist (or match a file).

Paths are relative to the repository root: the nearest directory above the model file holding
``.git``, else the config file's directory, else the model file's directory. A path that
leaves the root (absolute, through ``..`` or through a symlink) is an input error with
file:line: evidence must never point threatgraph at files outside the repository.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from threatgraph.model.schema import ControlRef, Decision, Location, SystemModel
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.yamlsafe import read_text

_URL = re.compile(r"^https?://[^\s/]+\S*$", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_GLOB_CHARS = frozenset("*?[")
MAX_GLOB_MATCHES = 1000
#: Most ``**`` segments in one cited pattern: each multiplies the directory walk (a model from
#: an untrusted pull request must not be able to stall a CI job).
MAX_DOUBLE_STARS = 2
MAX_ITEM_LENGTH = 1024
#: Most directory entries one evidence glob may look at. Globs never enter a symlinked
#: directory (so they cannot leave the repository), and this bounds the walk of a big or
#: hostile tree: past it, the pattern is an error at the control's file:line.
MAX_GLOB_VISITS = 100_000


@dataclass(frozen=True)
class CitedControl:
    """One declared control (or 'mitigated' decision) and what became of its evidence."""

    owner: str  # "element <id>", "flow <id>", "model", "decision <finding id>"
    control: str  # control id, or the finding id for a decision
    location: Location | None
    cited: tuple[str, ...]
    missing: tuple[tuple[str, str], ...]  # (item, why) for items that do not check out
    #: Cited URLs: recorded, never fetched, so nothing is known of them but that they are cited.
    unchecked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Cites at least one item and no cited item fails its check (URLs are not checked)."""
        return bool(self.cited) and not self.missing

    @property
    def checked(self) -> bool:
        """:attr:`ok`, and at least one cited item was checked (a path or test, not a URL)."""
        return self.ok and len(self.unchecked) < len(self.cited)


@dataclass
class EvidenceReport:
    """The evidence checks of one model."""

    root: Path
    controls: list[CitedControl] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # escapes: input errors

    @property
    def declared(self) -> int:
        """Number of declared controls (decisions not counted)."""
        return sum(1 for c in self.controls if not c.owner.startswith("decision"))

    @property
    def with_evidence(self) -> int:
        """Declared controls whose evidence checks out: no item fails, one at least was checked."""
        return sum(1 for c in self.controls if not c.owner.startswith("decision") and c.checked)

    @property
    def url_only(self) -> int:
        """Declared controls that cite only URLs: cited, not checked (URLs are never fetched)."""
        return sum(
            1
            for c in self.controls
            if not c.owner.startswith("decision") and c.ok and not c.checked
        )

    @property
    def missing_items(self) -> int:
        """Cited items that do not exist."""
        return sum(len(c.missing) for c in self.controls)


def find_repo_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``.git`` (a dir or a file)."""
    cur = start.resolve()
    for d in (cur, *cur.parents):
        if (d / ".git").exists():
            return d
    return None


def classify(item: str) -> str:
    """'url', 'test', 'glob' or 'path'."""
    if _URL.match(item):
        return "url"
    if "::" in item:
        return "test"
    if any(ch in _GLOB_CHARS for ch in item):
        return "glob"
    return "path"


class _Escape(Exception):
    """A cited path that leaves the repository (or a glob too broad to check)."""


def _segment_matcher(seg: str) -> re.Pattern[str] | None:
    """A compiled matcher for a glob segment, None for a literal one."""
    if not any(ch in _GLOB_CHARS for ch in seg):
        return None
    # fnmatch's translation, compiled without IGNORECASE: pathlib's glob on POSIX did the
    # same, so '*' also matches names starting with a dot.
    return re.compile(fnmatch.translate(seg), re.DOTALL)


def _real_dir(path: Path) -> bool:
    """A directory that is not a symlink."""
    try:
        return path.is_dir() and not path.is_symlink()
    except OSError:
        return False


def _glob(root: Path, pattern: str, item: str) -> Iterator[Path]:
    """The paths under ``root`` matching ``pattern`` (posix, relative, normalised), sorted.

    Like ``Path.glob`` (``*``, ``?``, ``[...]`` within a segment, ``**`` for any number of
    directories) with two differences that keep a hostile pattern inside the repository and
    quick: a wildcard or ``**`` never enters a symlinked directory (a literal leading
    directory may be a symlink; :func:`_inside` has checked it resolves inside the root),
    and the walk looks at no more than MAX_GLOB_VISITS directory entries (raises _Escape).
    Matches may themselves be symlinks: the caller checks where they resolve.
    """
    segs = pattern.split("/")
    matchers = [_segment_matcher(s) for s in segs]
    last = len(segs) - 1
    # The literal leading directories, which _inside resolved and checked; any directory
    # after the first wildcard is entered only when it is not a symlink.
    prefix = next((n for n, m in enumerate(matchers) if m is not None or segs[n] == "**"), last)
    visits = 0
    done: set[tuple[str, int]] = set()  # (directory, segment index): '**' reaches both often
    yielded: set[str] = set()

    def listing(directory: Path) -> list[os.DirEntry[str]]:
        nonlocal visits
        try:
            with os.scandir(directory) as it:
                entries = []
                for entry in it:
                    visits += 1
                    if visits > MAX_GLOB_VISITS:
                        raise _Escape(
                            f"evidence pattern {item!r} looks at more than {MAX_GLOB_VISITS} "
                            "files and directories; cite a narrower pattern"
                        )
                    entries.append(entry)
        except OSError:  # unreadable or vanished: nothing matches there
            return []
        return sorted(entries, key=lambda e: e.name)

    def real_dir(entry: os.DirEntry[str]) -> bool:
        try:
            return entry.is_dir(follow_symlinks=False)
        except OSError:
            return False

    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        directory, i = stack.pop()
        key = (str(directory), i)
        if key in done:
            continue
        done.add(key)
        seg, matcher = segs[i], matchers[i]
        found: list[Path] = []  # matches at the last segment
        deeper: list[tuple[Path, int]] = []  # where to continue, in order
        if seg == "**":
            if i == last:
                found.append(directory)
            else:
                deeper.append((directory, i + 1))
            deeper.extend((directory / e.name, i) for e in listing(directory) if real_dir(e))
        elif matcher is None:
            child = directory / seg
            if i == last:
                if os.path.lexists(child):
                    found.append(child)
            elif child.is_dir() if i < prefix else _real_dir(child):
                deeper.append((child, i + 1))
        else:
            for e in listing(directory):
                if matcher.fullmatch(e.name):
                    if i == last:
                        found.append(directory / e.name)
                    elif real_dir(e):
                        deeper.append((directory / e.name, i + 1))
        for hit in found:
            if str(hit) not in yielded:
                yielded.add(str(hit))
                yield hit
        stack.extend(reversed(deeper))  # depth first, in name order


def _inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking it stays inside ``root`` (raises _Escape)."""
    if "\x00" in rel or len(rel) > MAX_ITEM_LENGTH:
        raise _Escape(
            f"unsupported evidence {rel[:60]!r}: a NUL character or over "
            f"{MAX_ITEM_LENGTH} characters"
        )
    if _SCHEME.match(rel) and not re.match(r"^[A-Za-z]:[\\/]", rel):
        raise _Escape(
            f"unsupported evidence {rel!r}: cite a repo path, a test id or an http(s) URL"
        )
    if rel.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:[\\/]", rel):
        raise _Escape(f"evidence path {rel!r} is absolute; cite a path relative to the repository")
    norm = os.path.normpath(rel.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise _Escape(f"evidence path {rel!r} leaves the repository (through '..')")
    full = root / norm
    if not full.resolve().is_relative_to(root):
        raise _Escape(f"evidence path {rel!r} leaves the repository (through a symlink)")
    return full


def _defines(path: Path, names: list[str]) -> bool:
    """Whether Python file ``path`` defines ``names`` (Class, then method...), statically."""
    try:
        tree = ast.parse(read_text(path))
    except (SyntaxError, ValueError, InputError, RecursionError, MemoryError):
        # unreadable, not Python, or nested too deeply for the parser: cannot confirm
        return False
    body: list[ast.stmt] = tree.body
    for name in names:
        found = None
        for node in body:
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.name == name
            ):
                found = node
                break
        if found is None:
            return False
        body = found.body if isinstance(found, ast.ClassDef) else []
    return True


def check_item(root: Path, item: str) -> str | None:
    """Why ``item`` does not check out, or None when it does. Raises _Escape for escapes."""
    try:
        return _check_item(root, item)
    except (OSError, ValueError) as exc:  # e.g. a name too long for the file system
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"{item[:60]!r} cannot be checked: {why}"


def _check_item(root: Path, item: str) -> str | None:
    kind = classify(item)
    if kind == "url":
        return None
    if kind == "test":
        file_part, *names = item.split("::")
        path = _inside(root, file_part)
        if not path.is_file():
            return f"test file {file_part!r} does not exist"
        clean = [re.sub(r"\[.*\]$", "", n) for n in names if n]
        if path.suffix == ".py" and clean and not _defines(path, clean):
            return f"{file_part!r} defines no test {'::'.join(clean)!r}"
        return None
    if kind == "glob":
        pattern = _inside(root, item).relative_to(root).as_posix()
        if pattern.split("/").count("**") > MAX_DOUBLE_STARS:
            raise _Escape(
                f"evidence pattern {item!r} has more than {MAX_DOUBLE_STARS} '**' segments"
            )
        matched = False
        for n, hit in enumerate(_glob(root, pattern, item)):
            if n >= MAX_GLOB_MATCHES:
                break
            if not hit.resolve().is_relative_to(root):
                raise _Escape(
                    f"evidence pattern {item!r} matches {hit.name!r} outside the repository"
                )
            matched = True
        return None if matched else f"pattern {item!r} matches no file"
    path = _inside(root, item)
    return None if path.exists() else f"{item!r} does not exist"


def cited_in(model: SystemModel) -> Iterator[tuple[str, ControlRef | Decision, Location | None]]:
    """Every control and decision of a model that can cite evidence: (owner, it, location)."""
    for c in model.model.controls:
        yield "model", c, c.location or model.location
    for el in model.elements:
        for c in el.controls:
            yield f"element {el.id}", c, c.location or el.location
    for fl in model.flows:
        for c in fl.controls:
            yield f"flow {fl.id}", c, c.location or fl.location
    for d in model.decisions:
        if d.evidence:
            yield f"decision {d.finding}", d, d.location or model.location


def _check(
    report: EvidenceReport, owner: str, ref: ControlRef | Decision, loc: Location | None
) -> None:
    missing: list[tuple[str, str]] = []
    unchecked = tuple(item for item in ref.evidence if classify(item) == "url")
    for item in ref.evidence:
        try:
            why = check_item(report.root, item)
        except _Escape as exc:
            where = loc or Location(file="<model>", line=0)
            report.problems.append(Problem(where.file, where.line, str(exc), "evidence"))
            continue
        if why is not None:
            missing.append((item, why))
    control = ref.id if isinstance(ref, ControlRef) else ref.finding
    report.controls.append(
        CitedControl(owner, control, loc, tuple(ref.evidence), tuple(missing), unchecked)
    )


def verify(model: SystemModel, root: Path) -> EvidenceReport:
    """Check the evidence of every declared control and 'mitigated' decision of a model."""
    report = EvidenceReport(root.resolve())
    for owner, ref, loc in cited_in(model):
        _check(report, owner, ref, loc)
    return report


def verify_decision(decision: Decision, root: Path) -> EvidenceReport:
    """Check the evidence of one decision from a decisions file."""
    report = EvidenceReport(root.resolve())
    _check(report, f"decision {decision.finding}", decision, decision.location)
    return report


def root_for(model_file: Path, config_root: str | None) -> Path:
    """The repository root for a model file: git root, else config root, else its directory."""
    git = find_repo_root(model_file.parent)
    if git is not None:
        return git
    if config_root is not None:
        return Path(config_root).resolve()
    return model_file.parent.resolve()


def strip_unevidenced(model: SystemModel, report: EvidenceReport) -> SystemModel:
    """A copy of ``model`` without the controls whose evidence does not check out."""
    bad = {(c.owner, c.control) for c in report.controls if not c.ok}
    if not bad:
        return model
    copy = model.model_copy(deep=True)
    copy.model.controls = [c for c in copy.model.controls if ("model", c.id) not in bad]
    for el in copy.elements:
        el.controls = [c for c in el.controls if (f"element {el.id}", c.id) not in bad]
    for fl in copy.flows:
        fl.controls = [c for c in fl.controls if (f"flow {fl.id}", c.id) not in bad]
    return copy
