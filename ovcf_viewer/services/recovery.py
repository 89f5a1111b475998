"""What the application checks when it starts, so a fault from the last run or in the
data folder is said where the user looks (the GUI's banner) instead of surfacing later:

- the data folder cannot be created or written: edits will be kept in memory only;
- the annotation store was damaged: it was moved aside (where to) and what could be read
  from it was recovered;
- cases that were not closed normally (their process was killed or crashed) are offered
  back (:func:`ovcf_viewer.model.case.unclosed_cases`);
- temporary files a killed writer left behind are removed (only ours, only stale:
  :func:`ovcf_viewer.util.atomic.sweep_stale_temp_files`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ovcf_viewer.io.store import AnnotationStore, StoreError
from ovcf_viewer.model.case import unclosed_cases
from ovcf_viewer.util.atomic import sweep_stale_temp_files
from ovcf_viewer.util.paths import config_dir, data_dir

__all__ = ["StartupState", "check_at_start", "data_folder_problem", "sweep_temp_files"]

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


@dataclass(frozen=True)
class StartupState:
    """What :func:`check_at_start` found; ``None``/empty where all is well."""

    #: the data folder cannot be written: "Edits are kept in memory only: …"
    data_folder: str | None = None
    #: the damaged annotation store was moved aside: what happened and where it is
    damaged_store: str | None = None
    #: autosaved cases not closed normally, most recent first
    unclosed: tuple[Path, ...] = ()
    #: stale temporary files removed
    swept: tuple[Path, ...] = ()


def data_folder_problem(folder: Path | None = None) -> str | None:
    """One line when the data folder cannot hold the user's edits, else ``None``: it is
    tried by writing (and removing) a small file, the only test that tells."""
    folder = folder if folder is not None else data_dir()
    prefix = "Edits are kept in memory only: the data folder"
    if not folder.is_dir():
        reason = ("cannot be created: a file of that name is in the way" if folder.exists()
                  else "cannot be created")
        return f"{prefix} {folder} {reason}"
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
    except OSError as exc:
        if exc.errno in _READ_ONLY:
            return f"{prefix} {folder} is read-only"
        if exc.errno == errno.ENOSPC:
            return f"{prefix} {folder} is on a full disk"
        return f"{prefix} {folder} cannot be written ({exc.strerror or exc})"
    os.close(fd)
    with contextlib.suppress(OSError):  # the probe is ours; a leftover is harmless
        os.unlink(probe)
    return None


def sweep_temp_files() -> list[Path]:
    """Remove stale temporary files from the folders the application writes to."""
    removed: list[Path] = []
    data = data_dir()
    for folder in (data, data / "cases", config_dir()):
        if folder.is_dir():
            removed.extend(sweep_stale_temp_files(folder))
    return removed


def check_at_start(store: AnnotationStore | None) -> StartupState:
    """Sweep stale temporary files, try the data folder, open ``store`` (a damaged one is
    moved aside and recovered) and list the cases not closed normally."""
    swept = tuple(sweep_temp_files())
    problem = data_folder_problem()
    damaged = None
    if store is not None and problem is None:
        try:
            store.open()
        except StoreError as exc:
            problem = f"Edits are kept in memory only: the annotation store cannot be used ({exc})"
        if store.recovery_note and store.moved_aside is not None:
            damaged = (
                f"{store.recovery_note}. The damaged copy is kept at {store.moved_aside}"
            )
    return StartupState(problem, damaged, tuple(unclosed_cases()), swept)
