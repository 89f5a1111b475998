"""The safety situations in the window, driven like a hand: X marks the level chosen in the
Level box; plausibility warnings sit next to the values and on the film
(docs/clinical-reference.md §6a)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from ovcf_viewer.model.landmarks import POINT_NAMES

from .annotate.test_landmarks_gui import bring_into_view, click, place_by_clicking, setup, truth

__all__ = ["setup"]  # the fixture, imported for these tests


def test_x_marks_the_level_in_the_level_box_not_the_selected_point(setup, qtbot):
    view, controller = setup
    place_by_clicking(view, controller, truth(facing="right"))
    # The last point placed (L2 ip) is still selected; the reader chooses L1 in the Level box.
    assert controller.layer.selected is not None and controller.layer.selected.level == "L2"
    controller.level_combo.setCurrentText("L1")
    assert controller.index_action.text().endswith(": L1")
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: controller.model.index_levels != [])
    assert controller.model.index_levels == ["L1"]
    assert controller.panel.index_cell("L1", "lovbh") != "not assessed"


def test_selecting_a_point_in_navigate_mode_chooses_its_level(setup, qtbot):
    view, controller = setup
    place_by_clicking(view, controller, truth())
    controller.set_mode("navigate")
    sa = controller.model.vertebrae["T12"].points["sa"]
    bring_into_view(view, sa)
    click(view, sa)
    assert controller.level_combo.currentText() == "T12"
    controller.index_action.trigger()
    assert controller.model.index_levels == ["T12"]


@pytest.mark.parametrize("facing", ["left", "right"])
def test_swapped_corners_are_warned_in_the_panel_and_on_the_film(setup, facing):
    view, controller = setup
    model_truth = truth(facing=facing)
    # The reader clicks L1 the other way round: posterior corners where anterior ones go.
    swapped = {"sa": "sp", "sp": "sa", "ia": "ip", "ip": "ia", "sm": "sm", "im": "im"}
    controller.level_combo.setCurrentText("T12")
    controller.mode_actions["landmarks"].trigger()
    for level in ("T12", "L1", "L2"):
        assert controller.placement.level == level
        for name in POINT_NAMES:
            source = swapped[name] if level == "L1" else name
            xy = model_truth.vertebrae[level].points[source]
            bring_into_view(view, xy)
            click(view, xy)
    panel = controller.panel
    assert "swapped" in panel.vertebra_cell("L1", "check")
    assert panel.vertebra_cell("T12", "check") == ""
    assert "L1: its anterior side points the opposite way" in panel.warnings_label.text()
    assert "⚠ anterior/posterior swapped?" in controller.layer.labels["L1"].text()
    assert "⚠" not in controller.layer.labels["L2"].text()


# --------------------------------------------------------------------- 8. findings once


SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"


@pytest.fixture
def main_window(qtbot):
    from PySide6.QtWidgets import QApplication

    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    main.resize(1500, 950)
    assert main.open_paths([SAMPLE / "pre.dcm"])
    assert main.open_annotations(SAMPLE / "pre.json")
    yield main
    # Let the views' background box filters finish before their films go away (a worker
    # still reading a closed, memory-mapped film crashes), then close the case windows and let
    # the trend chart's queued draw run while its canvas still exists (as
    # tests/qt/case/test_case_suitability_report.py does).
    from ovcf_viewer.qt.viewer.image_view import ImageView

    views = [v for w in (main, *main.workstation.case_windows) for v in w.findChildren(ImageView)]
    qtbot.waitUntil(lambda: not any(v.reduced_pending() for v in views), timeout=10000)
    for window in list(main.workstation.case_windows):
        window.close()
    QApplication.processEvents()


def _choose(combo, value):
    combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemData(i) == value))


def test_findings_entered_once_reach_the_case_and_come_back(main_window, qtbot):
    from ovcf_viewer.io.dicom import read_header
    from ovcf_viewer.io.store import AnnotationStore

    panel = main_window.workstation.suitability
    with qtbot.waitSignal(panel.findingsChanged):
        _choose(panel.finding_widgets["mri_oedema"], True)
    header = read_header(SAMPLE / "pre.dcm")
    stored = AnnotationStore().load_study_findings(header.patient_id, header.study_instance_uid)
    assert stored["mri_oedema"] is True
    # A case made from the same films starts with them: nobody types them again …
    procedure = read_header(SAMPLE / "post.dcm").study_date
    case_window = main_window.workstation.new_case(
        [str(SAMPLE / "pre.dcm"), str(SAMPLE / "post.dcm")], procedure_date=procedure)
    qtbot.addWidget(case_window)
    case = case_window.controller.case
    assert case.preop_film().path.name == "pre.dcm"
    assert case.findings.mri_oedema is True  # … and its report carries them
    case_panel = case_window.workspace.suitability.panel
    assert case_panel.findings().mri_oedema is True
    # Findings added in the case are the study's: the main window shows them too.
    with qtbot.waitSignal(case_panel.findingsChanged):
        _choose(case_panel.finding_widgets["neurological_deficit"], False)
    qtbot.waitUntil(lambda: panel.findings().neurological_deficit is False)
    assert panel.findings().mri_oedema is True


def test_suitability_panel_shows_the_films_warnings(main_window, qtbot):
    panel = main_window.workstation.suitability
    assert panel.warnings() == [] and not panel.warnings_label.isVisibleTo(panel)
    model = main_window.annotation_controller.model
    p = dict(model.vertebrae["L1"].points)
    for a, b in (("sa", "sp"), ("ia", "ip")):  # the A/P slip, corner by corner
        model.set_point("L1", a, p[b])
        model.set_point("L1", b, p[a])
    qtbot.waitUntil(lambda: bool(panel.warnings()))
    assert any("L1: its anterior side points the opposite way" in w for w in panel.warnings())
    assert panel.warnings_label.isVisibleTo(panel)


def test_treated_case_suitability_is_titled_as_the_preoperative_decision(main_window, qtbot):
    from ovcf_viewer.io.dicom import read_header

    procedure = read_header(SAMPLE / "post.dcm").study_date
    case_window = main_window.workstation.new_case(
        [str(SAMPLE / "pre.dcm"), str(SAMPLE / "post.dcm")], procedure_date=procedure)
    qtbot.addWidget(case_window)
    suitability = case_window.workspace.suitability
    assert suitability.title.text().startswith("Pre-operative decision")
    assert "not advice for now" in suitability.title.text()
    assert "pre-operative film" in suitability.source.text()


def test_suitability_panel_needs_findings_and_notes_once(main_window):
    panel = main_window.workstation.suitability
    text = panel.results.toPlainText()
    assert "NEEDS FINDINGS" in text and "FAVOURED" not in text
    assert text.count("Notes for several options") == 1
    assert text.count("morphology alone never makes augmentation favoured") == 1


# --------------------------------------------------------------------- the case panel


def _case_workspace(qtbot, case):
    from ovcf_viewer.model.settings import Settings
    from ovcf_viewer.qt.case.case_view import CaseController, CaseWorkspace

    controller = CaseController(Settings())
    controller.set_case(case)
    widget = CaseWorkspace(controller)
    qtbot.addWidget(widget)
    widget.resize(1600, 900)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def drained():
    from PySide6.QtWidgets import QApplication

    opened: list = []
    yield opened
    for widget in opened:
        widget.close()
    QApplication.processEvents()  # the trend chart's queued draw, while its canvas exists


def test_comparison_panel_new_fracture_and_which_comparison_fired(qtbot, drained):
    from tests.measure.test_safety import new_fracture_case

    widget = _case_workspace(qtbot, new_fracture_case())
    drained.append(widget)
    panel = widget.panel
    summary = panel.deformity_summary.text()
    assert "New fracture" in summary and "T12: new fracture, first marked on the Follow-up" \
        in summary
    table = panel.deformity_table
    rows = {(table.item(r, 0).text(), table.item(r, 1).text()): table.item(r, 7).text()
            for r in range(table.rowCount())}
    assert rows[("T12", "anterior")] == "between consecutive films and against the baseline"


def test_comparison_panel_says_not_assessed_without_landmarks(qtbot, drained):
    from ovcf_viewer.model.case import CaseFilm
    from ovcf_viewer.model.landmarks import ImageAnnotations, Timepoint
    from tests.measure.test_safety import POST_DAY, PRE_DAY, case_of

    films = []
    for uid, kind, when in (("8.1", "preop", PRE_DAY), ("8.2", "postop", POST_DAY)):
        model = ImageAnnotations(uid, "")
        model.timepoint = Timepoint(kind, when)
        films.append(CaseFilm(None, uid, model, model.timepoint, when))
    widget = _case_workspace(qtbot, case_of(*films))
    drained.append(widget)
    summary = widget.panel.deformity_summary.text()
    assert "Not assessed" in summary and "None" not in summary


def test_a_1e308_calibration_line_is_refused_with_a_message(setup):
    from .annotate.test_landmarks_gui import drag

    view, controller = setup
    controller.ask_true_length = lambda drawn, cal: 1e308  # what the reader typed
    controller.set_mode("calibration")
    steps = controller.undo_stack.count()
    drag(view, (1000.0, 2000.0), (1400.0, 2000.0))
    assert controller.model.manual_calibration is None
    assert controller.undo_stack.count() == steps  # nothing half-applied
    assert "not a plausible pixel spacing" in controller.panel.prompt_label.text()
    assert controller.calibration.unit_tag == "mm at detector"
