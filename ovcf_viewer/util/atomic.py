"""Atomic file writes: write a sibling temporary file, fsync, then rename over the target,
so a crash or a full disk leaves either the old file or the new one, never half of one.

Permissions: a file the user asked for (a report, a CSV, an export) gets the mode any program
would give it, ``0o666`` less the user's umask. Only ``private=True`` files (autosaved
cases and teaching material in the data folder, which hold patient data) stay ``0o600``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text"]


def _current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: read by setting, then restore at once
    os.umask(mask)
    return mask


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, private: bool = False
) -> None:
    """Replace ``path`` with ``data`` atomically. Raises ``OSError`` (read-only folder,
    full disk, …) with the target left untouched. ``private`` keeps the file ``0o600``;
    otherwise it gets ``0o666`` less the umask, like any file the user's programs write."""
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if not private:  # mkstemp creates 0o600
            with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
                os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, private: bool = False
) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), private=private)
