"""Reading a repository at another revision through git, without touching the working tree.

Used by ``threatgraph diff`` (and meant for other commands that compare with a base revision):
the default base, and copying the tracked files of some directories at a revision into a
temporary directory (``git ls-tree`` + ``git cat-file --batch``; symlinks and submodules are
skipped, so nothing written can point outside the temporary directory).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from threatgraph.util.errors import InputError

#: Upper bound on what one materialisation writes (a model directory, not a monorepo).
MAX_BYTES = 256 * 1024 * 1024


def git(args: Sequence[str], cwd: Path, *, input_bytes: bytes | None = None) -> bytes:
    """Run git; a failure is an InputError carrying git's message (exit code 2)."""
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input_bytes,
            capture_output=True,
            check=False,
            env=env,
        )
    except FileNotFoundError:
        raise InputError.single(
            str(cwd), 0, "git is not installed (needed to read revisions)"
        ) from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError.single(
            str(cwd), 0, f"git {' '.join(args[:2])}: {msg[-1] if msg else 'failed'}"
        )
    return proc.stdout


def _try(args: Sequence[str], cwd: Path) -> str | None:
    try:
        out = git(args, cwd).decode("utf-8", "replace").strip()
    except InputError:
        return None
    return out or None


def repo_root(cwd: Path) -> Path:
    """The top directory of the work tree containing ``cwd``."""
    out = _try(["rev-parse", "--show-toplevel"], cwd)
    if out is None:
        raise InputError.single(str(cwd), 0, "not inside a git repository")
    return Path(out).resolve()


def resolve(rev: str, cwd: Path) -> str | None:
    """The commit id of ``rev``, or None when it names no commit."""
    if rev.startswith("-"):
        return None  # never let a revision be read as an option
    return _try(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], cwd)


def default_branch(cwd: Path) -> str | None:
    """origin/HEAD's branch, else main or master (remote-tracking, then local)."""
    head = _try(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], cwd)
    if head:
        return head
    for name in ("origin/main", "origin/master", "main", "master"):
        if resolve(name, cwd):
            return name
    return None


def default_base(cwd: Path) -> tuple[str, str]:
    """(commit id, description) of the merge base of HEAD with the default branch."""
    branch = default_branch(cwd)
    if branch is None:
        raise InputError.single(
            str(cwd),
            0,
            "no default branch (origin/HEAD, main or master) to compare with: give BASE",
        )
    base = _try(["merge-base", "HEAD", branch], cwd)
    if base is None:
        raise InputError.single(str(cwd), 0, f"no merge base between HEAD and {branch}; give BASE")
    return base, f"merge base with {branch}"


def _safe_rel(path: str) -> PurePosixPath | None:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return None
    return p


def tracked(
    rev: str, prefixes: Iterable[str], cwd: Path, recursive: bool = True
) -> list[tuple[str, str]]:
    """(blob id, repo-relative path) of the regular files under ``prefixes`` at ``rev``."""
    args = ["ls-tree", "-z", "--full-tree"]
    if recursive:
        args.append("-r")
    args += [rev, "--", *prefixes]
    out = git(args, cwd)
    files: list[tuple[str, str]] = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        # Regular files only: symlinks (120000) could point anywhere, submodules are commits.
        if kind == "blob" and mode in ("100644", "100755"):
            files.append((oid, name.decode("utf-8", "surrogateescape")))
    return files


def materialise(rev: str, files: Sequence[tuple[str, str]], dest: Path, cwd: Path) -> list[Path]:
    """Write ``files`` (blob id, repo path) as of ``rev`` under ``dest``; returns the paths."""
    if not files:
        return []
    batch = "".join(f"{oid}\n" for oid, _ in files).encode()
    out = git(["cat-file", "--batch"], cwd, input_bytes=batch)
    written: list[Path] = []
    pos = 0
    total = 0
    for oid, name in files:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].decode().split()
        if len(header) != 3 or header[0] != oid:
            raise InputError.single(str(cwd), 0, f"git cat-file: unexpected answer for {name}")
        size = int(header[2])
        body = out[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
        total += size
        if total > MAX_BYTES:
            raise InputError.single(
                str(cwd), 0, f"the files to read at {rev[:12]} exceed {MAX_BYTES} bytes"
            )
        rel = _safe_rel(name)
        if rel is None:
            continue
        target = dest.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        written.append(target)
    return written


def repo_relative(path: str, root: Path) -> str:
    """``path`` relative to the repository ``root`` ('' for the root itself), '/'-separated;
    a path outside the repository is an InputError."""
    p = Path(path).resolve()
    if not p.is_relative_to(root):
        raise InputError.single(path, 0, f"outside the git repository at {root}")
    rel = p.relative_to(root).as_posix()
    return "" if rel == "." else rel


def materialise_paths(rev: str, rel_paths: Sequence[str], dest: Path, root: Path) -> list[str]:
    """Copy the directories of repo-relative ``rel_paths`` at ``rev`` into ``dest``; returns
    the paths (under ``dest``) of those that exist at ``rev``.

    A directory is copied whole; for a file, its directory is (only the top-level files when
    the file sits at the repository root), so that sibling modules a model imports are there.
    """
    wanted: dict[str, tuple[str, str]] = {}
    present: list[str] = []
    for rel in rel_paths:
        entries = [
            line.split(b"\t", 1)
            for line in git(["ls-tree", "-z", "--full-tree", rev, "--", rel or "."], root).split(
                b"\0"
            )
            if line
        ]
        kinds = {e[1].decode("utf-8", "surrogateescape"): e[0].split()[1].decode() for e in entries}
        if rel == "" or kinds.get(rel) == "tree":
            files = tracked(rev, [rel] if rel else [], root, recursive=True)
        elif kinds.get(rel) == "blob":
            parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if parent:
                files = tracked(rev, [parent], root, recursive=True)
            else:
                files = tracked(rev, [], root, recursive=False)
        else:
            continue  # the path does not exist at the base revision
        for oid, name in files:
            wanted[name] = (oid, name)
        present.append(rel)
    materialise(rev, sorted(wanted.values(), key=lambda t: t[1]), dest, root)
    return [str(dest / rel) if rel else str(dest) for rel in present]


def show(rev: str, path: str, cwd: Path) -> bytes | None:
    """The content of repo-relative ``path`` at ``rev``, or None when it does not exist there."""
    if _safe_rel(path) is None:
        return None
    try:
        return git(["show", f"{rev}:{path}"], cwd)
    except InputError:
        return None


def file_commit(path: Path) -> str | None:
    """The commit a file is at, or None when it is not in git or differs from that commit
    (modified, staged or untracked): a document citing the commit must match it."""
    cwd = path.resolve().parent
    name = path.resolve().name
    if _try(["ls-files", "--error-unmatch", "--", name], cwd) is None:
        return None
    if _try(["status", "--porcelain", "--", name], cwd) is not None:
        return None
    return _try(["log", "-1", "--format=%H", "--", name], cwd)


def file_history(path: Path, limit: int = 10) -> list[tuple[str, str, str]]:
    """The last ``limit`` commits that changed a file: (short id, ISO date, subject)."""
    cwd = path.resolve().parent
    out = _try(["log", f"-{limit}", "--format=%h%x09%as%x09%s", "--", path.resolve().name], cwd)
    rows = []
    for line in (out or "").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows
