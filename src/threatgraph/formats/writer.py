"""Writing a whole report set so that an interrupted run leaves the previous files intact.

``threatgraph report`` renders every file in memory first. :func:`write_files` then works in
two phases, with the same guarantees as :func:`threatgraph.formats.common.write_atomic` for
each file and a stronger one for the set:

1. stage: every file is written to a temporary file beside its target and flushed to disk
   (``fsync``, on a thread of its own while the next file is written); an error or Ctrl-C
   here removes the temporary files and no target has changed;
2. commit: each temporary file is renamed over its target (``os.replace``, atomic).

Directories inside the output directory are never followed through symlinks, and no file
is written through a symlink.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

#: Characters encoded and written at a time. Encoding a whole report at once makes a copy of
#: it (tens of MB for a big model) in fresh memory, which costs more than the encoding;
#: small pieces reuse the same memory and the kernel sees the same bytes.
CHUNK = 1 << 15


def write_text(fh: BinaryIO, data: str | bytes) -> None:
    """Write ``data`` (str as UTF-8) to a binary file, a piece at a time."""
    if isinstance(data, bytes):
        fh.write(data)
        return
    for i in range(0, len(data), CHUNK):
        fh.write(data[i : i + CHUNK].encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def safe_dir(root: Path, name: str) -> Path:
    """``root/name`` for writing: refuses a symlink or a non-directory in the way."""
    path = root / name
    if path.is_symlink():
        raise OSError(f"refusing to write into {path}: it is a symlink")
    if path.exists() and not path.is_dir():
        raise OSError(f"refusing to write into {path}: it is not a directory")
    return path


class _Flusher:
    """Flushes staged files to disk (``fsync``, then close) on a thread of its own.

    Waiting for the disk releases the interpreter, so the next file is encoded and written
    while the last one is flushed. The first error stops the flushing: every later file is
    only closed, and :meth:`finish` raises the error (a KeyboardInterrupt included).
    """

    def __init__(self) -> None:
        import queue
        import threading

        self._fds: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="threatgraph-fsync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (fd := self._fds.get()) is not None:
            try:
                if self.error is None:
                    os.fsync(fd)
            except BaseException as exc:  # handed to the writing thread, which raises it
                self.error = exc
            finally:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def put(self, fd: int) -> None:
        """Flush and close ``fd`` (the flusher owns it from now on)."""
        self._fds.put(fd)

    def finish(self) -> None:
        """Wait until every file handed over is flushed and closed; raise the first error."""
        self._fds.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


def write_files(
    files: Mapping[Path, str | bytes], staged_elsewhere: Sequence[tuple[str, Path]] = ()
) -> None:
    """Write every file, all-or-nothing up to the final renames (see module docstring).

    ``staged_elsewhere`` are (temporary file, target) pairs another process already staged
    with :func:`stage_files`: they are renamed with this set, or removed if it fails.
    """
    staged = list(staged_elsewhere)
    try:
        staged = stage_files(files) + staged
        for i, (tmp, path) in enumerate(staged):
            os.replace(tmp, path)
            staged[i] = ("", path)
    finally:
        discard(staged)


def stage_files(files: Mapping[Path, str | bytes]) -> list[tuple[str, Path]]:
    """Phase 1: write each file to a temporary file beside its target and flush it to disk.

    Returns (temporary file, target) pairs for :func:`write_files` to rename. On an error
    every temporary file made so far is removed before the error propagates.
    """
    mode = 0o666 & ~_umask()
    staged: list[tuple[str, Path]] = []
    checked: set[Path] = set()
    flusher = _Flusher()
    done = False
    try:
        for path, data in files.items():
            if flusher.error is not None:
                break  # finish() raises it
            parent = path.parent
            if parent not in checked:
                parent.mkdir(parents=True, exist_ok=True)
                if parent.is_symlink():
                    raise OSError(f"refusing to write into {parent}: it is a symlink")
                checked.add(parent)
            if path.is_symlink():
                raise OSError(f"refusing to write through symlink {path}")
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
            staged.append((tmp, path))
            try:
                os.fchmod(fd, mode)  # mkstemp makes 0600 files; reports are ordinary files
                with open(fd, "wb", closefd=False) as fh:
                    write_text(fh, data)
            except BaseException:
                os.close(fd)
                raise
            flusher.put(fd)
        flusher.finish()
        done = True
    finally:
        if not done:
            with contextlib.suppress(BaseException):
                flusher.finish()  # the error being raised is the one to report
            discard(staged)
    return staged


def discard(staged: Sequence[tuple[str, Path]]) -> None:
    """Remove staged temporary files that were not renamed (an empty name: renamed)."""
    for tmp, _ in staged:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
