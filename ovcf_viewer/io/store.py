"""The autosave store: every edit a user makes is written as it happens, keyed by the image's
SOP Instance UID, so reopening the image — even after the process was killed — restores it.

SQLite in the user's data directory gives atomic, durable writes (one transaction per edit,
write-ahead log, ``synchronous=FULL``). When the disk refuses (read-only folder, full disk,
I/O error) the edit stays in memory, :class:`Autosaver` reports it, and the next edit or
:meth:`Autosaver.retry` writes everything still pending.

One writer per image, across processes: every annotation record carries a version. A store
remembers the version it read (or that there was none) and writes only if the record is still
at that version, inside the ``BEGIN IMMEDIATE`` transaction that writes it; otherwise another
window or program saved the image meanwhile and :class:`OpenElsewhereError` is raised — the
edit stays in memory, nothing is overwritten (never last-writer-wins). The clinician's findings
(per image and per study) carry a version too and are checked the same way.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ovcf_viewer.model.landmarks import AnnotationFormatError, ImageAnnotations
from ovcf_viewer.util.paths import data_dir

__all__ = [
    "AnnotationSink",
    "AnnotationStore",
    "Autosaver",
    "OpenElsewhereError",
    "SaveStatus",
    "StoreError",
]

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


#: The versioned tables (one writer per record across processes).
_TABLES = ("annotations", "findings", "study_findings")

#: A findings record: ``(table, *key values)``.
_FindingsKey = tuple[str, ...]


class StoreError(OSError):
    """The store could not be opened or written; the message says why in plain words."""


class OpenElsewhereError(StoreError):
    """The image's saved annotations changed since this store read them: the image is open
    in another window or program, whose edits must not be overwritten."""


def _is_damage(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("malformed", "not a database", "corrupt", "integrity",
                                         "disk image"))


#: The key columns of each table, as the damaged-store salvage reads them back.
_KEYS: dict[str, tuple[str, ...]] = {
    "annotations": ("sop_instance_uid",),
    "findings": ("sop_instance_uid",),
    "study_findings": ("patient_id", "study_instance_uid"),
}

#: A salvaged row: ``(table, key values, document, updated_at)``.
_Salvaged = tuple[str, tuple[str, ...], str, float]


def _salvage(path: Path) -> list[_Salvaged]:
    """Every row of every table still readable in a damaged store (read-only; reading stops at
    the first damaged page of each table)."""
    rows: list[_Salvaged] = []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows
    try:
        for table, keys in _KEYS.items():
            try:
                cursor = conn.execute(
                    f"SELECT {', '.join(keys)}, document, updated_at FROM {table}")
                while True:
                    try:
                        row = cursor.fetchone()
                    except sqlite3.Error:
                        break
                    if row is None:
                        break
                    *key, document, updated_at = row
                    if all(isinstance(k, str) for k in key) and isinstance(document, str):
                        try:
                            json.loads(document)
                        except ValueError:
                            continue
                        rows.append((table, tuple(key), document, float(updated_at or 0.0)))
            except sqlite3.Error:
                continue
    finally:
        conn.close()
    return rows


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

    def unread_reason(self, sop_instance_uid: str) -> str | None: ...


class AnnotationStore:
    """Annotation documents (exchange format, partial vertebrae kept) by SOP Instance UID."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "annotations.sqlite3"
        self._conn: sqlite3.Connection | None = None
        #: the record version this store last read or wrote, per SOP Instance UID (0: none)
        self._versions: dict[str, int] = {}
        #: the findings record versions this store last read or wrote (absent: never read)
        self._findings_versions: dict[_FindingsKey, int] = {}
        #: images whose saved record could not be read: never overwritten from here
        self._unread: dict[str, str] = {}
        #: set when a damaged store was moved aside on opening: what happened, in words
        self.recovery_note: str | None = None
        #: where the damaged store was moved (set with :attr:`recovery_note`)
        self.moved_aside: Path | None = None
        self._salvaged: list[_Salvaged] = []

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    conn = self._open()
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and not _is_damage(exc):
                        raise  # locked, read-only, full: not damage
                    self._move_aside_and_recover(exc)
                    conn = self._open()
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(_explain(exc, self.path)) from exc
            self._conn = conn
            if self._salvaged:
                self._write_salvaged(conn)
        return self._conn

    def open(self) -> None:
        """Open the store now (at start, so a damaged one is moved aside and reported before
        any image is shown). Raises :class:`StoreError` when it cannot be opened."""
        self._connect()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            for table in _TABLES:
                columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                if "version" not in columns:  # a store written before versions existed
                    conn.execute(
                        f"ALTER TABLE {table} ADD COLUMN version INTEGER NOT NULL DEFAULT 1"
                    )
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside_and_recover(self, damage: BaseException) -> None:
        """Rename the damaged store (and its WAL) aside, keep every record still readable in
        it for the fresh store, and leave :attr:`recovery_note` for the window to show."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{aside}{suffix}"))
        self.moved_aside = aside
        self._salvaged = _salvage(aside)
        count = len({key for table, key, *_ in self._salvaged if table == "annotations"})
        self.recovery_note = (
            f"The annotation store was damaged ({damage}); it was moved aside to {aside.name} "
            f"and the landmarks of {count} image(s) were recovered from it"
        )
        findings = sum(1 for table, *_ in self._salvaged if table != "annotations")
        if findings:
            self.recovery_note += f", with {findings} findings record(s)"
        log.warning("%s", self.recovery_note)

    def _write_salvaged(self, conn: sqlite3.Connection) -> None:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            for table, key, document, updated_at in self._salvaged:
                columns = ", ".join(_KEYS[table])
                marks = ", ".join("?" for _ in key)
                conn.execute(  # version: the column's default, 1 (a fresh record)
                    f"INSERT OR IGNORE INTO {table} ({columns}, document, updated_at) "
                    f"VALUES ({marks}, ?, ?)",
                    (*key, document, updated_at),
                )
        self._salvaged = []

    def save(self, model: ImageAnnotations) -> None:
        """Write ``model`` in one transaction; raises :class:`StoreError`."""
        document = json.dumps(model.to_json(partial=True), separators=(",", ":"))
        uid = model.sop_instance_uid
        if uid in self._unread:
            raise StoreError(
                f"the landmarks saved earlier for this image could not be read "
                f"({self._unread[uid]}), so they are not overwritten; reopen the image"
            )
        expected = self._versions.get(uid, 0)
        try:
            conn = self._connect()
            with conn:  # BEGIN ... COMMIT, rolled back on error
                conn.execute("BEGIN IMMEDIATE")  # the write lock: check and write as one
                row = conn.execute(
                    "SELECT version FROM annotations WHERE sop_instance_uid = ?", (uid,)
                ).fetchone()
                current = int(row[0]) if row is not None else 0
                if current != expected:
                    raise OpenElsewhereError(
                        "this image is open elsewhere: another window or program saved its "
                        "landmarks after they were opened here, and they are not overwritten"
                    )
                conn.execute(
                    "INSERT INTO annotations (sop_instance_uid, document, updated_at, version) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT(sop_instance_uid) DO UPDATE SET "
                    "document = excluded.document, updated_at = excluded.updated_at, "
                    "version = excluded.version",
                    (uid, document, time.time(), current + 1),
                )
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(_explain(exc, self.path)) from exc
        self._versions[uid] = current + 1

    def track(self, sop_instance_uid: str) -> None:
        """Start checking writes of an image whose model did not come from :meth:`load`
        (a case document's film): from now on a write by anyone else is detected. Raises
        :class:`StoreError` when the store cannot be read."""
        try:
            row = self._connect().execute(
                "SELECT version FROM annotations WHERE sop_instance_uid = ?", (sop_instance_uid,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from exc
        self._versions[sop_instance_uid] = int(row[0]) if row is not None else 0
        self._unread.pop(sop_instance_uid, None)

    def unread_reason(self, sop_instance_uid: str) -> str | None:
        """Why the image's saved landmarks could not be read when it was opened, or ``None``."""
        return self._unread.get(sop_instance_uid)

    def version(self, sop_instance_uid: str) -> int:
        """The record version this store last read or wrote for the image (0: none)."""
        return self._versions.get(sop_instance_uid, 0)

    def save_findings(self, sop_instance_uid: str, findings: dict[str, object]) -> None:
        """The clinician's findings for the suitability panel, kept with the image (§6).
        Raises :class:`OpenElsewhereError` when another window or program saved the image's
        findings after this store read them (nothing is overwritten), :class:`StoreError`
        when the disk refuses."""
        self._write_findings(("findings", sop_instance_uid), "sop_instance_uid = ?",
                             json.dumps(findings, separators=(",", ":")))

    def load_findings(self, sop_instance_uid: str) -> dict[str, object] | None:
        """The image's saved findings, or ``None`` (also when unreadable: logged)."""
        return self._read_findings(("findings", sop_instance_uid), "sop_instance_uid = ?")

    def save_study_findings(self, patient_id: str, study_instance_uid: str,
                            findings: dict[str, object]) -> None:
        """The clinician's findings for one patient and study (§6): entered once, read by the
        main window, every case made from the study's films and their reports. Raises
        :class:`OpenElsewhereError` (saved elsewhere since read here) or :class:`StoreError`;
        ``ValueError`` without a Study Instance UID to key them by."""
        if not study_instance_uid:
            raise ValueError("findings are kept per study: the film has no Study Instance UID")
        self._write_findings(("study_findings", patient_id, study_instance_uid),
                             "patient_id = ? AND study_instance_uid = ?",
                             json.dumps(findings, separators=(",", ":")))

    def load_study_findings(self, patient_id: str,
                            study_instance_uid: str) -> dict[str, object] | None:
        """The findings saved for a patient and study, or ``None``."""
        if not study_instance_uid:
            return None
        return self._read_findings(("study_findings", patient_id, study_instance_uid),
                                   "patient_id = ? AND study_instance_uid = ?")

    def findings_version(self, table: str, *key: str) -> int | None:
        """The findings record version this store last read or wrote (0: none saved;
        ``None``: never read here). ``table``: ``"findings"`` (key: SOP Instance UID) or
        ``"study_findings"`` (key: Patient ID, Study Instance UID)."""
        return self._findings_versions.get((table, *key))

    def _read_findings(self, key: _FindingsKey, where: str) -> dict[str, object] | None:
        table, *values = key
        try:
            row = self._connect().execute(
                f"SELECT document, version FROM {table} WHERE {where}", values
            ).fetchone()
        except (sqlite3.Error, StoreError) as exc:
            log.warning("saved findings %s unreadable: %s", values, exc)
            return None
        self._findings_versions[key] = int(row[1]) if row is not None else 0
        if row is None:
            return None
        try:
            document = json.loads(row[0])
        except ValueError as exc:
            log.warning("saved findings %s unreadable: %s", values, exc)
            return None
        return document if isinstance(document, dict) else None

    def _write_findings(self, key: _FindingsKey, where: str, document: str) -> None:
        """Write a findings record if it is still at the version this store read (one never
        read here must not exist yet): the check and the write in one ``BEGIN IMMEDIATE``."""
        table, *values = key
        expected = self._findings_versions.get(key, 0)
        columns = "sop_instance_uid" if table == "findings" else "patient_id, study_instance_uid"
        try:
            conn = self._connect()
            with conn:  # BEGIN ... COMMIT, rolled back on error
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(f"SELECT version FROM {table} WHERE {where}",
                                   values).fetchone()
                current = int(row[0]) if row is not None else 0
                if current != expected:
                    raise OpenElsewhereError(
                        "these findings are open elsewhere: another window or program saved "
                        "them after they were read here, and they are not overwritten"
                    )
                if row is None:
                    marks = ", ".join("?" * len(values))
                    conn.execute(
                        f"INSERT INTO {table} ({columns}, document, updated_at, version) "
                        f"VALUES ({marks}, ?, ?, 1)", (*values, document, time.time()),
                    )
                else:
                    conn.execute(
                        f"UPDATE {table} SET document = ?, updated_at = ?, version = ? "
                        f"WHERE {where}", (document, time.time(), current + 1, *values),
                    )
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(_explain(exc, self.path)) from exc
        self._findings_versions[key] = current + 1

    def load(self, sop_instance_uid: str) -> ImageAnnotations | None:
        """The saved annotations for an image, or ``None`` when it has none. A damaged record
        is logged and skipped rather than stopping the image from opening. A store that cannot
        be read at all raises :class:`StoreError` (the caller must say so: an empty image
        would otherwise look as if nothing had been saved), and the image's record is then
        never overwritten by this store."""
        try:
            row = (
                self._connect()
                .execute(
                    "SELECT document, version FROM annotations WHERE sop_instance_uid = ?",
                    (sop_instance_uid,),
                )
                .fetchone()
            )
        except (sqlite3.Error, StoreError) as exc:
            reason = str(exc) if isinstance(exc, StoreError) else _explain(exc, self.path)
            log.warning("annotation store unreadable: %s", reason)
            self._unread[sop_instance_uid] = reason
            raise StoreError(f"saved landmarks cannot be read: {reason}") from exc
        self._unread.pop(sop_instance_uid, None)
        self._versions[sop_instance_uid] = int(row[1]) if row is not None else 0
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
        note = getattr(store, "recovery_note", None)
        if note:
            self.status = SaveStatus(True, f"All edits saved. {note}")
        unread = store.unread_reason(model.sop_instance_uid)
        if unread is not None:
            self.status = SaveStatus(
                False, f"Landmarks saved earlier could not be read ({unread}); new edits are "
                "kept in memory"
            )
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
        except OpenElsewhereError as exc:
            self._set_status(SaveStatus(False, f"Edits kept in memory, not saved: {exc}",
                                        pending=True))
            return
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
