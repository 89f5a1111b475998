"""Training mode: a resident practises six-point landmark placement against an expert
(docs/clinical-reference.md §2, §7).

The window holds an :class:`~ovcf_viewer.qt.viewer.image_view.ImageView` and a side panel:

1. **Resident** — the profile name (history is kept per name in
   :class:`~ovcf_viewer.io.training_history.TrainingHistory`);
2. **Case** — a film from the teaching library (:mod:`ovcf_viewer.io.teaching`: the synthetic
   cases, rendered on first use, the bundled samples and the saved cases), or *Random*, which
   never gives the picture just practised and prefers films this resident has not practised;
3. **Start** — the film opens with the expert's landmarks hidden; the panel names the levels to
   mark. Placement is the viewer's own (:class:`~ovcf_viewer.qt.annotate.annotation_controller.
   AnnotationController`): click the six points of each level in the order sa, sm, sp, ia, im,
   ip; drag handles to correct; Undo/Redo. Edge assist is switched off so the score measures
   the resident's hand, and nothing is written to the annotation store (the film's saved
   annotations are neither shown nor overwritten). Practice is de-identified whatever the
   film's header holds: the overlays show the case title, never the patient's name, ID,
   birth date or study date (:func:`practice_patient`). The viewer's loupe and window/level
   presets are on the toolbar;
4. **Submit** — the attempt is scored (:func:`~ovcf_viewer.measure.scoring.score_attempt`) and
   stored; the *Feedback* tab shows the error table and advice, and the image shows the
   expert's points (green), the resident's (orange) and the error vectors (red). When every
   vertebra was marked one level off, the level-shift message is shown first and alone;
5. **Progress** — mean point error and grade agreement over the resident's attempts
   (matplotlib, imported on first use), and *Export CSV…* of every resident's attempts. An
   attempt on a picture the resident already practised is a *repeat*: drawn hollow and grey,
   off the progress line, so practising one film again does not read as improvement.

:func:`save_as_teaching_case` is the main window's "Save as teaching case…" action;
:class:`TrainingActions` holds both; the application window places them in its *Training* menu.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
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
from PySide6.QtGui import QAction, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGraphicsItem,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyleOptionGraphicsItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.io.teaching import (
    BurnedInAnnotationError,
    PracticeFilm,
    TeachingCase,
    TeachingCaseError,
    levels_to_mark,
    practice_films,
    random_film,
    save_teaching_case,
)
from ovcf_viewer.io.training_history import ProgressPoint, TrainingHistory
from ovcf_viewer.measure.scoring import AttemptScore, score_attempt
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.image import PatientInfo, RadiographImage
from ovcf_viewer.model.landmarks import POINT_NAMES, ImageAnnotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.theme import is_dark
from ovcf_viewer.qt.viewer.image_view import ImageView
from ovcf_viewer.qt.viewer.loupe import Loupe
from ovcf_viewer.qt.viewer.window_presets import WindowPresets
from ovcf_viewer.render import format as fmt
from ovcf_viewer.render.chart_ink import DARK, LIGHT, ChartInk, rc

if TYPE_CHECKING:
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

    from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
    from ovcf_viewer.qt.main_window import MainWindow

__all__ = [
    "FeedbackOverlay",
    "ProgressChart",
    "ScratchStore",
    "TrainingActions",
    "TrainingWindow",
    "practice_patient",
    "repeated_attempts",
    "save_as_teaching_case",
]

log = logging.getLogger(__name__)

EXPERT_COLOUR = QColor(80, 220, 120)
RESIDENT_COLOUR = QColor(255, 166, 48)
ERROR_COLOUR = QColor(255, 70, 70)
#: On-screen size of the overlay markers (screen pixels, constant at any zoom).
MARKER_RADIUS_PX = 5.0
REPEAT_COLOUR = LIGHT.repeat


def practice_patient(image: RadiographImage, film: PracticeFilm) -> PatientInfo:
    """What the overlays may show of a practice film's header: the case title in place of
    the name, and the view (modality, view position, body part, sex); never the name, ID,
    birth date, study date or descriptions, whatever the file holds (a saved case is
    de-identified already, but a film put in the teaching folder by hand may not be)."""
    p = image.patient
    return PatientInfo(name=f"Practice: {film.title}", sex=p.sex,
                       view_position=p.view_position, body_part=p.body_part)


def repeated_attempts(points: Sequence[ProgressPoint],
                      content_of: dict[str, str] | None = None) -> list[bool]:
    """For each attempt (oldest first), whether the resident had already practised the same
    picture: same case and film, or the same :meth:`PracticeFilm.content_key` through
    ``content_of`` (``"<case_id>/<label>"`` → content key)."""
    content_of = content_of or {}
    seen: set[str] = set()
    out = []
    for p in points:
        key = f"{p.case_id}/{p.image_label}"
        content = content_of.get(key, key)
        out.append(content in seen)
        seen.add(content)
    return out


class ScratchStore:
    """Stands in for the annotation store while a resident practises: keeps the attempt in
    memory, never restores saved annotations (the reference stays hidden) and never writes
    to the user's store."""

    def __init__(self) -> None:
        self.documents: dict[str, dict] = {}

    def save(self, model: ImageAnnotations) -> None:
        self.documents[model.sop_instance_uid] = model.to_json(partial=True)

    def load(self, sop_instance_uid: str) -> ImageAnnotations | None:
        return None

    def unread_reason(self, sop_instance_uid: str) -> str | None:
        return None  # nothing is read, so nothing is unreadable

    def version(self, sop_instance_uid: str) -> int:
        return 0

    def track(self, sop_instance_uid: str) -> None:
        """Nothing to track: the attempt is never written where others could write."""

    def close(self) -> None:
        self.documents.clear()


class _PreparedNotice(QObject):
    """Carries "case rendered" from the worker thread to the window (queued). Parentless, held
    by the task: a render still running when the window closes must not emit on a deleted
    object."""

    done = Signal(object, str)  # the PracticeFilm, "" or the one-line reason it failed


class _PrepareCase(QRunnable):
    """Renders a synthetic teaching case off the GUI thread (:meth:`PracticeFilm.ensure_files`,
    about a second)."""

    def __init__(self, film: PracticeFilm, notice: _PreparedNotice) -> None:
        super().__init__()
        self.film, self.notice = film, notice

    def run(self) -> None:
        try:
            self.film.ensure_files()
            problem = ""
        except TeachingCaseError as exc:
            problem = str(exc)
        except Exception as exc:  # a worker must report, never die silently
            log.exception("teaching case %s not prepared", self.film.key)
            problem = f"{self.film.title}: could not be prepared ({exc})"
        self.notice.done.emit(self.film, problem)


# -- the overlay ---------------------------------------------------------------------------

def _outline(points: dict[str, tuple[float, float]]) -> QPainterPath:
    """Both endplates (sp→sm→sa, ip→im→ia) and the anterior/posterior walls."""
    path = QPainterPath()
    for chain in (("sp", "sm", "sa"), ("ip", "im", "ia"), ("sa", "ia"), ("sp", "ip")):
        placed = [points[n] for n in chain if n in points]
        if len(placed) < 2:
            continue
        path.moveTo(QPointF(*placed[0]))
        for xy in placed[1:]:
            path.lineTo(QPointF(*xy))
    return path


class OverlayMarker(QGraphicsItem):
    """One landmark marker of the feedback overlay at an image point: the expert's (circle)
    or the resident's (diagonal cross), :data:`MARKER_RADIUS_PX` screen pixels in radius.

    It ignores the view transform (``ItemIgnoresTransformations``, as the landmark handles in
    :mod:`ovcf_viewer.qt.annotate.landmark_items` do), so it stays round and the same size on
    screen at
    any zoom, rotation or flip and on films with non-square pixels, whose rows the view draws
    ``pixel_aspect`` times as high as columns are wide (:meth:`ImageView.display_transform`).
    """

    def __init__(self, parent: QGraphicsItem, xy: tuple[float, float], expert: bool) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setPos(QPointF(*xy))
        self.expert = expert

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        r = MARKER_RADIUS_PX + 1.5  # half the widest pen and antialiasing
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        r = MARKER_RADIUS_PX
        if self.expert:
            painter.setPen(QPen(EXPERT_COLOUR, 1.5))
            painter.drawEllipse(QPointF(0.0, 0.0), r, r)
        else:
            painter.setPen(QPen(RESIDENT_COLOUR, 2.0))
            painter.drawLine(QPointF(-r, -r), QPointF(r, r))
            painter.drawLine(QPointF(-r, r), QPointF(r, -r))


class FeedbackOverlay(QGraphicsItem):
    """The expert's landmarks (green circles, solid outline), the resident's (orange crosses,
    dashed outline) and each error vector (red line from the expert's point to the
    resident's), in image coordinates; the markers (:class:`OverlayMarker` children) keep
    their screen size and round shape at any zoom and pixel aspect, lines are cosmetic."""

    def __init__(
        self, reference: ImageAnnotations, attempt: ImageAnnotations, levels: Sequence[str]
    ) -> None:
        super().__init__()
        self.setZValue(20.0)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.expert = {lv: dict(reference.vertebrae[lv].points) for lv in levels
                       if lv in reference.vertebrae}
        self.resident = {lv: dict(attempt.vertebrae[lv].points) for lv in levels
                         if lv in attempt.vertebrae}
        xs = [p[0] for pts in (*self.expert.values(), *self.resident.values())
              for p in pts.values()]
        ys = [p[1] for pts in (*self.expert.values(), *self.resident.values())
              for p in pts.values()]
        self._bounds = (
            QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            if xs else QRectF()
        )
        # Markers are child items at screen size, round on screen on any film.
        self.markers = [OverlayMarker(self, xy, expert=True)
                        for points in self.expert.values() for xy in points.values()]
        self.markers += [OverlayMarker(self, xy, expert=False)
                         for points in self.resident.values() for xy in points.values()]

    def data_rect(self) -> QRectF:
        """The rectangle holding every point (image coordinates)."""
        return QRectF(self._bounds)

    def error_vectors(self) -> list[tuple[str, str, tuple[float, float], tuple[float, float]]]:
        """``(level, name, expert_xy, resident_xy)`` for every placed landmark."""
        out = []
        for level, points in self.resident.items():
            for name in POINT_NAMES:
                if name in points and name in self.expert.get(level, {}):
                    out.append((level, name, self.expert[level][name], points[name]))
        return out

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        # Markers and level names are drawn at screen size: leave room for them at low zoom.
        margin = 1500.0
        return self._bounds.adjusted(-margin, -margin, margin, margin)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)

        def pen(colour: QColor, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
            p = QPen(colour, width, style)
            p.setCosmetic(True)
            return p

        for points in self.expert.values():
            painter.setPen(pen(EXPERT_COLOUR, 1.5))
            painter.drawPath(_outline(points))
        for points in self.resident.values():
            painter.setPen(pen(RESIDENT_COLOUR, 1.5, Qt.PenStyle.DashLine))
            painter.drawPath(_outline(points))
        painter.setPen(pen(ERROR_COLOUR, 2.0))
        for _, _, (ex, ey), (ax, ay) in self.error_vectors():
            painter.drawLine(QPointF(ex, ey), QPointF(ax, ay))
        # Level names at screen size, beside the expert's outline.
        for level, points in self.expert.items():
            x = max(p[0] for p in points.values())
            y = sum(p[1] for p in points.values()) / len(points)
            anchor = painter.worldTransform().map(QPointF(x, y))
            painter.save()
            painter.resetTransform()
            painter.setPen(pen(EXPERT_COLOUR, 1.0))
            painter.drawText(anchor + QPointF(14.0, 4.0), level)
            painter.restore()


# -- the progress chart --------------------------------------------------------------------

class ProgressChart(QWidget):
    """Mean point error and Genant grade agreement over a resident's attempts, in the theme's
    colours (drawn again when the theme changes). matplotlib is imported when the first
    series is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.placeholder = QLabel("No attempts yet: practise a case to see your progress.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self._layout.addWidget(self.placeholder)
        self.canvas: FigureCanvasQTAgg | None = None
        self.figure: Figure | None = None
        self.series: list[ProgressPoint] = []
        self.resident = ""
        self.repeats: list[bool] = []

    def set_series(self, resident: str, points: Sequence[ProgressPoint],
                   repeats: Sequence[bool] | None = None) -> None:
        """Draw ``points``; ``repeats[i]`` marks an attempt on a picture practised before
        (:func:`repeated_attempts`): drawn apart, not on the progress line."""
        self.series = list(points)
        self.repeats = list(repeats) if repeats is not None else [False] * len(self.series)
        if not self.series:
            self.placeholder.setVisible(True)
            if self.canvas is not None:
                self.canvas.setVisible(False)
            return
        if self.canvas is None or self.figure is None:
            from matplotlib.figure import Figure

            from ovcf_viewer.qt.chart_canvas import chart_canvas

            self.figure = Figure(figsize=(4.2, 3.6), layout="constrained")
            self.canvas = chart_canvas(self.figure)
            self.canvas.setMinimumHeight(260)
            self._layout.addWidget(self.canvas)
        self.placeholder.setVisible(False)
        self.canvas.setVisible(True)
        self.resident = resident
        self._draw(resident, self.figure, self.canvas)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """A theme change: the chart is drawn again in the new theme's colours."""
        super().changeEvent(event)
        if (event.type() == QEvent.Type.PaletteChange and hasattr(self, "resident")
                and self.figure is not None and self.canvas is not None and self.series):
            self._draw(self.resident, self.figure, self.canvas)

    def ink(self) -> ChartInk:
        """The chart's colours: dark on the dark theme, light otherwise."""
        return DARK if is_dark(self.palette()) else LIGHT

    def _draw(self, resident: str, fig: Figure, canvas: FigureCanvasQTAgg) -> None:
        import matplotlib

        ink = self.ink()
        fig.clear()
        fig.set_facecolor(ink.face)
        with matplotlib.rc_context(rc(ink)):
            self._draw_series(resident, fig, ink)
        canvas.draw_idle()

    def _draw_series(self, resident: str, fig: Figure, ink: ChartInk) -> None:
        error_axes, agreement_axes = fig.subplots(2, 1, sharex=True)
        numbers = list(range(1, len(self.series) + 1))
        from ovcf_viewer.model.calibration import CalibrationSource

        sources = {p.calibration_source for p in self.series}
        if len(sources) == 1 and sources <= {s.value for s in CalibrationSource}:
            unit = CalibrationSource(sources.pop()).unit_tag
        else:
            unit = "mm or px, mixed calibrations"
        errors = [p.mean_point_error if p.mean_point_error is not None else math.nan
                  for p in self.series]
        agreement = [p.grade_agreement * 100 if p.grade_agreement is not None else math.nan
                     for p in self.series]
        first = [not r for r in self.repeats]
        # The progress line joins first attempts only: a repeat of a picture already
        # practised is drawn hollow and grey beside it, so it cannot read as improvement.
        error_axes.plot([n for n, f in zip(numbers, first, strict=True) if f],
                        [e for e, f in zip(errors, first, strict=True) if f],
                        marker="o", color=ink.progress[0], label="first attempt at a film")
        if any(self.repeats):
            error_axes.plot([n for n, r in zip(numbers, self.repeats, strict=True) if r],
                            [e for e, r in zip(errors, self.repeats, strict=True) if r],
                            linestyle="none", marker="o", markerfacecolor="none",
                            color=ink.repeat, label="repeat (not counted as progress)")
            # Points sit in the top fifth (the y range is 0 to 1.25 × the largest error).
            error_axes.legend(fontsize=7, loc="lower left")
        error_axes.set_ylabel(f"mean point\nerror ({unit})")
        finite = [e for e in errors if not math.isnan(e)]
        error_axes.set_ylim(0, max(finite, default=1.0) * 1.25 or 1.0)
        error_axes.grid(alpha=0.3)
        error_axes.set_title(f"Progress of {resident}", fontsize=10)
        for n, p, e, repeat in zip(numbers, self.series, errors, self.repeats, strict=True):
            if not math.isnan(e):
                error_axes.annotate(p.image_label + (" (repeat)" if repeat else ""), (n, e),
                                    textcoords="offset points", xytext=(0, 6), ha="center",
                                    fontsize=7, color=ink.repeat if repeat else ink.text)
        agreement_axes.plot([n for n, f in zip(numbers, first, strict=True) if f],
                            [a for a, f in zip(agreement, first, strict=True) if f],
                            marker="s", color=ink.progress[1])
        if any(self.repeats):
            agreement_axes.plot([n for n, r in zip(numbers, self.repeats, strict=True) if r],
                                [a for a, r in zip(agreement, self.repeats, strict=True) if r],
                                linestyle="none", marker="s", markerfacecolor="none",
                                color=ink.repeat)
        agreement_axes.set_ylabel("Genant grade\nagreement (%)")
        agreement_axes.set_ylim(-5, 105)
        agreement_axes.grid(alpha=0.3)
        agreement_axes.set_xlabel("attempt (oldest first)")
        agreement_axes.set_xticks(numbers)
        agreement_axes.set_xlim(0.5, len(numbers) + 0.5)  # room for the end points' labels
        agreement_axes.set_xticklabels(
            [f"{n}\n{p.timestamp.astimezone().strftime('%d %b')}"
             for n, p in zip(numbers, self.series, strict=True)], fontsize=7)


# -- the window ----------------------------------------------------------------------------

def _num(value: float | None, decimals: int = 1, signed: bool = False) -> str:
    return fmt.MISSING if value is None else fmt.number(value, decimals, signed=signed)


class TrainingWindow(QMainWindow):
    """Practice window; see the module docstring. ``attemptScored(AttemptScore)`` after each
    submitted attempt is stored."""

    attemptScored = Signal(object)
    #: A film is on screen, ready for landmarks (after a synthetic case was rendered, too).
    filmStarted = Signal(object)
    FEEDBACK_ROWS = ("Mean point error", "Worst point", "Ha error", "Hm error", "Hp error",
                     "Wedge angle error", "Segmental kyphosis error", "Genant grade you / expert")

    def __init__(
        self,
        history: TrainingHistory | None = None,
        films: Sequence[PracticeFilm] | None = None,
        settings: Settings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("OVCF Viewer — Training mode")
        self.history_problem = ""
        if history is None:
            try:
                history = TrainingHistory()
            except OSError as exc:  # damaged file, read-only folder: practise anyway
                import tempfile

                self.history_problem = (f"{exc}. Attempts are kept for this session only.")
                history = TrainingHistory(Path(tempfile.mkdtemp()) / "training.sqlite3")
        self.history = history
        self.films = list(films) if films is not None else practice_films()
        # Edge assist would move the resident's clicks: off, in a copy of the application's
        # settings taken when practice starts (one attempt is scored under one set of choices;
        # nothing here is saved).
        self.settings = (settings or Settings()).replace(edge_assist=False)
        self.film: PracticeFilm | None = None
        self.image: RadiographImage | None = None
        self.reference: ImageAnnotations | None = None
        self.levels: tuple[str, ...] = ()
        self.calibration: Calibration | None = None
        self.score: AttemptScore | None = None
        self.overlay: FeedbackOverlay | None = None
        self._started_at = 0.0
        self._preparing: PracticeFilm | None = None
        self._prepared_notice = _PreparedNotice()
        self._prepared_notice.done.connect(self._on_case_prepared)
        self._content_cache: tuple[tuple[PracticeFilm, ...], dict[str, str]] = ((), {})

        from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController

        self.view = ImageView(self)
        self.controller = AnnotationController(self.view, self.settings, self,
                                               store=ScratchStore())
        self.controller.promptChanged.connect(self._on_prompt)
        self._build_ui()
        self._fill_profiles()
        self._fill_films()
        self._update_buttons()
        if self.history_problem:
            self._message(self.history_problem)

    # -- construction ----------------------------------------------------------------------
    def _build_ui(self) -> None:
        toolbar = QToolBar("Training", self)
        toolbar.setObjectName("training-toolbar")
        toolbar.addAction(self.controller.undo_action)
        toolbar.addAction(self.controller.redo_action)
        toolbar.addSeparator()
        self.fit_action = QAction("Fit", self)
        self.fit_action.triggered.connect(self.view.fit)
        toolbar.addAction(self.fit_action)
        toolbar.addSeparator()
        # The viewer's own tools: the loupe and the window/level presets.
        self.loupe = Loupe(self.view)
        self.loupe_action = QAction("Loupe", self)
        self.loupe_action.setCheckable(True)
        self.loupe_action.setShortcut("L")
        self.loupe_action.setToolTip("Magnified window following the cursor (L)")
        self.loupe_action.toggled.connect(self.loupe.set_enabled)
        toolbar.addAction(self.loupe_action)
        toolbar.addWidget(QLabel(" Window ", toolbar))
        self.window_presets = WindowPresets(self.view, toolbar)
        self.window_presets.failed.connect(self._message)
        toolbar.addWidget(self.window_presets.combo)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

        panel = QWidget(self)
        layout = QVBoxLayout(panel)
        form = QFormLayout()
        self.resident_combo = QComboBox(panel)
        self.resident_combo.setEditable(True)
        self.resident_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line_edit = self.resident_combo.lineEdit()  # an editable combo box has one
        if line_edit is not None:
            line_edit.setPlaceholderText("your name")
        self.resident_combo.currentTextChanged.connect(self._on_resident_changed)
        form.addRow("Resident", self.resident_combo)
        self.film_combo = QComboBox(panel)
        form.addRow("Case", self.film_combo)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.random_button = QPushButton("Random case", panel)
        self.random_button.clicked.connect(self.choose_random)
        self.start_button = QPushButton("Start", panel)
        self.start_button.clicked.connect(self._on_start_clicked)
        self.submit_button = QPushButton("Submit", panel)
        self.submit_button.clicked.connect(self._on_submit_clicked)
        for button in (self.random_button, self.start_button, self.submit_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.instructions = QLabel("Enter your name, choose a case and press Start.", panel)
        self.instructions.setWordWrap(True)
        self.instructions.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.instructions)
        self.prompt_label = QLabel("", panel)
        self.prompt_label.setWordWrap(True)
        layout.addWidget(self.prompt_label)

        self.tabs = QTabWidget(panel)
        feedback = QWidget()
        feedback_layout = QVBoxLayout(feedback)
        # A level shift (wrong vertebrae marked) is said first, alone, above everything.
        self.level_shift_label = QLabel("")
        self.level_shift_label.setObjectName("level-shift")
        self.level_shift_label.setWordWrap(True)
        self.level_shift_label.setTextFormat(Qt.TextFormat.RichText)
        self.level_shift_label.setStyleSheet(
            f"QLabel {{ border: 2px solid {ERROR_COLOUR.name()}; padding: 6px; }}")
        self.level_shift_label.setVisible(False)
        feedback_layout.addWidget(self.level_shift_label)
        self.summary_label = QLabel("Submit an attempt to see how close you were.")
        self.summary_label.setWordWrap(True)
        feedback_layout.addWidget(self.summary_label)
        self.table_caption = QLabel("")
        self.table_caption.setWordWrap(True)
        self.table_caption.setVisible(False)
        feedback_layout.addWidget(self.table_caption)
        # One column per level, one row per quantity: fits a side panel. Columns as wide as
        # their numbers (never elided); a scroll bar rather than "…" if the panel is narrow.
        self.table = QTableWidget(len(self.FEEDBACK_ROWS), 0)
        self.table.setVerticalHeaderLabels(list(self.FEEDBACK_ROWS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setMinimumSectionSize(64)
        self.table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        feedback_layout.addWidget(self.table)
        self.table.setFixedHeight(0)  # grows to its rows on the first feedback
        self.table.setVisible(False)
        self.advice_label = QLabel("")
        self.advice_label.setWordWrap(True)
        self.advice_label.setTextFormat(Qt.TextFormat.RichText)
        feedback_layout.addWidget(self.advice_label)
        self.legend_label = QLabel(
            f"<span style='color:{EXPERT_COLOUR.name()}'>○ expert</span> &nbsp; "
            f"<span style='color:{RESIDENT_COLOUR.name()}'>× you</span> &nbsp; "
            f"<span style='color:{ERROR_COLOUR.name()}'>— your error</span>"
        )
        feedback_layout.addWidget(self.legend_label)
        feedback_layout.addStretch(1)
        self.tabs.addTab(feedback, "Feedback")
        progress = QWidget()
        progress_layout = QVBoxLayout(progress)
        self.chart = ProgressChart(progress)
        progress_layout.addWidget(self.chart, 1)
        self.export_button = QPushButton("Export all attempts (CSV)…", progress)
        self.export_button.clicked.connect(self._on_export_clicked)
        progress_layout.addWidget(self.export_button)
        self.tabs.addTab(progress, "Progress")
        layout.addWidget(self.tabs, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.view)
        splitter.addWidget(panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([860, 540])  # at 1366 px the errors table fits whole beside the film
        self.setCentralWidget(splitter)
        self.resize(1400, 900)

    def _fill_profiles(self) -> None:
        blocker = QSignalBlocker(self.resident_combo)
        current = self.resident_combo.currentText()
        self.resident_combo.clear()
        try:
            self.resident_combo.addItems(self.history.profiles())
        except OSError as exc:
            self._message(str(exc))
        self.resident_combo.setEditText(current)
        blocker.unblock()

    def _fill_films(self) -> None:
        self.film_combo.clear()
        for film in self.films:
            self.film_combo.addItem(film.title, film.key)
        if not self.films:
            self.instructions.setText("The teaching library is empty: save a case with "
                                      "“Save as teaching case…” in the viewer.")

    # -- state -----------------------------------------------------------------------------
    @property
    def resident(self) -> str:
        return " ".join(self.resident_combo.currentText().split())

    def set_resident(self, name: str) -> None:
        self.resident_combo.setEditText(name)

    def _on_resident_changed(self, text: str) -> None:
        self._update_buttons()
        self.refresh_progress()

    def _update_buttons(self) -> None:
        placing = self.film is not None and self.score is None
        self.start_button.setEnabled(bool(self.films))
        self.random_button.setEnabled(bool(self.films))
        self.submit_button.setEnabled(placing)
        self.export_button.setEnabled(True)

    def _on_prompt(self, text: str) -> None:
        if self.film is not None and self.score is None:
            self.prompt_label.setText(text)

    def choose_film(self, key: str) -> bool:
        index = self.film_combo.findData(key)
        if index < 0:
            return False
        self.film_combo.setCurrentIndex(index)
        return True

    def _content_of(self) -> dict[str, str]:
        """``"<case_id>/<label>"`` → :meth:`PracticeFilm.content_key` of the listed films
        (read once per list: the keys hash the reference files)."""
        films = tuple(self.films)
        if self._content_cache[0] != films:
            self._content_cache = (films, {film.key: film.content_key() for film in films})
        return self._content_cache[1]

    def choose_random(self) -> PracticeFilm | None:
        """Select a random film: never the picture just practised (or the one selected),
        preferring pictures this resident has not practised yet."""
        content_of = self._content_of()
        done = [f"{p.case_id}/{p.image_label}" for p in self._progress()]
        done += [content_of[key] for key in done if key in content_of]
        last = self.film
        if last is None:
            key = self.film_combo.currentData()
            last = next((f for f in self.films if f.key == key), None)
        try:
            film = random_film(self.films, avoid=done, last=last)
        except TeachingCaseError as exc:
            self._message(str(exc))
            return None
        self.choose_film(film.key)
        return film

    def _progress(self) -> list[ProgressPoint]:
        if not self.resident:
            return []
        try:
            return self.history.progress(self.resident)
        except OSError as exc:
            self._message(str(exc))
            return []

    def _message(self, text: str) -> None:
        self.instructions.setText(text)

    # -- practice --------------------------------------------------------------------------
    def _on_start_clicked(self) -> None:
        self.start()

    def start(self) -> bool:
        """Open the chosen film with the reference hidden and ask for its levels."""
        if not self.resident:
            self._message("Enter your name first: your attempts are kept under it.")
            return False
        key = self.film_combo.currentData()
        film = next((f for f in self.films if f.key == key), None)
        if film is None:
            self._message("Choose a case first.")
            return False
        from ovcf_viewer.io.dicom import load_image
        from ovcf_viewer.model.errors import ImageLoadError
        from ovcf_viewer.model.landmarks import AnnotationFormatError

        if film.needs_preparing:
            # Rendered once, off the GUI thread; start() runs again when it is there.
            self._message(f"Preparing {film.title} (first use: about a second)…")
            if self._preparing is None or self._preparing.key != film.key:
                self._preparing = film
                QThreadPool.globalInstance().start(_PrepareCase(film, self._prepared_notice))
            return False
        try:
            image = load_image(film.image_path)
            reference = film.load_reference()
        except (ImageLoadError, AnnotationFormatError, TeachingCaseError) as exc:
            self._message(f"Cannot open this case: {exc}")
            return False
        image.patient = practice_patient(image, film)
        levels = levels_to_mark(reference)
        if not levels:
            self._message("This case has no complete reference vertebra to practise on.")
            return False
        self._clear_feedback()
        self.film, self.image, self.reference, self.levels = film, image, reference, levels
        self.calibration = image.calibration(
            use_magnification=self.settings.use_magnification,
            manual=reference.manual_calibration,
        )
        self.view.set_image(image, calibration=self.calibration)
        self.setWindowTitle(f"OVCF Viewer — Training mode — {film.title}")
        self.controller.set_image(image)
        self.controller.layer.set_visible(True)
        self.controller.set_level(levels[0])
        self.controller.set_mode("landmarks")
        self._started_at = time.monotonic()
        self._message(
            f"<b>{film.title}</b><br>Mark <b>{', '.join(levels)}</b>: six points per vertebra "
            "in the order sa, sm, sp, ia, im, ip (corners without osteophytes; middle points at "
            "the deepest point of the endplate). Drag a point to correct it. The expert's "
            "landmarks are hidden; edge assist is off. Press <b>Submit</b> when done.<br>"
            f"<small>{self.calibration.statement()}</small>"
        )
        self._update_buttons()
        self.filmStarted.emit(film)
        return True

    def _on_case_prepared(self, film: PracticeFilm, problem: str) -> None:
        if self._preparing is None or self._preparing.key != film.key:
            return  # another case was chosen meanwhile
        self._preparing = None
        if problem:
            self._message(f"Cannot open this case: {problem}")
        elif self.film_combo.currentData() == film.key:
            self.start()

    def _on_submit_clicked(self) -> None:
        self.submit()

    def submit(self) -> AttemptScore | None:
        """Score the placed landmarks, store the attempt and show the feedback."""
        model = self.controller.model
        if (self.film is None or self.reference is None or self.calibration is None
                or model is None):
            self._message("Start a case first.")
            return None
        placed = [lv for lv in self.levels if lv in model.vertebrae]
        if not placed:
            self._message(f"Place the landmarks of {', '.join(self.levels)} first.")
            return None
        self.controller.set_mode("navigate")
        attempt = ImageAnnotations.from_json(model.to_json(partial=True), partial=True)
        try:
            score = score_attempt(self.reference, attempt, self.calibration, self.settings,
                                  levels=self.levels)
        except ValueError as exc:
            self._message(f"Could not score this attempt: {exc}")
            return None
        duration = time.monotonic() - self._started_at
        try:
            self.history.record_attempt(self.resident, self.film.case_id, self.film.label,
                                        score, duration_s=duration)
        except (OSError, ValueError) as exc:  # HistoryError is an OSError
            self._message(f"Scored, but the attempt could not be saved: {exc}")
        self.score = score
        self.show_feedback(score, attempt)
        self._fill_profiles()
        self.refresh_progress()
        self._update_buttons()
        self.attemptScored.emit(score)
        return score

    # -- feedback --------------------------------------------------------------------------
    def _clear_feedback(self) -> None:
        if self.overlay is not None:
            self.view.scene().removeItem(self.overlay)
            self.overlay = None
        self.score = None
        self.table.setColumnCount(0)
        self.table.setVisible(False)
        self.summary_label.setText("Submit an attempt to see how close you were.")
        self.advice_label.setText("")
        self.level_shift_label.setText("")
        self.level_shift_label.setVisible(False)
        self.table_caption.setVisible(False)

    def show_feedback(self, score: AttemptScore, attempt: ImageAnnotations) -> None:
        unit = score.calibration.unit_tag
        agreement = score.grade_agreement
        same = sum(s.grade_agrees for s in score.levels.values())
        self.summary_label.setText(
            f"<b>Mean point error {_num(score.mean_point_error_mm, 1)} {unit}</b> · Genant "
            f"grade agreement {same}/{len(score.levels)} levels "
            f"({_num(None if agreement is None else agreement * 100, 0)} %)<br>"
            f"<small>{score.calibration.statement()}. Errors are yours − expert's.</small>"
        )
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        # Short row names (the unit alone) so the numbers get the width; the caption above
        # names the calibration the unit comes from.
        short = score.calibration.unit
        self.table_caption.setText(
            f"Errors in {unit} (heights also in % of the expert's), angles in degrees")
        self.table_caption.setVisible(True)
        rows = list(self.FEEDBACK_ROWS)
        rows[0] = f"Mean point error ({short})"
        rows[1] = f"Worst point ({short})"
        for i, height in ((2, "Ha"), (3, "Hm"), (4, "Hp")):
            rows[i] = f"{height} error ({short} · %)"
        rows[5] = "Wedge angle error (°)"
        rows[6] = "Segmental kyphosis error (°)"
        self.table.setVerticalHeaderLabels(rows)
        self.table.setVisible(True)
        self.table.setColumnCount(len(score.levels))
        self.table.setHorizontalHeaderLabels(list(score.levels))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for column, s in enumerate(score.levels.values()):
            worst = max(s.points.values(), key=lambda p: p.error_mm, default=None)
            h = s.heights or {}
            cells = [
                _num(s.mean_point_error_mm, 1),
                f"{worst.name} {_num(worst.error_mm, 1)}" if worst else "—",
                *(f"{_num(h[k].error, 1, True)}\u00a0·\u00a0{_num(h[k].error_pct, 0, True)}%"
                  if k in h else "—" for k in ("ha_mm", "hm_mm", "hp_mm")),
                _num(s.wedge_angle_deg.error if s.wedge_angle_deg else None, 1, True),
                _num(s.segmental_kyphosis_deg.error if s.segmental_kyphosis_deg else None,
                     1, True),
                f"{s.attempt_grade if s.attempt_grade is not None else '—'} / "
                f"{s.reference_grade}" + ("" if s.grade_agrees else "  ✗"),
            ]
            for row, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(right)
                if row == len(cells) - 1 and not s.grade_agrees:
                    item.setForeground(ERROR_COLOUR)
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()
        self.table.resizeColumnsToContents()
        wide = (self.table.verticalHeader().width()
                + sum(self.table.columnWidth(c) for c in range(self.table.columnCount()))
                + 2 * self.table.frameWidth())
        scroll = (self.table.horizontalScrollBar().sizeHint().height()
                  if wide > self.table.width() else 0)
        self.table.setFixedHeight(
            self.table.horizontalHeader().height()
            + sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
            + 2 * self.table.frameWidth() + scroll
        )
        if score.level_shift is not None:
            # First and alone: the table's errors are against the vertebrae asked for.
            shift, unit_name = score.level_shift, score.calibration.unit
            headline = shift.headline(unit_name)
            self.level_shift_label.setText(
                f"<b>{headline[0].upper()}{headline[1:]}</b><br>{shift.detail()[0].upper()}"
                f"{shift.detail()[1:]}.<br><small>The errors below compare your points with "
                "the vertebrae asked for.</small>")
            self.level_shift_label.setVisible(True)
            self.advice_label.setText("")
        elif score.advice:
            items = "".join(f"<li>{a.text}</li>" for a in score.advice)
            self.advice_label.setText(f"<b>Advice</b><ul>{items}</ul>")
        else:
            self.advice_label.setText("<b>Advice</b>: no systematic error — every pattern "
                                      "is within 4 % of the vertebral depth. Well placed.")
        self.prompt_label.setText("Submitted. Start another case, or press Random case.")
        # Overlay: the expert's and the resident's points with error vectors.
        if self.reference is not None:  # always, once a film is started
            self.controller.layer.set_visible(False)
            self.overlay = FeedbackOverlay(self.reference, attempt, self.levels)
            self.view.scene().addItem(self.overlay)
            self.focus_on(self.overlay.data_rect())
        self.tabs.setCurrentIndex(0)

    def focus_on(self, rect: QRectF, margin: float = 0.25) -> None:
        """Zoom and pan so ``rect`` (image coordinates) fills the view with a margin."""
        if rect.isEmpty() or self.image is None:
            return
        rect = rect.adjusted(-rect.width() * margin, -rect.height() * margin,
                             rect.width() * margin, rect.height() * margin)
        viewport = self.view.viewport().rect()
        # Size on screen at zoom 1: rows are pixel_aspect high, and rotation may swap axes.
        shown = self.view.display_transform().mapRect(rect)
        zoom = min(viewport.width() / shown.width(), viewport.height() / shown.height())
        self.view.fit()
        centre_vp = self.view.image_to_view(rect.center().x(), rect.center().y())
        self.view.set_zoom(zoom, anchor=centre_vp)
        centre_vp = self.view.image_to_view(rect.center().x(), rect.center().y())
        target = QPointF(viewport.width() / 2.0, viewport.height() / 2.0)
        self.view.pan_by(target.x() - centre_vp.x(), target.y() - centre_vp.y())

    # -- progress --------------------------------------------------------------------------
    def refresh_progress(self) -> None:
        points = self._progress()
        self.chart.set_series(self.resident, points,
                              repeated_attempts(points, self._content_of()))

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export all attempts", str(Path.home() / "training-attempts.csv"),
            "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> int | None:
        """Write every resident's attempts to ``path``; returns the number written."""
        try:
            count = self.history.export_csv(path)
        except OSError as exc:
            self._message(f"CSV not written: {exc.strerror or exc}")
            return None
        self._message(f"{count} attempts written to {path}.")
        return count


# -- main window action ----------------------------------------------------------------------

def save_as_teaching_case(
    parent: QWidget,
    films: Sequence[tuple[str | Path, ImageAnnotations]],
    *,
    title: str | None = None,
) -> TeachingCase | None:
    """The main window's "Save as teaching case…": de-identify the films and store them with
    the expert's landmarks (:func:`~ovcf_viewer.io.teaching.save_teaching_case`). Asks for a
    title unless given (it must not identify the patient); reports the result or the one-line
    reason it failed in a message box. Returns the saved case, or ``None``."""
    if title is None:
        text, ok = QInputDialog.getText(
            parent, "Save as teaching case",
            "Title for the teaching library (no names, IDs or dates):")
        if not ok:
            return None
        title = text
    try:
        try:
            case = save_teaching_case([p for p, _ in films], [a for _, a in films], title=title)
        except BurnedInAnnotationError as exc:
            answer = QMessageBox.question(
                parent, "Burned-in text",
                f"{exc}.\n\nHave you looked at the film, and does its burned-in text "
                "identify no one?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                _notify(parent, f"Not saved: {exc}", QMessageBox.Icon.Warning)
                return None
            case = save_teaching_case([p for p, _ in films], [a for _, a in films], title=title,
                                      burned_in_confirmed=True)
    except (TeachingCaseError, OSError) as exc:
        _notify(parent, f"Not saved: {exc}", QMessageBox.Icon.Warning)
        return None
    lines = [f"Saved “{case.title}” ({len(case.films)} film(s)) to the teaching library, "
             "de-identified (DICOM PS3.15 basic profile, dates shifted, new UIDs)."]
    lines += case.warnings
    _notify(parent, "\n\n".join(lines), QMessageBox.Icon.Information)
    return case


def _notify(parent: QWidget, text: str, icon: QMessageBox.Icon) -> QMessageBox:
    """A non-modal message box owned by ``parent`` (the viewer keeps running)."""
    box = QMessageBox(icon, "Save as teaching case", text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("teaching-case-message")
    box.setModal(False)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.show()
    return box


class TrainingActions(QObject):
    """The main window's *Training* menu: "Practise landmark placement…" opens a
    :class:`TrainingWindow`; "Save as teaching case…" stores the current film with the
    landmarks placed on it (the expert's) in the teaching library. The window places
    :meth:`menu_actions` in its menu."""

    def __init__(self, window: MainWindow, controller: AnnotationController,
                 settings: Settings) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.settings = settings
        self.training_window: TrainingWindow | None = None
        self.practise_action = QAction("&Practise landmark placement…", window)
        self.practise_action.setToolTip("Training mode: place landmarks on a teaching case "
                                        "and compare them with an expert's")
        self.practise_action.triggered.connect(self.open_training)
        self.save_case_action = QAction("Save as &teaching case…", window)
        self.save_case_action.setToolTip("De-identify this film and store it with its "
                                         "landmarks as a reference in the teaching library")
        self.save_case_action.triggered.connect(self.save_current_as_teaching_case)

    def menu_actions(self) -> list[QAction]:
        return [self.practise_action, self.save_case_action]

    def open_training(self) -> TrainingWindow:
        if self.training_window is None:
            self.training_window = TrainingWindow(settings=self.settings, parent=None)
            self.training_window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        else:
            self.training_window.films = practice_films()
            self.training_window._fill_films()
        self.training_window.show()
        self.training_window.raise_()
        return self.training_window

    def save_current_as_teaching_case(self, checked: bool = False, *,
                                      title: str | None = None) -> TeachingCase | None:
        image = self.window.image()
        model = self.controller.model
        if image is None or image.path is None or model is None:
            _notify(self.window, "Open a DICOM film and place its landmarks first.",
                    QMessageBox.Icon.Information)
            return None
        return save_as_teaching_case(self.window, [(image.path, model)], title=title)
