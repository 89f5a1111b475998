"""Atomic file writes: write a sibling temporary file, fsync, then rename over the target,
so a crash or a full disk leaves either the old file or the new one, never half of one.

The temporary file is named ``.<target>.<pid>.<random>.tmp``: a process killed between
creating and renaming it leaves it behind, and :func:`sweep_stale_temp_files` removes such
leftovers at start — only ours (that name), only stale (their writer no longer runs; one
written by a live process is never touched).

Permissions: a file the user asked for (a report, a CSV, an export) gets the mode any program
would give it, ``0o666`` less the user's umask. Only ``private=True`` files (autosaved
cases and teaching material in the data folder, which hold patient data) stay ``0o600``."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from ovcf_viewer.util.process import process_alive, process_start_time

__all__ = ["atomic_write_bytes", "atomic_write_text", "sweep_stale_temp_files"]

log = logging.getLogger(__name__)

#: ``.<target>.<pid>.<8 random>.tmp`` (this writer) and ``.<target>.<8 random>.tmp`` (the
#: writer before the process id was part of the name).
_TEMP_WITH_PID = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp$")
_TEMP_WITHOUT_PID = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")
#: A temporary file without a process id is stale after this long (a write takes ms).
LEGACY_TEMP_STALE_S = 3600.0


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
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                    dir=target.parent)
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


def _is_stale(path: Path, now: float) -> bool:
    try:
        written = path.stat().st_mtime
    except OSError:
        return False
    match = _TEMP_WITH_PID.match(path.name)
    if match is not None:
        pid = int(match["pid"])
        if not process_alive(pid):
            return True
        started = process_start_time(pid)  # the id reused by a process started later
        return started is not None and started > written + 1.0
    return _TEMP_WITHOUT_PID.match(path.name) is not None and now - written > LEGACY_TEMP_STALE_S


def sweep_stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files :func:`atomic_write_bytes` left in ``folder`` when its
    process was killed mid-write: only names it makes, only when the writing process no
    longer runs (or, for names without a process id, after an hour). Returns what was
    removed; never raises (a folder that cannot be listed or written is left as it is)."""
    removed: list[Path] = []
    now = time.time()
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.endswith(".tmp")]
    except OSError:
        return removed
    for path in candidates:
        if not path.is_file() or path.is_symlink() or not _is_stale(path, now):
            continue
        try:
            path.unlink()
        except OSError as exc:
            log.warning("stale temporary file %s not removed: %s", path, exc)
            continue
        removed.append(path)
    return removed
