"""Export each film's measurements as a TID 1500 SR and read them back: the values are the
known geometry's and the panel's (``measure_image``), the landmarks come back exactly, and
every file passes ``dciodvfy``."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import highdicom as hd
import pytest
from pydicom import dcmread
from pydicom.sr.codedict import codes

from ovcf_viewer.io import sr_codes
from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.landmarks import Timepoint, load_annotations, save_annotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.services.sr import export_film_sr, export_sr, find_sr_beside, import_sr
from tests.cli.dicom_factory import write_dx
from tests.dciodvfy import assert_valid_dicom
from tests.spine_builder import place, stack

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom" / "case-0001"

# Known bodies (mm): T12 normal, L1 anterior wedge (index level), L2 normal.
HEIGHTS = [("T12", 25.0, 24.0, 26.0), ("L1", 16.0, 19.0, 25.0), ("L2", 27.0, 26.0, 28.0)]


def _film(tmp_path: Path, *, facing: str, tilt: float, spacing, name="film"):
    """A DX film with separate row/column spacing and known landmarks on it."""
    row_mm, col_mm = spacing if spacing is not None else (1.0, 1.0)
    model = place(stack(HEIGHTS), facing=facing, tilt_deg=tilt, row_mm=row_mm,
                  col_mm=col_mm, centre_px=(900.0, 1100.0), index_levels=("L1",))
    path = tmp_path / f"{name}.dcm"
    uid = write_dx(path, rows=2200, cols=1800, imager_spacing=spacing)
    film = dcmread(path)
    film.StudyInstanceUID = "2.25.1234567890"
    film.SeriesInstanceUID = "2.25.1234567891"
    film.save_as(path, enforce_file_format=True)
    model.sop_instance_uid = uid
    model.file = path.name
    model.timepoint = Timepoint("followup", date(2026, 4, 8), 90)
    return path, model


def _groups(path: Path) -> dict[str, hd.sr.MeasurementsAndQualitativeEvaluations]:
    """The measurement groups as highdicom reads them, by tracking identifier (the SR data
    set itself is the root CONTAINER of the TID 1500 report)."""
    report = hd.sr.MeasurementReport.from_sequence([hd.sr.srread(path)])
    return {g.tracking_identifier: g for g in report.get_image_measurement_groups()}


def _height(group, modifier: str) -> hd.sr.Measurement:
    wanted = sr_codes.HEIGHT_MODIFIERS[modifier][0]
    for m in group.get_measurements(name=codes.DCM.Height):
        site = m.finding_sites[0]
        if site.topographical_modifier is not None and \
                site.topographical_modifier.value == wanted:
            return m
    raise AssertionError(f"no height {modifier}")


def _named(group, code) -> hd.sr.Measurement:
    name = hd.sr.CodedConcept(code[0], code[1], code[2])
    found = group.get_measurements(name=name)
    assert len(found) == 1, code
    return found[0]


@pytest.mark.parametrize(("facing", "tilt"), [("left", 0.0), ("right", 12.0), ("left", -20.0)])
def test_sr_values_are_the_known_geometry_on_non_square_pixels(tmp_path, facing, tilt):
    path, model = _film(tmp_path, facing=facing, tilt=tilt, spacing=(0.16, 0.10))
    written = export_film_sr(load_image(path), model, Settings(physician="Doe^Jane"), tmp_path)
    assert_valid_dicom(written)
    groups = _groups(written)
    assert sorted(groups) == ["L1", "L2", "T12"]
    for level, ha, hm, hp in HEIGHTS:
        group = groups[level]
        site = group.finding_sites[0].value
        assert (site.value, site.scheme_designator) == sr_codes.VERTEBRA_CODES[level][:2]
        for key, expected in (("a", ha), ("m", hm), ("p", hp)):
            height = _height(group, key)
            assert height.value == pytest.approx(expected, abs=1e-6)
            assert height.unit.value == "mm"
            assert height.method.value == sr_codes.CALIBRATION_METHOD["detector"][0]
        assert _named(group, sr_codes.WEDGE_RATIO).value == pytest.approx(ha / hp, abs=1e-9)
        assert _named(group, sr_codes.BICONCAVITY_RATIO).value == pytest.approx(hm / hp)
        # Endplates: inferior along A, superior rises from Hp to Ha over the 36 mm depth.
        wedge = math.degrees(math.atan2(hp - ha, 36.0))
        angle = _named(group, sr_codes.WEDGE_ANGLE)
        assert angle.value == pytest.approx(wedge, abs=1e-6)
        assert angle.unit.value == "deg"
    l1 = groups["L1"]
    # LOVBH: ((A1 + A2) - 2 A0) / (A1 + A2) x 100 with A1 = 25 (T12), A2 = 27 (L2), A0 = 16.
    assert _named(l1, sr_codes.LOVBH).value == pytest.approx((52 - 32) / 52 * 100)
    # Segmental kyphosis: superior endplate of T12 to inferior endplate of L2; bodies are
    # unrotated, so it is T12's own superior tilt.
    assert _named(l1, sr_codes.SEGMENTAL_KYPHOSIS).value == pytest.approx(
        math.degrees(math.atan2(26.0 - 25.0, 36.0)), abs=1e-6)
    evaluations = {e.name.value: e.value.value for e in l1.get_qualitative_evaluations()}
    assert evaluations[sr_codes.INDEX_LEVEL[0]] == sr_codes.YES[0]
    # L1 against the mean of T12 and L2: Ha 16 vs 26 → 38.5 % → grade 2, wedge.
    assert evaluations[sr_codes.GENANT_GRADE[0]] == sr_codes.GENANT_GRADE_VALUES[2][0]
    assert evaluations[sr_codes.GENANT_TYPE[0]] == sr_codes.GENANT_TYPE_VALUES["wedge"][0]
    tp = {item.name.value: item.value for item in l1[0].ContentSequence
          if item.name.value in ("126070", "C2348792")}
    assert tp == {"126070": "followup", "C2348792": "2026-04-08"}
    sr = dcmread(written)
    assert sr.StudyInstanceUID == dcmread(path).StudyInstanceUID
    assert sr.PatientID == "T-1"


def test_uncalibrated_film_reports_pixels_never_mm(tmp_path):
    path, model = _film(tmp_path, facing="left", tilt=5.0, spacing=None)
    written = export_film_sr(load_image(path), model, Settings(), tmp_path)
    assert_valid_dicom(written)
    group = _groups(written)["T12"]
    height = _height(group, "a")
    assert height.unit.value == "{pixels}"
    assert height.method.value == sr_codes.CALIBRATION_METHOD["none"][0]
    assert height.value == pytest.approx(25.0, abs=1e-6)  # built at 1 px per "mm"
    # Without a physician in the settings the observer is the program (a device).
    sr = dcmread(written)
    observers = [i for i in sr.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue
                 == "121005"]
    assert observers[0].ConceptCodeSequence[0].CodeValue == "121007"  # Device


def test_round_trip_is_exact(tmp_path):
    path, model = _film(tmp_path, facing="right", tilt=-8.0, spacing=(0.16, 0.10))
    written = export_film_sr(load_image(path), model, Settings(physician="Doe^Jane"), tmp_path)
    result = import_sr(written)
    back = result.annotations
    assert result.skipped == []
    assert back.sop_instance_uid == model.sop_instance_uid
    assert back.file == path.name and (back.rows, back.columns) == (2200, 1800)
    assert sorted(back.vertebrae) == sorted(model.vertebrae)
    assert back.index_levels == ["L1"]
    assert back.timepoint == model.timepoint
    assert result.observer_name == "Doe^Jane"
    for level, vertebra in model.vertebrae.items():
        for name, (x, y) in vertebra.points.items():
            bx, by = back.vertebrae[level].points[name]
            assert abs(bx - x) <= 0.001 and abs(by - y) <= 0.001, (level, name)


def test_sample_case_values_equal_the_panel_and_read_the_same_with_highdicom(tmp_path):
    inputs = []
    for name in ("pre", "post", "followup"):
        for suffix in (".json", ".dcm"):
            shutil.copy(SAMPLE / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
        inputs.append(tmp_path / f"{name}.json")
    settings = Settings(physician="Doe^Jane")
    result = export_sr(inputs, tmp_path / "sr", settings)
    assert len(result.written) == 3 and result.notes == []
    for json_path, written in zip(inputs, result.written, strict=True):
        assert_valid_dicom(written)
        annotations = load_annotations(json_path)
        image = load_image(tmp_path / annotations.file)
        calibration = image.calibration(manual=annotations.manual_calibration)
        panel = measure_image(annotations, calibration, settings)
        read = import_sr(written)
        groups = _groups(written)
        assert set(read.values) == set(panel.vertebrae) == set(groups)
        for level, m in panel.vertebrae.items():
            ours = read.values[level]
            assert ours["ha"] == pytest.approx(m.anterior_height_mm, rel=1e-9)
            assert ours["hm"] == pytest.approx(m.middle_height_mm, rel=1e-9)
            assert ours["hp"] == pytest.approx(m.posterior_height_mm, rel=1e-9)
            assert ours["wedge_angle_deg"] == pytest.approx(m.wedge_angle_deg, rel=1e-9)
            assert ours["height_reduction_pct"] == pytest.approx(
                m.genant.height_reduction_pct, rel=1e-9)
            assert _height(groups[level], "p").value == pytest.approx(
                m.posterior_height_mm, rel=1e-9)
            assert read.qualitative[level]["genant_grade"] == str(m.genant.grade)
            assert read.qualitative[level]["genant_type"] == m.genant.type
        for level, index in panel.index_levels.items():
            if index.lovbh_pct is not None:
                assert read.values[level]["lovbh_pct"] == pytest.approx(index.lovbh_pct)
        assert read.annotations.index_levels == annotations.index_levels
        assert read.annotations.timepoint == annotations.timepoint


def test_sr_beside_the_film_is_found_by_its_reference(tmp_path):
    path, model = _film(tmp_path, facing="left", tilt=0.0, spacing=(0.16, 0.10))
    other, _ = _film(tmp_path, facing="left", tilt=0.0, spacing=(0.16, 0.10), name="other")
    assert find_sr_beside(path, model.sop_instance_uid) is None
    written = export_film_sr(load_image(path), model, Settings(), tmp_path / "film-sr.dcm")
    save_annotations(model, tmp_path / "film.json")  # a JSON beside it is not an SR
    assert find_sr_beside(path, model.sop_instance_uid) == written
    assert find_sr_beside(other, dcmread(other).SOPInstanceUID) is None


def test_manual_calibration_travels_with_the_sr(tmp_path):
    from ovcf_viewer.model.calibration import Calibration, CalibrationSource

    path, model = _film(tmp_path, facing="left", tilt=3.0, spacing=(0.16, 0.10))
    # A calibration line said 0.125 mm per row and 0.0625 mm per column.
    model.manual_calibration = Calibration(CalibrationSource.MANUAL, 0.125, 0.0625)
    written = export_film_sr(load_image(path), model, Settings(), tmp_path)
    assert_valid_dicom(written)
    height = _height(_groups(written)["L2"], "p")
    assert height.method.value == sr_codes.CALIBRATION_METHOD["manual"][0]
    result = import_sr(written)
    assert result.skipped == []
    back = result.annotations.manual_calibration
    assert (back.source, back.row_mm, back.col_mm) == (CalibrationSource.MANUAL, 0.125, 0.0625)
    again = measure_image(result.annotations, back, Settings())
    first = measure_image(model, model.manual_calibration, Settings())
    assert again.vertebrae["L2"].posterior_height_mm == pytest.approx(
        first.vertebrae["L2"].posterior_height_mm, abs=1e-4)
    assert height.value == pytest.approx(first.vertebrae["L2"].posterior_height_mm, rel=1e-9)


def test_sr_modules_import_and_export_with_qt_blocked(tmp_path):
    """The SR and Encapsulated PDF code is headless: it imports and exports without Qt."""
    import subprocess
    import sys
    import textwrap

    shutil.copy(SAMPLE / "pre.dcm", tmp_path / "pre.dcm")
    shutil.copy(SAMPLE / "pre.json", tmp_path / "pre.json")
    script = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('PySide6', 'shiboken6') \\
                        or name.startswith('ovcf_viewer.qt'):
                    raise ImportError('blocked: ' + name)
                return None
        sys.meta_path.insert(0, Block())
        import ovcf_viewer.io.encapsulated, ovcf_viewer.services.report_dicom
        from ovcf_viewer.model.settings import Settings
        from ovcf_viewer.services.sr import export_sr
        result = export_sr([{str(tmp_path / "pre.json")!r}], {str(tmp_path / "out")!r},
                           Settings())
        print('ok', len(result.written))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok 1"


def test_rulers_angles_and_cobb_tools_travel_with_their_values(tmp_path):
    from ovcf_viewer.model.landmarks import Tool

    path, model = _film(tmp_path, facing="left", tilt=0.0, spacing=(0.16, 0.10))
    # Row 0.16 mm, column 0.10 mm: 30 columns = 3 mm, 40 rows = 6.4 mm.
    model.tools = [
        Tool("ruler", [(100.0, 100.0), (130.0, 140.0)], tool_id=1),
        # +5 mm along x from the vertex, +5 mm along y: a right angle in the patient.
        Tool("angle", [(550.0, 500.0), (500.0, 500.0), (500.0, 531.25)], tool_id=2),
        # Line 1 horizontal; line 2 rises 3 mm over 3 mm (30 columns, 18.75 rows): 45°.
        Tool("cobb", [(200.0, 900.0), (260.0, 900.0), (200.0, 1000.0), (230.0, 981.25)],
             tool_id=3),
    ]
    written = export_film_sr(load_image(path), model, Settings(), tmp_path)
    assert_valid_dicom(written)
    report = hd.sr.MeasurementReport.from_sequence([hd.sr.srread(written)])
    groups = {g.tracking_identifier: g for g in report.get_image_measurement_groups()}
    ruler = groups["Ruler 1"].get_measurements()[0]
    assert ruler.name.value == "410668003" and ruler.unit.value == "mm"
    assert ruler.value == pytest.approx(math.hypot(3.0, 6.4), abs=1e-9)
    assert groups["Angle 2"].get_measurements()[0].value == pytest.approx(90.0, abs=1e-9)
    cobb = groups["Cobb 3"].get_measurements()[0]
    assert cobb.name.value == "285285000" and cobb.value == pytest.approx(45.0, abs=1e-9)
    back = import_sr(written)
    assert back.skipped == []
    assert [t.kind for t in back.annotations.tools] == ["ruler", "angle", "cobb"]
    for got, want in zip(back.annotations.tools, model.tools, strict=True):
        for (gx, gy), (x, y) in zip(got.points, want.points, strict=True):
            assert abs(gx - x) <= 0.001 and abs(gy - y) <= 0.001


def test_four_corner_vertebra_exports_without_hm_and_comes_back_four_corner(tmp_path):
    path, model = _film(tmp_path, facing="left", tilt=5.0, spacing=(0.16, 0.10))
    model.set_vertebra_mode("L1", "four_corner")
    written = export_film_sr(load_image(path), model, Settings(), tmp_path)
    groups = {g.tracking_identifier: g for g in _groups(written).values()}
    l1 = next(g for key, g in groups.items() if "L1" in key)
    _height(l1, "a")
    with pytest.raises(AssertionError, match="no height m"):
        _height(l1, "m")
    assert not l1.get_measurements(name=hd.sr.CodedConcept(*sr_codes.BICONCAVITY_RATIO[:3]))
    back = import_sr(written).annotations
    assert set(back.vertebrae["L1"].points) == {"sa", "sp", "ia", "ip"}
    assert back.vertebrae["L1"].is_complete
