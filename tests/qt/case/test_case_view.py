"""The case workspace (docs/clinical-reference.md §5): dragging a post-operative landmark
updates the comparison, the panel and the trend chart; side-by-side views follow each other by
anatomy; T flips one view between the two timepoints on the same level; the case facts form
writes to the autosaved case."""

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.case import autosave_path, load_case
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.case.case_view import CaseController, CaseWindow, CaseWorkspace, ViewAnchor
from ovcf_viewer.qt.case.comparison_panel import MM_WARNING_MARK

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"
SPACING = 0.16  # the sample films' Imager Pixel Spacing, mm

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "post.json").is_file(), reason="sample case not generated"),
]


def send_mouse(view, kind, xy, button=Qt.MouseButton.LeftButton, buttons=None):
    pos = view.image_to_view(*xy)
    if buttons is None:
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, QPointF(pos), view.viewport().mapToGlobal(pos), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def drag(view, start, end, steps=4):
    send_mouse(view, QEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        t = i / steps
        xy = (start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
        send_mouse(view, QEvent.Type.MouseMove, xy, Qt.MouseButton.NoButton,
                   Qt.MouseButton.LeftButton)
    send_mouse(view, QEvent.Type.MouseButtonRelease, end)


def truth(name):
    doc = json.loads((SAMPLE / f"{name}.json").read_text(encoding="utf-8"))
    return {v["level"]: {k: tuple(p) for k, p in v["points"].items()} for v in doc["vertebrae"]}


def dist(a, b):
    return math.hypot((a[0] - b[0]) * SPACING, (a[1] - b[1]) * SPACING)


@pytest.fixture
def workspace(qtbot):
    case = load_case_inputs([SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")])
    case = replace(case, procedure="PKP")
    controller = CaseController(Settings())
    controller.set_case(case)
    widget = CaseWorkspace(controller)
    qtbot.addWidget(widget)
    widget.resize(1600, 900)
    widget.show()
    qtbot.waitExposed(widget)
    return widget, controller


def test_opens_with_pre_and_post_side_by_side(workspace):
    widget, controller = workspace
    view = widget.case_view
    assert view.left.film.timepoint.kind == "preop"
    assert view.right.film.timepoint.kind == "postop"
    assert view.left.view.image() is not None and view.right.view.image() is not None
    assert controller.comparison.level("L1").restoration_for("a") is not None
    # Landmark handles are drawn on both films.
    assert len(view.left.layer.handles) == 7 * 6 and len(view.right.layer.handles) == 7 * 6


def test_dragging_a_postop_landmark_updates_comparison_panel_and_chart(workspace, qtbot):
    widget, controller = workspace
    pane = widget.case_view.right
    pane.place_at(ViewAnchor("L1", (0.0, 0.0), (0.0, 0.0), 0.25))
    pre, post = truth("pre"), truth("post")
    start = post["L1"]["sa"]
    end = (start[0], start[1] - 12.0)  # 12 px = 1.92 mm taller anteriorly
    with qtbot.waitSignal(controller.comparisonChanged):
        drag(pane.view, start, end)
    # Where the handle landed (screen pixels are ~1.6 image pixels at this zoom).
    landed = post_point(controller, "L1", "sa")
    assert landed == pytest.approx(end, abs=2.0)
    end = landed

    new_ha = dist(end, post["L1"]["ia"])
    pre_ha = dist(pre["L1"]["sa"], pre["L1"]["ia"])
    ref_pre = (dist(pre["T12"]["sa"], pre["T12"]["ia"])
               + dist(pre["L2"]["sa"], pre["L2"]["ia"])) / 2
    r = controller.comparison.level("L1").restoration_for("a")
    assert r.post_mm == pytest.approx(new_ha, abs=0.01)
    assert r.absolute_mm == pytest.approx(new_ha - pre_ha, abs=0.01)
    assert r.pct_of_reference == pytest.approx((new_ha - pre_ha) / ref_pre * 100, abs=0.01)

    # The panel shows the new restoration …
    table = widget.panel.heights_table
    values = [table.item(row, col).data(Qt.ItemDataRole.UserRole)
              for row in range(table.rowCount()) for col in range(table.columnCount())
              if table.item(row, col) is not None]
    assert any(isinstance(v, float) and v == pytest.approx(new_ha - pre_ha, abs=1e-9)
               for v in values)
    # … and the chart's L1 anterior line moved at the post-operative timepoint.
    ref_post = (dist(post["T12"]["sa"], post["T12"]["ia"])
                + dist(post["L2"]["sa"], post["L2"]["ia"])) / 2
    line = widget.chart.height_lines[("L1", "a")]
    assert line.get_ydata()[1] == pytest.approx(new_ha / ref_post * 100, abs=0.01)
    # The change was autosaved with the case.
    saved = load_case(autosave_path(controller.case.case_id))
    uid = controller.case.postop_film().sop_instance_uid
    assert saved.film(uid).annotations.vertebrae["L1"].points["sa"] == pytest.approx(end)


def post_point(controller, level, name):
    return controller.case.postop_film().annotations.vertebrae[level].points[name]


def test_views_follow_each_other_by_anatomy_and_can_be_unlinked(workspace, qtbot):
    widget, _ = workspace
    view = widget.case_view
    view.left.place_at(ViewAnchor("L2", (0.0, 0.0), (0.0, 0.0), 0.2))
    assert view.right.level_at_centre() == "L2"
    assert view.right.mm_per_screen_px() == pytest.approx(0.2, rel=1e-6)
    post = truth("post")["L2"]
    centre = (sum(p[0] for p in post.values()) / 6, sum(p[1] for p in post.values()) / 6)
    on_screen = view.right.view.image_to_view(*centre)
    rect = view.right.view.viewport().rect()
    assert on_screen.x() == pytest.approx(rect.width() / 2, abs=1.5)
    assert on_screen.y() == pytest.approx(rect.height() / 2, abs=1.5)

    view.sync_check.setChecked(False)
    before = view.right.centre_point()
    view.left.view.pan_by(120, -80)
    assert view.right.centre_point() == before
    view.sync_check.setChecked(True)  # re-linking brings the right view along
    assert view.right.level_at_centre() == view.left.level_at_centre()


def test_t_flips_one_view_between_the_timepoints_on_the_same_level(workspace, qtbot):
    widget, _ = workspace
    view = widget.case_view
    view.left.place_at(ViewAnchor("L1", (3.0, -2.0), (0.0, 0.0), 0.22))
    qtbot.keyClick(view.left.view, Qt.Key.Key_T)
    assert view.single_check.isChecked() and not view.right.isVisible()
    assert view.shown_in_single_view() == view.pair()[1]  # the post-operative film
    assert view.left.film.timepoint.kind == "postop"
    anchor = view.left.anchor()
    assert anchor.level == "L1"
    assert anchor.offset_mm == pytest.approx((3.0, -2.0), abs=0.3)
    assert anchor.mm_per_screen_px == pytest.approx(0.22, rel=1e-6)
    qtbot.keyClick(view.left.view, Qt.Key.Key_T)
    assert view.left.film.timepoint.kind == "preop"
    assert view.left.level_at_centre() == "L1"
    view.single_check.setChecked(False)
    assert view.right.isVisible() and view.right.film.timepoint.kind == "postop"


def test_mixed_calibration_is_said_and_mm_marked(workspace, qtbot):
    widget, controller = workspace
    post = controller.case.postop_film()
    with qtbot.waitSignal(controller.comparisonChanged):
        post.annotations.set_manual_calibration(
            Calibration(CalibrationSource.MANUAL, SPACING / 1.15, SPACING / 1.15))
    assert controller.comparison.mixed_calibration
    assert "different calibration sources" in widget.panel.notes.text()
    table = widget.panel.heights_table
    texts = [table.item(r, c).text() for r in range(table.rowCount())
             for c in range(table.columnCount()) if table.item(r, c) is not None]
    assert any(t.endswith(MM_WARNING_MARK) for t in texts)
    assert any("% of ref ·" in t for t in texts)  # ratios lead


def test_case_facts_form_writes_to_the_case(workspace, qtbot):
    widget, controller = workspace
    form = widget.details
    form.procedure.setCurrentIndex(form.procedure.findData("PVP"))
    form.procedure.activated.emit(form.procedure.currentIndex())
    assert controller.case.procedure == "PVP"
    form.treated.setText("t12, L1")
    form.treated.editingFinished.emit()
    assert controller.case.treated_levels == ("T12", "L1")
    assert [lc.level for lc in controller.comparison.levels] == ["T11", "T12", "L1", "L2"]
    form.treated.setText("L9")
    form.treated.editingFinished.emit()
    assert "L9" in form.status.text() and controller.case.treated_levels == ("T12", "L1")
    # Re-assign the follow-up film as post-operative through its combo box.
    fu_uid = controller.case.followup_films()[0].sop_instance_uid
    row = [f.sop_instance_uid for f in controller.case.films].index(fu_uid)
    combo = form.films.cellWidget(row, 2)
    combo.setCurrentIndex(combo.findData("postop"))
    combo.activated.emit(combo.currentIndex())
    assert controller.case.film(fu_uid).timepoint.kind == "postop"
    assert load_case(autosave_path(controller.case.case_id)).procedure == "PVP"


def test_case_window_saves_reopens_finds_moved_films_and_exports(qtbot, tmp_path):
    case = load_case_inputs([SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")])
    controller = CaseController(Settings())
    controller.set_case(case)
    window = CaseWindow(controller)
    qtbot.addWidget(window)
    target = tmp_path / "cases" / "c.json"
    target.parent.mkdir()
    assert window.save_case(target) and target.is_file()
    assert "c.json" in window.windowTitle()

    # The films "moved": the document points at a folder that does not exist.
    doc = json.loads(target.read_text(encoding="utf-8"))
    for film in doc["films"]:
        film["file"] = "../old-archive/" + Path(film["file"]).name
    target.write_text(json.dumps(doc), encoding="utf-8")
    other = CaseWindow(CaseController(Settings()))
    qtbot.addWidget(other)
    assert other.open_case(target, search_root=SAMPLE)
    assert "3 film(s) found again" in other.status_label.text()
    assert len(other.controller.images) == 3
    assert other.controller.comparison.level("L1").restoration_for("a") is not None

    # A film that is nowhere gets a clear message naming it.
    doc["films"][2]["sop_instance_uid"] = doc["films"][2]["annotations"]["image"][
        "sop_instance_uid"] = "1.2.3.999"
    target.write_text(json.dumps(doc), encoding="utf-8")
    assert other.open_case(target, search_root=SAMPLE)
    assert "Follow-up (3 months) film (SOP Instance UID 1.2.3.999): not found" in \
        other.status_label.text()

    csv_path = tmp_path / "t.csv"
    assert other.export_csv(csv_path)
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("case_id,patient_id") and len(lines) == 1 + 3 * 7

    target.write_text("{", encoding="utf-8")
    assert not other.open_case(target)
    assert "not valid JSON" in other.status_label.text()


VARIANTS = SAMPLE.parent / "variants"


@pytest.fixture
def nonsquare_pair(qtbot, tmp_path):
    """dx_nonsquare (0.16 mm rows × 0.10 mm columns) as the pre-operative film and a copy with
    Imager Pixel Spacing 0.12 × 0.15 mm (rows × columns) as the post-operative one."""
    import pydicom
    from pydicom.uid import generate_uid

    doc = json.loads((VARIANTS / "dx_nonsquare.json").read_text(encoding="utf-8"))
    ds = pydicom.dcmread(VARIANTS / "dx_nonsquare.dcm")
    ds.save_as(tmp_path / "pre.dcm")
    doc["image"]["file"] = "pre.dcm"
    (tmp_path / "pre.json").write_text(json.dumps(doc), encoding="utf-8")
    uid = generate_uid()
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.ImagerPixelSpacing = [0.12, 0.15]
    ds.save_as(tmp_path / "post.dcm")
    doc["image"] = {"sop_instance_uid": uid, "file": "post.dcm"}
    doc["timepoint"] = {"kind": "postop", "date": "2026-01-06"}
    (tmp_path / "post.json").write_text(json.dumps(doc), encoding="utf-8")
    case = replace(load_case_inputs([tmp_path / "pre.json", tmp_path / "post.json"]),
                   procedure="PKP")
    controller = CaseController(Settings())
    controller.set_case(case)
    widget = CaseWorkspace(controller)
    qtbot.addWidget(widget)
    widget.resize(1600, 900)
    widget.show()
    qtbot.waitExposed(widget)
    return widget, controller


def measured_mm_per_screen_px(pane, col_mm, row_mm):
    """mm per screen pixel along screen x and y, measured: 10 mm along the film's columns and
    10 mm along its rows, mapped to the viewport."""
    view = pane.view
    c = pane.centre_point()
    origin = view.image_to_view(c.x(), c.y())
    across = view.image_to_view(c.x() + 10.0 / col_mm, c.y())
    down = view.image_to_view(c.x(), c.y() + 10.0 / row_mm)
    return 10.0 / math.hypot(across.x() - origin.x(), across.y() - origin.y()), \
        10.0 / math.hypot(down.x() - origin.x(), down.y() - origin.y())


def test_side_by_side_films_with_different_spacing_share_mm_per_screen_pixel(nonsquare_pair):
    """Linked views of a 0.10 × 0.16 mm film and a 0.15 × 0.12 mm film (columns × rows) show
    the same mm per screen pixel horizontally and vertically, and the same anatomy (the
    level's centre plus the same offset in mm along each axis) at their centres."""
    widget, _ = nonsquare_pair
    view = widget.case_view
    spacings = {view.left: (0.10, 0.16), view.right: (0.15, 0.12)}
    assert view.left.film.timepoint.kind == "preop"
    assert view.right.view.pixel_aspect() == pytest.approx(0.8)
    view.left.place_at(ViewAnchor("L1", (3.0, -2.0), (0.0, 0.0), 0.05))
    for pane, (col_mm, row_mm) in spacings.items():
        assert measured_mm_per_screen_px(pane, col_mm, row_mm) == pytest.approx(
            (0.05, 0.05), rel=1e-6)
        assert pane.mm_per_screen_px() == pytest.approx(0.05, rel=1e-6)
        assert pane.level_at_centre() == "L1"
        centre = pane.centre_point()
        lx, ly = pane.vertebra_centres()["L1"]
        # within half a screen pixel (0.025 mm) plus the whole-pixel scroll
        assert ((centre.x() - lx) * col_mm, (centre.y() - ly) * row_mm) == pytest.approx(
            (3.0, -2.0), abs=0.06)
    anchor = view.right.anchor()
    assert anchor.offset_mm == pytest.approx((3.0, -2.0), abs=0.06)
    assert anchor.mm_per_screen_px == pytest.approx(0.05, rel=1e-6)


@pytest.mark.slow
def test_post_operative_pane_carries_the_pre_operative_landmarks_forward(qtbot, tmp_path):
    """A case whose post-operative film has no landmarks yet: its pane offers to carry the
    pre-operative ones forward; the proposals (untreated levels within 1 mm of the truth,
    L1 flagged) are accepted with Enter and the comparison then has L1's restoration."""
    import shutil

    folder = tmp_path / "case"
    shutil.copytree(SAMPLE, folder)
    doc = json.loads((folder / "post.json").read_text(encoding="utf-8"))
    doc["vertebrae"], doc["index_levels"] = [], []
    (folder / "post.json").write_text(json.dumps(doc), encoding="utf-8")
    case = load_case_inputs([folder / f"{n}.json" for n in ("pre", "post")])
    controller = CaseController(Settings())
    controller.set_case(case)
    widget = CaseWorkspace(controller)
    qtbot.addWidget(widget)
    widget.resize(1600, 900)
    widget.show()
    qtbot.waitExposed(widget)
    view = widget.case_view
    pane = view.right
    assert pane.film is controller.case.postop_film()
    assert pane.carry_button.isVisible() and "Pre-operative" in pane.carry_button.text()
    assert not view.left.carry_button.isVisible()  # nothing earlier than the pre-op film
    with qtbot.waitSignal(view.carryForwardFinished, timeout=240_000) as blocker:
        qtbot.mouseClick(pane.carry_button, Qt.MouseButton.LeftButton)
    levels = blocker.args[0]
    assert "L1" in levels and "L2" in levels
    model = controller.case.postop_film().annotations
    post = truth("post")
    for level in levels:
        if level != "L1":
            assert not model.vertebrae[level].check_reason
            assert max(dist(model.vertebrae[level].points[n], post[level][n])
                       for n in post[level]) < 1.0
    assert "shape changed" in model.vertebrae["L1"].check_reason
    assert pane.layer.handles[next(k for k in pane.layer.handles
                                   if k.level == "L1")].proposal == "check"
    assert pane.accept_button.isVisible() and not pane.carry_button.isVisible()
    assert controller.comparison.level("L1").restoration_for("a") is None
    # Reject T11: click one of its handles, Shift+Delete.
    pane.place_at(ViewAnchor("T11", (0.0, 0.0), (0.0, 0.0), 0.25))
    t11 = model.vertebrae["T11"].points["sa"]
    send_mouse(pane.view, QEvent.Type.MouseButtonPress, t11)
    send_mouse(pane.view, QEvent.Type.MouseButtonRelease, t11)
    assert pane.layer.selected is not None and pane.layer.selected.level == "T11"
    pane.view.setFocus()
    qtbot.keyClick(pane.view, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert "T11" not in model.vertebrae
    pane.layer.select(None)
    with qtbot.waitSignal(controller.comparisonChanged):
        qtbot.keyClick(pane.view, Qt.Key.Key_Return)
    assert all(v.is_complete for v in model.vertebrae.values())
    assert not pane.accept_button.isVisible()
    r = controller.comparison.level("L1").restoration_for("a")
    assert r is not None and r.post_mm == pytest.approx(
        dist(post["L1"]["sa"], post["L1"]["ia"]), abs=1.5)
    # The views' background copies must finish before the window is destroyed.
    for side in (view.left, view.right):
        qtbot.waitUntil(lambda side=side: not side.view.reduced_pending(), timeout=60_000)
