"""Connects an :class:`~ovcf_viewer.qt.viewer.image_view.ImageView`, the current image's
:class:`~ovcf_viewer.model.landmarks.ImageAnnotations` and the user's
:class:`~ovcf_viewer.model.settings.Settings`: landmark placement, measuring tools, undo,
autosave, the measurements panel and labels on the image.

Modes (one at a time, ``set_mode``):
    ``navigate``     left-drag pans (the view's default); handles can still be dragged;
    ``landmarks``    each click places the next of the six landmarks of the chosen level in
                     the order sa, sm, sp, ia, im, ip (docs/clinical-reference.md §2); a press-drag-
                     release places it where the button is released. After the sixth point the
                     next level below (or above) is offered. Edge assist (a *setting*) snaps a
                     clicked point, never one dragged by hand;
    ``ruler``, ``angle``, ``cobb``, ``calibration``  draw a tool by clicks or drags; the
                     calibration line then asks for the true length and sets a manual
                     calibration for this image (docs/clinical-reference.md §1), undoable.

Placement modes (toolbar combo and Annotate menu): six points; four corners (sa, sp, ia, ip:
no Hm, biconcavity or biconcave type); two clicks (sa and ip, the other points proposed from
the previous film's or a neighbour's shape). Proposals (two-click, or carried forward from
another film of the patient with "Carry landmarks forward") are drawn hollow and dashed, in
magenta when the program asks for a check, with the reason on the label: Enter accepts the
current level's proposal, Shift+Enter all of them, dragging a point adjusts and accepts,
Shift+Delete rejects.

Keys (on the view): Delete removes the selected point (Shift+Delete its whole vertebra or
tool); arrow keys nudge the selected point by one *screen* pixel (sub-pixel when zoomed in;
Shift for ten); Esc cancels a drag or the tool being drawn. Shift+H hides/shows all
annotations (H alone is the view's horizontal flip).

Every edit goes through the model, so it is one undo step (:mod:`ovcf_viewer.qt.annotate.undo`) and
is autosaved (:class:`~ovcf_viewer.io.store.Autosaver`) as it happens.

The application window (:class:`~ovcf_viewer.qt.application_window.ApplicationWindow`) builds
one and places its toolbar, menu actions, panel and status label.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QObject,
    QPointF,
    QRectF,
    QRunnable,
    QSignalBlocker,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QKeyEvent, QKeySequence, QMouseEvent, QUndoGroup
from PySide6.QtWidgets import (
    QComboBox,
    QInputDialog,
    QLabel,
    QMenu,
    QToolBar,
    QWidget,
)

from ovcf_viewer.measure.measurements import ImageMeasurements, measure_image
from ovcf_viewer.measure.placement import (
    DRAG_THRESHOLD_PX,
    MODE_LABELS,
    PLACEMENT_MODES,
    SNAPPING_TOOLS,
    PlacementState,
    PointerEvent,
    ToolDraft,
    apply_proposals,
    complete_two_clicks,
    handle_name,
    nearest_corner,
    next_level,
    nudge_step,
)
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import LEVELS, POINT_NAMES, ImageAnnotations, Tool
from ovcf_viewer.model.settings import LABEL_MODES, Settings
from ovcf_viewer.qt.annotate.landmark_items import AnnotationLayer, HandleKey, tool_label
from ovcf_viewer.qt.annotate.measurements_panel import MeasurementsPanel
from ovcf_viewer.qt.annotate.undo import AnnotationUndoStack, create_undo_actions
from ovcf_viewer.qt.settings_link import follow_settings
from ovcf_viewer.qt.viewer.image_view import ImageView
from ovcf_viewer.render import format as fmt

if TYPE_CHECKING:
    from ovcf_viewer.io.store import AnnotationSink, Autosaver, SaveStatus
    from ovcf_viewer.measure.carry_forward import CarryForwardResult
    from ovcf_viewer.model.image import RadiographImage
    from ovcf_viewer.qt.viewer.study_browser import StudyBrowser

__all__ = ["AnnotationController", "MODES"]

log = logging.getLogger(__name__)

MODES = ("navigate", "landmarks", "ruler", "angle", "cobb", "calibration")
_MODE_TEXT = {
    "navigate": ("Navigate", "N", "Pan and adjust; drag handles to move points"),
    "landmarks": ("Place landmarks", "P", "Click the six points of each vertebral body"),
    "ruler": ("Ruler", "R", "Distance between two points"),
    "angle": ("Angle", "G", "Angle at a vertex (three points)"),
    "cobb": ("Cobb (two lines)", "C", "Angle between two lines you draw"),
    "calibration": ("Calibration line", "K",
                    "Draw along an object of known length, then enter its true length"),
}
TOOL_MODES = ("ruler", "angle", "cobb", "calibration")
_MODE_SHORT = {"landmarks": "Landmarks", "cobb": "Cobb", "calibration": "Calibrate"}


class CarrySignals(QObject):
    finished = Signal(str, object)  # target SOP Instance UID, CarryForwardResult or error text


class CarryWorker(QRunnable):
    """Runs the registration off the GUI thread (it takes seconds on a full-size film)."""

    def __init__(self, source_image, source_model, target_image) -> None:
        super().__init__()
        self.signals = CarrySignals()
        self._args = (source_image, source_model, target_image)

    def run(self) -> None:
        from ovcf_viewer.services.carry_forward import propose

        source_image, source_model, target_image = self._args
        from ovcf_viewer.model.errors import ImageLoadError

        try:
            result: object = propose(source_image, source_model, target_image)
        except (ValueError, MemoryError, ImageLoadError) as exc:
            result = str(exc)
        except Exception as exc:  # a registration bug must not take the window down
            log.exception("carry forward failed")
            result = f"unexpected error ({exc})"
        self.signals.finished.emit(target_image.sop_instance_uid, result)


class AnnotationController(QObject):
    """Owns the annotation layer, the measurements panel, the undo group and the
    interaction modes for one :class:`ImageView`; see the module docstring."""

    promptChanged = Signal(str)
    modeChanged = Signal(str)
    measurementsChanged = Signal(object)  # ImageMeasurements or None
    saveStatusChanged = Signal(str)
    modelChanged = Signal(object)  # the current ImageAnnotations (a new image)
    carryForwardFinished = Signal(object)  # levels proposed (list) or why not (str)
    selectionNameChanged = Signal(str)  # "L1 sa — superior-anterior corner", or ""

    def __init__(
        self,
        view: ImageView,
        settings: Settings,
        parent: QObject | None = None,
        *,
        store: AnnotationSink | None = None,
        browser: StudyBrowser | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        #: The application's one settings instance (followed, never replaced).
        self.settings = settings
        self._store = store
        self.image: RadiographImage | None = None
        self.model: ImageAnnotations | None = None
        self.undo_stack: AnnotationUndoStack | None = None
        self.autosaver: Autosaver | None = None
        self.measurements: ImageMeasurements | None = None
        self.calibration = Calibration.none()
        self._calibration_stale = True  # a new image: give the view ours even if equal
        self.mode = "navigate"
        self.placement = PlacementState("L1")
        self._draft: ToolDraft | None = None
        self._placing: tuple[str, str, tuple[float, float], QPointF] | None = None
        self._placing_dragged = False
        #: The landmark corner the last tool event snapped to, ``(level, name, xy)``.
        self._snapped: tuple[str, str, tuple[float, float]] | None = None
        self.last_snap_mm: float | None = None
        #: Films of this patient whose landmarks can be carried forward (CarrySource), set
        #: by the window that knows the patient's films; the first is offered.
        self.carry_sources: list = []
        #: The annotations and ``(row_mm, col_mm)`` of the film last carried from: the
        #: shape two-click placement copies first.
        self.previous_film: tuple[ImageAnnotations, tuple[float, float]] | None = None
        self._carry_workers: list[CarryWorker] = []
        self._browser = browser  # the window's study browser: which films share the patient
        #: Asks the true length (mm) of a calibration line; replaceable in tests.
        self.ask_true_length = self._ask_true_length
        #: Asks the new level for a relabel; replaceable in tests.
        self.ask_level = self._ask_level

        self.layer = AnnotationLayer(view.scene(), self)
        self.layer.on_pressed = self._on_handle_pressed
        self.layer.on_moving = self._on_handle_moving
        self.layer.on_finished = self._on_handle_finished
        self.layer.on_cancelled = self._on_handle_cancelled
        self.layer.selectionChanged.connect(self._on_selection_changed)
        self.panel = MeasurementsPanel(self.settings)
        self.panel.settingsChanged.connect(self.apply_settings)
        self.save_status_label = QLabel("")
        #: The selected handle's name, for the status bar.
        self.selection_label = QLabel("")
        self.selection_label.setObjectName("selected-handle")
        self.undo_group = QUndoGroup(self)
        self.undo_group.cleanChanged.connect(self._on_clean_changed)
        self._build_actions()
        follow_settings(settings, self._on_settings_changed)

        view.installEventFilter(self)
        view.viewChanged.connect(self._on_view_changed)
        view.orientationChanged.connect(self._on_view_changed)
        self._on_view_changed()
        self._update_prompt()

    def _action(self, text: str, slot, shortcut: str | None = None, checkable: bool = False,
                tip: str = "") -> QAction:
        action = QAction(text, self.view)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{text} — {tip}" + (f" ({shortcut})" if shortcut else ""))
        (action.toggled if checkable else action.triggered).connect(slot)
        self.view.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.mode_group = QActionGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_actions: dict[str, QAction] = {}
        for mode in MODES:
            text, key, tip = _MODE_TEXT[mode]
            action = QAction(text, self.view)
            action.setShortcut(QKeySequence(key))
            action.setCheckable(True)
            action.setStatusTip(tip)
            action.setToolTip(f"{text} ({key}) — {tip}")
            action.setData(mode)
            self.mode_group.addAction(action)
            self.view.addAction(action)
            self.mode_actions[mode] = action
        self.mode_actions["navigate"].setChecked(True)
        self.mode_group.triggered.connect(self._on_mode_action)
        for mode, short in _MODE_SHORT.items():
            self.mode_actions[mode].setIconText(short)

        self.undo_action, self.redo_action = create_undo_actions(self.undo_group, self.view)
        self.view.addAction(self.undo_action)
        self.view.addAction(self.redo_action)
        self.index_action = self._action(
            "Index (fractured) level", self._on_index_toggled, "X", checkable=True,
            tip="Mark the current vertebra as an index (fractured) level",
        )
        self.relabel_action = self._action("Relabel level…", self.relabel_current,
                                           tip="Give the current vertebra another level")
        self.delete_action = self._action("Delete point", self.delete_selected,
                                          tip="Delete the selected point (Delete key)")
        self.delete_vertebra_action = self._action(
            "Delete vertebra", self.delete_current_vertebra,
            tip="Delete the current vertebra's six points (Shift+Delete)",
        )
        self.hide_action = self._action(
            "Hide annotations", self._on_hide_toggled, "Shift+H", checkable=True,
            tip="Hide or show every landmark, label and tool",
        )
        self.magnification_action = self._action(
            "Magnification correction", self._on_magnification_toggled, checkable=True,
            tip="Imager Pixel Spacing ÷ ERMF (under-corrects the spine, clinical reference §1)",
        )
        self.remove_calibration_action = self._action(
            "Remove manual calibration", self.remove_manual_calibration,
            tip="Go back to the calibration from the image header",
        )
        self.export_action = self._action(
            "Export annotations (JSON)…", self.choose_export_path,
            tip="Write the exchange-format annotation file (version 1)",
        )
        self.magnification_action.setChecked(self.settings.use_magnification)

        self.placement_group = QActionGroup(self)
        self.placement_group.setExclusive(True)
        self.placement_actions: dict[str, QAction] = {}
        for mode in PLACEMENT_MODES:
            action = QAction(f"Placement: {MODE_LABELS[mode]}", self.view)
            action.setCheckable(True)
            action.setData(mode)
            self.placement_group.addAction(action)
            self.placement_actions[mode] = action
        self.placement_actions["six_point"].setChecked(True)
        self.placement_group.triggered.connect(self._on_placement_action)
        self.carry_action = self._action(
            "Carry landmarks forward", self.carry_forward,
            tip="Propose the landmarks of another film of this patient on this film",
        )
        self.carry_action.setEnabled(False)
        self.accept_action = self._action(
            "Accept proposal", self.accept_current_proposal,
            tip="Accept the current level's proposed points as they are (Enter)",
        )
        self.accept_all_action = self._action(
            "Accept all proposals", self.accept_all_proposals,
            tip="Accept every proposed vertebra on this film (Shift+Enter)",
        )
        self.reject_action = self._action(
            "Reject proposal", self.reject_current_proposal,
            tip="Remove the current level's proposed points (Shift+Delete)",
        )
        # Vertebra labels: all / index levels only / off (handles kept), and compact.
        self.label_mode_group = QActionGroup(self)
        self.label_mode_group.setExclusive(True)
        self.label_mode_actions: dict[str, QAction] = {}
        for mode, text, key in (("all", "Labels: all vertebrae", "Alt+1"),
                                ("index", "Labels: index levels only", "Alt+2"),
                                ("off", "Labels: off (handles kept)", "Alt+3")):
            action = QAction(text, self.view)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setCheckable(True)
            action.setData(mode)
            self.label_mode_group.addAction(action)
            self.view.addAction(action)
            self.label_mode_actions[mode] = action
        self.label_mode_group.triggered.connect(
            lambda action: self.set_label_mode(action.data()))
        self.compact_labels_action = self._action(
            "Compact labels", self.set_compact_labels, "Alt+4", checkable=True,
            tip="One line per vertebra (level and Genant grade) in smaller type",
        )
        self._sync_label_actions()
        # Short toolbar labels, so both toolbars fit a 1366 px screen without an overflow
        # arrow; menus and tooltips keep the full names.
        for action, short in ((self.index_action, "Index"), (self.relabel_action, "Relabel…"),
                              (self.carry_action, "Carry forward"),
                              (self.accept_all_action, "Accept all"),
                              (self.hide_action, "Hide"),
                              (self.magnification_action, "Mag. corr."),
                              # fixed: "Undo Load annotations" widened the toolbar (the
                              # tooltip and menu still name the step)
                              (self.undo_action, "Undo"), (self.redo_action, "Redo")):
            action.setIconText(short)

    def create_tools_toolbar(self, parent: QWidget | None = None) -> QToolBar:
        """The mouse modes (navigate, landmarks and the measuring tools), short labels; the
        Annotate menu keeps the full names."""
        toolbar = QToolBar("Tools", parent)
        toolbar.setObjectName("tools-toolbar")
        for action in self.mode_actions.values():
            toolbar.addAction(action)
        return toolbar

    def create_toolbar(self, parent: QWidget | None = None) -> QToolBar:
        """The landmark toolbar: level, direction, placement, index, carry forward, undo,
        hide, magnification (short labels; the menu keeps the full names)."""
        toolbar = QToolBar("Annotate", parent)
        toolbar.setObjectName("annotate-toolbar")
        toolbar.addWidget(QLabel(" Level "))
        self.level_combo = QComboBox(toolbar)
        self.level_combo.addItems(list(LEVELS))
        self.level_combo.setCurrentText(self.placement.level)
        self.level_combo.setToolTip("Level whose landmarks the next clicks place")
        self.level_combo.currentTextChanged.connect(self.set_level)
        toolbar.addWidget(self.level_combo)
        self.direction_combo = QComboBox(toolbar)
        self.direction_combo.addItem("then ↓ below", "down")
        self.direction_combo.addItem("then ↑ above", "up")
        self.direction_combo.setToolTip("After a vertebra, offer the level below or above")
        self.direction_combo.currentIndexChanged.connect(self._on_direction_changed)
        toolbar.addWidget(self.direction_combo)
        self.placement_combo = QComboBox(toolbar)
        for mode in PLACEMENT_MODES:
            self.placement_combo.addItem(MODE_LABELS[mode].split(" (")[0], mode)
            self.placement_combo.setItemData(self.placement_combo.count() - 1,
                                             MODE_LABELS[mode], Qt.ItemDataRole.ToolTipRole)
        self.placement_combo.setToolTip("How each vertebra is placed")
        self.placement_combo.currentIndexChanged.connect(self._on_placement_combo)
        toolbar.addWidget(self.placement_combo)
        toolbar.addAction(self.index_action)
        toolbar.addAction(self.relabel_action)
        toolbar.addSeparator()
        toolbar.addAction(self.carry_action)
        toolbar.addAction(self.accept_all_action)
        toolbar.addSeparator()
        toolbar.addAction(self.undo_action)
        toolbar.addAction(self.redo_action)
        toolbar.addAction(self.hide_action)
        toolbar.addAction(self.magnification_action)
        return toolbar

    def create_labels_menu(self, parent: QWidget | None = None) -> QMenu:
        """The View menu's "Vertebra labels" submenu."""
        menu = QMenu("Vertebra &labels", parent)
        for action in self.label_mode_actions.values():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.compact_labels_action)
        return menu

    def set_label_mode(self, mode: str) -> None:
        """Show every vertebra's label, the index levels' only, or none (a setting)."""
        if mode not in LABEL_MODES:
            raise ValueError(f"label mode must be one of {LABEL_MODES}, got {mode!r}")
        if mode != self.settings.label_mode:
            self.apply_settings(self.settings.replace(label_mode=mode))

    def set_compact_labels(self, compact: bool) -> None:
        if bool(compact) != self.settings.compact_labels:
            self.apply_settings(self.settings.replace(compact_labels=bool(compact)))

    def _sync_label_actions(self) -> None:
        for mode, action in self.label_mode_actions.items():
            blocker = QSignalBlocker(action)
            action.setChecked(mode == self.settings.label_mode)
            blocker.unblock()
        blocker = QSignalBlocker(self.compact_labels_action)
        self.compact_labels_action.setChecked(self.settings.compact_labels)
        blocker.unblock()
        self.layer.set_label_options(self.settings.label_mode, self.settings.compact_labels)

    def menu_actions(self) -> list[QAction | None]:
        return [
            *self.mode_actions.values(), None, *self.placement_actions.values(), None,
            self.carry_action, self.accept_action, self.accept_all_action, self.reject_action,
            None, self.undo_action, self.redo_action, None,
            self.index_action, self.relabel_action, self.delete_action,
            self.delete_vertebra_action, None, self.hide_action, self.magnification_action,
            self.remove_calibration_action, None, self.export_action,
        ]

    # -- image and model ---------------------------------------------------------------------
    def store(self):
        """The autosave store, opened on first use; ``None`` if it cannot be opened."""
        if self._store is None:
            from ovcf_viewer.io.store import AnnotationStore

            self._store = AnnotationStore()
        return self._store

    def set_image(self, image: RadiographImage | None) -> None:
        """Show the annotations of ``image`` (a :class:`RadiographImage`), restored from the
        autosave store when it has them."""
        self._detach()
        self.image = image
        # The view was given the window's idea of the calibration; always replace it with the
        # one every number here uses (manual line, magnification setting), even when it
        # happens to equal the previous image's.
        self._calibration_stale = True
        if image is None:
            self.model = None
            self._on_model_changed()
            return
        model = None
        try:
            model = self.store().load(image.sop_instance_uid)
        except OSError as exc:
            self._set_save_status(f"Annotation store unavailable: {exc}")
        file = image.path.name if image.path is not None else ""
        if model is None:
            model = ImageAnnotations(image.sop_instance_uid, file,
                                     rows=image.rows, columns=image.columns)
        else:
            model.file = model.file or file
            model.rows, model.columns = image.rows, image.columns
        self._attach(model)
        self._find_carry_sources()

    def _find_carry_sources(self) -> None:
        """Offer carry-forward when the scanned folder holds another annotated film of this
        image's patient."""
        from ovcf_viewer.services.carry_forward import find_sources

        self.previous_film = None
        if self.image is None:
            return
        scan = self._browser.scan_result() if self._browser is not None else None
        try:
            sources = find_sources(scan, self.image.sop_instance_uid, self.store())
        except OSError as exc:
            log.warning("carry-forward sources not searched: %s", exc)
            sources = []
        self.set_carry_sources(sources)

    def _attach(self, model: ImageAnnotations) -> None:
        self.model = model
        model.changed.connect(self._on_model_changed)
        self.undo_stack = AnnotationUndoStack(model, self)
        self.undo_group.addStack(self.undo_stack)
        self.undo_group.setActiveStack(self.undo_stack)
        from ovcf_viewer.io.store import Autosaver

        self.autosaver = Autosaver(model, self.store())
        self.autosaver.on_status(self._on_save_status)
        self._set_save_status(self.autosaver.status.message)
        self._offer_level()
        self.modelChanged.emit(model)
        self._on_model_changed()

    def _offer_level(self) -> None:
        """After opening or loading: continue a partly placed vertebra, else offer the
        level below (or above) the last complete one."""
        model = self.model
        if model is None:
            return
        partial = next((v.level for v in model.ordered_vertebrae() if not v.is_complete), None)
        if partial is not None:
            self.set_level(partial)
            return
        complete = list(model.complete_vertebrae())
        if complete:
            last = complete[-1] if self.placement.direction == "down" else complete[0]
            offered = next_level(model, last, self.placement.direction)
            self.set_level(offered or last)

    def _detach(self) -> None:
        self._cancel_interaction()
        if self.model is not None:
            self.model.changed.disconnect(self._on_model_changed)
        if self.undo_stack is not None:
            self.undo_stack.detach()
            self.undo_group.removeStack(self.undo_stack)
            self.undo_stack.deleteLater()
            self.undo_stack = None
        if self.autosaver is not None:
            self.autosaver.detach()
            self.autosaver = None
        self.layer.select(None)

    def load_annotations(self, loaded: ImageAnnotations) -> bool:
        """Replace the current image's annotations with an imported document (one undo
        step); refuses annotations made on another image."""
        if self.model is None:
            self._set_prompt("Open the image first, then load its annotations.")
            return False
        if loaded.sop_instance_uid != self.model.sop_instance_uid:
            self._set_prompt(
                f"These annotations belong to another image (SOP Instance UID "
                f"{loaded.sop_instance_uid}); not loaded."
            )
            return False
        document = loaded.to_json(partial=True)
        with self.model.edit("Load annotations"):
            self.model.restore(document)
        self._offer_level()
        return True

    # -- settings and calibration ------------------------------------------------------------
    def apply_settings(self, settings: Settings) -> None:
        """Take the choices of ``settings`` (from the panel or the toolbar) into the one
        instance; the views follow its events and its owner saves it."""
        self.settings.update_from(settings)

    def _on_settings_changed(self) -> None:
        """Mirror the settings in the panel, the toolbar and the label menu, and measure
        again."""
        self.panel.set_settings(self.settings)
        with QSignalBlocker(self.magnification_action):
            self.magnification_action.setChecked(self.settings.use_magnification)
        self._sync_label_actions()
        self._on_model_changed()

    def _on_magnification_toggled(self, checked: bool) -> None:
        self.settings.use_magnification = checked

    def header_calibration(self) -> Calibration:
        """The image's own calibration (no manual line), per the magnification setting."""
        if self.image is None:
            return Calibration.none()
        return self.image.calibration(use_magnification=self.settings.use_magnification)

    def current_calibration(self) -> Calibration:
        """Calibration used for every number shown (docs/clinical-reference.md §1 order)."""
        if self.image is None:
            return Calibration.none()
        manual = self.model.manual_calibration if self.model is not None else None
        return self.image.calibration(use_magnification=self.settings.use_magnification,
                                      manual=manual)

    def calibrate(self, p1: tuple[float, float], p2: tuple[float, float],
                  true_length_mm: float) -> Calibration:
        """Manual calibration from a line of known length, keeping the header's pixel aspect
        ratio (square pixels without a header calibration); one undo step with its line."""
        if not (true_length_mm > 0 and math.isfinite(true_length_mm)):
            raise ValueError("the true length must be a positive number of mm")
        base = self.header_calibration()
        length = base.distance(p1, p2)
        if length <= 0:
            raise ValueError("the calibration line has no length")
        factor = true_length_mm / length
        manual = Calibration(
            CalibrationSource.MANUAL, base.row_mm * factor, base.col_mm * factor,
            f"line of {true_length_mm:g} mm drawn on this image",
        )
        assert self.model is not None
        with self.model.edit("Calibrate"):
            self.model.tools = [t for t in self.model.tools if t.kind != "calibration"]
            self.model.add_tool(Tool("calibration", [p1, p2], true_length_mm))
            self.model.set_manual_calibration(manual)
        return manual

    def remove_manual_calibration(self) -> None:
        if self.model is None or self.model.manual_calibration is None:
            return
        with self.model.edit("Remove manual calibration"):
            self.model.tools = [t for t in self.model.tools if t.kind != "calibration"]
            self.model.set_manual_calibration(None)

    # -- reacting to the model ---------------------------------------------------------------
    def _on_model_changed(self) -> None:
        calibration = self.current_calibration()
        if self._calibration_stale or calibration != self.calibration:
            self.calibration = calibration
            self._calibration_stale = False
            if self.image is not None:
                self.view.set_calibration(calibration)
        error = ""
        measurements = None
        if self.model is not None:
            try:
                measurements = measure_image(self.model, calibration, self.settings)
            except ValueError as exc:
                error = f"Not measured: {exc}"
        self.measurements = measurements
        self.layer.sync(self.model, measurements, calibration, self.settings.cobb_definition)
        self.panel.show_measurements(measurements, error)
        self._sync_index_action()
        self._update_prompt()
        self.measurementsChanged.emit(measurements)

    def _on_save_status(self, status: SaveStatus) -> None:
        self._set_save_status(status.message)

    def _set_save_status(self, message: str) -> None:
        self.save_status_label.setText(message)
        self.saveStatusChanged.emit(message)

    def _on_view_changed(self, *args) -> None:
        self.layer.set_view_transform(self.view.viewportTransform(),
                                      QRectF(self.view.viewport().rect()))

    # -- modes, level, prompt ----------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self._cancel_interaction()
        self.mode = mode
        if not self.mode_actions[mode].isChecked():
            self.mode_actions[mode].setChecked(True)
        self._draft = ToolDraft(mode) if mode in TOOL_MODES else None
        self.view.set_interaction_handler(None if mode == "navigate" else self)
        self.modeChanged.emit(mode)
        self._update_prompt()

    def _on_mode_action(self, action: QAction) -> None:
        self.set_mode(action.data())

    def set_level(self, level: str) -> None:
        """Choose the level the next landmark clicks place."""
        if level not in LEVELS:
            return
        self.placement.level = level
        combo = getattr(self, "level_combo", None)
        if combo is not None and combo.currentText() != level:
            blocker = QSignalBlocker(combo)
            combo.setCurrentText(level)
            blocker.unblock()
        self._sync_index_action()
        self._update_prompt()

    def _on_direction_changed(self, index: int) -> None:
        self.placement.direction = self.direction_combo.itemData(index)

    def prompt(self) -> str:
        if self.model is None:
            return "Open an image to place landmarks."
        if self.mode == "landmarks":
            return self.placement.prompt(self.model)
        if self._draft is not None:
            text = self._draft.prompt()
            if self._snapped is not None and self._draft.in_progress:
                text += f" — on {self._snapped[0]} {self._snapped[1]}"
            return text
        return "Navigate: drag to pan, drag a handle to move it, P to place landmarks."

    def _update_prompt(self) -> None:
        self._set_prompt(self.prompt())

    def _set_prompt(self, text: str) -> None:
        self.panel.set_prompt(text)
        self.promptChanged.emit(text)

    def current_level(self) -> str:
        """The vertebra the level actions apply to: the selected point's, else the level
        being placed."""
        selected = self.layer.selected
        if selected is not None and selected.level is not None:
            return selected.level
        return self.placement.level

    def index_level(self) -> str:
        """The level the index action (X) marks: the one chosen in the Level box. (It used to
        be the selected point's vertebra: with the Level box on L1 and L2's last point still
        selected, X marked L2.) Selecting a point in navigate mode chooses its level."""
        return self.placement.level

    def _sync_index_action(self) -> None:
        level = self.index_level()
        checked = self.model is not None and level in self.model.index_levels
        blocker = QSignalBlocker(self.index_action)
        self.index_action.setChecked(checked)
        self.index_action.setText(f"Index (fractured) level: {level}")
        blocker.unblock()

    def _on_selection_changed(self, key) -> None:
        name = handle_name(key, self.model) if key is not None else ""
        self.selection_label.setText(f"Selected: {name}" if name else "")
        self.selectionNameChanged.emit(name)
        # In navigate mode a clicked point chooses its vertebra in the Level box, so what the
        # box shows is what X marks; while placing, the box follows the placement instead.
        if self.mode == "navigate" and key is not None and key.is_landmark:
            self.set_level(key.level)
        self._sync_index_action()

    # -- level actions -----------------------------------------------------------------------
    def _on_index_toggled(self, checked: bool) -> None:
        self.set_index_level(self.index_level(), checked)

    def set_index_level(self, level: str, is_index: bool) -> None:
        if self.model is None:
            return
        if is_index and level not in self.model.vertebrae:
            self._set_prompt(f"Place {level}'s landmarks before marking it as an index level.")
            self._sync_index_action()
            return
        self.model.set_index_level(level, is_index)

    def relabel_current(self) -> None:
        if self.model is None:
            return
        old = self.current_level()
        if old not in self.model.vertebrae:
            self._set_prompt(f"{old} has no landmarks to relabel.")
            return
        new = self.ask_level(old)
        if new:
            self.relabel(old, new)

    def relabel(self, old: str, new: str) -> bool:
        if self.model is None:
            return False
        try:
            self.model.relabel(old, new)
        except (ValueError, KeyError) as exc:
            self._set_prompt(f"Not relabelled: {exc}")
            return False
        if self.placement.level == old:
            self.set_level(new)
        return True

    def _ask_level(self, old: str) -> str | None:
        level, ok = QInputDialog.getItem(self.view, "Relabel level", f"New level for {old}:",
                                         list(LEVELS), LEVELS.index(old), False)
        return level if ok else None

    def delete_selected(self) -> None:
        key = self.layer.selected
        if self.model is None or key is None:
            return
        if (landmark := key.landmark()) is not None:
            self.model.remove_point(*landmark)
        elif key.tool_id is not None:
            self.model.remove_tool(key.tool_id)

    def delete_current_vertebra(self) -> None:
        key = self.layer.selected
        if self.model is None:
            return
        if key is not None and key.tool_id is not None:  # a tool: remove it whole
            self.model.remove_tool(key.tool_id)
            return
        level = self.current_level()
        if level in self.model.vertebrae:
            self.model.remove_vertebra(level)

    def _on_hide_toggled(self, hidden: bool) -> None:
        self.layer.set_visible(not hidden)
        self.hide_action.setText("Show annotations" if hidden else "Hide annotations")

    def annotations_visible(self) -> bool:
        return self.layer.is_visible()

    # -- handles -----------------------------------------------------------------------------
    def _on_handle_pressed(self, key: HandleKey) -> None:
        if key.level is not None and self.placement.level != key.level:
            self.set_level(key.level)

    def _on_handle_moving(self, key: HandleKey, xy: tuple[float, float]) -> None:
        model = self.model
        if model is None:
            return
        try:
            if (landmark := key.landmark()) is not None:
                model.preview_point(*landmark, xy)
            elif (tool_point := key.tool_point()) is not None:
                model.preview_tool_point(*tool_point, xy)
        except ValueError:
            pass  # off the image: the handle stays at its last valid place

    def _on_handle_finished(self, key: HandleKey, xy: tuple[float, float]) -> None:
        # A point the user dragged by hand is never edge-assisted.
        model = self.model
        if model is None:
            return
        try:
            if (landmark := key.landmark()) is not None:
                model.set_point(*landmark, xy)
            elif (tool_point := key.tool_point()) is not None:
                model.move_tool_point(*tool_point, xy)
        except ValueError as exc:
            model.cancel_preview()
            self._set_prompt(f"Not moved: {exc}")

    def _on_handle_cancelled(self, key: HandleKey) -> None:
        if self.model is not None:
            self.model.cancel_preview()

    def nudge_selected(self, screen_dx: float, screen_dy: float) -> bool:
        """Move the selected point by ``(screen_dx, screen_dy)`` *screen* pixels; one undo step.

        The screen step goes back through the view's display transform (the pixel aspect
        ``row_mm / col_mm``, then the rotation/flip, :meth:`ImageView.display_transform`) and
        the zoom, so one arrow press moves the point one screen pixel in the pressed
        direction on any film: a column is ``zoom`` screen pixels wide, a row
        ``zoom × pixel_aspect`` high (image units are ``(column, row)``,
        docs/clinical-reference.md §1).
        """
        key = self.layer.selected
        if self.model is None or key is None:
            return False
        # The display transform is linear (no translation), so mapping the step maps a
        # displacement; then one screen pixel is nudge_step(zoom) column widths.
        inverse, ok = self.view.display_transform().inverted()
        if not ok:
            return False
        step = nudge_step(self.view.zoom())
        image_step = inverse.map(QPointF(screen_dx, screen_dy))
        dx, dy = image_step.x() * step, image_step.y() * step
        try:
            if (landmark := key.landmark()) is not None:
                level, name = landmark
                x, y = self.model.vertebrae[level].points[name]
                self.model.set_point(level, name, (x + dx, y + dy))
            elif (tool_point := key.tool_point()) is not None:
                tool_id, index = tool_point
                x, y = self.model.tool(tool_id).points[index]
                self.model.move_tool_point(tool_id, index, (x + dx, y + dy))
        except (ValueError, KeyError) as exc:
            self._set_prompt(f"Not moved: {exc}")
            return False
        return True

    # -- interaction handler (ImageView hook) ------------------------------------------------
    def takes_press_over_items(self) -> bool:
        """While a measuring tool is chosen, every left press draws it, even on a landmark
        handle (a Cobb line starts on a corner); handles are moved in the other modes."""
        return self.mode in TOOL_MODES

    def _to_screen(self, xy: tuple[float, float]) -> tuple[float, float]:
        p = self.view.image_to_view(*xy)
        return (p.x(), p.y())

    def _tool_event(self, kind: str, event: QMouseEvent, image_pos: QPointF,
                    held: bool = False) -> PointerEvent:
        """The pointer event for the tool being drawn: snapped to a landmark corner within
        reach for an angle or Cobb, with the real screen position kept for the tolerances."""
        screen = (event.position().x(), event.position().y())
        xy = (image_pos.x(), image_pos.y())
        self._snapped = None
        if self.mode in SNAPPING_TOOLS and self.model is not None:
            corner = nearest_corner(self.model, screen, self._to_screen)
            if corner is not None:
                self._snapped = corner
                xy = corner[2]
        return PointerEvent(kind, *xy, buttons_down=held, screen=screen)

    def _feed_draft(self, model: ImageAnnotations, draft: ToolDraft,
                    pointer: PointerEvent) -> None:
        done = draft.handle(pointer, DRAG_THRESHOLD_PX / max(self.view.zoom(), 1e-9),
                            self._to_screen)
        self._show_draft()
        if done:
            self._finish_tool(model, draft)

    def press(self, view, event: QMouseEvent, image_pos: QPointF) -> bool:
        if self.model is None:
            return False
        if event.button() == Qt.MouseButton.RightButton:
            # A right click cancels a half-drawn tool or landmark (otherwise: window/level).
            if self._placing is not None or (self._draft is not None
                                             and self._draft.in_progress):
                self._cancel_interaction()
                self._update_prompt()
                return True
            return False
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        xy = (image_pos.x(), image_pos.y())
        if self.mode == "landmarks":
            return self._press_landmark(self.model, xy, event.position())
        if self._draft is not None:
            pointer = self._tool_event("press", event, image_pos)
            if not self._inside(pointer.xy):
                self._set_prompt("Click on the image.")
                return True
            self._feed_draft(self.model, self._draft, pointer)
            return True
        return False

    def move(self, view, event: QMouseEvent, image_pos: QPointF) -> bool:
        if self.model is None:
            return False
        xy = (image_pos.x(), image_pos.y())
        held = bool(event.buttons() & Qt.MouseButton.LeftButton)
        if self._placing is not None and held:
            level, name, _, press_view = self._placing
            if (event.position() - press_view).manhattanLength() > DRAG_THRESHOLD_PX:
                self._placing_dragged = True
            if self._placing_dragged and self._inside(xy):
                self.model.preview_point(level, name, xy)
            return True
        if self._draft is not None and self._draft.points:
            self._draft.handle(self._tool_event("move", event, image_pos, held))
            self._show_draft()
            return held
        return False

    def release(self, view, event: QMouseEvent, image_pos: QPointF) -> bool:
        if self.model is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        xy = (image_pos.x(), image_pos.y())
        if self._placing is not None:
            self._release_landmark(self.model, self._placing, xy)
            return True
        if self._draft is not None:
            pointer = self._tool_event("release", event, image_pos)
            if self._draft.in_progress and self._inside(pointer.xy):
                self._feed_draft(self.model, self._draft, pointer)
            return True
        return False

    def _inside(self, xy: tuple[float, float]) -> bool:
        return self.image is not None and self.image.contains(*xy)

    def _press_landmark(self, model: ImageAnnotations, xy: tuple[float, float],
                        view_pos: QPointF) -> bool:
        target = self.placement.target(model)
        if target is None:
            self.placement.after_placement(model)
            self.set_level(self.placement.level)
            target = self.placement.target(model)
            if target is None:
                self._set_prompt(f"{self.placement.level} is complete; choose another level.")
                return True
        if not self._inside(xy):
            self._set_prompt("Click on the image. " + self.prompt())
            return True
        level, name = target
        model.preview_point(level, name, xy)
        self._placing = (level, name, xy, QPointF(view_pos))
        self._placing_dragged = False
        self.layer.select(HandleKey(level=level, name=name))
        return True

    def _release_landmark(self, model: ImageAnnotations,
                          placing: tuple[str, str, tuple[float, float], QPointF],
                          xy: tuple[float, float]) -> None:
        level, name, press_xy, _ = placing
        self._placing = None
        dragged = self._placing_dragged
        final = xy if dragged and self._inside(xy) else press_xy
        self.last_snap_mm = None
        if not dragged and self.settings.edge_assist and self.image is not None:
            final = self._edge_assist(self.image, final, name)
        with model.edit(f"Place {level} {name}"):
            vertebra = model.vertebrae.get(level)
            if self.placement.mode == "four_corner" and (
                    vertebra is None or set(vertebra.points) <= {name}):
                model.set_vertebra_mode(level, "four_corner")
            model.set_point(level, name, final)
        if self.placement.wants_proposal(model):
            self._propose_two_clicks(model, level)
        offered = self.placement.after_placement(model)
        if offered is not None:
            self.set_level(offered)
            self._set_prompt(f"{level} complete. " + self.prompt())
        elif self.placement.target(model) is None:
            self._set_prompt(f"{level} complete; no level left in this direction.")

    def _propose_two_clicks(self, model: ImageAnnotations, level: str) -> None:
        previous, spacing = self.previous_film if self.previous_film else (None, None)
        calibration = self.calibration
        try:
            where = complete_two_clicks(
                model, level, previous, col_mm=calibration.col_mm,
                row_mm=calibration.row_mm, previous_spacing=spacing,
            )
        except ValueError as exc:
            self._set_prompt(f"{level}: no proposal ({exc})")
            return
        self._set_prompt(f"{level}: the other points proposed from {where}. "
                         + self.placement.prompt(model))

    # -- placement modes and proposals -------------------------------------------------------
    def set_placement_mode(self, mode: str) -> None:
        """Six points, four corners or two clicks per vertebra (the placement modes of
        :mod:`ovcf_viewer.measure.placement`)."""
        if mode not in PLACEMENT_MODES:
            raise ValueError(f"unknown placement mode {mode!r}")
        self.placement.mode = mode
        action = self.placement_actions[mode]
        if not action.isChecked():
            action.setChecked(True)
        combo = getattr(self, "placement_combo", None)
        if combo is not None and combo.currentData() != mode:
            blocker = QSignalBlocker(combo)
            combo.setCurrentIndex(combo.findData(mode))
            blocker.unblock()
        self._update_prompt()

    def _on_placement_action(self, action: QAction) -> None:
        self.set_placement_mode(action.data())

    def _on_placement_combo(self, index: int) -> None:
        self.set_placement_mode(self.placement_combo.itemData(index))

    def _proposal_level(self) -> str | None:
        """The vertebra a per-level proposal action applies to: the current one if it has
        a proposal, else the first proposed vertebra."""
        if self.model is None:
            return None
        level = self.current_level()
        vertebra = self.model.vertebrae.get(level)
        if vertebra is not None and vertebra.has_proposal:
            return level
        return next((v.level for v in self.model.ordered_vertebrae() if v.has_proposal), None)

    def accept_current_proposal(self) -> None:
        level = self._proposal_level()
        if level is not None and self.model is not None:
            self.model.accept_proposal(level)
            self._set_prompt(f"{level} accepted. " + self.prompt())

    def accept_all_proposals(self) -> None:
        if self.model is None:
            return
        levels = [v.level for v in self.model.ordered_vertebrae() if v.has_proposal]
        if levels:
            with self.model.edit("Accept all proposals"):
                for level in levels:
                    self.model.accept_proposal(level)
            self._set_prompt(f"Accepted {', '.join(levels)}. " + self.prompt())

    def reject_current_proposal(self) -> None:
        level = self._proposal_level()
        if level is not None and self.model is not None:
            self.model.remove_vertebra(level)
            self._set_prompt(f"{level}: proposal rejected. " + self.prompt())

    def set_carry_sources(self, sources: list) -> None:
        """Offer carrying landmarks forward from ``sources`` (CarrySource, best first)."""
        self.carry_sources = list(sources)
        self.carry_action.setEnabled(bool(self.carry_sources))
        if self.carry_sources:
            first = self.carry_sources[0]
            self.carry_action.setText(f"Carry landmarks forward from {first.path.name}")
            self._set_prompt(f"This patient's film {first.label} has landmarks: Annotate ▸ "
                             "Carry landmarks forward proposes them here.")
        else:
            self.carry_action.setText("Carry landmarks forward")

    def carry_forward(self, *args, source=None) -> bool:
        """Propose the landmarks of ``source`` (default: the first carry source) on this
        film, computed off the GUI thread; ``carryForwardFinished`` reports the levels
        proposed or why none were. Returns whether the computation started."""
        source = source or (self.carry_sources[0] if self.carry_sources else None)
        if self.model is None or self.image is None or source is None:
            self._set_prompt("No other annotated film of this patient to carry from.")
            return False
        from ovcf_viewer.io.dicom import ImageLoadError, load_image

        try:
            source_image = load_image(source.path)
            source_model = self.store().load(source.sop_instance_uid) if self.store() else None
        except (ImageLoadError, OSError, ValueError) as exc:
            self._set_prompt(f"Not carried forward: {exc}")
            return False
        if source_model is None:
            self._set_prompt(f"Not carried forward: {source.path.name} has no landmarks.")
            return False
        calibration = source_image.calibration()
        self.previous_film = (source_model, (calibration.row_mm, calibration.col_mm))
        worker = CarryWorker(source_image, source_model, self.image)
        worker.signals.finished.connect(self._on_carry_finished)
        self._carry_workers.append(worker)
        self.carry_action.setEnabled(False)
        self._set_prompt(f"Carrying landmarks forward from {source.path.name}…")
        QThreadPool.globalInstance().start(worker)
        return True

    def _on_carry_finished(self, target_uid: str, result: CarryForwardResult | str) -> None:
        from ovcf_viewer.services.carry_forward import proposals_of

        self._carry_workers = [w for w in self._carry_workers
                               if w.signals is not self.sender()]
        self.carry_action.setEnabled(bool(self.carry_sources))
        if self.model is None or self.model.sop_instance_uid != target_uid:
            self.carryForwardFinished.emit("the film changed before the proposal was ready")
            return
        if isinstance(result, str):
            self._set_prompt(f"Not carried forward: {result}")
            self.carryForwardFinished.emit(result)
            return
        placed = {v.level for v in self.model.vertebrae.values() if not v.has_proposal}
        levels = apply_proposals(self.model, proposals_of(result))
        flagged = [lv for lv in result.flagged_levels if lv in levels]
        off_film = [lv for lv in result.proposals if lv not in levels and lv not in placed]
        message = (f"Proposed {', '.join(levels)}: Enter accepts a level, Shift+Enter all, "
                   "drag to adjust, Shift+Delete rejects." if levels
                   else "Every level is already placed on this film: nothing proposed.")
        if off_film:
            message += f" Not proposed (off this film): {', '.join(off_film)}."
        if flagged:
            message += " Check " + "; ".join(
                f"{lv}: {result.proposals[lv].reason_text}" for lv in flagged)
        if levels:
            self.set_level(levels[0])
        self._set_prompt(message)
        self.carryForwardFinished.emit(levels)

    def _edge_assist(self, image: RadiographImage, xy: tuple[float, float],
                     name: str) -> tuple[float, float]:
        from ovcf_viewer.measure.edge_assist import snap_corner
        from ovcf_viewer.model.errors import ImageLoadError

        try:
            # Edge assist reads pixel values: a film opened progressively is snapped on its
            # full resolution only (normally long arrived by the first click).
            image.wait_for_pixels()
            snapped, moved = snap_corner(image.stored, xy, name, self.calibration)
        except ImageLoadError as exc:
            log.warning("edge assist skipped: %s", exc)
            return xy
        except (ValueError, MemoryError) as exc:
            log.warning("edge assist skipped: %s", exc)
            return xy
        self.last_snap_mm = moved
        return snapped if self._inside(snapped) else xy

    def _show_draft(self) -> None:
        draft = self._draft
        if draft is None:
            self.layer.show_draft(None, [])
            return
        points = draft.preview_points()
        text = ""
        if len(points) == draft.needed:
            text = tool_label(Tool(draft.kind, points), self.calibration)
        self.layer.show_draft(draft.kind, points, text)
        self._update_prompt()

    def _finish_tool(self, model: ImageAnnotations, draft: ToolDraft) -> None:
        self._draft = ToolDraft(draft.kind)
        self.layer.show_draft(None, [])
        points = draft.points[: draft.needed]
        try:
            if draft.kind == "calibration":
                length = self.ask_true_length(self.calibration.distance(*points),
                                              self.calibration)
                if length is None:
                    self._set_prompt("Calibration cancelled.")
                    return
                manual = self.calibrate(points[0], points[1], length)
                self._set_prompt(manual.statement())
            else:
                model.add_tool(Tool(draft.kind, points))
                self._update_prompt()
        except ValueError as exc:
            self._set_prompt(f"Not added: {exc}")

    def _ask_true_length(self, drawn: float, calibration: Calibration) -> float | None:
        drawn_text = fmt.length(drawn, calibration.unit_tag)
        value, ok = QInputDialog.getDouble(
            self.view, "Calibration line",
            f"The line measures {drawn_text}.\nIts true length in mm:",
            round(drawn, 1) if calibration.is_calibrated else 10.0, 0.01, 10000.0, 2,
        )
        return value if ok else None

    def _cancel_interaction(self) -> bool:
        """Cancel a drag, a landmark being placed or a tool being drawn (Esc)."""
        cancelled = False
        handle = self.layer.dragging_handle()
        if handle is not None:
            handle.cancel_drag()
            cancelled = True
        if self._placing is not None:
            self._placing = None
            if self.model is not None:
                self.model.cancel_preview()
            cancelled = True
        if self._draft is not None and self._draft.in_progress:
            self._draft = ToolDraft(self._draft.kind)
            cancelled = True
        self.layer.show_draft(None, [])
        if self.model is not None and self.model.in_preview:
            self.model.cancel_preview()
        return cancelled

    # -- keys --------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.view and isinstance(event, QKeyEvent) \
                and event.type() == QEvent.Type.KeyPress:
            return self._key_press(event)
        return super().eventFilter(watched, event)

    def _key_press(self, event: QKeyEvent) -> bool:
        key = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Escape:
            if self._cancel_interaction():
                self._update_prompt()
                return True
            if self.layer.selected is not None:
                self.layer.select(None)
                return True
            return False
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._proposal_level():
            if shift:
                self.accept_all_proposals()
            else:
                self.accept_current_proposal()
            return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            if shift:
                self.delete_current_vertebra()
            else:
                self.delete_selected()
            return True
        arrows = {Qt.Key.Key_Left.value: (-1, 0), Qt.Key.Key_Right.value: (1, 0),
                  Qt.Key.Key_Up.value: (0, -1), Qt.Key.Key_Down.value: (0, 1)}
        if key in arrows and self.layer.selected is not None:
            dx, dy = arrows[key]
            step = 10.0 if shift else 1.0
            self.nudge_selected(dx * step, dy * step)
            return True
        return False

    # -- queries used by the main window and tests --------------------------------------------
    def handle_item(self, level: str, name: str):
        return self.layer.handles.get(HandleKey(level=level, name=name))

    def placed_names(self, level: str) -> list[str]:
        vertebra = self.model.vertebrae.get(level) if self.model else None
        return [n for n in POINT_NAMES if vertebra and n in vertebra.points]

    def _on_clean_changed(self, clean: bool) -> None:
        """Edits are autosaved; "unsaved" here means not exported since the last edit."""
        window = self.view.window()
        if window is not None and "[*]" in window.windowTitle():
            window.setWindowModified(not clean)
        self.export_action.setText("Export annotations (JSON)…" if clean
                                   else "Export annotations (JSON)… (changed since export)")

    def choose_export_path(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        if self.model is None:
            self._set_prompt("Open an image first.")
            return
        suggested = Path(self.model.file or "annotations").with_suffix(".json").name
        if self.image is not None and self.image.path is not None:
            suggested = str(self.image.path.with_suffix(".json"))
        path, _ = QFileDialog.getSaveFileName(self.view, "Export annotations", suggested,
                                              "Annotations (*.json)")
        if path:
            try:
                self.export_annotations(path)
            except (OSError, ValueError) as exc:
                self._set_prompt(f"Not exported: {exc}")
                return
            self._set_prompt(f"Annotations written to {path}")

    def export_annotations(self, path: str | Path) -> None:
        """Write the exchange-format file and mark the undo stack clean."""
        from ovcf_viewer.model.landmarks import save_annotations

        if self.model is None:
            raise ValueError("no image is open")
        save_annotations(self.model, path)
        if self.undo_stack is not None:
            self.undo_stack.setClean()

