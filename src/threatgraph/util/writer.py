"""Writing output files so that a failed or interrupted run changes nothing.

This is the one way threatgraph writes what a user asked for: every single-file output
(``check -o``, ``baseline -o``, ``import -o``...) and every set of files (``report``,
``sra``, ``testplan``). :func:`write_files` works in two phases:

1. **stage**: each file is written, and flushed to disk, inside a hidden staging directory
   beside its target, ``.threatgraph-<16 hex digits>.tmp``. The staging directory is
   locked (``flock``) while its run lives. An error or a signal here removes it, and no
   target has changed.
2. **commit**: each staged file is renamed over its target (``os.replace``, atomic), and a
   directory given as a whole (a model's report directory) replaces the old one as a whole,
   so that no file of an earlier run survives in it. SIGINT and SIGTERM wait until the
   renames are done; if a rename fails, the ones already made are undone.

A run killed outright (SIGKILL) cannot clean up: its staging directory is left, unlocked,
and the next run writing into that directory removes it (:func:`remove_stale`). A staging
directory that is still locked belongs to a live run and is left alone.

What is refused, before anything is written: a target that is a symlink, a directory, or
a file of another kind than regular (block device, socket). A character device or a FIFO
that the user named (``-o /dev/null``, ``-o /dev/stdout``, a named pipe) is written to as it
is, never replaced; where threatgraph names the file itself (a report set), it is refused.
A new file gets mode 0666 less the umask (the kernel applies it); a replaced file keeps the
permission bits of the file it replaces. Every error names the file (``OSError.filename``
is the target, never a temporary name).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

#: Characters encoded and written at a time. Encoding a whole report at once makes a copy of
#: it (tens of MB for a big model) in fresh memory, which costs more than the encoding;
#: small pieces reuse the same memory and the kernel sees the same bytes.
CHUNK = 1 << 15

#: Names of staging directories: recognisable, so that a later run can remove one that a
#: killed run left behind, and hidden, so that directory listings do not show them.
STAGE_NAME = re.compile(r"\.threatgraph-[0-9a-f]{16}\.tmp")

#: Inside a staging directory: where the entries a commit replaced wait until it is done.
_REPLACED = ".replaced"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)  # a terminal written to must not become ours


def write_text(fh: BinaryIO, data: str | bytes) -> None:
    """Write ``data`` (str as UTF-8) to a binary file, a piece at a time."""
    if isinstance(data, bytes):
        fh.write(data)
        return
    for i in range(0, len(data), CHUNK):
        fh.write(data[i : i + CHUNK].encode("utf-8"))


def refused(path: Path, why: str, code: int = errno.EINVAL) -> OSError:
    """An OSError naming ``path``, printed by the CLI as ``error: PATH: why``."""
    return OSError(code, why, str(path))


def _named(exc: OSError, path: Path) -> OSError:
    """``exc`` with the target as its file: a temporary name would mean nothing to a user."""
    out = OSError(exc.errno, exc.strerror or str(exc), str(path))
    out.__cause__ = exc
    return out


def safe_dir(root: Path, name: str) -> Path:
    """``root/name`` for writing: refuses a symlink or a non-directory in the way."""
    path = root / name
    if path.is_symlink():
        raise refused(path, "refusing to write into a symlink", errno.ELOOP)
    if path.exists() and not path.is_dir():
        raise refused(path, "refusing to write into it: it is not a directory", errno.ENOTDIR)
    return path


# -- locks ----------------------------------------------------------------------------------
def _try_lock(fd: int, wait: bool) -> bool | None:
    """flock ``fd``: True when locked, False when another process holds it, None when this
    system or file system cannot lock it (then nothing can tell a live run from a dead one)."""
    if sys.platform == "win32":
        return None
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def remove_stale(directory: Path) -> list[Path]:
    """Remove the staging directories in ``directory`` that killed runs left behind.

    A staging directory is stale when no process holds its lock. Only this user's are
    touched, and nothing else in ``directory``. Returns what was removed. Never raises: a
    staging directory that cannot be removed now is tried again by the next run.
    """
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(directory) if STAGE_NAME.fullmatch(e.name)]
    except OSError:
        return removed
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    for entry in entries:
        path = Path(entry.path)
        try:
            fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except OSError:
            continue  # not a directory, or not ours to open
        try:
            st = os.fstat(fd)
            if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            # Locked by this process: it is a live run's, which a stale one never is.
            if _try_lock(fd, wait=False) is not True or not _same_file(fd, path):
                continue
            shutil.rmtree(path, ignore_errors=True)
            if not os.path.lexists(path):
                removed.append(path)
        finally:
            os.close(fd)
    return removed


# -- staging ----------------------------------------------------------------------------------
@dataclass
class _Stage:
    """A locked staging directory in ``parent`` and what is staged in it."""

    parent: Path
    path: Path
    fd: int
    #: Entry names staged here: files, and directories that replace their target whole.
    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    made: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, parent: Path) -> _Stage:
        """Make and lock a new staging directory in ``parent`` (made if missing)."""
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _named(exc, parent) from None
        remove_stale(parent)
        while True:
            path = parent / f".threatgraph-{os.urandom(8).hex()}.tmp"
            try:
                os.mkdir(path, 0o700)
                fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
            except FileExistsError:
                continue
            except OSError as exc:
                raise _named(exc, parent) from None
            # Another run's remove_stale may have locked it between the mkdir and the
            # lock, and removed it: then it is gone, and a fresh one is made.
            _try_lock(fd, wait=True)
            if _same_file(fd, path):
                return cls(parent, path, fd)
            os.close(fd)

    def put_file(self, name: str, data: str | bytes, target: Path, mode: int | None) -> None:
        """Stage ``data`` as entry ``name`` (``mode``: the permission bits to keep)."""
        self._write(self.path / name, data, target, mode)
        self.files.append(name)

    def put_dir(self, dname: str, target: Path) -> None:
        """Stage the directory ``dname`` (empty until files are put in it)."""
        if dname not in self.made:
            self._mkdir(self.path / dname, target)
            self.dirs.append(dname)
            self.made.add(dname)

    def put_in_dir(self, dname: str, rel: Path, data: str | bytes, target: Path) -> None:
        """Stage ``data`` as ``rel`` inside the staged directory ``dname``."""
        self.put_dir(dname, target.parent)
        where = self.path / dname
        for part in rel.parts[:-1]:
            where = where / part
            key = where.relative_to(self.path).as_posix()
            if key not in self.made:
                self.made.add(key)
                self._mkdir(where, target)
        self._write(where / rel.name, data, target, None)

    @staticmethod
    def _mkdir(path: Path, target: Path) -> None:
        try:
            os.mkdir(path, 0o777)  # less the umask, like any directory the user makes
        except OSError as exc:
            raise _named(exc, target) from None

    @staticmethod
    def _write(tmp: Path, data: str | bytes, target: Path, mode: int | None) -> None:
        try:
            # 0666 less the umask, applied by the kernel: the mode of any new file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)
            with open(fd, "wb") as fh:
                if mode is not None:
                    os.fchmod(fd, mode)
                write_text(fh, data)
                fh.flush()
                os.fsync(fd)
        except OSError as exc:
            raise _named(exc, target) from None

    def close(self) -> None:
        """Remove the staging directory (with what a commit replaced) and unlock it."""
        try:
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            os.close(self.fd)


def _kind(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _named(exc, path) from None


def _check_file_target(path: Path, through: bool) -> tuple[str, int | None]:
    """('stage', mode to keep or None) for a regular or missing target, ('through', None)
    for a character device or FIFO when ``through``; raises for anything else."""
    st = _kind(path)
    if st is None:
        return "stage", None
    m = st.st_mode
    if stat.S_ISREG(m):
        return "stage", stat.S_IMODE(m) & 0o777
    if stat.S_ISLNK(m):
        raise refused(path, "refusing to write through a symlink", errno.ELOOP)
    if (stat.S_ISCHR(m) or stat.S_ISFIFO(m)) and through:
        return "through", None
    if stat.S_ISDIR(m):
        raise refused(path, "is a directory, not a file", errno.EISDIR)
    raise refused(path, "refusing to replace a file that is not a regular file")


def _write_through(path: Path, data: str | bytes) -> None:
    """Write to a character device or FIFO as it is (no temporary file, no rename)."""
    try:
        fd = os.open(path, os.O_WRONLY | _NOCTTY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        raise _named(exc, path) from None
    try:
        m = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(m) or stat.S_ISFIFO(m)):
            # Replaced by another kind of file since it was looked at: never write into a
            # regular file other than through a rename.
            raise refused(path, "changed while it was being written; nothing written")
        with open(fd, "wb", closefd=False) as fh:
            write_text(fh, data)
    except OSError as exc:
        raise _named(exc, path) from None
    finally:
        os.close(fd)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done, then take effect as usual.

    Only the main thread can handle signals; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def note(signum: int, _frame: object) -> None:
        got.append(signum)

    saved: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        old = signal.getsignal(sig)
        if old is not None:  # None: a handler not set from Python, which we cannot restore
            saved[sig] = old
            signal.signal(sig, note)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
        for signum in dict.fromkeys(got):
            signal.raise_signal(signum)


@dataclass
class _Journal:
    """The renames of a commit, to undo if a later one fails."""

    #: (target, the old entry kept aside or None, where the new directory goes back to or
    #: None for a file, whether the target existed before).
    steps: list[tuple[Path, Path | None, Path | None, bool]] = field(default_factory=list)

    def undo(self) -> None:
        """Put every replaced entry back, newest first (best effort: an undo that fails,
        or an old file that could not be kept aside, leaves that entry new)."""
        for target, backup, staged_back, existed in reversed(self.steps):
            with contextlib.suppress(OSError):
                if staged_back is not None:
                    os.rename(target, staged_back)
                elif not existed:
                    os.unlink(target)
                if backup is not None:
                    os.replace(backup, target)


def _commit(stage: _Stage, remove: list[str], journal: _Journal) -> None:
    """Rename what ``stage`` holds into place, recording each step in ``journal``."""
    replaced = stage.path / _REPLACED
    os.mkdir(replaced, 0o700)
    for name in remove:
        target = stage.parent / name
        try:
            os.rename(target, replaced / name)
        except OSError as exc:
            raise _named(exc, target) from None
        journal.steps.append((target, replaced / name, None, True))
    for name in stage.dirs:
        target = stage.parent / name
        backup: Path | None = None
        if os.path.lexists(target):
            backup = replaced / name
            try:
                os.rename(target, backup)
            except OSError as exc:
                raise _named(exc, target) from None
        try:
            os.rename(stage.path / name, target)
        except OSError as exc:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.rename(backup, target)
            raise _named(exc, target) from None
        journal.steps.append((target, backup, stage.path / name, backup is not None))
    for name in stage.files:
        target = stage.parent / name
        existed = os.path.lexists(target)
        backup = None
        if existed:
            backup = replaced / name
            try:
                os.link(target, backup)  # the old file, to put back if the commit fails
            except OSError:
                backup = None
        try:
            os.replace(stage.path / name, target)
        except OSError as exc:
            raise _named(exc, target) from None
        journal.steps.append((target, backup, None, existed))


def write_files(
    files: Mapping[Path, str | bytes],
    *,
    whole_dirs: Collection[Path] = (),
    remove: Collection[Path] = (),
    through: bool = False,
) -> None:
    """Write every file in ``files``: all of them, or (on any error or signal) none.

    ``whole_dirs`` are directories that the files under them replace as a whole: the
    directory afterwards holds exactly those files. ``remove`` are entries (files or
    directories) to delete with the same commit. ``through``: the paths are ones the user
    named, and a character device or FIFO among them is written to as it is (before the
    renames; it cannot be taken back); otherwise it is refused like any file that is not
    regular, since a FIFO where threatgraph names its own files would block the run.
    """
    whole = {Path(d) for d in whole_dirs}
    plan: list[tuple[Path, str | bytes, Path | None, int | None]] = []
    special: list[tuple[Path, str | bytes]] = []
    for d in sorted(whole):
        st = _kind(d)
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise refused(d, "refusing to write into a symlink", errno.ELOOP)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise refused(d, "refusing to write into it: it is not a directory", errno.ENOTDIR)
    for path, data in files.items():
        owner = next((d for d in path.parents if d in whole), None)
        if owner is not None:
            plan.append((path, data, owner, None))
            continue
        how, mode = _check_file_target(path, through)
        if how == "through":
            special.append((path, data))
        else:
            plan.append((path, data, None, mode))
    stages: dict[Path, _Stage] = {}
    try:
        for path, data, owner, mode in plan:
            entry = owner or path
            stage = stages.get(entry.parent)
            if stage is None:
                stage = stages[entry.parent] = _Stage.open(entry.parent)
            if owner is None:
                stage.put_file(path.name, data, path, mode)
            else:
                stage.put_in_dir(owner.name, path.relative_to(owner), data, path)
        for d in sorted(whole):  # a directory given whole with no files: it becomes empty
            if d.parent not in stages:
                stages[d.parent] = _Stage.open(d.parent)
            stages[d.parent].put_dir(d.name, d)
        gone: dict[Path, list[str]] = {}
        for r in sorted(remove):
            if os.path.lexists(r) and r not in whole and r not in files:
                if r.parent not in stages:
                    stages[r.parent] = _Stage.open(r.parent)
                gone.setdefault(r.parent, []).append(r.name)
        for path, data in special:
            _write_through(path, data)
        journal = _Journal()
        with _signals_deferred():
            try:
                for parent, stage in stages.items():
                    _commit(stage, gone.get(parent, []), journal)
            except BaseException:
                journal.undo()
                raise
    finally:
        with _signals_deferred():
            for stage in stages.values():
                stage.close()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write one file so that readers see the old content or the new, never a part.

    See :func:`write_files`: a symlink, a directory or a block device is refused; a
    character device or a FIFO (``-o /dev/null``, a named pipe) is written to as it is.
    """
    write_files({path: data}, through=True)


__all__ = ["STAGE_NAME", "remove_stale", "safe_dir", "write_atomic", "write_files", "write_text"]
