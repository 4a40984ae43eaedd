"""Atomic file writes: a crash or an error part-way never leaves a half-written file behind.

:func:`atomic_write` writes to a temporary file in the same directory, flushes and fsyncs it, renames
it over the target (``os.replace``, atomic on POSIX and Windows) and fsyncs the directory so that the
rename itself survives a power cut. Used by ``nabla.save`` (and so by checkpoints).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from typing import Any


def _write_all(f: Any, data: bytes) -> None:
    """Write ``data`` into the open temporary file; its own function so tests can make it fail part-way."""
    f.write(data)


def atomic_write(path: str, directory: str, data: bytes) -> None:
    """Write ``data`` to a temporary file in ``directory``, fsync it, rename it over ``path``, fsync the directory."""
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    # O_EXCL: never follow or reuse someone else's file; mode 0o666 lets the umask decide, as open() does.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if os.path.exists(path):  # overwriting keeps the old file's permissions (a private file stays private)
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:  # some file systems (certain network mounts) do not support it
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)
