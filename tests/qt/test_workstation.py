"""The main window as one workstation: the suitability panel fills itself from the landmarks,
findings are kept with the image, the report exports the shown film, settings reach the
measurements, and edits a refusing disk kept in memory are written when it recovers."""

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QComboBox

from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.landmarks import load_annotations
from ovcf_viewer.model.settings import Settings, load_settings

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"


@pytest.fixture
def window(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    main.resize(1500, 950)
    assert main.open_paths([SAMPLE / "pre.dcm"])
    assert main.open_annotations(SAMPLE / "pre.json")
    return main


def choose(combo: QComboBox, value):
    combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemData(i) == value))


def expected_l1():
    image = load_image(SAMPLE / "pre.dcm")
    model = load_annotations(SAMPLE / "pre.json")
    return measure_image(model, image.calibration()).vertebrae["L1"]


def test_measured_inputs_follow_the_landmarks(window, qtbot):
    panel = window.workstation.suitability
    l1 = expected_l1()
    shown = panel.measured_rows["worst_height_reduction_pct"].value.text()
    assert f"{l1.genant.height_reduction_pct:.1f} %" in shown
    assert panel.measured().worst_genant_grade.value == l1.genant.grade
    # Moving L1's superior-anterior corner down (a worse collapse) re-fills the panel.
    model = window.annotation_controller.model
    x, y = model.vertebrae["L1"].points["sa"]
    model.set_point("L1", "sa", (x, y + 40))
    assert panel.measured().worst_height_reduction_pct.value > l1.genant.height_reduction_pct


def test_findings_are_kept_with_the_image(window, qtbot):
    panel = window.workstation.suitability
    uid = window.image().sop_instance_uid
    with qtbot.waitSignal(panel.findingsChanged):
        choose(panel.finding_widgets["mri_oedema"], True)
    assert AnnotationStore().load_findings(uid)["mri_oedema"] is True
    # Another image, then back: the findings come back, and loading them is not an edit.
    window.open_paths([SAMPLE / "post.dcm"])
    assert panel.findings().mri_oedema is None
    with qtbot.assertNotEmitted(panel.findingsChanged):
        window.open_paths([SAMPLE / "pre.dcm"])
    assert panel.findings().mri_oedema is True


def test_report_of_the_shown_film(window, qtbot, tmp_path):
    choose(window.workstation.suitability.finding_widgets["mri_oedema"], True)
    case = window.workstation.current_film_case()
    assert case.films[0].sop_instance_uid == window.image().sop_instance_uid
    assert case.findings.mri_oedema is True
    from ovcf_viewer.qt.dialogs.report_action import export_report

    out = export_report(window, case, path=tmp_path / "r.pdf", deidentify=False,
                        page_size="A4", images=window.workstation.current_images())
    assert out is not None and out.stat().st_size > 10_000
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    assert "Decision support only; the treating clinician decides." in text
    assert f"{expected_l1().anterior_height_mm:.1f}" in text


def test_settings_reach_measurements_and_persist(window):
    window.workstation.apply_settings(Settings(genant_reference="own_posterior"))
    controller = window.annotation_controller
    assert controller.measurements.vertebrae["L1"].genant.reference == "own_posterior"
    assert load_settings().genant_reference == "own_posterior"


def test_pending_edits_are_written_when_the_disk_recovers(window, monkeypatch):
    from ovcf_viewer.io.store import StoreError

    controller = window.annotation_controller
    store = controller.store()
    real_save = store.save

    def full(*args):
        raise StoreError("the disk holding the data folder is full")

    monkeypatch.setattr(store, "save", full)
    model = controller.model
    x, y = model.vertebrae["L2"].points["sa"]
    model.set_point("L2", "sa", (x + 3, y))
    assert controller.autosaver.pending
    assert "kept in memory" in controller.save_status_label.text()
    assert not window.workstation.retry_pending_edits()
    monkeypatch.setattr(store, "save", real_save)
    assert window.workstation.retry_pending_edits()
    saved = AnnotationStore().load(model.sop_instance_uid)
    assert saved.vertebrae["L2"].points["sa"] == (x + 3, y)


def test_file_menu_has_the_workstation_actions(window):
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    texts = [a.text() for a in file_menu.actions()]
    for expected in ("Open case…", "New case from films…", "Export report…", "Settings…"):
        assert expected in texts
    assert texts.index("Settings…") < len(texts) - 1  # Quit stays last


def test_new_case_uses_and_writes_back_the_films_landmarks(window, qtbot):
    """Landmarks placed in the main window appear in a new case; a landmark moved in the case
    window is the image's landmark when the film is opened again in the main window."""
    from ovcf_viewer.model.landmarks import load_annotations as load

    # post.dcm annotated earlier (stored), pre.dcm is the shown image (live model).
    window.open_paths([SAMPLE / "post.dcm"])
    assert window.open_annotations(SAMPLE / "post.json")
    window.open_paths([SAMPLE / "pre.dcm"])
    case_window = window.workstation.new_case([str(SAMPLE / "pre.dcm"), str(SAMPLE / "post.dcm")])
    qtbot.addWidget(case_window)
    case = case_window.controller.case
    pre_film = next(f for f in case.films if f.path.name == "pre.dcm")
    post_film = next(f for f in case.films if f.path.name == "post.dcm")
    assert pre_film.annotations is window.annotation_controller.model  # one model, not two
    expected = load(SAMPLE / "post.json").vertebrae["L1"].points
    assert post_film.annotations.vertebrae["L1"].points == expected
    # Move post-op L1 sa in the case window's model: written through to the store.
    x, y = expected["sa"]
    post_film.annotations.set_point("L1", "sa", (x, y - 5))
    window.open_paths([SAMPLE / "post.dcm"])
    shown = window.annotation_controller.model
    assert shown.vertebrae["L1"].points["sa"] == (x, y - 5)


def test_new_case_window_shows_both_films_whole_and_centred(window, qtbot):
    case_window = window.workstation.new_case([str(SAMPLE / "pre.dcm"), str(SAMPLE / "post.dcm")])
    qtbot.addWidget(case_window)
    qtbot.waitExposed(case_window)
    view = case_window.workspace.case_view
    for pane in (view.left, view.right):
        image = pane.view.image()
        # Centred to within a screen pixel (in image pixels that is 1 / zoom: ~8 on a film
        # fitted into a small pane, so the check is made on screen).
        on_screen = pane.view.image_to_view((image.columns - 1) / 2, (image.rows - 1) / 2)
        rect = pane.view.viewport().rect()
        assert (on_screen.x(), on_screen.y()) == pytest.approx(
            (rect.width() / 2, rect.height() / 2), abs=1.0)
        assert pane.view.zoom() == pytest.approx(pane.view.fit_zoom(), rel=1e-6)
    # The window opened no larger than the screen (the offscreen screen is 800 × 600, less
    # than the window's least size: it is held to that), and its least size fits a
    # 1366 × 768 laptop's screen.
    area = case_window.screen().availableGeometry()
    least = case_window.minimumSizeHint()
    assert case_window.width() <= max(area.width(), least.width())
    assert case_window.height() <= max(area.height(), least.height())
    assert least.width() <= 1366 and least.height() <= 768 - 40


def test_menus_in_their_order(window):
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&View", "&Window", "&Annotate", "&Training", "&Help"]
    assert window.file_menu.actions()[-1] is window.quit_action
    assert window.suitability_dock.toggleViewAction() in window.view_menu.actions()
    assert window.measurements_dock.toggleViewAction() in window.annotate_menu.actions()
    assert window.tabifiedDockWidgets(window.measurements_dock) == [window.suitability_dock]


def test_one_settings_instance_that_every_part_follows(window, qtbot):
    settings = window.settings
    assert window.annotation_controller.settings is settings
    assert window.workstation.settings is settings
    assert window.training_actions.settings is settings
    case_window = window.workstation.new_case([str(SAMPLE / "pre.dcm"), str(SAMPLE / "post.dcm")])
    qtbot.addWidget(case_window)
    assert case_window.controller.settings is settings
    assert case_window.controller.comparison.genant_reference == "adjacent"
    # The dialog edits a copy; OK saves it and applies it to the one instance.
    window.workstation.edit_settings()
    dialog = window.workstation.settings_dialog
    dialog.genant_reference.setCurrentIndex(dialog.genant_reference.findData("own_posterior"))
    assert settings.genant_reference == "adjacent"
    with qtbot.waitSignal(dialog.settingsChanged):
        dialog.accept()
    assert settings.genant_reference == "own_posterior"
    assert load_settings().genant_reference == "own_posterior"
    l1 = window.annotation_controller.measurements.vertebrae["L1"]
    assert l1.genant.reference == "own_posterior"
    assert window.annotation_controller.panel.genant_combo.currentData() == "own_posterior"
    assert case_window.controller.comparison.genant_reference == "own_posterior"
    # The toolbar's magnification switch is the same setting, mirrored in the panel.
    window.annotation_controller.magnification_action.trigger()
    assert settings.use_magnification and load_settings().use_magnification
    assert window.annotation_controller.panel.magnification_check.isChecked()


def test_a_closed_case_window_stops_following_the_settings(window, qtbot):
    case_window = window.workstation.new_case([str(SAMPLE / "pre.dcm")])
    controller = case_window.controller
    case_window.close()  # WA_DeleteOnClose: Qt deletes the window and its controller
    qtbot.waitUntil(lambda: not shiboken6.isValid(controller))
    window.settings.genant_reference = "own_posterior"  # must not call into the deleted one
    assert window.annotation_controller.measurements.vertebrae["L1"].genant.reference \
        == "own_posterior"


def test_two_cases_of_one_patient_keep_separate_autosaves_and_are_offered_back(window, qtbot):
    films = [str(SAMPLE / "pre.dcm"), str(SAMPLE / "post.dcm")]
    first = window.workstation.new_case(films)
    second = window.workstation.new_case(films)
    qtbot.addWidget(first)
    qtbot.addWidget(second)
    a, b = first.controller.session, second.controller.session
    assert a.case.case_id != b.case.case_id  # not the Patient ID
    assert a.autosave_file != b.autosave_file
    assert a.autosave_file.is_file() and b.autosave_file.is_file()
    window.workstation.refresh_recover_menu()
    offered = [act.data() for act in window.workstation.recover_menu.actions()]
    assert str(a.autosave_file) in offered and str(b.autosave_file) in offered
    recovered_action = next(act for act in window.workstation.recover_menu.actions()
                            if act.data() == str(a.autosave_file))
    count = len(window.workstation.case_windows)
    recovered_action.trigger()
    assert len(window.workstation.case_windows) == count + 1
    recovered = window.workstation.case_windows[-1]
    qtbot.addWidget(recovered)
    assert recovered.controller.case.case_id == a.case.case_id
    assert [f.sop_instance_uid for f in recovered.controller.case.films] == [
        f.sop_instance_uid for f in a.case.films]


def test_two_windows_editing_the_same_films_findings(qtbot):
    """Two instances show the same film and both edit its findings: the second save is
    refused where the user looks ("open elsewhere"), its edit stays in its panel, and the
    first window's findings stay saved — never last-writer-wins."""
    from ovcf_viewer.qt.app import build_main_window

    windows = []
    for _ in range(2):
        main = build_main_window()  # each with its own store connection, as two processes
        qtbot.addWidget(main)
        assert main.open_paths([SAMPLE / "pre.dcm"])
        windows.append(main)
    first, second = windows
    assert first.annotation_controller.store() is not second.annotation_controller.store()
    uid = first.image().sop_instance_uid
    with qtbot.waitSignal(first.workstation.suitability.findingsChanged):
        choose(first.workstation.suitability.finding_widgets["mri_oedema"], True)
    with qtbot.waitSignal(second.workstation.suitability.findingsChanged):
        choose(second.workstation.suitability.finding_widgets["mri_oedema"], False)
    assert "open elsewhere" in second.statusBar().currentMessage()
    assert second.workstation.suitability.findings().mri_oedema is False  # kept in memory
    assert AnnotationStore().load_findings(uid)["mri_oedema"] is True  # not overwritten
    image = first.image()
    study = AnnotationStore().load_study_findings(image.patient.patient_id,
                                                  image.patient.study_instance_uid)
    assert study["mri_oedema"] is True
