"""The local cache of retrieved studies: one folder per study under the data folder, kept
below a size limit by evicting the least recently used studies first.

A study's folder holds its instances as ``<SOPInstanceUID>.dcm`` (see :mod:`.base`), so a
retrieve interrupted half-way resumes into the same folder. Use marks a study as recent.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from ovcf_viewer.io.archive.base import is_uid
from ovcf_viewer.util.paths import data_dir

__all__ = ["StudyCache"]

log = logging.getLogger(__name__)

_MARK = ".last-used"


class StudyCache:
    """``root`` (default: ``<data dir>/archive-cache``) with at most ``limit_bytes``."""

    def __init__(self, limit_bytes: int, root: Path | None = None) -> None:
        self.root = root if root is not None else data_dir() / "archive-cache"
        self.limit_bytes = int(limit_bytes)

    def folder(self, study_uid: str) -> Path:
        """The study's folder (created), marked as just used."""
        if not is_uid(study_uid):
            raise ValueError(f"not a DICOM UID: {study_uid!r}")
        path = self.root / study_uid
        path.mkdir(parents=True, exist_ok=True)
        self.touch(study_uid)
        return path

    def touch(self, study_uid: str) -> None:
        mark = self.root / study_uid / _MARK
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()
        now = time.time()
        os.utime(mark, (now, now))

    def studies(self) -> list[tuple[str, float, int]]:
        """``(study_uid, last_used, bytes)`` for each cached study, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if not folder.is_dir() or not is_uid(folder.name):
                continue
            mark = folder / _MARK
            try:
                last_used = mark.stat().st_mtime if mark.exists() else folder.stat().st_mtime
                size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            except OSError:
                continue
            found.append((folder.name, last_used, size))
        return sorted(found, key=lambda entry: entry[1])

    def size_bytes(self) -> int:
        return sum(size for _uid, _used, size in self.studies())

    def evict(self, keep: Iterable[str] = ()) -> list[str]:
        """Remove the least recently used studies until the cache fits its limit; studies
        in ``keep`` (the ones on screen) stay. Returns the UIDs removed."""
        keep = set(keep)
        studies = self.studies()
        total = sum(size for _uid, _used, size in studies)
        removed = []
        for uid, _used, size in studies:
            if total <= self.limit_bytes:
                break
            if uid in keep:
                continue
            try:
                shutil.rmtree(self.root / uid)
            except OSError as exc:
                log.warning("could not evict cached study %s: %s", uid, exc)
                continue
            total -= size
            removed.append(uid)
        return removed
