"""The autosave store: every edit a user makes is written as it happens, keyed by the image's
SOP Instance UID, so reopening the image — even after the process was killed — restores it.

SQLite in the user's data directory gives atomic, durable writes (one transaction per edit,
write-ahead log, ``synchronous=FULL``). When the disk refuses (read-only folder, full disk,
I/O error) the edit stays in memory, :class:`Autosaver` reports it, and the next edit or
:meth:`Autosaver.retry` writes everything still pending.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ovcf_viewer.model.landmarks import AnnotationFormatError, ImageAnnotations
from ovcf_viewer.util.paths import data_dir

__all__ = ["AnnotationSink", "AnnotationStore", "Autosaver", "SaveStatus", "StoreError"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
    sop_instance_uid TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    sop_instance_uid TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS study_findings (
    patient_id TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    document TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (patient_id, study_instance_uid)
);
"""


class StoreError(OSError):
    """The store could not be opened or written; the message says why in plain words."""


def _explain(exc: BaseException, path: Path) -> str:
    text = str(exc).lower()
    if "full" in text or "no space" in text:
        return f"the disk holding {path.parent} is full"
    if "readonly" in text or "read-only" in text or "permission" in text:
        return f"{path.parent} is read-only"
    return f"cannot write {path} ({exc})"


class AnnotationSink(Protocol):
    """Where an image's annotations are kept: the :class:`AnnotationStore`, or a stand-in
    that keeps them in memory (training mode)."""

    def save(self, model: ImageAnnotations) -> None: ...

    def load(self, sop_instance_uid: str) -> ImageAnnotations | None: ...


class AnnotationStore:
    """Annotation documents (exchange format, partial vertebrae kept) by SOP Instance UID."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "annotations.sqlite3"
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(_SCHEMA)
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(_explain(exc, self.path)) from exc
            self._conn = conn
        return self._conn

    def save(self, model: ImageAnnotations) -> None:
        """Write ``model`` in one transaction; raises :class:`StoreError`."""
        document = json.dumps(model.to_json(partial=True), separators=(",", ":"))
        self._upsert("annotations", model.sop_instance_uid, document)

    def save_findings(self, sop_instance_uid: str, findings: dict[str, object]) -> None:
        """The clinician's findings for the suitability panel, kept with the image (§6)."""
        self._upsert("findings", sop_instance_uid, json.dumps(findings, separators=(",", ":")))

    def load_findings(self, sop_instance_uid: str) -> dict[str, object] | None:
        try:
            row = self._connect().execute(
                "SELECT document FROM findings WHERE sop_instance_uid = ?", (sop_instance_uid,)
            ).fetchone()
            return json.loads(row[0]) if row is not None else None
        except (sqlite3.Error, StoreError, ValueError) as exc:
            log.warning("saved findings for %s unreadable: %s", sop_instance_uid, exc)
            return None

    def save_study_findings(self, patient_id: str, study_instance_uid: str,
                            findings: dict[str, object]) -> None:
        """The clinician's findings for one patient and study (§6): entered once, read by the
        main window, every case made from the study's films and their reports. Raises
        :class:`StoreError`; ``ValueError`` without a Study Instance UID to key them by."""
        if not study_instance_uid:
            raise ValueError("findings are kept per study: the film has no Study Instance UID")
        document = json.dumps(findings, separators=(",", ":"))
        try:
            conn = self._connect()
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO study_findings (patient_id, study_instance_uid, document, "
                    "updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(patient_id, "
                    "study_instance_uid) DO UPDATE SET document = excluded.document, "
                    "updated_at = excluded.updated_at",
                    (patient_id, study_instance_uid, document, time.time()),
                )
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(_explain(exc, self.path)) from exc

    def load_study_findings(self, patient_id: str,
                            study_instance_uid: str) -> dict[str, object] | None:
        """The findings saved for a patient and study, or ``None``."""
        if not study_instance_uid:
            return None
        try:
            row = self._connect().execute(
                "SELECT document FROM study_findings WHERE patient_id = ? AND "
                "study_instance_uid = ?", (patient_id, study_instance_uid),
            ).fetchone()
            return json.loads(row[0]) if row is not None else None
        except (sqlite3.Error, StoreError, ValueError) as exc:
            log.warning("saved findings for study %s unreadable: %s", study_instance_uid, exc)
            return None

    def _upsert(self, table: str, sop_instance_uid: str, document: str) -> None:
        try:
            conn = self._connect()
            with conn:  # BEGIN ... COMMIT, rolled back on error
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    f"INSERT INTO {table} (sop_instance_uid, document, updated_at) "
                    "VALUES (?, ?, ?) ON CONFLICT(sop_instance_uid) DO UPDATE SET "
                    "document = excluded.document, updated_at = excluded.updated_at",
                    (sop_instance_uid, document, time.time()),
                )
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(_explain(exc, self.path)) from exc

    def load(self, sop_instance_uid: str) -> ImageAnnotations | None:
        """The saved annotations for an image, or ``None``. A damaged record is logged and
        skipped rather than stopping the image from opening."""
        try:
            row = (
                self._connect()
                .execute(
                    "SELECT document FROM annotations WHERE sop_instance_uid = ?",
                    (sop_instance_uid,),
                )
                .fetchone()
            )
        except (sqlite3.Error, StoreError) as exc:
            log.warning("annotation store unreadable: %s", exc)
            return None
        if row is None:
            return None
        try:
            return ImageAnnotations.from_json(json.loads(row[0]), partial=True)
        except (ValueError, AnnotationFormatError) as exc:
            log.warning("saved annotations for %s unreadable: %s", sop_instance_uid, exc)
            return None

    def uids(self) -> list[str]:
        rows = self._connect().execute("SELECT sop_instance_uid FROM annotations").fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


@dataclass(frozen=True)
class SaveStatus:
    """What the window shows: ``ok`` or the reason edits are only in memory."""

    ok: bool
    message: str
    pending: bool = False


class Autosaver:
    """Writes a model to the store after every completed edit (not during a live drag: the
    drag's end is one edit). Failures keep the edit pending in memory and are reported to the
    ``on_status`` callbacks; :meth:`retry` (or the next edit) writes it.

    Keep a reference to the autosaver for as long as the model is edited: psygnal holds its
    slot weakly, as Qt does for destroyed receivers."""

    def __init__(self, model: ImageAnnotations, store: AnnotationSink) -> None:
        self.model = model
        self.store = store
        self.pending = False
        self.status = SaveStatus(True, "All edits saved")
        self._listeners: list[Callable[[SaveStatus], None]] = []
        model.changed.connect(self._on_changed)

    def on_status(self, callback: Callable[[SaveStatus], None]) -> None:
        self._listeners.append(callback)

    def _on_changed(self) -> None:
        if self.model.in_preview:
            return
        self.pending = True
        self._write()

    def retry(self) -> bool:
        """Write pending edits; ``True`` when nothing is left pending."""
        if self.pending:
            self._write()
        return not self.pending

    def _write(self) -> None:
        try:
            self.store.save(self.model)
        except StoreError as exc:
            self._set_status(
                SaveStatus(False, f"Edits kept in memory, not yet saved: {exc}", pending=True)
            )
            return
        self.pending = False
        self._set_status(SaveStatus(True, "All edits saved"))

    def _set_status(self, status: SaveStatus) -> None:
        changed = status != self.status
        self.status = status
        if changed:
            for callback in list(self._listeners):
                callback(status)

    def detach(self) -> None:
        self.model.changed.disconnect(self._on_changed)
