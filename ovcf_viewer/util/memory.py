"""Returning freed memory to the system."""

from __future__ import annotations

import contextlib
import sys

__all__ = ["release_freed_memory"]


def release_freed_memory() -> None:
    """Hand memory the process has freed back to the system (glibc ``malloc_trim(0)``;
    elsewhere a no-op).

    glibc keeps what a thread freed in that thread's arena, and large blocks freed once make
    later ones of that size stay in the heap: a decoder's scratch planes (OpenJPEG decodes
    into 32-bit planes, twice a 16-bit film) and a preview's buffers would otherwise stay
    resident beside the film they were for. It costs a few milliseconds: call it once after
    such work, not per paint."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)
