"""Main window: opening (files, folders, bad files, drag-and-drop, recent list), presets and
the status bar. Model → view and view → model tested separately."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from ovcf_viewer.devtools.synthetic import write_dicom
from ovcf_viewer.io.recent import load_recent
from ovcf_viewer.model.calibration import Calibration, CalibrationHeader, CalibrationSource
from ovcf_viewer.model.image import ModalityLut, RadiographImage, VoiWindow
from ovcf_viewer.qt.main_window import MainWindow, cursor_status
from ovcf_viewer.render import display

# The offscreen platform cannot resize a window to its size hints (docks, toolbars) and says
# so; that message is about the test platform, not the application.


def write_film(path: Path, value: int = 1000, rows: int = 96, cols: int = 64, **meta) -> Path:
    pixels = np.full((rows, cols), value, dtype=np.uint16)
    pixels[: rows // 2] += 200
    meta.setdefault("windows", [(1100.0, 400.0, "BONE"), (900.0, 1200.0, "SOFT")])
    return write_dicom(path, pixels, spacing=(0.2, 0.1), **meta)


@pytest.fixture
def window(qtbot):
    main = MainWindow()
    qtbot.addWidget(main)
    main.resize(900, 700)
    main.show()
    qtbot.waitExposed(main)
    yield main
    box = main.error_box()
    if box is not None:
        box.close()


def calibrated_image(uncalibrated: bool = False) -> RadiographImage:
    stored = np.arange(60 * 80, dtype=np.uint16).reshape(60, 80)
    header = CalibrationHeader() if uncalibrated else CalibrationHeader(
        modality="DX", imager_pixel_spacing=(0.2, 0.1)
    )
    return RadiographImage(
        stored=stored, photometric="MONOCHROME2", calibration_header=header,
        sop_instance_uid="1.2.3", modality="DX", bits_stored=16,
        windows=(VoiWindow(2000.0, 4000.0, explanation="WIDE"),),
    )


# -- status bar (pure formatting, then through the mouse) --------------------------------


def test_cursor_status_in_px_and_mm_with_unit_tag():
    image = calibrated_image()
    calibration = Calibration(CalibrationSource.DETECTOR, 0.2, 0.1)
    text = cursor_status(image, 30.0, 20.0, calibration, VoiWindow(2000.0, 4000.0), False)
    # x = column 30 * 0.1 mm, y = row 20 * 0.2 mm (docs/clinical-reference.md §1).
    assert "x 30.0  y 20.0 px" in text
    assert "x 3.00  y 4.00 mm at detector" in text
    # stored value at row 20, column 30 = 20 * 80 + 30 = 1630; LINEAR C 2000 / W 4000:
    # ((1630 - 1999.5) / 3999 + 0.5) * 255 = 103.9 -> 104.
    assert "stored 1630" in text
    assert "displayed 104" in text
    assert "modality" not in text  # identity rescale: nothing extra to show


def test_cursor_status_uncalibrated_says_px_only():
    image = calibrated_image(uncalibrated=True)
    text = cursor_status(image, 5.0, 6.0, Calibration.none(), None, False)
    assert "x 5.0  y 6.0 px" in text
    assert "mm" not in text


def test_cursor_status_shows_modality_value_when_rescaled():
    image = calibrated_image()
    image.modality_lut = ModalityLut(slope=2.0, intercept=-1024.0)
    text = cursor_status(image, 1.0, 0.0, Calibration.none(), VoiWindow(0.0, 100.0), False)
    assert "stored 1" in text and "modality -1022" in text


def test_cursor_status_off_image():
    image = calibrated_image()
    text = cursor_status(image, -5.0, 3.0, Calibration.none(), None, False)
    assert "outside the image" in text


def test_mouse_over_image_updates_status_bar(window, qtbot):
    window.show_image(calibrated_image())
    view = window.view
    point = view.image_to_view(40.0, 30.0).toPoint()
    qtbot.mouseMove(view.viewport(), point)
    expected = view.view_to_image(QPointF(point))
    text = window.position_label.text()
    assert f"x {expected.x():.1f}  y {expected.y():.1f} px" in text
    assert f"x {expected.x() * 0.1:.2f}  y {expected.y() * 0.2:.2f} mm at detector" in text

    # A window change updates the displayed value under the still cursor.
    window.view.set_window(VoiWindow(0.0, 1.0))  # everything above 0 -> 255
    assert "displayed 255" in window.position_label.text()

    window.show_image(calibrated_image(uncalibrated=True))
    qtbot.mouseMove(view.viewport(), point + QPoint(3, 0))
    text = window.position_label.text()
    assert " px" in text and "mm" not in text


# -- opening -----------------------------------------------------------------------------


def test_non_dicom_file_shows_error_and_window_stays_usable(window, qtbot, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not an image")
    assert window.open_paths([bad]) is False
    box = window.error_box()
    assert box is not None and box.isVisible()
    assert box.windowModality() == Qt.WindowModality.NonModal
    assert "not a DICOM file" in box.text()
    assert "not a DICOM file" in window.statusBar().currentMessage()
    assert window.browser.error_count() == 1
    # Still usable: a good file opens afterwards.
    good = write_film(tmp_path / "good.dcm")
    assert window.open_paths([good]) is True
    assert window.view.image() is not None
    assert window.view.image().path == good


def test_folder_with_one_bad_file_lists_two_images_and_one_error(window, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    write_film(folder / "a.dcm", patient_name="DOE^JANE", patient_id="P1",
               study_date="2026-01-05")
    write_film(folder / "b.dcm", value=1500, patient_name="DOE^JANE", patient_id="P1",
               study_date="2026-02-05")
    (folder / "broken.dcm").write_bytes(b"DICM" * 10)
    (folder / "a.json").write_text("{}")  # an annotation file beside a film: not a failure
    assert window.open_paths([folder]) is True
    browser = window.browser
    assert browser.image_count() == 2
    assert len(browser.image_items()) == 2
    assert browser.error_count() == 1
    assert browser.error_messages()[0].startswith("broken.dcm: ")
    assert [p.name for p in browser.other_files()] == ["a.json"]
    # The first image (earliest study) is shown and selected.
    assert window.view.image().path.name == "a.dcm"
    assert browser.tree.currentItem() is browser.image_items()[0]


def test_selecting_an_image_in_the_browser_opens_it(window, qtbot, tmp_path):
    write_film(tmp_path / "a.dcm", study_date="2026-01-05")
    write_film(tmp_path / "b.dcm", value=1500, study_date="2026-02-05")
    window.open_paths([tmp_path])
    second = window.browser.image_items()[1]
    with qtbot.waitSignal(window.imageOpened):
        window.browser.tree.setCurrentItem(second)
    assert window.view.image().path.name == "b.dcm"


def test_opened_paths_go_to_the_recent_list(window, tmp_path):
    film = write_film(tmp_path / "a.dcm")
    window.open_paths([film])
    assert load_recent()[0] == str(film.absolute())
    window._fill_recent_menu()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert str(film.absolute()) in texts


def test_drop_files_opens_them(window, tmp_path):
    film = write_film(tmp_path / "dropped.dcm")
    mime = QMimeData()
    mime.setUrls(MainWindow.urls_for([film]))
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.view.image() is not None
    assert window.view.image().path == film


# -- presets and invert: model → view and view → model ------------------------------------


def test_presets_list_dicom_windows_full_range_and_auto(window, tmp_path):
    window.open_paths([write_film(tmp_path / "a.dcm")])
    labels = [window.preset_combo.itemText(i) for i in range(window.preset_combo.count())]
    assert labels[0].startswith("BONE") and labels[1].startswith("SOFT")
    assert "Full range" in labels and "Auto (histogram)" in labels
    assert window.view.voi_window().explanation == "BONE"  # the first DICOM window


def test_choosing_a_preset_sets_the_view_window(window, tmp_path):
    window.open_paths([write_film(tmp_path / "a.dcm")])
    combo = window.preset_combo
    combo.setCurrentIndex(combo.findText("Full range"))
    combo.activated.emit(combo.currentIndex())
    image = window.view.image()
    assert window.view.voi_window() == display.full_range_window(image)
    # Pixel values are 1000 and 1200: the full-range window spans exactly them.
    assert window.view.voi_window().width == pytest.approx(201.0)


def test_view_window_change_is_mirrored_in_combo(window, tmp_path, qtbot):
    window.open_paths([write_film(tmp_path / "a.dcm")])
    activated = []
    window.preset_combo.activated.connect(activated.append)
    window.view.set_window(VoiWindow(1234.0, 321.0))
    assert window.preset_combo.currentText().startswith("Manual (C 1234 / W 321)")
    soft = window.view.image().windows[1]
    window.view.set_window(soft)
    assert window.preset_combo.currentText().startswith("SOFT")
    assert activated == []  # mirroring never feeds back as a user choice


def test_invert_action_and_view_stay_in_step(window, tmp_path):
    window.open_paths([write_film(tmp_path / "a.dcm")])
    window.view.set_inverted(True)  # model → view
    assert window.invert_action.isChecked()
    window.invert_action.trigger()  # view → model
    assert window.view.is_inverted() is False


def test_loupe_toggle_from_menu(window, tmp_path):
    window.open_paths([write_film(tmp_path / "a.dcm")])
    window.loupe_action.trigger()
    assert window.loupe.is_enabled()
    window.loupe_action.trigger()
    assert not window.loupe.is_enabled()


def test_open_annotations_announces_the_model(window, qtbot, tmp_path):
    from ovcf_viewer.model.landmarks import ImageAnnotations, save_annotations

    path = tmp_path / "a.json"
    save_annotations(ImageAnnotations("1.2.3", "a.dcm"), path)
    with qtbot.waitSignal(window.annotationsLoaded) as loaded:
        assert window.open_annotations(path) is True
    assert loaded.args[0].sop_instance_uid == "1.2.3"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert window.open_annotations(broken) is False
    assert "Annotations not loaded" in window.error_box().text()


def test_application_window_has_the_annotation_layer(qtbot, tmp_path):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    assert main.annotation_controller is not None
    menus = [action.text() for action in main.menuBar().actions()]
    assert menus[:3] == ["&File", "&View", "&Window"]
    assert "&Annotate" in menus
    main.open_paths([write_film(tmp_path / "a.dcm")])
    assert main.view.image() is not None
