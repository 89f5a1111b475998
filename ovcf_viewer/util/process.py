"""Whether a process that left a file behind is still running: the owner check behind the
stale temporary-file sweep and the "case not closed normally" marker.

A process id alone is not proof (ids are reused after the owner dies), so on Linux the
process's start time is compared too: a process that started after the file was written
is a different one. Elsewhere (no ``/proc``) a live id counts as the owner, which errs on
the safe side: the file is kept.
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from pathlib import Path

__all__ = ["process_alive", "process_start_time"]

#: Two start times this close (seconds) are the same process (clock ticks are 1/100 s).
_SAME_START_S = 1.0


@lru_cache(maxsize=1)
def _boot_time() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or ``None``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or ``None`` when it does not
    exist or the system cannot say (no ``/proc``)."""
    fields = _stat_fields(pid)
    boot = _boot_time()
    if fields is None or boot is None or len(fields) < 20:
        return None
    try:
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError):
        return None


def process_alive(pid: int, started: float | None = None) -> bool:
    """Whether process ``pid`` runs (a zombie does not) and, when ``started`` is given and
    the system knows start times, is the process that started then."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return False
    fields = _stat_fields(pid)
    if fields is not None and fields and fields[0] in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    if started is not None:
        now = process_start_time(pid)
        if now is not None and abs(now - started) > _SAME_START_S:
            return False  # the id was reused by a later process
    return True
