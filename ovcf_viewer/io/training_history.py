"""Residents' practice history: SQLite in ``data_dir()/training.sqlite3``
(docs/clinical-reference.md §7).

One profile per resident name (case-insensitive, surrounding spaces ignored). Each attempt keeps
its time (UTC), case and film, calibration, mean point error, grade agreement and one row per
level (point error, height and angle errors, both grades). :meth:`TrainingHistory.progress`
gives the series the progress chart plots; :meth:`TrainingHistory.export_csv` writes every
attempt for the programme director. Lengths are in the attempt's ``unit`` (mm, or px on an
uncalibrated film), named beside each value.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.util.paths import data_dir

if TYPE_CHECKING:  # only the attribute names of a score are read (io sits beside measure)
    from ovcf_viewer.measure.scoring import AttemptScore

__all__ = [
    "AttemptRecord",
    "CSV_COLUMNS",
    "HistoryError",
    "ProgressPoint",
    "TrainingHistory",
    "history_path",
]


class HistoryError(OSError):
    """The history file cannot be opened, read or written; the message is one line."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    timestamp TEXT NOT NULL,
    case_id TEXT NOT NULL,
    image_label TEXT NOT NULL,
    levels TEXT NOT NULL,
    calibration_source TEXT NOT NULL,
    unit TEXT NOT NULL,
    mean_point_error REAL,
    grade_agreement REAL,
    duration_s REAL
);
CREATE TABLE IF NOT EXISTS level_scores (
    attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    mean_point_error REAL,
    ha_error REAL, hm_error REAL, hp_error REAL,
    ha_error_pct REAL, hm_error_pct REAL, hp_error_pct REAL,
    wedge_angle_error_deg REAL,
    segmental_kyphosis_error_deg REAL,
    reference_grade INTEGER NOT NULL,
    attempt_grade INTEGER,
    PRIMARY KEY (attempt_id, level)
);
CREATE INDEX IF NOT EXISTS attempts_by_profile ON attempts(profile_id, timestamp);
PRAGMA user_version = 1;
"""

#: Columns of the CSV export, one row per attempt.
CSV_COLUMNS = (
    "resident", "timestamp_utc", "case", "film", "levels", "calibration", "unit",
    "mean_point_error", "grade_agreement_pct", "levels_same_grade", "levels_scored",
    "largest_height_error", "largest_height_error_pct", "largest_angle_error_deg",
    "per_level", "duration_s",
)


def history_path() -> Path:
    return data_dir() / "training.sqlite3"


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class ProgressPoint:
    """One attempt on the progress chart."""

    attempt_id: int
    timestamp: datetime
    case_id: str
    image_label: str
    mean_point_error: float | None  # in ``unit``
    unit: str
    grade_agreement: float | None  # fraction 0–1
    calibration_source: str = ""  # CalibrationSource value: names the unit (§1)


@dataclass(frozen=True)
class AttemptRecord:
    """One stored attempt with its per-level rows (dicts keyed like the table columns)."""

    attempt_id: int
    resident: str
    timestamp: datetime
    case_id: str
    image_label: str
    levels: tuple[str, ...]
    calibration_source: str
    unit: str
    mean_point_error: float | None
    grade_agreement: float | None
    duration_s: float | None
    level_rows: tuple[dict[str, Any], ...]


class TrainingHistory:
    """The attempt store. Every method opens and closes its own connection, so a store object
    is cheap and several (a dock and a command) can use the same file. Raises
    :class:`HistoryError` when the file cannot be used (damaged, read-only folder…)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else history_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"training history folder unusable: {exc}") from exc
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection and one transaction (committed on success, rolled back on error);
        SQLite errors become :class:`HistoryError` naming the file."""
        try:
            with closing(sqlite3.connect(self.path, timeout=10)) as db:
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA foreign_keys = ON")
                with db:
                    yield db
        except sqlite3.Error as exc:
            raise HistoryError(f"training history {self.path} unusable: {exc}") from exc

    # -- profiles --------------------------------------------------------------------------
    def ensure_profile(self, name: str) -> int:
        """The profile id for ``name``, created on first use. Raises ``ValueError`` for a
        blank name."""
        display = " ".join(name.split())
        if not display:
            raise ValueError("enter the resident's name")
        with self._connect() as db:
            row = db.execute(
                "SELECT id FROM profiles WHERE name_key = ?", (_name_key(display),)
            ).fetchone()
            if row is not None:
                return int(row["id"])
            cursor = db.execute(
                "INSERT INTO profiles (name, name_key, created) VALUES (?, ?, ?)",
                (display, _name_key(display), _now().isoformat()),
            )
            return int(cursor.lastrowid or 0)

    def profiles(self) -> list[str]:
        """Resident names, alphabetical."""
        with self._connect() as db:
            rows = db.execute("SELECT name FROM profiles ORDER BY name_key").fetchall()
        return [str(r["name"]) for r in rows]

    # -- attempts --------------------------------------------------------------------------
    def record_attempt(
        self,
        resident: str,
        case_id: str,
        image_label: str,
        score: AttemptScore,
        *,
        timestamp: datetime | None = None,
        duration_s: float | None = None,
    ) -> int:
        """Store one scored attempt; returns its id."""
        profile_id = self.ensure_profile(resident)
        when = (timestamp or _now()).astimezone(UTC)
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO attempts (profile_id, timestamp, case_id, image_label, levels, "
                "calibration_source, unit, mean_point_error, grade_agreement, duration_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    profile_id, when.isoformat(), case_id, image_label,
                    " ".join(score.levels), score.calibration.source.value,
                    score.calibration.unit, score.mean_point_error_mm, score.grade_agreement,
                    duration_s,
                ),
            )
            attempt_id = int(cursor.lastrowid or 0)
            for level, s in score.levels.items():
                h = s.heights or {}
                db.execute(
                    "INSERT INTO level_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        attempt_id, level, s.mean_point_error_mm,
                        *(h[k].error if k in h else None for k in ("ha_mm", "hm_mm", "hp_mm")),
                        *(h[k].error_pct if k in h else None
                          for k in ("ha_mm", "hm_mm", "hp_mm")),
                        s.wedge_angle_deg.error if s.wedge_angle_deg else None,
                        s.segmental_kyphosis_deg.error if s.segmental_kyphosis_deg else None,
                        s.reference_grade, s.attempt_grade,
                    ),
                )
        return attempt_id

    def attempts(self, resident: str | None = None) -> list[AttemptRecord]:
        """Stored attempts, oldest first; one resident's or everybody's."""
        query = (
            "SELECT a.*, p.name AS resident FROM attempts a JOIN profiles p "
            "ON p.id = a.profile_id"
        )
        params: tuple[str, ...] = ()
        if resident is not None:
            query += " WHERE p.name_key = ?"
            params = (_name_key(resident),)
        query += " ORDER BY a.timestamp, a.id"
        with self._connect() as db:
            rows = db.execute(query, params).fetchall()
            out = []
            for row in rows:
                level_rows = db.execute(
                    "SELECT * FROM level_scores WHERE attempt_id = ? ORDER BY rowid", (row["id"],)
                ).fetchall()
                out.append(AttemptRecord(
                    attempt_id=int(row["id"]),
                    resident=str(row["resident"]),
                    timestamp=datetime.fromisoformat(row["timestamp"]),
                    case_id=str(row["case_id"]),
                    image_label=str(row["image_label"]),
                    levels=tuple(str(row["levels"]).split()),
                    calibration_source=str(row["calibration_source"]),
                    unit=str(row["unit"]),
                    mean_point_error=row["mean_point_error"],
                    grade_agreement=row["grade_agreement"],
                    duration_s=row["duration_s"],
                    level_rows=tuple(dict(r) for r in level_rows),
                ))
        return out

    def progress(self, resident: str) -> list[ProgressPoint]:
        """Mean point error and grade agreement of each of a resident's attempts over time."""
        return [
            ProgressPoint(r.attempt_id, r.timestamp, r.case_id, r.image_label,
                          r.mean_point_error, r.unit, r.grade_agreement, r.calibration_source)
            for r in self.attempts(resident)
        ]

    def delete_profile(self, resident: str) -> None:
        """Remove a resident and all their attempts."""
        with self._connect() as db:
            db.execute("DELETE FROM profiles WHERE name_key = ?", (_name_key(resident),))

    # -- export ----------------------------------------------------------------------------
    def csv_text(self, resident: str | None = None) -> str:
        """Every attempt (or one resident's) as CSV, columns :data:`CSV_COLUMNS`."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in self.attempts(resident):
            heights: list[tuple[float, float, float | None]] = [
                (abs(row[k]), row[k], row[k + "_pct"])
                for row in r.level_rows for k in ("ha_error", "hm_error", "hp_error")
                if row[k] is not None
            ]
            angles: list[float] = [
                abs(row[k]) for row in r.level_rows
                for k in ("wedge_angle_error_deg", "segmental_kyphosis_error_deg")
                if row[k] is not None
            ]
            worst_height = max(heights, default=None)
            same = sum(
                1 for row in r.level_rows
                if row["attempt_grade"] is not None
                and row["attempt_grade"] == row["reference_grade"]
            )
            per_level = "; ".join(
                f"{row['level']}: {_fmt(row['mean_point_error'])} {r.unit}, grade "
                f"{row['attempt_grade'] if row['attempt_grade'] is not None else '-'}"
                f"/{row['reference_grade']}"
                for row in r.level_rows
            )
            writer.writerow([
                r.resident, r.timestamp.isoformat(), r.case_id, r.image_label,
                " ".join(r.levels), r.calibration_source, r.unit,
                _fmt(r.mean_point_error),
                _fmt(r.grade_agreement * 100 if r.grade_agreement is not None else None, 1),
                same, len(r.level_rows),
                _fmt(worst_height[1] if worst_height else None),
                _fmt(worst_height[2] if worst_height else None, 1),
                _fmt(max(angles) if angles else None, 1),
                per_level, _fmt(r.duration_s, 0),
            ])
        return buffer.getvalue()

    def export_csv(self, path: str | Path, resident: str | None = None) -> int:
        """Write :meth:`csv_text` to ``path`` atomically (UTF-8 with BOM so spreadsheet
        programs read the names right); returns the number of attempts written."""
        from ovcf_viewer.util.atomic import atomic_write_bytes

        text = self.csv_text(resident)
        atomic_write_bytes(path, b"\xef\xbb\xbf" + text.encode("utf-8"))
        return text.count("\n") - 1


def _fmt(value: float | None, decimals: int = 2) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


def _now() -> datetime:
    return datetime.now(UTC)
