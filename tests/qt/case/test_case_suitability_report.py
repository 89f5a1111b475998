"""The case window joins the suitability panel and the report to the case: measured inputs come
from the pre-operative film's landmarks and follow a dragged
landmark; findings and overrides are saved in the case document, not as landmark edits; Case >
Export report… writes the findings-driven suitability section (docs/clinical-reference.md §5,
§6)."""

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from ovcf_viewer.io import dicom as dicom_io
from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.case import autosave_path, load_case
from ovcf_viewer.model.landmarks import Timepoint, load_annotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.case.case_view import CaseController, CaseWindow, ViewAnchor
from ovcf_viewer.qt.dialogs.report_action import ReportOptionsDialog
from ovcf_viewer.suitability import Findings, findings_from_dict
from tests.qt.case.test_case_view import drag

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "pre.json").is_file(), reason="sample case not generated"),
]

#: The clinical picture of the issue's "done when": an acute, painful, osteoporotic L1 fracture.
FINDINGS = Findings(
    symptomatic=True, improving_on_medical_therapy=False, pain_duration_weeks=3,
    mri_oedema=True, posterior_wall_involvement=False, neurological_deficit=False,
    t_score=-3.2, vas_under_analgesia=7, mobilisation_possible=False, of_type="OF2",
)


_WINDOWS: list[CaseWindow] = []


@pytest.fixture(autouse=True)
def _drain_events(qtbot):
    """Close this test's windows and let the trend chart's queued draw_idle run while its
    canvas still exists (this teardown runs before qtbot deletes the windows)."""
    yield
    while _WINDOWS:
        _WINDOWS.pop().close()
    QApplication.processEvents()


def open_window(qtbot, case_or_path=None):
    controller = CaseController(Settings())
    window = CaseWindow(controller)
    qtbot.addWidget(window)
    _WINDOWS.append(window)
    if isinstance(case_or_path, Path):
        assert window.open_case(case_or_path), window.status_label.text()
    else:
        controller.set_case(case_or_path or load_case_inputs(
            [SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")]))
    window.resize(1600, 950)
    return window, controller


def truth_measurements(points_changed=None):
    """measure_image on the pre-operative ground truth (optionally with moved points)."""
    annotations = load_annotations(SAMPLE / "pre.json")
    for (level, name), xy in (points_changed or {}).items():
        annotations.set_point(level, name, xy)
    image = dicom_io.load_image(SAMPLE / "pre.dcm")
    return measure_image(annotations, image.calibration(), Settings())


def test_panel_measures_the_preop_film_at_the_treated_level(qtbot):
    window, controller = open_window(qtbot)
    panel = window.workspace.suitability.panel
    measured = panel.measured()

    l1 = truth_measurements().vertebrae["L1"].genant
    assert measured.worst_height_reduction_pct.value == pytest.approx(l1.height_reduction_pct,
                                                                      abs=1e-9)
    assert measured.worst_genant_grade.value == l1.grade == 2
    assert "L1" in measured.worst_height_reduction_pct.source
    assert "pre-operative film" in measured.worst_height_reduction_pct.source

    # Segmental kyphosis by hand (§3): T12 superior to L2 inferior endplate. Anterior is to the
    # left on the sample film and y runs down, so kyphosis (endplates converging anteriorly) is
    # the inferior endplate's slope angle minus the superior endplate's.
    doc = json.loads((SAMPLE / "pre.json").read_text(encoding="utf-8"))
    pts = {v["level"]: v["points"] for v in doc["vertebrae"]}

    def slope_deg(a, p):
        return math.degrees(math.atan2(p[1] - a[1], p[0] - a[0]))

    kyphosis = slope_deg(pts["L2"]["ia"], pts["L2"]["ip"]) - slope_deg(pts["T12"]["sa"],
                                                                      pts["T12"]["sp"])
    assert kyphosis > 5.0  # the sample's wedge fracture is kyphotic
    assert measured.segmental_kyphosis_deg.value == pytest.approx(kyphosis, abs=1e-6)

    rows = panel.measured_rows
    assert f"{l1.height_reduction_pct:.1f} %" in rows["worst_height_reduction_pct"].value.text()
    assert f"{kyphosis:.1f}°" in rows["segmental_kyphosis_deg"].value.text()
    # One pre-operative film only: progression is unknown, and the panel says why.
    assert measured.deformity_progression.value is None
    assert "no earlier pre-operative film" in rows["deformity_progression"].value.text()
    assert "pre-operative film 2026-01-05" in window.workspace.suitability.source.text()


def test_progression_against_an_earlier_preop_film(qtbot):
    """Two pre-operative films: the later is measured, the earlier serves for progression."""
    case = load_case_inputs([SAMPLE / "pre.json", SAMPLE / "post.json"])
    # The "post-operative" film becomes an earlier pre-operative film whose L1 was intact:
    # its cemented L1 is 0 % reduced, so the later pre-op film's collapse is progression.
    post = case.postop_film()
    earlier = Timepoint("preop", post.timepoint.date.replace(year=2025))
    post.annotations.timepoint = earlier
    case = replace(case.with_film(post.sop_instance_uid, timepoint=earlier), treated_levels=())
    window, controller = open_window(qtbot, case)
    value = window.workspace.suitability.panel.measured().deformity_progression
    assert value.value is True
    assert "L1: height reduction +" in value.source


def test_findings_and_overrides_saved_with_the_case_not_as_landmark_edits(qtbot, tmp_path):
    window, controller = open_window(qtbot)
    panel = window.workspace.suitability.panel
    before = panel.evaluation()
    assert before.of_score.total is None  # OF type unknown

    # The user answers: OF type OF2 (a user edit: the combo's signal goes to the panel).
    of_type = panel.finding_widgets["of_type"]
    with qtbot.assertNotEmitted(controller.comparisonChanged), \
            qtbot.assertNotEmitted(controller.caseChanged), \
            qtbot.waitSignal(controller.findingsChanged):
        of_type.setCurrentIndex(of_type.findData("OF2"))
    assert panel.evaluation().of_score.total is not None  # re-evaluated
    assert controller.case.findings.of_type == "OF2"

    # Override the measured height reduction with 45 %.
    row = panel.measured_rows["worst_height_reduction_pct"]
    with qtbot.waitSignal(controller.findingsChanged):
        row.override.setChecked(True)
    with qtbot.waitSignal(controller.findingsChanged):
        row.editor.setValue(45.0)
    assert controller.case.findings.measured_overrides == {"worst_height_reduction_pct": 45.0}
    assert panel.evaluation().measured.worst_height_reduction_pct.overridden
    assert "overridden" in row.value.text()
    # Autosaved with the case; the landmarks are untouched.
    autosaved = load_case(autosave_path(controller.case.case_id))
    assert autosaved.findings.of_type == "OF2"
    assert not any(f.annotations.in_preview for f in controller.case.films)

    # File > Save case, then reopen in a fresh window.
    target = tmp_path / "case.json"
    assert window.save_case(target)
    saved = json.loads(target.read_text(encoding="utf-8"))["findings"]
    assert findings_from_dict(saved).measured_overrides == {"worst_height_reduction_pct": 45.0}

    other, other_controller = open_window(qtbot, target)
    reopened = other.workspace.suitability.panel
    assert reopened.finding_widgets["of_type"].currentData() == "OF2"
    row = reopened.measured_rows["worst_height_reduction_pct"]
    assert row.override.isChecked() and row.editor.isEnabled()
    assert row.editor.value() == pytest.approx(45.0)
    assert "overridden" in row.value.text()
    assert reopened.evaluation().measured.worst_height_reduction_pct.value == 45.0
    assert reopened.findings() == findings_from_dict(saved)
    # Reopening only mirrored the findings: nothing was written back.
    assert other_controller.case.findings.to_dict() == saved


def test_moving_a_preop_landmark_updates_the_measured_inputs(qtbot):
    window, controller = open_window(qtbot)
    window.show()
    qtbot.waitExposed(window)
    panel = window.workspace.suitability.panel
    pane = window.workspace.case_view.left
    assert pane.film.timepoint.kind == "preop"
    pane.place_at(ViewAnchor("L1", (0.0, 0.0), (0.0, 0.0), 0.25))
    start = load_annotations(SAMPLE / "pre.json").vertebrae["L1"].points["sa"]
    end = (start[0], start[1] - 15.0)  # 2.4 mm taller anteriorly: a smaller wedge
    old = panel.measured().worst_height_reduction_pct.value
    with qtbot.waitSignal(panel.evaluationChanged):
        drag(pane.view, start, end)
    landed = controller.case.preop_film().annotations.vertebrae["L1"].points["sa"]
    assert landed == pytest.approx(end, abs=2.0)

    expected = truth_measurements({("L1", "sa"): landed}).vertebrae["L1"].genant
    new = panel.measured().worst_height_reduction_pct.value
    assert new == pytest.approx(expected.height_reduction_pct, abs=1e-9)
    assert new < old - 1.0
    assert f"{new:.1f} %" in panel.measured_rows["worst_height_reduction_pct"].value.text()


def test_export_report_writes_the_findings_driven_suitability_section(qtbot, tmp_path,
                                                                      monkeypatch):
    window, controller = open_window(qtbot)
    panel = window.workspace.suitability.panel
    panel.set_findings(FINDINGS)  # as if typed: mirror, then store through the controller
    controller.set_findings(FINDINGS)
    evaluation = panel.evaluation()

    target = tmp_path / "report.pdf"
    monkeypatch.setattr(ReportOptionsDialog, "exec",
                        lambda dialog: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "PDF documents (*.pdf)")))

    def no_second_read(path):
        raise AssertionError(f"{path} read again: the window's images should be used")

    monkeypatch.setattr(dicom_io, "load_image", no_second_read)
    assert window.report_action.isEnabled()
    window.report_action.trigger()
    assert target.is_file(), window.findChildren(QDialog)
    assert str(target) in window.status_label.text()

    text = " ".join("".join(page.extract_text() for page in PdfReader(target).pages).split())
    # The sample case has post-operative films: the section is the pre-operative decision,
    # never advice for now (docs/clinical-reference.md §6).
    assert "Pre-operative decision: procedure suitability before treatment" in text
    assert "not a recommendation for the patient now" in text
    assert "No clinical findings entered" not in text
    assert f"Confidence: {evaluation.confidence_text}" in text
    for option in evaluation.options:  # every option with the panel's status
        status = option.status.replace("_", " ")
        assert re.search(re.escape(option.label) + r".{0,40}?" + status, text), option.id
    assert "Oedema on MRI STIR/T2 (acute fracture): yes" in text
    assert "OF2" in text
    assert f"Total {evaluation.of_score.total:+g}" in text or \
        f"Total {evaluation.of_score.total}" in text


def test_no_case_disables_the_report_and_a_bad_findings_block_is_said(qtbot, tmp_path):
    window, controller = open_window(qtbot)
    target = tmp_path / "case.json"
    assert window.save_case(target)
    doc = json.loads(target.read_text(encoding="utf-8"))
    doc["findings"] = {"format": "ovcf-findings", "version": 1, "t_score": "very low"}
    target.write_text(json.dumps(doc), encoding="utf-8")
    other, _ = open_window(qtbot, target)
    source = other.workspace.suitability.source.text()
    assert "could not be read" in source and "t_score" in source
    assert other.workspace.suitability.panel.findings() == Findings()

    controller.close_case()
    assert not window.report_action.isEnabled()


def test_rules_follow_the_settings_and_a_broken_department_file_is_shown(qtbot, tmp_path):
    bad = tmp_path / "department.toml"
    bad.write_text("[thresholds\n", encoding="utf-8")
    controller = CaseController(Settings(rules_file=str(bad)))
    window = CaseWindow(controller)
    qtbot.addWidget(window)
    _WINDOWS.append(window)
    controller.set_case(load_case_inputs([SAMPLE / "pre.json"]))
    panel = window.workspace.suitability.panel
    assert not panel.rules_problem.isHidden()
    assert "department.toml" in panel.rules_problem.text()
    assert panel.measured().worst_genant_grade.value == 2  # bundled rules still evaluate

    # Fixed in the settings: the warning goes; broken again: it comes back.
    controller.set_settings(Settings())
    assert panel.rules_problem.isHidden()
    controller.set_settings(Settings(rules_file=str(bad)))
    assert not panel.rules_problem.isHidden() and "department.toml" in panel.rules_problem.text()
