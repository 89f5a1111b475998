"""Training history: attempts survive a restart (a new store object and a new process);
progress series and CSV export carry the right numbers."""

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ovcf_viewer.io.training_history import CSV_COLUMNS, HistoryError, TrainingHistory
from ovcf_viewer.measure.scoring import score_attempt
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import ImageAnnotations
from ovcf_viewer.util.paths import data_dir
from tests.spine_builder import place, stack

CAL = Calibration(CalibrationSource.DETECTOR, 0.16, 0.10)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def reference():
    specs = stack([("T12", 27, 27, 27), ("L1", 19, 24, 27), ("L2", 27, 27, 27)])
    return place(specs, row_mm=0.16, col_mm=0.10, index_levels=("L1",))


def shifted(ref: ImageAnnotations, dx_px: float) -> ImageAnnotations:
    out = ImageAnnotations(ref.sop_instance_uid)
    out.vertebrae = {lv: v.copy() for lv, v in ref.vertebrae.items()}
    for v in out.vertebrae.values():
        v.points = {n: (x + dx_px, y) for n, (x, y) in v.points.items()}
    return out


def attempt_with_l1_sa_raised(ref: ImageAnnotations, rows: float) -> ImageAnnotations:
    out = shifted(ref, 0.0)
    x, y = out.vertebrae["L1"].points["sa"]
    out.vertebrae["L1"].points["sa"] = (x, y - rows)
    return out


def test_store_lives_in_the_data_dir():
    store = TrainingHistory()
    assert store.path == data_dir() / "training.sqlite3" and store.path.exists()


def test_three_attempts_progress_and_restart(tmp_path):
    ref = reference()
    store = TrainingHistory(tmp_path / "h.sqlite3")
    # Errors shrink: 3.0, 1.0, 0.2 mm shifts along x (30, 10, 2 px at 0.10 mm).
    for i, dx in enumerate((30.0, 10.0, 2.0)):
        score = score_attempt(ref, shifted(ref, dx), CAL)
        store.record_attempt("Dr Ayşe Kaya", f"case-{i}", "pre", score,
                             timestamp=T0 + timedelta(days=i), duration_s=60 * (i + 1))
    store.record_attempt("someone else", "case-0", "pre", score_attempt(ref, ref, CAL),
                         timestamp=T0)

    reopened = TrainingHistory(tmp_path / "h.sqlite3")
    assert reopened.profiles() == ["Dr Ayşe Kaya", "someone else"]
    series = reopened.progress("  dr ayşe   KAYA ")  # same profile: case and spaces ignored
    assert [p.case_id for p in series] == ["case-0", "case-1", "case-2"]
    assert [p.mean_point_error for p in series] == pytest.approx([3.0, 1.0, 0.2])
    assert [p.grade_agreement for p in series] == [1.0, 1.0, 1.0]
    assert series[0].timestamp == T0 and series[0].unit == "mm"


def test_history_survives_a_new_process(tmp_path):
    path = tmp_path / "h.sqlite3"
    ref = reference()
    TrainingHistory(path).record_attempt(
        "R1", "case-0001", "pre", score_attempt(ref, attempt_with_l1_sa_raised(ref, 25), CAL)
    )
    code = (
        "from ovcf_viewer.io.training_history import TrainingHistory;"
        f"r = TrainingHistory({str(path)!r}).attempts('R1');"
        "print(len(r), r[0].case_id, round(r[0].grade_agreement, 4), r[0].level_rows[1]['level'],"
        " r[0].level_rows[1]['attempt_grade'], r[0].level_rows[1]['reference_grade'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # 25 rows × 0.16 mm = 4 mm on Ha: 23/27 → 14.8 %, grade 0 against the expert's grade 2.
    assert out.stdout.split() == ["1", "case-0001", "0.6667", "L1", "0", "2"]


def test_csv_export_has_every_attempt_with_right_numbers(tmp_path):
    ref = reference()
    store = TrainingHistory(tmp_path / "h.sqlite3")
    store.record_attempt("R1", "case-A", "post", score_attempt(ref, shifted(ref, 20.0), CAL),
                         timestamp=T0)
    store.record_attempt("R2", "case-B", "pre",
                         score_attempt(ref, attempt_with_l1_sa_raised(ref, 25), CAL),
                         timestamp=T0 + timedelta(hours=1))
    target = tmp_path / "all.csv"
    assert store.export_csv(target) == 2
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    first, second = rows
    assert (first["resident"], first["case"], first["film"]) == ("R1", "case-A", "post")
    assert first["mean_point_error"] == "2.00" and first["unit"] == "mm"
    assert first["grade_agreement_pct"] == "100.0" and first["levels"] == "T12 L1 L2"
    assert first["calibration"] == "detector"
    assert second["resident"] == "R2"
    assert second["levels_same_grade"] == "2" and second["levels_scored"] == "3"
    assert second["largest_height_error"] == "4.00"
    assert second["largest_height_error_pct"] == f"{4 / 19 * 100:.1f}"
    assert "L1: 0.67 mm, grade 0/2" in second["per_level"]
    assert len(store.csv_text("R2").splitlines()) == 2


def test_blank_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="name"):
        TrainingHistory(tmp_path / "h.sqlite3").ensure_profile("   ")


def test_delete_profile_removes_attempts(tmp_path):
    ref = reference()
    store = TrainingHistory(tmp_path / "h.sqlite3")
    store.record_attempt("R1", "c", "pre", score_attempt(ref, ref, CAL))
    store.delete_profile("r1")
    assert store.profiles() == [] and store.attempts() == []


def test_damaged_file_is_a_clear_error(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="unusable") as info:
        TrainingHistory(path)
    assert "\n" not in str(info.value)
