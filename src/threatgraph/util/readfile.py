"""Reading input files: regular files only, never more bytes than the limit.

Every input threatgraph reads (models, rules, controls, predicates, decisions, baselines,
config, evidence files, OTM, the library cache) goes through :func:`read_input` or
:func:`read_head`. A size from ``stat`` is not enough: it says 0 for ``/dev/zero`` and for a
FIFO, which would then be read until memory runs out (or, for a FIFO with no writer, wait
forever). So a file is refused unless it is a regular file, opened without blocking, checked
again on the open descriptor (the path may have been swapped in between), and read at most
``limit + 1`` bytes, so that a file that grows while it is read is still refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from threatgraph.util.errors import InputError

#: The size limit of every input file.
MAX_BYTES = 64 * 1024 * 1024

# O_NONBLOCK: opening a FIFO for reading must not wait for a writer (the check after the
# open refuses it anyway). O_NOCTTY: a terminal device never becomes the controlling one.
_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_CHUNK = 1024 * 1024


def _kind(mode: int) -> str | None:
    """What a non-regular file is ('a FIFO', 'a device'...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def not_regular(path: Path) -> str | None:
    """Why ``path`` (symlinks followed) is not a regular file to read, or None when it is.

    A missing file or one that cannot be stat'ed gives None: the read reports it.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return _kind(mode)


def _refusal(file: str, kind: str) -> InputError:
    return InputError.single(file, 0, f"not a regular file ({kind}): refused")


def _open(path: Path) -> tuple[int, os.stat_result]:
    """A descriptor of ``path`` checked to be a regular file (raises InputError, OSError)."""
    file = str(path)
    # Checked before opening too: opening some devices has effects (a tape rewinds).
    kind = not_regular(path)
    if kind is not None:
        raise _refusal(file, kind)
    fd = os.open(path, _FLAGS)
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind is not None:
            raise _refusal(file, kind)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _read_at_most(fd: int, count: int) -> bytes:
    parts: list[bytes] = []
    left = count
    while left > 0:
        chunk = os.read(fd, min(_CHUNK, left))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_input(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of input file ``path``: a regular file of at most ``limit`` bytes.

    Anything else (a FIFO, a device, a socket, a directory, a file over the limit, one that
    cannot be read) is an InputError naming the file, with line 0.
    """
    file = str(path)
    try:
        fd, st = _open(path)
        try:
            if st.st_size > limit:
                raise InputError.single(
                    file, 0, f"file is {st.st_size} bytes; the limit is {limit}"
                )
            raw = _read_at_most(fd, limit + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError.single(file, 0, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:  # grew while read (or stat did not tell the truth)
        raise InputError.single(file, 0, f"file is over {limit} bytes; the limit is {limit}")
    return raw


def read_head(path: Path, count: int) -> bytes | None:
    """The first ``count`` bytes of a regular file, or None (not regular, or unreadable).

    For sniffing during a directory search: a file that is not a regular file is not a
    model, and is never waited on.
    """
    try:
        fd, _ = _open(path)
    except (OSError, InputError):
        return None
    try:
        return _read_at_most(fd, count)
    except OSError:
        return None
    finally:
        os.close(fd)
