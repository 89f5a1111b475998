"""The main window: open films (files, folders, drag-and-drop, command line, recent list),
browse them by patient and study, and read them in the :class:`ImageView`.

Every failure to open a file is shown (status bar, the browser's error list, and a non-modal
message for a file the user opened on its own) and the window keeps working; a bad file in a
folder never stops the others. The status bar shows the cursor in image pixels and, when the
image is calibrated, in millimetres with the calibration's unit tag (docs/clinical-reference.md §1:
never "mm" over a value in pixels), plus the stored, modality and displayed values.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QWidget,
)

from ovcf_viewer.io.recent import add_recent, clear_recent, load_recent
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.errors import ImageLoadError
from ovcf_viewer.model.image import RadiographImage
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.viewer.image_view import ImageView
from ovcf_viewer.qt.viewer.loupe import Loupe
from ovcf_viewer.qt.viewer.study_browser import StudyBrowser
from ovcf_viewer.qt.viewer.window_presets import WindowPresets
from ovcf_viewer.render import display

if TYPE_CHECKING:  # the scanner (and pydicom) load on first open, not at start-up
    from ovcf_viewer.io.progressive import Preview
    from ovcf_viewer.io.study_scan import ScanImage
    from ovcf_viewer.model.landmarks import ImageAnnotations

__all__ = ["MainWindow", "cursor_status"]

log = logging.getLogger(__name__)

_FILE_FILTER = (
    "Images (*.dcm *.dicom *.dic *.ima *.png *.jpg *.jpeg *.tif *.tiff DICOMDIR);;"
    "All files (*)"
)


def cursor_status(
    image: RadiographImage,
    x: float,
    y: float,
    calibration: Calibration,
    window: display.DisplayVoi,
    inverted: bool,
) -> str:
    """Status-bar text for the cursor at image point ``(x, y)``.

    Position in pixels (image coordinates, docs/clinical-reference.md §1), then in mm with the
    calibration's unit tag when calibrated (``x * col_mm``, ``y * row_mm``), then the stored
    value, the modality value when a rescale applies, and the displayed 0..255 value.
    """
    parts = [f"x {x:.1f}  y {y:.1f} px"]
    if calibration.is_calibrated:
        parts.append(
            f"x {x * calibration.col_mm:.2f}  y {y * calibration.row_mm:.2f} "
            f"{calibration.unit_tag}"
        )
    if not image.contains(x, y):
        parts.append("outside the image")
        return "   |   ".join(parts)
    if not image.pixels_ready() or image.pixels_failed():
        # A progressive open shows a preview: its samples are not stored values.
        parts.append("full resolution not yet decoded" if not image.pixels_ready()
                     else "pixel values unavailable")
        return "   |   ".join(parts)
    stored = display.stored_value(image, x, y)
    if stored is None:
        parts.append("outside the image")
        return "   |   ".join(parts)
    if isinstance(stored, tuple):
        parts.append("RGB " + " ".join(str(v) for v in stored))
    else:
        values = f"stored {stored}"
        lut = image.modality_lut
        if lut.table is not None or lut.slope != 1.0 or lut.intercept != 0.0:
            modality = display.modality_value(image, x, y)
            if modality is not None:
                values += f"  modality {modality:.6g}"
        shown = display.displayed_value(image, x, y, window, inverted)
        values += f"  displayed {shown}"
        parts.append(values)
    return "   |   ".join(parts)


class MainWindow(QMainWindow):
    """Menus, toolbar, the study browser dock, the image view and the status bar.

    ``imageOpened(image)`` after an image is shown; ``annotationsLoaded(model)`` after
    :meth:`open_annotations` read an exchange-format file (the landmark layer listens).

    This is the viewer on its own; the application's window,
    :class:`~ovcf_viewer.qt.application_window.ApplicationWindow`, adds the other parts.
    ``settings`` is the application's one instance (defaults when the viewer stands alone).
    """

    imageOpened = Signal(object)
    annotationsLoaded = Signal(object)
    #: A scan is in the browser (its ScanResult), before the first image is shown: the
    #: annotation files beside the films are loaded then (qt.dialogs.folder_annotations).
    scanned = Signal(object)

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("OVCF Viewer")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else Settings()
        self._image: RadiographImage | None = None
        self._error_box: QMessageBox | None = None
        self._cursor: tuple[float, float] | None = None
        self.annotations: ImageAnnotations | None = None

        self.view = ImageView(self)
        self.setCentralWidget(self.view)
        self.loupe = Loupe(self.view)
        self.window_presets = WindowPresets(self.view, self)
        self.window_presets.failed.connect(self.show_error)

        self.browser = StudyBrowser(self)
        self.browser_dock = QDockWidget("Studies", self)
        self.browser_dock.setObjectName("studies-dock")
        self.browser_dock.setWidget(self.browser)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.browser_dock)
        self.resizeDocks([self.browser_dock], [330], Qt.Orientation.Horizontal)

        self.position_label = QLabel("")
        self.position_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.statusBar().addPermanentWidget(self.position_label)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()

        self.browser.imageActivated.connect(self.open_image)
        self.view.cursorMoved.connect(self._on_cursor_moved)
        self.view.cursorLeft.connect(self._on_cursor_left)
        self.view.windowChanged.connect(self._on_window_changed)
        self.view.invertChanged.connect(self._on_invert_changed)
        self.view.fullResolutionArrived.connect(self._on_full_resolution)
        self._sync_actions()

    # -- construction ----------------------------------------------------------------------
    def _action(
        self,
        text: str,
        slot: object,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        checkable: bool = False,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        signal = action.toggled if checkable else action.triggered
        signal.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.open_files_action = self._action("&Open file(s)…", self.choose_files, key.Open)
        self.open_folder_action = self._action(
            "Open &folder…", self.choose_folder, "Ctrl+Shift+O"
        )
        self.quit_action = self._action("&Quit", self.close, key.Quit)
        self.clear_recent_action = self._action("Clear list", self._clear_recent)
        view = self.view
        self.fit_action = self._action("&Fit to window", view.fit, "F")
        self.actual_size_action = self._action("&1:1 (actual pixels)", view.actual_size, "1")
        self.zoom_in_action = self._action("Zoom &in", view.zoom_in, key.ZoomIn)
        self.zoom_out_action = self._action("Zoom &out", view.zoom_out, key.ZoomOut)
        self.invert_action = self._action(
            "&Invert", view.set_inverted, "I", checkable=True,
            tip="Swap black and white (on top of MONOCHROME1 / Presentation LUT)",
        )
        self.rotate_left_action = self._action("Rotate 90° &left", view.rotate_left, "[")
        self.rotate_right_action = self._action("Rotate 90° &right", view.rotate_right, "]")
        self.flip_horizontal_action = self._action(
            "Flip &horizontal", view.flip_horizontal, "H"
        )
        self.flip_vertical_action = self._action("Flip &vertical", view.flip_vertical, "V")
        self.loupe_action = self._action(
            "&Loupe", self.loupe.set_enabled, "L", checkable=True,
            tip="Magnified window following the cursor, for precise placement",
        )
        self.overlays_action = self._action(
            "Corner &overlays", view.set_overlays_visible, "O", checkable=True
        )
        self.overlays_action.setChecked(True)
        self.reset_view_action = self._action("&Reset view", view.reset_view, "Ctrl+0")
        self.full_range_action = self._action("&Full range", self.apply_full_range, "Ctrl+F")
        self.auto_window_action = self._action(
            "&Auto (histogram)", self.apply_auto_window, "A",
            tip="Window from the 0.5-99.5 % percentiles of the image's values",
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_files_action)
        file_menu.addAction(self.open_folder_action)
        self.recent_menu = QMenu("&Recent files", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self._fill_recent_menu()

        self.view_menu = view_menu = bar.addMenu("&View")
        for action in (self.fit_action, self.actual_size_action, self.zoom_in_action,
                       self.zoom_out_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.invert_action)
        for action in (self.rotate_left_action, self.rotate_right_action,
                       self.flip_horizontal_action, self.flip_vertical_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.loupe_action)
        view_menu.addAction(self.overlays_action)
        view_menu.addAction(self.browser_dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(self.reset_view_action)

        self.window_menu = bar.addMenu("&Window")
        self.window_menu.aboutToShow.connect(self._fill_window_menu)
        self._fill_window_menu()

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("View", self)
        toolbar.setObjectName("view-toolbar")
        toolbar.addAction(self.open_files_action)
        toolbar.addAction(self.open_folder_action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Window "))
        self.preset_combo = self.window_presets.combo
        toolbar.addWidget(self.preset_combo)
        toolbar.addAction(self.invert_action)
        toolbar.addSeparator()
        for action in (self.fit_action, self.actual_size_action, self.rotate_left_action,
                       self.rotate_right_action, self.flip_horizontal_action,
                       self.flip_vertical_action, self.loupe_action, self.reset_view_action):
            toolbar.addAction(action)
        # Short toolbar labels; the menus keep the full names and shortcuts.
        for action, short in ((self.open_files_action, "Open"),
                              (self.open_folder_action, "Folder"),
                              (self.fit_action, "Fit"), (self.actual_size_action, "1:1"),
                              (self.rotate_left_action, "⟲ 90°"),
                              (self.rotate_right_action, "⟳ 90°"),
                              (self.flip_horizontal_action, "⇆ Flip"),
                              (self.flip_vertical_action, "⇅ Flip"),
                              (self.reset_view_action, "Reset")):
            action.setIconText(short)
            action.setToolTip(f"{action.text().replace('&', '')} ({action.shortcut().toString()})")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    # -- opening ---------------------------------------------------------------------------
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", "", _FILE_FILTER)
        if paths:
            self.open_paths(paths)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder (CD export, DICOMDIR…)")
        if folder:
            self.open_paths([folder])

    def open_paths(self, paths: Sequence[str | os.PathLike[str]]) -> bool:
        """Scan ``paths`` (files and folders, headers only) into the browser and show the
        first image. Returns whether an image is shown. Problems are listed, never raised."""
        from ovcf_viewer.io.study_scan import scan_paths

        given = [Path(p) for p in paths]
        if not given:
            return False
        self.statusBar().showMessage("Scanning " + ", ".join(p.name or str(p) for p in given))
        try:
            result = self.browser.set_scan(scan_paths(given), explicit=given)
        except Exception as exc:  # a scanner bug must not take the window down
            log.exception("scanning %s failed", given)
            self.show_error(f"Could not scan {', '.join(map(str, given))}: {exc}")
            return False
        for path in given:
            if path.exists():
                add_recent(path)
        images, errors = result
        if images:
            self.scanned.emit(self.browser.scan_result())
        if images == 0:
            if errors:
                self.show_error(self.browser.error_summary(), modal_box=True)
            else:
                self.show_error("No images found in " + ", ".join(map(str, given)))
            return False
        first = self._first_image_under(given[0]) or self.browser.first_image()
        shown = first is not None and self.open_image(first.path)
        if errors:
            self.statusBar().showMessage(
                f"{images} image(s) found; {errors} file(s) could not be opened "
                "(listed in the Studies panel)"
            )
        return shown

    def _first_image_under(self, path: Path) -> ScanImage | None:
        """The first image, in browser order, that is ``path`` or lies inside it: what the
        user named first is what they expect to see."""
        base = path.absolute()
        for image in self.browser.images():
            candidate = image.path.absolute()
            if candidate == base or base in candidate.parents:
                return image
        return None

    def open_image(self, path: str | os.PathLike[str], frame: int = 0) -> bool:
        """Load and show one image; on failure show why and keep the current one.

        A large JPEG 2000 film is opened progressively
        (:func:`~ovcf_viewer.io.progressive.open_progressive`): a reduced resolution level
        fitting the viewport is painted at once and full resolution swapped in when its
        background decode finishes (a failure there is shown like a failed open)."""
        from ovcf_viewer.io.dicom import load_image
        from ovcf_viewer.io.progressive import open_progressive

        ratio = self.view.devicePixelRatioF()
        viewport = self.view.viewport().size()
        device = (round(viewport.width() * ratio), round(viewport.height() * ratio))
        opened = open_progressive(path, device, frame)
        if opened is not None:
            self.show_image(opened[0], preview=opened[1])
            return True
        try:
            image = load_image(path, frame)
        except ImageLoadError as exc:
            self.show_error(str(exc), modal_box=True)
            self.browser.mark_failed(path, exc.message)
            self._reselect_shown()
            return False
        except Exception as exc:  # last resort: an unexpected decoder failure
            log.exception("opening %s failed", path)
            self.show_error(f"{Path(path).name}: unexpected error ({exc})", modal_box=True)
            self._reselect_shown()
            return False
        self.show_image(image)
        return True

    def _on_full_resolution(self, image: object) -> None:
        """A progressively opened film has its full resolution, or its decode failed: then
        the loader's message is shown as for a failed open (the preview stays on screen,
        what was placed on it stays placed; pixel values are unavailable)."""
        if not isinstance(image, RadiographImage) or image is not self._image:
            return
        if not image.pixels_failed():
            return
        exc = image.pending.exception() if image.pending is not None else None
        message = str(exc) if isinstance(exc, ImageLoadError) else (
            f"{image.path.name if image.path else 'image'}: pixel data cannot be decoded "
            f"({exc})")
        if not isinstance(exc, ImageLoadError):
            log.error("full-resolution decode failed: %r", exc)
        self.show_error(message, modal_box=True)
        if image.path is not None:
            self.browser.mark_failed(image.path, getattr(exc, "message", message))

    def _reselect_shown(self) -> None:
        """After a failed open the browser points at the image still on screen."""
        if self._image is not None:
            self.browser.select_path(self._image.path, self._image.frame_index)

    def show_image(self, image: RadiographImage, preview: Preview | None = None) -> None:
        """Display an already loaded image (default window, fitted, as stored); ``preview``
        is painted while a progressively opened image decodes."""
        self._image = image
        calibration = image.calibration(use_magnification=self.settings.use_magnification)
        self.view.set_image(image, calibration=calibration, preview=preview)
        name = image.path.name if image.path is not None else image.sop_instance_uid
        self.setWindowTitle(f"{name} — OVCF Viewer")
        message = (
            f"Opened {name}: {image.columns} × {image.rows} px; lengths in "
            f"{calibration.unit_tag}"
        )
        if image.warnings:
            message += "  (" + "; ".join(image.warnings) + ")"
        self.statusBar().showMessage(message)
        self.browser.select_path(image.path, image.frame_index)
        self._sync_actions()
        self.imageOpened.emit(image)

    def image(self) -> RadiographImage | None:
        return self._image

    def open_annotations(self, path: str | os.PathLike[str]) -> bool:
        """Read an exchange-format annotation file (validated) and announce it with
        ``annotationsLoaded``; errors are shown, never raised."""
        from ovcf_viewer.model.landmarks import AnnotationFormatError, load_annotations

        try:
            model = load_annotations(Path(path))
        except (AnnotationFormatError, OSError, ValueError) as exc:
            self.show_error(f"Annotations not loaded: {exc}", modal_box=True)
            return False
        self.annotations = model
        self.statusBar().showMessage(
            f"Annotations from {Path(path).name}: {len(model.vertebrae)} vertebra(e)"
        )
        self.annotationsLoaded.emit(model)
        return True

    def show_error(self, message: str, modal_box: bool = False) -> None:
        """Show ``message`` in the status bar and, with ``modal_box``, in a *non-modal*
        message box (the window stays usable)."""
        log.warning("%s", message)
        self.statusBar().showMessage(message)
        if not modal_box:
            return
        if self._error_box is None:
            self._error_box = QMessageBox(self)
            self._error_box.setIcon(QMessageBox.Icon.Warning)
            self._error_box.setWindowTitle("Could not open")
            self._error_box.setWindowModality(Qt.WindowModality.NonModal)
            self._error_box.setStandardButtons(QMessageBox.StandardButton.Close)
        self._error_box.setText(message)
        self._error_box.show()

    def error_box(self) -> QMessageBox | None:
        return self._error_box

    # -- recent files ----------------------------------------------------------------------
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = load_recent()
        for entry in recent:
            action = self.recent_menu.addAction(entry)
            action.setData(entry)
            action.triggered.connect(self._open_recent)
        if not recent:
            empty = self.recent_menu.addAction("(none)")
            empty.setEnabled(False)
        self.recent_menu.addSeparator()
        self.recent_menu.addAction(self.clear_recent_action)

    def _open_recent(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.open_paths([str(action.data())])

    def _clear_recent(self) -> None:
        clear_recent()
        self._fill_recent_menu()

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    @staticmethod
    def urls_for(paths: Sequence[str | os.PathLike[str]]) -> list[QUrl]:
        return [QUrl.fromLocalFile(str(Path(p).absolute())) for p in paths]

    # -- window presets (qt.viewer.window_presets, shared with the training window) --------
    def presets(self) -> list[tuple[str, object]]:
        """``(label, voi)`` for the current image (:meth:`WindowPresets.presets`)."""
        return self.window_presets.presets()

    def _fill_presets(self) -> None:
        self.window_presets.fill()

    def _fill_window_menu(self) -> None:
        self.window_menu.clear()
        presets = self.presets()
        for index, (label, _voi) in enumerate(presets):
            action = self.window_menu.addAction(label)
            action.setData(index)
            action.triggered.connect(self._on_preset_menu)
        if not presets:
            empty = self.window_menu.addAction("(no grey-scale image)")
            empty.setEnabled(False)
        self.window_menu.addSeparator()
        self.window_menu.addAction(self.invert_action)

    def _on_preset_menu(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.apply_preset(int(action.data()))

    def apply_preset(self, index: int) -> None:
        self.window_presets.apply(index)

    def apply_full_range(self) -> None:
        self.window_presets.apply_full_range()

    def apply_auto_window(self) -> None:
        self.window_presets.apply_auto_window()

    def _on_window_changed(self, voi: object) -> None:
        # The preset combo mirrors the window itself (WindowPresets follows the view).
        self._refresh_cursor_status()

    def _on_invert_changed(self, inverted: bool) -> None:
        with QSignalBlocker(self.invert_action):
            self.invert_action.setChecked(inverted)
        self._refresh_cursor_status()

    def _sync_actions(self) -> None:
        has_image = self._image is not None
        for action in (self.fit_action, self.actual_size_action, self.zoom_in_action,
                       self.zoom_out_action, self.invert_action, self.rotate_left_action,
                       self.rotate_right_action, self.flip_horizontal_action,
                       self.flip_vertical_action, self.reset_view_action,
                       self.full_range_action, self.auto_window_action):
            action.setEnabled(has_image)
        with QSignalBlocker(self.invert_action):
            self.invert_action.setChecked(self.view.is_inverted())

    # -- status bar ------------------------------------------------------------------------
    def _on_cursor_moved(self, x: float, y: float) -> None:
        self._cursor = (x, y)
        self._refresh_cursor_status()

    def _refresh_cursor_status(self) -> None:
        """The status bar for the last cursor position (the displayed value follows a
        window change even when the mouse stands still)."""
        if self._cursor is None:
            return
        x, y = self._cursor
        image = self.view.image()
        calibration = self.view.calibration()
        if image is None or calibration is None:
            self.position_label.clear()
            return
        window, inverted = self.view.display_state()
        self.position_label.setText(cursor_status(image, x, y, calibration, window, inverted))

    def _on_cursor_left(self) -> None:
        self._cursor = None
        self.position_label.clear()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._error_box is not None:
            self._error_box.close()
        super().closeEvent(event)
