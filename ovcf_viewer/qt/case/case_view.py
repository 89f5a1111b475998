"""A case in the window: films side by side, the comparison panel and the trend chart
(docs/clinical-reference.md §5).

:class:`CaseController` (no widgets) holds the open case in a
:class:`~ovcf_viewer.model.case.CaseSession` (autosaved on every change), the films' images
and calibrations, and the current :class:`~ovcf_viewer.measure.comparison.CaseComparison`,
recomputed whenever a landmark or a case fact changes (``comparisonChanged``). The main
window calls :meth:`CaseController.open_case`, :meth:`CaseController.save_case` and
:meth:`CaseController.new_case` for ``File > Open case`` / ``Save case``.

:class:`CaseView` shows any two timepoints side by side, each an
:class:`~ovcf_viewer.qt.viewer.image_view.ImageView` with its landmarks
(:class:`~ovcf_viewer.qt.annotate.landmark_items.AnnotationLayer`, handles draggable). Zoom
and pan are
synchronised (switchable) *by anatomy*: the other film is placed so the same vertebra sits at
the same place on screen at the same millimetres per screen pixel. **T** shows one view and
flips it between the two timepoints, centred on the same level (the vertebra nearest the
view's centre). A pane showing a later film offers *Carry forward from …* (the nearest
earlier film of the case with landmarks): the proposals are drawn hollow and dashed (magenta
with the reason when a level must be checked); *Accept proposals* or Enter accepts them
(the selected level's first), dragging a point adjusts and accepts that level, Shift+Delete
rejects the selected proposed level.

:class:`CaseWorkspace` puts the case facts form, the side-by-side view, the
:class:`~ovcf_viewer.qt.case.comparison_panel.ComparisonPanel`, the
:class:`~ovcf_viewer.qt.case.trend_chart.TrendChart` and the procedure-suitability panel
(:class:`CaseSuitability`, §6: measured inputs from the pre-operative film, findings saved in
the case) together; :class:`CaseWindow` wraps it with a Case menu (open, save, save as, find
missing films, export CSV, export the PDF report), and :func:`open_case_window` is what the
main window's ``File > Open case`` / ``New case from open films`` calls.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QDate,
    QEvent,
    QObject,
    QPointF,
    QSignalBlocker,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.io.case_files import relocate_films
from ovcf_viewer.measure.comparison import CaseComparison
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.case import (
    APPROACHES,
    PROCEDURE_LABELS,
    PROCEDURES,
    Case,
    CaseFilm,
    CaseFormatError,
    CaseSession,
    load_case,
    missing_film_messages,
    new_case_id,
    propose_timepoints,
    save_case,
)
from ovcf_viewer.model.image import RadiographImage
from ovcf_viewer.model.landmarks import (
    TIMEPOINT_KINDS,
    AnnotationFormatError,
    ImageAnnotations,
    Timepoint,
    level_index,
)
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.annotate.landmark_items import AnnotationLayer, HandleKey
from ovcf_viewer.qt.layout import LayoutMemory, fit_to_screen
from ovcf_viewer.qt.settings_link import follow_settings
from ovcf_viewer.qt.viewer.image_view import ImageView
from ovcf_viewer.services.compare import compare
from ovcf_viewer.services.suitability import (
    SuitabilityError,
    case_findings,
    comparison_films,
    measured_for,
    no_film_error,
    rules_or_fallback,
)
from ovcf_viewer.suitability import (
    Findings,
    MeasuredInputs,
    MeasuredValue,
    Rules,
)

if TYPE_CHECKING:
    from ovcf_viewer.io.progressive import Preview
    from ovcf_viewer.measure.carry_forward import CarryForwardResult

__all__ = [
    "CaseController",
    "CaseDetailsForm",
    "CaseView",
    "CaseWindow",
    "CaseWorkspace",
    "FilmPane",
    "ViewAnchor",
    "open_case_window",
]

log = logging.getLogger(__name__)

_KIND_NAMES = {"preop": "Pre-operative", "postop": "Post-operative", "followup": "Follow-up"}


# --------------------------------------------------------------------------- controller


class CaseController(QObject):
    """The open case, its images and its comparison; see the module docstring.

    Signals: ``caseChanged(case)`` after the case or a landmark changed;
    ``comparisonChanged(comparison)`` with the new :class:`CaseComparison` (or ``None``);
    ``messagesChanged(list[str])`` with load/relocation messages for the user;
    ``findingsChanged(case)`` after :meth:`set_findings` stored new clinical findings (a
    findings edit is not a landmark edit: nothing is re-measured and ``caseChanged`` is not
    emitted; the session still autosaves it).
    """

    caseChanged = Signal(object)
    comparisonChanged = Signal(object)
    messagesChanged = Signal(list)
    findingsChanged = Signal(object)

    def __init__(
        self,
        settings: Settings,
        parent: QObject | None = None,
        *,
        autosave: bool = True,
    ) -> None:
        super().__init__(parent)
        #: The application's one settings instance: followed, so a change measures again.
        self.settings = settings
        follow_settings(settings, self._recompute)
        self.autosave = autosave
        self.session: CaseSession | None = None
        self.images: dict[str, RadiographImage] = {}
        #: Reduced-resolution previews of films still decoding (SOP Instance UID → preview),
        #: dropped when full resolution arrives.
        self.previews: dict[str, Preview] = {}
        #: Device pixels of the largest pane, for the preview level of JPEG 2000 films
        #: (:func:`~ovcf_viewer.io.progressive.open_progressive`); ``None``: open films whole.
        self.preview_viewport: tuple[int, int] | None = None
        self.comparison: CaseComparison | None = None
        self.messages: list[str] = []
        # A failed case autosave is retried until it succeeds (space freed, drive back).
        self._retry_timer = QTimer(self)
        self._retry_timer.setInterval(5000)
        self._retry_timer.timeout.connect(self.retry_autosave)
        self.path: Path | None = None  # where the case was opened from / last saved
        self._storing_findings = False

    # -- reading -----------------------------------------------------------------------------
    @property
    def case(self) -> Case | None:
        return self.session.case if self.session is not None else None

    def calibration_for(self, sop_instance_uid: str) -> Calibration:
        """The film's calibration (§1): its manual calibration, else its image's, else none."""
        case = self.case
        film = case.film(sop_instance_uid) if case else None
        manual = film.annotations.manual_calibration if film else None
        image = self.images.get(sop_instance_uid)
        if image is not None:
            return image.calibration(use_magnification=self.settings.use_magnification,
                                     manual=manual)
        return manual or Calibration.none("image not loaded")

    def findings(self) -> Findings:
        """The clinical findings saved with the case (§6); empty :class:`Findings` (every
        answer unknown) when none were entered. Raises
        :class:`~ovcf_viewer.services.suitability.SuitabilityError` (the service's line, as
        the CLI and the report say it) for findings the case document holds but that could
        not be read (a hand-edited file)."""
        return case_findings(self.case)

    def suitability_inputs(self, rules: Rules | None = None) -> tuple[MeasuredInputs, str]:
        """The suitability panel's measured inputs from the current comparison (§6) and a
        sentence saying which film they come from.

        The films are chosen as the report and ``ovcf-viewer suitability`` choose them
        (:func:`~ovcf_viewer.suitability.choose_films`): the latest pre-operative film,
        with the earlier pre-operative films for deformity progression (post-operative films
        are not used: cement changes the heights); without a pre-operative film the latest
        film, progression unknown. The worst grade, height reduction and kyphosis are taken at
        the case's treated levels (else the films' index levels)."""
        comparison = self.comparison
        if comparison is None or not comparison.films:
            return MeasuredInputs(), str(no_film_error(self.case))
        choice = measured_for(comparison_films(comparison, dated_labels=True), rules=rules,
                              index_levels=comparison.treated_levels)
        measured, current, earlier, why = (choice.measured, choice.current, choice.earlier,
                                           choice.why)
        if not earlier:  # say why progression is unknown rather than a bare "unknown"
            reason = ("no earlier pre-operative film in the case" if current.kind == "preop"
                      else "no pre-operative film in the case")
            measured = replace(measured, deformity_progression=MeasuredValue(None, reason))
        return measured, why

    def calibrations(self) -> dict[str, Calibration]:
        case = self.case
        if case is None:
            return {}
        return {f.sop_instance_uid: self.calibration_for(f.sop_instance_uid)
                for f in case.films if f.sop_instance_uid in self.images
                or f.annotations.manual_calibration is not None}

    # -- opening and saving ------------------------------------------------------------------
    def set_case(self, case: Case) -> list[str]:
        """Show ``case``: load its images, compare, start autosaving. Returns the messages
        about films that could not be loaded (also in :attr:`messages`)."""
        if self.session is not None:
            self.session.changed.disconnect(self._on_session_changed)
            self.session.end()  # closed normally: not offered back at the next start
        self.session = CaseSession(case, autosave=self.autosave)
        self.session.changed.connect(self._on_session_changed)
        self._load_images()
        self._recompute()
        self.caseChanged.emit(self.case)
        return list(self.messages)

    def open_case(self, path: str | os.PathLike[str],
                  search_root: str | os.PathLike[str] | None = None) -> list[str]:
        """Open a case document; films that moved are looked for by SOP Instance UID under
        ``search_root`` (default: the folder above the case document's). Raises
        :class:`CaseFormatError` for an unreadable document; returns one message per film
        still missing."""
        path = Path(path)
        case = load_case(path)
        messages: list[str] = []
        if missing_film_messages(case):
            root = Path(search_root) if search_root is not None else path.resolve().parent.parent
            report = relocate_films(case, root)
            case = report.case
            if report.found:
                messages.append(f"{len(report.found)} film(s) found again under {root}")
            messages.extend(report.missing)
        self.path = path
        messages.extend(self.set_case(case))
        self.messages = list(dict.fromkeys(messages))
        self.messagesChanged.emit(self.messages)
        return self.messages

    def relocate(self, search_root: str | os.PathLike[str]) -> list[str]:
        """Look for missing films under ``search_root`` (the user picked a folder)."""
        if self.case is None or self.session is None:
            return []
        report = relocate_films(self.case, search_root)
        self.session.set_case(report.case)
        self._load_images()
        self._recompute()
        self.messagesChanged.emit(self.messages)
        return list(report.missing)

    def save_case(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the case document (atomically) to ``path`` (default: where it came from)."""
        if self.case is None:
            raise CaseFormatError("no case is open")
        target = Path(path) if path is not None else self.path
        if target is None:
            raise CaseFormatError("choose where to save the case")
        save_case(self.case, target)
        self.path = target
        return target

    def new_case(
        self,
        image_paths: Sequence[str | os.PathLike[str]],
        *,
        case_id: str | None = None,
        procedure_date: date | None = None,
        annotations: dict[str, ImageAnnotations] | None = None,
        procedure: str | None = None,
        treated_levels: Sequence[str] = (),
        timepoints: Mapping[str, Timepoint | None] | None = None,
    ) -> list[str]:
        """A case from image files: headers give patient and study dates, timepoints are
        proposed from them and ``procedure_date`` (§5) for the user to confirm. ``annotations``
        (SOP UID → model) reuses landmarks already placed. ``timepoints`` (SOP UID →
        timepoint), ``procedure`` and ``treated_levels`` are what the user confirmed in the
        new-case dialog (:mod:`ovcf_viewer.qt.dialogs.new_case`)."""
        from ovcf_viewer.io.dicom import read_header
        from ovcf_viewer.model.errors import ImageLoadError

        films, messages = [], []
        name = patient_id = ""
        for p in image_paths:
            try:
                header = read_header(p)
            except ImageLoadError as exc:
                messages.append(str(exc))
                continue
            name, patient_id = name or header.patient_name, patient_id or header.patient_id
            uid = header.sop_instance_uid
            model = (annotations or {}).get(uid) or ImageAnnotations(
                uid, Path(p).name, rows=header.rows or None, columns=header.columns or None)
            films.append(CaseFilm(Path(p).resolve(), uid, model, model.timepoint,
                                  header.study_date))
        if not films:
            raise CaseFormatError("no film could be read: " + "; ".join(messages))
        case = Case(case_id or new_case_id(), patient_name=name, patient_id=patient_id,
                    procedure_date=procedure_date, procedure=procedure,
                    treated_levels=tuple(treated_levels), films=tuple(films))
        if timepoints is not None:
            case = replace(case, films=tuple(
                replace(f, timepoint=timepoints.get(f.sop_instance_uid, f.timepoint))
                for f in case.films))
        elif procedure_date is not None:
            case = case.with_proposed_timepoints()
        self.path = None
        result = messages + self.set_case(case)
        self.messages = result
        self.messagesChanged.emit(result)
        return result

    def set_findings(self, findings: Findings) -> None:
        """Store the clinical findings (overrides of measured values included) in the case:
        autosaved by the session and written by :meth:`save_case`. Emits ``findingsChanged``,
        not ``caseChanged``/``comparisonChanged`` (no landmark changed)."""
        session = self.session
        if session is None:
            return
        case = session.case
        if findings == case.findings and not case.findings_problem:
            return
        self._storing_findings = True
        try:
            session.update(findings=findings, findings_problem="", unread_findings=None)
        finally:
            self._storing_findings = False
        self.findingsChanged.emit(self.case)

    def set_settings(self, settings: Settings) -> None:
        """Take the choices of ``settings`` into the instance this case follows."""
        self.settings.update_from(settings)

    def end_session(self) -> None:
        """The window closes normally: the case is no longer open (its autosave stays)."""
        if self.session is not None:
            self.session.end()

    def close_case(self) -> None:
        if self.session is not None:
            self.session.changed.disconnect(self._on_session_changed)
            self.session.end()  # closed normally: not offered back at the next start
        self.session = None
        self.images = {}
        self.comparison = None
        self.comparisonChanged.emit(None)
        self.caseChanged.emit(None)

    # -- internals ---------------------------------------------------------------------------
    def _load_images(self) -> None:
        """Load the case's films, all at once on worker threads (a large JPEG 2000 film as a
        reduced-resolution preview first, its full resolution following in the background
        once every preview is painted), so a case opens in about the time of its slowest
        film's preview, the window repainting meanwhile."""
        case = self.case
        self.messages = missing_film_messages(case) if case else []
        keep = {}
        todo = []
        for film in case.films if case else ():
            uid = film.sop_instance_uid
            if uid in self.images and self.images[uid].path == film.path:
                keep[uid] = self.images[uid]
                continue
            if film.path is None or not film.path.is_file():
                continue
            todo.append(film)
        for uid in list(self.previews):
            if uid not in keep:
                del self.previews[uid]
        hold = threading.Event()
        opened = self._open_films(todo, hold)
        # Full resolution starts once the previews are painted (the next pass of the event
        # loop): until then the cores are the previews' and the paint's.
        QTimer.singleShot(0, hold.set)
        for film, (loaded, error) in zip(todo, opened, strict=True):
            uid = film.sop_instance_uid
            if error is not None or loaded is None:
                self.messages.append(f"{film.label}: {error}")
                continue
            image, preview = loaded
            if image.sop_instance_uid != uid:
                name = film.path.name if film.path is not None else "the file"
                self.messages.append(
                    f"{film.label}: {name} is another image (SOP Instance UID "
                    f"{image.sop_instance_uid}), not shown")
                continue
            keep[uid] = image
            if preview is not None and image.pending is not None:
                self.previews[uid] = preview
                image.pending.add_done_callback(partial(self._forget_preview, uid))
        self.images = keep

    def _forget_preview(self, uid: str, _future: object = None) -> None:
        """Full resolution arrived (any thread): the preview is no longer needed."""
        self.previews.pop(uid, None)

    def _open_films(
        self, films: Sequence[CaseFilm], hold: threading.Event | None = None,
    ) -> list[tuple[tuple[RadiographImage, Preview | None] | None, Exception | None]]:
        """``((image, preview or None), None)`` or ``(None, ImageLoadError)`` per film, in
        order, opened in parallel: every preview first, full resolution after them, the
        window repainting meanwhile (:func:`~ovcf_viewer.qt.case.film_loading.open_films_live`)."""
        from ovcf_viewer.model.errors import ImageLoadError
        from ovcf_viewer.qt.case.film_loading import open_films_live

        opened = open_films_live([f.path for f in films if f.path is not None],
                                 self.preview_viewport, hold)
        return [(None, item) if isinstance(item, ImageLoadError) else (item, None)
                for item in opened]

    def retry_autosave(self) -> bool:
        """Write the case again after a failed autosave; ``True`` when nothing is pending."""
        session = self.session
        if session is None or session.retry():
            if self._retry_timer.isActive():
                self._retry_timer.stop()
                self.messagesChanged.emit(["All case edits saved"])
            return True
        return False

    def _on_session_changed(self) -> None:
        session = self.session
        if session is not None and session.autosave_error:
            # where the user looks: the case window's status bar, until a retry succeeds
            self.messagesChanged.emit(
                [f"Edits kept in memory, not yet saved: {session.autosave_error}"])
            if not self._retry_timer.isActive():
                self._retry_timer.start()
        if self._storing_findings:
            return  # only the findings changed: the comparison stands (see set_findings)
        self._recompute()
        self.caseChanged.emit(self.case)

    def _recompute(self) -> None:
        case = self.case
        if case is None:
            self.comparison = None
        else:
            try:
                self.comparison = compare(case, self.settings, self.calibrations())
            except ValueError as exc:  # coincident landmarks while dragging
                log.info("comparison not updated: %s", exc)
                return
        self.comparisonChanged.emit(self.comparison)


# --------------------------------------------------------------------------- one film


@dataclass(frozen=True)
class ViewAnchor:
    """What a view shows at its centre, in anatomical terms: the nearest ``level`` and the
    centre's offset ``(along columns, along rows)`` from that level's landmark centre in mm,
    the scale in mm per screen pixel (the same along both screen axes: films are shown in
    physical aspect), and the centre as an image point (used when the other film lacks the
    level)."""

    level: str | None
    offset_mm: tuple[float, float]
    image_point: tuple[float, float]
    mm_per_screen_px: float


def _centroid(points: dict[str, tuple[float, float]]) -> tuple[float, float]:
    xs = [p[0] for p in points.values()]
    ys = [p[1] for p in points.values()]
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _pixel_size(calibration: Calibration | None, view: ImageView) -> tuple[float, float]:
    """``(col_mm, row_mm)``: the width and height of one pixel, in mm when calibrated
    (docs/clinical-reference.md §1), else in column widths (a row is then ``pixel_aspect`` column
    widths high: Pixel Aspect Ratio). The view draws rows ``pixel_aspect`` times as high as
    columns are wide, so one screen pixel is ``col_mm / zoom`` mm along both screen axes."""
    if calibration is None or not calibration.is_calibrated:
        return 1.0, view.pixel_aspect()
    return calibration.col_mm, calibration.row_mm


class FilmPane(QWidget):
    """One side of the case view: a film chooser above an :class:`ImageView` that shows the
    film with its landmarks (handles draggable; a drag is one edit of the film's model)."""

    filmChosen = Signal(str)  # SOP Instance UID
    carryRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chooser = QComboBox(self)
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.caption = QLabel("", self)
        self.caption.setWordWrap(True)
        self.view = ImageView(self)
        self.layer = AnnotationLayer(self.view.scene(), self)
        self.layer.on_moving = self._on_handle_moving
        self.layer.on_finished = self._on_handle_finished
        self.layer.on_cancelled = self._on_handle_cancelled
        from ovcf_viewer.qt.case.leak_tool import LeakOverlay

        self.leaks = LeakOverlay(self.view.scene())  # drawn cement leaks (§5a)
        self.film: CaseFilm | None = None
        self._calibration: Calibration = Calibration.none()
        #: The earlier case film whose landmarks this pane's film can take (set by the view).
        self.carry_source: CaseFilm | None = None
        self.carry_button = QPushButton("Carry forward", self)
        self.carry_button.setToolTip("Propose the earlier film's landmarks on this film")
        self.carry_button.setVisible(False)
        self.carry_button.clicked.connect(self.carryRequested)
        self.accept_button = QPushButton("Accept proposals", self)
        self.accept_button.setToolTip("Accept every proposed vertebra on this film (Enter)")
        self.accept_button.setVisible(False)
        self.accept_button.clicked.connect(self.accept_proposals)
        top = QHBoxLayout()
        top.addWidget(self.chooser)
        top.addWidget(self.caption, 1)
        top.addWidget(self.carry_button)
        top.addWidget(self.accept_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.chooser.activated.connect(self._on_chosen)
        self.view.viewChanged.connect(self._on_view_changed)
        self.view.orientationChanged.connect(self._on_view_changed)

    # -- films -------------------------------------------------------------------------------
    def set_choices(self, films: Sequence[CaseFilm], current: str | None) -> None:
        """Fill the chooser (chronological labels) without emitting ``filmChosen``."""
        with QSignalBlocker(self.chooser):
            self.chooser.clear()
            for film in films:
                when = f" — {film.date.isoformat()}" if film.date else ""
                self.chooser.addItem(f"{film.label}{when}", film.sop_instance_uid)
            i = self.chooser.findData(current) if current else -1
            self.chooser.setCurrentIndex(max(i, 0) if films else -1)

    def current_uid(self) -> str | None:
        return self.chooser.currentData()

    def show_film(self, film: CaseFilm | None, image: RadiographImage | None,
                  calibration: Calibration, comparison: CaseComparison | None,
                  preview: Preview | None = None) -> None:
        """Show ``film`` (its image, or a blank view with its landmarks when the file is
        missing) and keep its landmarks in sync; ``preview`` is painted while the image's
        full resolution is still decoding."""
        new_film = film is not self.film
        if new_film:
            self.film = film
            self.view.set_image(image, calibration=calibration, preview=preview)
            i = self.chooser.findData(film.sop_instance_uid) if film else -1
            if i >= 0 and i != self.chooser.currentIndex():
                with QSignalBlocker(self.chooser):
                    self.chooser.setCurrentIndex(i)
        self._calibration = calibration
        self.view.set_calibration(calibration)
        self.refresh(comparison)

    def refresh(self, comparison: CaseComparison | None) -> None:
        """Redraw landmarks and labels with the comparison's measurements of this film."""
        film = self.film
        measurements = None
        if film is not None and comparison is not None:
            try:
                measurements = comparison.film(film.sop_instance_uid).measurements
            except KeyError:
                measurements = None
        cobb = comparison.cobb_definition if comparison is not None else "segmental"
        self.layer.sync(film.annotations if film else None, measurements, self._calibration,
                        cobb)
        proposed = film is not None and any(v.has_proposal
                                            for v in film.annotations.vertebrae.values())
        self.accept_button.setVisible(proposed)
        source = self.carry_source
        self.carry_button.setVisible(source is not None and self.view.image() is not None)
        if source is not None:
            self.carry_button.setText(f"Carry forward from {source.label}")
        self.leaks.sync([(c.level, r) for c in film.cement for r in c.regions] if film else [])
        if film is None:
            self.caption.setText("No film")
            return
        missing = "" if self.view.image() is not None else " — image file missing, landmarks only"
        self.caption.setText(f"{self._calibration.unit_tag}{missing}")

    # -- geometry for synchronisation ---------------------------------------------------------
    def vertebra_centres(self) -> dict[str, tuple[float, float]]:
        if self.film is None:
            return {}
        return {level: _centroid(v.points)
                for level, v in self.film.annotations.vertebrae.items() if v.points}

    def centre_point(self) -> QPointF:
        rect = self.view.viewport().rect()
        return self.view.view_to_image(QPointF(rect.width() / 2.0, rect.height() / 2.0))

    def level_at_centre(self) -> str | None:
        """The level whose landmarks' centre is nearest the view's centre."""
        centres = self.vertebra_centres()
        if not centres:
            return None
        c = self.centre_point()
        return min(centres, key=lambda lv: (centres[lv][0] - c.x()) ** 2
                   + (centres[lv][1] - c.y()) ** 2)

    def mm_per_screen_px(self) -> float:
        """mm (column widths when uncalibrated) per screen pixel, the same horizontally and
        vertically: the view shows the film in physical aspect, a column is ``zoom`` screen
        pixels wide and a row ``zoom × row_mm / col_mm`` high."""
        return _pixel_size(self._calibration, self.view)[0] / self.view.zoom()

    def anchor(self) -> ViewAnchor:
        """The anatomy at this view's centre (see :class:`ViewAnchor`); the offset is in mm
        along columns and rows, each with its own spacing."""
        col_mm, row_mm = _pixel_size(self._calibration, self.view)
        centre = self.centre_point()
        level = self.level_at_centre()
        offset = (0.0, 0.0)
        if level is not None:
            lx, ly = self.vertebra_centres()[level]
            offset = ((centre.x() - lx) * col_mm, (centre.y() - ly) * row_mm)
        return ViewAnchor(level, offset, (centre.x(), centre.y()), self.mm_per_screen_px())

    def place_at(self, anchor: ViewAnchor) -> None:
        """Show ``anchor``'s anatomy at this view's centre at its mm per screen pixel: the same
        level's centre plus the same offset in mm (§5 side-by-side comparison). Without that
        level on this film, the same image point."""
        if self.film is None:
            return
        col_mm, row_mm = _pixel_size(self._calibration, self.view)
        mine = self.vertebra_centres()
        target = anchor.image_point
        if anchor.level is not None and anchor.level in mine:
            lx, ly = mine[anchor.level]
            target = (lx + anchor.offset_mm[0] / col_mm, ly + anchor.offset_mm[1] / row_mm)
        self.view.set_zoom(col_mm / anchor.mm_per_screen_px)
        rect = self.view.viewport().rect()
        landed = self.view.image_to_view(*target)
        self.view.pan_by(rect.width() / 2.0 - landed.x(), rect.height() / 2.0 - landed.y())

    def is_fitted(self) -> bool:
        """Whether the view shows the whole film centred: fitted and following resizes, or
        placed at the fitting zoom with the film's centre within a screen pixel of the
        view's. (In image pixels that is 1 / zoom, ~8 for a film fitted into a narrow
        pane: a tolerance of one image pixel had a fitted view read as not fitted, and
        the other pane then stopped following resizes.)"""
        image = self.view.image()
        if image is None:
            return False
        if self.view.fit_mode():
            return True
        zoom = self.view.zoom()
        if abs(zoom - self.view.fit_zoom()) > 1e-9:
            return False
        c = self.centre_point()
        return (abs(c.x() - (image.columns - 1) / 2.0) <= 1.0 / zoom
                and abs(c.y() - (image.rows - 1) / 2.0)
                <= 1.0 / (zoom * self.view.pixel_aspect()))

    def place_like(self, other: FilmPane) -> None:
        """Show what ``other`` shows at its centre, at the same scale; a fitted view makes
        this one fitted too (it then follows resizing by itself)."""
        if other.is_fitted() and self.view.image() is not None:
            self.view.fit()
            return
        self.place_at(other.anchor())

    # -- handles -----------------------------------------------------------------------------
    def _on_handle_moving(self, key: HandleKey, xy: tuple[float, float]) -> None:
        landmark = key.landmark()
        if self.film is None or landmark is None:
            return
        try:
            self.film.annotations.preview_point(*landmark, xy)
        except ValueError:
            pass  # off the image: the handle stays where it was last valid

    def _on_handle_finished(self, key: HandleKey, xy: tuple[float, float]) -> None:
        landmark = key.landmark()
        if self.film is None or landmark is None:
            return
        try:
            self.film.annotations.set_point(*landmark, xy)
        except ValueError:
            self.film.annotations.cancel_preview()

    def _on_handle_cancelled(self, key: HandleKey) -> None:
        if self.film is not None:
            self.film.annotations.cancel_preview()

    def accept_proposals(self) -> list[str]:
        """Accept the selected level's proposal, else every proposal on this film (one
        undoable edit); returns the levels accepted."""
        if self.film is None:
            return []
        model = self.film.annotations
        selected = self.layer.selected
        level = selected.level if selected is not None else None
        if level is not None:
            vertebra = model.vertebrae.get(level)
            if vertebra is not None and vertebra.has_proposal:
                model.accept_proposal(level)
                return [level]
        levels = [v.level for v in model.ordered_vertebrae() if v.has_proposal]
        if levels:
            with model.edit("Accept all proposals"):
                for level in levels:
                    model.accept_proposal(level)
        return levels

    def reject_selected_proposal(self) -> str | None:
        """Remove the selected level when it is a proposal (Shift+Delete); returns it."""
        selected = self.layer.selected
        level = selected.level if selected is not None else None
        if self.film is None or level is None:
            return None
        vertebra = self.film.annotations.vertebrae.get(level)
        if vertebra is None or not vertebra.has_proposal:
            return None
        self.film.annotations.remove_vertebra(level)
        return level

    def _on_chosen(self, index: int) -> None:
        uid = self.chooser.itemData(index)
        if uid:
            self.filmChosen.emit(uid)

    def _on_view_changed(self, *args: object) -> None:
        self.layer.set_view_transform(self.view.transform())


# --------------------------------------------------------------------------- side by side


class CaseView(QWidget):
    """Two timepoints side by side with synchronised zoom/pan (switchable) and the **T**
    toggle between them in a single view; see the module docstring.

    ``carryForwardFinished(levels or reason)`` after a carry-forward into a pane."""

    carryForwardFinished = Signal(object)

    def __init__(self, controller: CaseController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.left = FilmPane(self)
        self.right = FilmPane(self)
        self.sync_check = QCheckBox("Synchronise zoom and pan", self)
        self.sync_check.setChecked(True)
        self.sync_check.setToolTip("Keep the same vertebra at the same place and scale in both")
        self.single_check = QCheckBox("Single view (T flips between the two)", self)
        self.hint = QLabel("", self)
        self._pair: tuple[str | None, str | None] = (None, None)
        self._single_showing_right = False
        self._syncing = False
        self._choices_signature: object = None
        self._carry_workers: list = []

        bar = QHBoxLayout()
        bar.addWidget(self.sync_check)
        bar.addWidget(self.single_check)
        bar.addWidget(self.hint, 1)
        panes = QHBoxLayout()
        panes.setSpacing(4)
        panes.addWidget(self.left, 1)
        panes.addWidget(self.right, 1)
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(panes, 1)

        self.sync_check.toggled.connect(self._on_sync_toggled)
        self.single_check.toggled.connect(self._on_single_toggled)
        self.left.filmChosen.connect(self._on_left_chosen)
        self.right.filmChosen.connect(self._on_right_chosen)
        self.left.carryRequested.connect(self._on_left_carry)
        self.right.carryRequested.connect(self._on_right_carry)
        self.left.view.viewChanged.connect(self._on_left_view_changed)
        self.right.view.viewChanged.connect(self._on_right_view_changed)
        for view in (self.left.view, self.right.view):
            view.installEventFilter(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        controller.caseChanged.connect(self._on_case_changed)
        controller.comparisonChanged.connect(self._on_comparison_changed)
        self._update_preview_viewport()
        self._on_case_changed(controller.case)

    def _update_preview_viewport(self) -> None:
        """Tell the controller how large a pane is (device pixels), for the preview level
        of films it opens: the larger pane once laid out, before that half the screen."""
        ratio = self.devicePixelRatioF()
        sizes = [pane.view.viewport().size() for pane in (self.left, self.right)
                 if pane.isVisible()]
        if sizes and self.isVisible():
            width = max(size.width() for size in sizes)
            height = max(size.height() for size in sizes)
        else:
            screen = self.screen() or QGuiApplication.primaryScreen()
            area = screen.availableGeometry() if screen is not None else None
            width = area.width() // 2 if area is not None else 1000
            height = area.height() if area is not None else 1000
        self.controller.preview_viewport = (max(1, round(width * ratio)),
                                            max(1, round(height * ratio)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._update_preview_viewport()

    # -- which films ---------------------------------------------------------------------------
    def pair(self) -> tuple[str | None, str | None]:
        """The SOP Instance UIDs of the left and right timepoints."""
        return self._pair

    def show_pair(self, left_uid: str | None, right_uid: str | None) -> None:
        """Show two films (by SOP Instance UID) side by side."""
        self._pair = (left_uid, right_uid)
        self._single_showing_right = False
        self._syncing = True
        try:
            self._show(self.left, left_uid)
            if not self.single_check.isChecked():
                self._show(self.right, right_uid)
        finally:
            self._syncing = False
        self.synchronise(self.left)
        self._update_hint()

    def _film(self, uid: str | None) -> CaseFilm | None:
        case = self.controller.case
        if case is None or uid is None:
            return None
        try:
            return case.film(uid)
        except KeyError:
            return None

    def _show(self, pane: FilmPane, uid: str | None) -> None:
        film = self._film(uid)
        image = self.controller.images.get(uid) if uid else None
        calibration = self.controller.calibration_for(uid) if film and uid else Calibration.none()
        pane.carry_source = self._carry_source(film)
        preview = self.controller.previews.get(uid) if uid else None
        pane.show_film(film, image, calibration, self.controller.comparison, preview)

    # -- carry forward -----------------------------------------------------------------------
    def _carry_source(self, film: CaseFilm | None) -> CaseFilm | None:
        """The nearest earlier film of the case with accepted landmarks (four corners) and
        an image, when ``film`` has no landmarks (placed or proposed) yet: what its pane
        offers to carry forward."""
        from ovcf_viewer.model.landmarks import CORNER_NAMES

        case = self.controller.case
        if case is None or film is None or film.timepoint is None:
            return None
        if film.annotations.vertebrae:
            return None  # the reader has started this film, or it holds proposals
        films = case.chronological_films()
        if film not in films:
            return None
        for earlier in reversed(films[:films.index(film)]):
            carriable = any(not v.has_proposal and all(n in v.points for n in CORNER_NAMES)
                            for v in earlier.annotations.vertebrae.values())
            if carriable and earlier.sop_instance_uid in self.controller.images:
                return earlier
        return None

    def carry_forward(self, pane: FilmPane) -> bool:
        """Propose ``pane.carry_source``'s landmarks on the pane's film, off the GUI thread;
        ``carryForwardFinished`` reports the levels proposed or why none were."""
        from ovcf_viewer.qt.annotate.annotation_controller import CarryWorker

        source, film = pane.carry_source, pane.film
        if source is None or film is None:
            return False
        images = self.controller.images
        target = images.get(film.sop_instance_uid)
        if target is None:
            return False
        worker = CarryWorker(images[source.sop_instance_uid], source.annotations, target)
        worker.signals.finished.connect(self._on_carry_finished)
        self._carry_workers.append(worker)
        pane.carry_button.setEnabled(False)
        pane.caption.setText(f"Carrying landmarks forward from {source.label}…")
        QThreadPool.globalInstance().start(worker)
        return True

    def _on_left_carry(self) -> None:
        self.carry_forward(self.left)

    def _on_right_carry(self) -> None:
        self.carry_forward(self.right)

    def _on_carry_finished(self, target_uid: str, result: CarryForwardResult | str) -> None:
        from ovcf_viewer.measure.placement import apply_proposals
        from ovcf_viewer.services.carry_forward import proposals_of

        self._carry_workers = [w for w in self._carry_workers
                               if w.signals is not self.sender()]
        for pane in (self.left, self.right):
            pane.carry_button.setEnabled(True)
        film = self._film(target_uid)
        if film is None or isinstance(result, str):
            self.carryForwardFinished.emit(result if isinstance(result, str)
                                           else "the film left the case")
            return
        levels = apply_proposals(film.annotations, proposals_of(result))
        flagged = [lv for lv in result.flagged_levels if lv in levels]
        for pane in (self.left, self.right):
            if pane.film is not None and pane.film.sop_instance_uid == target_uid:
                pane.carry_source = self._carry_source(pane.film)
                pane.refresh(self.controller.comparison)
        text = f"Proposed {', '.join(levels)}" if levels else "Nothing proposed"
        if flagged:
            text += "; check " + "; ".join(
                f"{lv}: {result.proposals[lv].reason_text}" for lv in flagged)
        self.hint.setText(text)
        self.carryForwardFinished.emit(levels)

    def _default_pair(self, case: Case) -> tuple[str | None, str | None]:
        pre, post = case.preop_film(), case.postop_film()
        films = case.chronological_films() or list(case.films)
        left = pre or (films[0] if films else None)
        right = post if post is not left else None
        if right is None:
            right = next((f for f in films if f is not left), left)
        return (left.sop_instance_uid if left else None,
                right.sop_instance_uid if right else None)

    # -- the T toggle ------------------------------------------------------------------------
    def toggle_timepoint(self) -> None:
        """Single view flipping between the pair's two films, centred on the same level.
        From side by side, switches to single view showing the right-hand film."""
        left_uid, right_uid = self._pair
        if left_uid is None or right_uid is None:
            return
        # Where the anatomy is now, before the single view widens (a resize moves the view).
        anchor = self.left.anchor()
        # A fitted film stays fitted (to the single view's full width, not at the zoom that
        # fitted half of it); a zoomed one keeps its level and scale.
        fit = self.left.is_fitted()
        if not self.single_check.isChecked():
            with QSignalBlocker(self.single_check):
                self.single_check.setChecked(True)
            self.right.hide()
            self._single_showing_right = False
            self._layout.activate()  # the left view takes the full width now
        self._single_showing_right = not self._single_showing_right
        uid = right_uid if self._single_showing_right else left_uid
        self._syncing = True
        try:
            self._show(self.left, uid)
            if fit:
                self.left.view.fit()
            else:
                self.left.place_at(anchor)
        finally:
            self._syncing = False
        self._update_hint()

    def shown_in_single_view(self) -> str | None:
        """The film shown when in single view, else ``None``."""
        if not self.single_check.isChecked():
            return None
        return self.left.film.sop_instance_uid if self.left.film else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_T and not event.modifiers():
                self.toggle_timepoint()
                return True
            pane = self.left if watched is self.left.view else self.right
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if pane.accept_proposals():
                    return True
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and shift:
                if pane.reject_selected_proposal():
                    return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_T and not event.modifiers():
            self.toggle_timepoint()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- synchronisation ---------------------------------------------------------------------
    def synchronise(self, source: FilmPane) -> None:
        """Place the other pane like ``source`` (same level, same mm per screen pixel)."""
        if self._syncing or self.single_check.isChecked() or not self.sync_check.isChecked():
            return
        target = self.right if source is self.left else self.left
        self._syncing = True
        try:
            target.place_like(source)
        finally:
            self._syncing = False

    def _on_left_view_changed(self) -> None:
        self.synchronise(self.left)

    def _on_right_view_changed(self) -> None:
        self.synchronise(self.right)

    def _on_sync_toggled(self, on: bool) -> None:
        if on:
            self.synchronise(self.left)

    def _on_single_toggled(self, single: bool) -> None:
        """Single view and back: the film(s) fitted to the new width, not left at the zoom
        chosen for the other layout."""
        self.right.setVisible(not single)
        if not single:
            self.show_pair(*self._pair)
        self._layout.activate()
        self.left.view.fit()
        if not single:
            self.right.view.fit()
            self.synchronise(self.left)
        self._update_hint()

    # -- model → view ------------------------------------------------------------------------
    def _on_case_changed(self, case: Case | None) -> None:
        films = case.chronological_films() + [f for f in case.films if f.timepoint is None] \
            if case else []
        left, right = self._pair
        known = {f.sop_instance_uid for f in films}
        if left not in known or right not in known:
            left, right = self._default_pair(case) if case else (None, None)
        signature = tuple((f.sop_instance_uid, f.timepoint, f.date) for f in films)
        if signature != self._choices_signature:
            self._choices_signature = signature
            self.left.set_choices(films, left)
            self.right.set_choices(films, right)
        if (left, right) != self._pair or self.left.film is None:
            self.show_pair(left, right)
        else:
            self._refresh_panes()

    def _on_comparison_changed(self, comparison: CaseComparison | None) -> None:
        self._refresh_panes()

    def _refresh_panes(self) -> None:
        for pane in (self.left, self.right):
            if pane.film is not None:
                uid = pane.film.sop_instance_uid
                current = self._film(uid)
                if current is not None and current is not pane.film:
                    # The case was replaced by a new frozen copy: same film, new record.
                    if current.path != pane.film.path:
                        self._show(pane, uid)
                        continue
                    pane.film = current
                pane._calibration = self.controller.calibration_for(uid)
            pane.carry_source = self._carry_source(pane.film)
            pane.refresh(self.controller.comparison)

    def _on_left_chosen(self, uid: str) -> None:
        self.show_pair(uid, self._pair[1])
        self.synchronise(self.right)

    def _on_right_chosen(self, uid: str) -> None:
        self.show_pair(self._pair[0], uid)
        self.synchronise(self.left)

    def _update_hint(self) -> None:
        if self.single_check.isChecked():
            film = self.left.film
            self.hint.setText(f"Showing {film.label if film else '—'}; press T for the other")
        else:
            self.hint.setText("Press T to flip between the two in one view")


def _copy_view(source: ImageView, target: ImageView) -> None:
    """Give ``target`` (showing the same image) the zoom and centre of ``source``."""
    rect = source.viewport().rect()
    centre = source.view_to_image(QPointF(rect.width() / 2.0, rect.height() / 2.0))
    target.set_zoom(source.zoom())
    trect = target.viewport().rect()
    landed = target.image_to_view(centre.x(), centre.y())
    target.pan_by(trect.width() / 2.0 - landed.x(), trect.height() / 2.0 - landed.y())


# --------------------------------------------------------------------------- case facts


class CaseDetailsForm(QGroupBox):
    """The case's facts (procedure, date, treated levels, approach) and each film's timepoint,
    proposed from the study dates (§5) and confirmed here. Edits go to the controller's
    session (autosaved); the form mirrors the case under a :class:`QSignalBlocker`."""

    FILM_COLUMNS = ("Film", "Study date", "Timepoint", "Days after procedure")

    def __init__(self, controller: CaseController, parent: QWidget | None = None) -> None:
        super().__init__("Case", parent)
        self.controller = controller
        self.case_id_label = QLabel("", self)
        self.procedure = QComboBox(self)
        self.procedure.addItem("— not recorded —", None)
        for key in PROCEDURES:
            self.procedure.addItem(PROCEDURE_LABELS[key], key)
        self.procedure_date = QDateEdit(self)
        self.procedure_date.setCalendarPopup(True)
        self.procedure_date.setDisplayFormat("yyyy-MM-dd")
        self.procedure_date.setSpecialValueText("not recorded")
        self.procedure_date.setMinimumDate(QDate(1900, 1, 1))
        self.treated = QLineEdit(self)
        self.treated.setPlaceholderText("e.g. L1 or T12, L1")
        self.approach = QComboBox(self)
        self.approach.addItem("— not recorded —", None)
        for key in APPROACHES:
            self.approach.addItem(key.capitalize(), key)
        self.propose_button = QPushButton("Propose timepoints from dates", self)
        self.films = QTableWidget(0, len(self.FILM_COLUMNS), self)
        self.films.setHorizontalHeaderLabels(list(self.FILM_COLUMNS))
        self.films.verticalHeader().setVisible(False)
        self.films.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.films.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Case", self.case_id_label)
        form.addRow("Procedure", self.procedure)
        form.addRow("Procedure date", self.procedure_date)
        form.addRow("Treated levels", self.treated)
        form.addRow("Approach", self.approach)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.propose_button)
        layout.addWidget(self.films)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.procedure.activated.connect(self._on_procedure)
        self.approach.activated.connect(self._on_approach)
        self.procedure_date.editingFinished.connect(self._on_procedure_date)
        self.treated.editingFinished.connect(self._on_treated)
        self.propose_button.clicked.connect(self.propose_timepoints)
        controller.caseChanged.connect(self.sync)
        controller.messagesChanged.connect(self._on_messages)
        self._combos: list[QComboBox] = []
        self._films_signature: object = None
        self.sync(controller.case)

    def sync(self, case: Case | None) -> None:
        """Mirror ``case`` (never writes back)."""
        widgets = (self.procedure, self.approach, self.procedure_date, self.treated)
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            self.setEnabled(case is not None)
            if case is None:
                self.case_id_label.setText("no case open")
                self.films.setRowCount(0)
                self._films_signature = None
                return
            patient = ", ".join(p for p in (case.patient_name, case.patient_id) if p)
            self.case_id_label.setText(case.case_id + (f" ({patient})" if patient else ""))
            self.procedure.setCurrentIndex(max(0, self.procedure.findData(case.procedure)))
            self.approach.setCurrentIndex(max(0, self.approach.findData(case.approach)))
            if case.procedure_date is not None:
                d = case.procedure_date
                self.procedure_date.setDate(QDate(d.year, d.month, d.day))
            else:
                self.procedure_date.setDate(self.procedure_date.minimumDate())
            if not self.treated.hasFocus():
                self.treated.setText(", ".join(case.treated_levels))
            signature = (case.procedure_date, tuple(
                (f.sop_instance_uid, f.timepoint, f.study_date, f.path) for f in case.films))
            if signature != self._films_signature:
                self._films_signature = signature
                self._fill_films(case)
        finally:
            del blockers

    def _fill_films(self, case: Case) -> None:
        self.films.setRowCount(len(case.films))
        self._combos = []
        for row, film in enumerate(case.films):
            name = film.path.name if film.path else film.sop_instance_uid
            self.films.setItem(row, 0, QTableWidgetItem(name))
            self.films.setItem(row, 1, QTableWidgetItem(
                film.study_date.isoformat() if film.study_date else "—"))
            combo = QComboBox(self.films)
            combo.addItem("— unassigned —", None)
            for kind in TIMEPOINT_KINDS:
                combo.addItem(_KIND_NAMES[kind], kind)
            current_kind = film.timepoint.kind if film.timepoint else None
            combo.setCurrentIndex(max(0, combo.findData(current_kind)))
            combo.setProperty("sop_instance_uid", film.sop_instance_uid)
            combo.activated.connect(self._on_timepoint_combo)
            self.films.setCellWidget(row, 2, combo)
            self._combos.append(combo)
            days = None
            if film.timepoint is not None and film.timepoint.interval_days is not None:
                days = film.timepoint.interval_days
            elif film.date and case.procedure_date:
                days = (film.date - case.procedure_date).days
            self.films.setItem(row, 3, QTableWidgetItem("—" if days is None else str(days)))
        self.films.resizeRowsToContents()
        height = self.films.horizontalHeader().sizeHint().height() + 2 * self.films.frameWidth()
        height += sum(self.films.rowHeight(r) for r in range(self.films.rowCount()))
        self.films.setFixedHeight(height + 2)

    # -- user edits → session ----------------------------------------------------------------
    def _session(self) -> CaseSession | None:
        return self.controller.session

    def _on_procedure(self, index: int) -> None:
        if (session := self._session()) is not None:
            session.update(procedure=self.procedure.itemData(index))

    def _on_approach(self, index: int) -> None:
        if (session := self._session()) is not None:
            session.update(approach=self.approach.itemData(index))

    def _on_procedure_date(self) -> None:
        session = self._session()
        if session is None:
            return
        q = self.procedure_date.date()
        value = None if q == self.procedure_date.minimumDate() else date(q.year(), q.month(),
                                                                          q.day())
        if value != session.case.procedure_date:
            session.update(procedure_date=value)

    def _on_treated(self) -> None:
        session = self._session()
        if session is None:
            return
        text = self.treated.text().replace(";", ",").replace(" ", ",")
        levels = [t.strip().upper() for t in text.split(",") if t.strip()]
        try:
            for level in levels:
                level_index(level)
        except AnnotationFormatError as exc:
            self.status.setText(f"Treated levels not changed: {exc}")
            return
        levels = sorted(set(levels), key=level_index)
        if tuple(levels) != session.case.treated_levels:
            session.update(treated_levels=tuple(levels))
        self.status.setText("")

    def _on_timepoint_combo(self, index: int) -> None:
        combo = self.sender()
        session = self._session()
        if session is None or not isinstance(combo, QComboBox):
            return
        uid = combo.property("sop_instance_uid")
        kind = combo.itemData(index)
        film = session.case.film(uid)
        if kind is None:
            session.set_film_timepoint(uid, None)
            return
        when = film.date
        proc = session.case.procedure_date
        interval = (when - proc).days if when and proc and kind != "preop" else None
        session.set_film_timepoint(uid, Timepoint(kind, when, interval))

    def propose_timepoints(self) -> None:
        """Fill every film's timepoint from its study date and the procedure date (§5)."""
        session = self._session()
        if session is None:
            return
        case = session.case
        if case.procedure_date is None:
            self.status.setText("Enter the procedure date first: timepoints are proposed "
                                "from it and the study dates.")
            return
        proposals = propose_timepoints([f.study_date for f in case.films], case.procedure_date)
        for film, tp in zip(case.films, proposals, strict=True):
            if tp is not None:
                session.set_film_timepoint(film.sop_instance_uid, tp)
        undated = [f.label for f, tp in zip(case.films, proposals, strict=True) if tp is None]
        self.status.setText(
            "Proposed; check each film's timepoint." + (
                f" No study date: {', '.join(undated)}." if undated else ""))

    def _on_messages(self, messages: list) -> None:
        self.status.setText("\n".join(messages))


# --------------------------------------------------------------------------- suitability


#: The case window's suitability tab puts findings and evaluation side by side from this width.
SIDE_BY_SIDE_MIN_WIDTH = 900


class CaseSuitability(QWidget):
    """The procedure-suitability panel (§6) joined to the case: its measured inputs fill
    themselves from the controller's comparison (re-filled on every landmark move), its
    findings come from and go to ``case.findings`` through :meth:`CaseController.set_findings`
    (autosaved, saved with the case). A line above the panel says which film was measured.

    The rules are :func:`~ovcf_viewer.suitability.rules_for_settings` of the
    controller's settings; a broken department file is shown by the panel, which then uses
    the bundled rules.
    """

    def __init__(self, controller: CaseController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ovcf_viewer.qt.suitability.suitability_panel import SuitabilityPanel

        self.controller = controller
        self._settings = controller.settings.model_copy()  # what the rules were read for
        self._findings_problem = ""
        rules, problem = self._rules_for(controller.settings)
        self.rules = rules
        self.source = QLabel("", self)
        self.source.setWordWrap(True)
        self.source.setObjectName("suitabilitySource")
        # On a treated case the panel describes the decision before treatment, never advice
        # for now (docs/clinical-reference.md §6): said in a title above it.
        self.title = QLabel("", self)
        self.title.setWordWrap(True)
        self.title.setObjectName("suitabilityTitle")
        self.title.setStyleSheet("font-weight: bold; font-size: 11pt;")
        self._why = ""
        self.panel = SuitabilityPanel(rules=None if problem else rules,
                                      settings=controller.settings, parent=self)
        # In a wide case tab, findings and evaluation read best side by side; in a narrow one
        # (half a 1366-px screen) side by side cut the measured inputs' values and override
        # fields off, so the panel stacks them there, as it does in the main window's dock.
        self._inner = self.panel.findChild(QSplitter)
        if self._inner is not None:
            self._inner.setStretchFactor(1, 2)  # the reasons are long sentences
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.source)
        layout.addWidget(self.panel, 1)
        self.panel.findingsChanged.connect(self._on_panel_findings)
        controller.comparisonChanged.connect(self._on_comparison)
        controller.caseChanged.connect(self._on_case_changed)
        # Findings can arrive from elsewhere too (the main window, for the same study).
        controller.findingsChanged.connect(self._on_case_changed)
        self._on_comparison(controller.comparison)
        self._on_case_changed(controller.case)

    @staticmethod
    def _rules_for(settings: Settings) -> tuple[Rules | None, str]:
        return rules_or_fallback(settings)

    # -- model → view ------------------------------------------------------------------------
    def _on_comparison(self, comparison: CaseComparison | None) -> None:
        """Re-fill the measured inputs (a landmark moved, a film or the settings changed)."""
        if self.controller.settings != self._settings:
            self._apply_settings(self.controller.settings)
        measured, why = self.controller.suitability_inputs(self.rules)
        self._why = why
        self._show_source()
        self.panel.set_measured(measured)
        self.panel.set_warnings(
            f"{film.label}: {w.message}"
            for film in (comparison.films if comparison is not None else ())
            for w in film.measurements.warnings)

    def _show_source(self) -> None:
        case = self.controller.case
        treated = case is not None and any(
            f.timepoint.kind in ("postop", "followup")
            for f in case.films if f.timepoint is not None)
        self.title.setText(
            "Pre-operative decision: the suitability as it stood before treatment, from the "
            "pre-operative film it used — not advice for now" if treated
            else "Procedure suitability")
        self.source.setText(" ".join(filter(None, (
            f"Measured inputs: {self._why}." if self.controller.case is not None else "",
            self._findings_problem))))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        """Side by side from :data:`SIDE_BY_SIDE_MIN_WIDTH` px, stacked below it."""
        super().resizeEvent(event)
        if self._inner is not None:
            wide = self.width() >= SIDE_BY_SIDE_MIN_WIDTH
            orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
            if self._inner.orientation() != orientation:
                self._inner.setOrientation(orientation)

    def _apply_settings(self, settings: Settings) -> None:
        self._settings = settings.model_copy()
        self.rules, problem = self._rules_for(settings)
        self.panel.set_rules(self.rules, problem)

    def _on_case_changed(self, case: Case | None) -> None:
        """Show the case's saved findings when they differ from the panel's (a case was
        opened or replaced); the panel mirrors them without emitting ``findingsChanged``."""
        self._findings_problem = ""
        try:
            findings = self.controller.findings()
        except SuitabilityError as exc:
            self._findings_problem = (f"The case's saved findings could not be read: {exc}. "
                                      "Findings entered here replace them.")
            findings = Findings()
        self._show_source()
        if findings != self.panel.findings():
            self.panel.set_findings(findings)

    # -- view → model ------------------------------------------------------------------------
    def _on_panel_findings(self, findings: Findings) -> None:
        self.controller.set_findings(findings)


# --------------------------------------------------------------------------- workspace


class CaseWorkspace(QWidget):
    """Everything for one case: facts and timepoints, the side-by-side view, and tabs with
    the comparison panel, the trend chart and the suitability panel (:class:`CaseSuitability`).
    Put it in a window or a tab."""

    def __init__(self, controller: CaseController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ovcf_viewer.qt.case.comparison_panel import ComparisonPanel
        from ovcf_viewer.qt.case.trend_chart import TrendChart

        self.controller = controller
        self.details = CaseDetailsForm(controller, self)
        self.case_view = CaseView(controller, self)
        self.panel = ComparisonPanel(self)
        self.chart = TrendChart(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.panel, "Comparison")
        self.tabs.addTab(self.chart, "Trend")
        self.suitability = CaseSuitability(controller, self)
        self.tabs.addTab(self.suitability, "Suitability")
        from ovcf_viewer.qt.case.outcomes_panel import OutcomesPanel

        self.outcomes = OutcomesPanel(controller, self)  # pain, procedure, cement (§5a)
        self.tabs.addTab(self.outcomes, "Outcomes")
        self.outcomes.drawRequested.connect(self.start_leak_tool)
        self.leak_tool: Any = None
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.details)
        right.addWidget(self.tabs)
        right.setStretchFactor(1, 3)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitters = (splitter, right)  # saved with the window's layout
        splitter.addWidget(self.case_view)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        controller.comparisonChanged.connect(self._on_comparison)
        self._on_comparison(controller.comparison)

    def start_leak_tool(self, uid: str, level: str, location: str) -> None:
        """Show film ``uid`` in the right pane and draw a ``location`` leak at ``level`` on
        it (click points, double-click or Enter closes, Esc cancels); the region is recorded
        through the case session (undoable, autosaved)."""
        from ovcf_viewer.qt.case.leak_tool import LeakDrawTool

        if self.leak_tool is not None and self.leak_tool.active:
            self.leak_tool.cancel()
        left, right = self.case_view.pair()
        if left == uid:  # keep the other film beside it
            left = right if right != uid else None
        self.case_view.show_pair(left, uid)
        pane = self.case_view.right
        session = self.controller.session

        def finished(region: Any) -> None:
            if session is not None:
                session.add_leak_region(uid, level, region)
            self.outcomes.message.setText("")

        self.leak_tool = LeakDrawTool(pane.view, location, finished,
                                      on_message=self.outcomes.message.setText)
        self.outcomes.message.setText(
            f"Drawing a leak at {level} on the {pane.film.label.lower() if pane.film else ''} "
            "film: click its outline, double-click or Enter to close, Esc to cancel.")

    def _on_comparison(self, comparison: CaseComparison | None) -> None:
        case = self.controller.case
        summary = None
        if case is not None and comparison is not None:
            from ovcf_viewer.measure.outcomes import summarize_outcomes

            summary = summarize_outcomes(case, comparison)
        self.outcomes.sync(case, summary)
        self.panel.show_comparison(comparison, case)
        self.chart.show_trend(comparison.trend() if comparison is not None else None,
                              comparison.variability_deg if comparison is not None else 5.0)


# --------------------------------------------------------------------------- window


class CaseWindow(QMainWindow):
    """A window for one case: the :class:`CaseWorkspace` with a Case menu (open, save, save
    as, find missing films, export the table as CSV, export the PDF report). The main window
    opens it with :func:`open_case_window`; every action is also a plain method for scripts
    and tests. The report (:class:`~ovcf_viewer.qt.dialogs.report_action.ExportReportAction`) is
    built from the controller's current case, findings included, and its loaded images, so
    no film is read twice."""

    FILE_FILTER = "OVCF case (*.json);;All files (*)"

    def __init__(self, controller: CaseController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("OVCF Viewer — case")
        self.controller = controller
        if self.controller.parent() is None:
            self.controller.setParent(self)
        self.workspace = CaseWorkspace(self.controller, self)
        self.setCentralWidget(self.workspace)
        self.status_label = QLabel("", self)
        self.statusBar().addWidget(self.status_label, 1)
        menu = self.menuBar().addMenu("&Case")
        self.open_action = self._action(menu, "&Open case…", self.choose_case_to_open,
                                        QKeySequence.StandardKey.Open)
        self.save_action = self._action(menu, "&Save case", self.save_or_choose,
                                        QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(menu, "Save case &as…", self.choose_save_path,
                                           QKeySequence.StandardKey.SaveAs)
        menu.addSeparator()
        self.relocate_action = self._action(menu, "&Find missing films…",
                                            self.choose_relocation_folder)
        self.export_action = self._action(menu, "&Export table (CSV)…", self.choose_csv_path)
        self.export_deidentified_action = self._action(
            menu, "Export de-identified table (CSV)…",
            lambda: self.choose_csv_path(deidentify=True))
        from ovcf_viewer.qt.dialogs.report_action import ExportReportAction

        self.report_action = ExportReportAction(self, self.report_case, self.report_images,
                                                settings=self.controller.settings)
        self.report_action.setText("Export &report…")
        # Connected after the action's own slot, so it runs once the report is written.
        self.report_action.triggered.connect(self._on_report_exported)
        self._report_seen: Path | None = None
        menu.addAction(self.report_action)
        from ovcf_viewer.qt.dialogs.report_action import PrintReportAction

        self.print_action = PrintReportAction(self, self.report_case, self.report_images,
                                              settings=self.controller.settings)
        self.print_action.setText("&Print report…")
        menu.addAction(self.print_action)
        from ovcf_viewer.qt.dialogs.sr_actions import CaseSrAction

        self.sr_action = CaseSrAction(self)
        menu.addAction(self.sr_action)
        self.deidentified_sr_action = CaseSrAction(self, deidentify=True)
        menu.addAction(self.deidentified_sr_action)
        menu.addSeparator()
        self.close_action = self._action(menu, "&Close", self.close,
                                         QKeySequence.StandardKey.Close)
        edit = self.menuBar().addMenu("&Edit")  # case facts and outcomes (§5a)
        self.undo_action = self._action(edit, "&Undo case edit", self.undo_case_edit,
                                        QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(edit, "&Redo case edit", self.redo_case_edit,
                                        QKeySequence.StandardKey.Redo)
        view_menu = self.menuBar().addMenu("&View")
        # Arranged when first shown (films and panels share the width equally: left to the
        # size hints, the panels got 566 of 1366 px and their tables scrolled). Fitted films
        # stay fitted through the move (FilmPane.is_fitted follows the view's fit mode).
        self.layout_memory = LayoutMemory(self, self.controller.settings, "case",
                                          self.arrange_default_layout,
                                          self.workspace.splitters)
        self.reset_layout_action = self._action(view_menu, "Reset &layout",
                                                self.layout_memory.reset)
        self.controller.caseChanged.connect(self._on_case_changed)
        self.controller.messagesChanged.connect(self._on_messages)
        self._on_case_changed(self.controller.case)

    def arrange_default_layout(self, width: int) -> None:
        """Films and panels share the width equally; the case facts take what they need
        above the tabs."""
        view = self.workspace.case_view
        fitted = [pane for pane in (view.left, view.right) if pane.is_fitted()]
        films, panels = self.workspace.splitters
        films.setSizes([width // 2, width - width // 2])
        height = max(1, self.workspace.height())
        facts_height = min(self.workspace.details.sizeHint().height(), height // 2)
        panels.setSizes([facts_height, height - facts_height])
        for pane in fitted:  # fitted films stay fitted to their new width
            pane.view.fit()

    def undo_case_edit(self) -> bool:
        session = self.controller.session
        return session.undo() if session is not None else False

    def redo_case_edit(self) -> bool:
        session = self.controller.session
        return session.redo() if session is not None else False

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- plain methods -----------------------------------------------------------------------
    def open_case(self, path: str | os.PathLike[str],
                  search_root: str | os.PathLike[str] | None = None) -> bool:
        """Open a case document; a bad document is reported in the status bar (and False)."""
        try:
            messages = self.controller.open_case(path, search_root)
        except CaseFormatError as exc:
            self.show_message(f"Case not opened: {exc}")
            return False
        self.show_message("; ".join(messages) if messages else f"Opened {Path(path).name}")
        return True

    def save_case(self, path: str | os.PathLike[str] | None = None) -> bool:
        try:
            target = self.controller.save_case(path)
        except (CaseFormatError, OSError) as exc:
            self.show_message(f"Case not saved: {exc}")
            return False
        self.show_message(f"Case saved to {target}")
        self._on_case_changed(self.controller.case)
        return True

    def export_csv(self, path: str | os.PathLike[str], *, deidentify: bool = False) -> bool:
        """Write the case's table (one row per timepoint × level), as ``export-csv`` does
        (``--deidentify`` too)."""
        from ovcf_viewer.services.csv_table import table_text
        from ovcf_viewer.util.atomic import atomic_write_text

        case = self.controller.case
        if case is None:
            self.show_message("No case open")
            return False
        try:
            text, count, _notes = table_text([case], self.controller.settings,
                                             deidentify=deidentify)
            atomic_write_text(path, text)
        except (OSError, ValueError) as exc:
            self.show_message(f"Table not written: {exc}")
            return False
        self.show_message(f"{count} rows written to {path}")
        return True

    def relocate(self, folder: str | os.PathLike[str]) -> list[str]:
        missing = self.controller.relocate(folder)
        self.show_message("; ".join(missing) if missing else "All films found")
        return missing

    def report_case(self) -> Case | None:
        """What the report is built from: the current case with its findings (``None`` when
        no case is open; the action then says so)."""
        return self.controller.case

    def report_images(self) -> dict[str, RadiographImage]:
        """The films already loaded by the controller (SOP Instance UID → image)."""
        return dict(self.controller.images)

    def _on_report_exported(self) -> None:
        written = self.report_action.last_written
        if written is not None and written is not self._report_seen:
            self._report_seen = written
            self.show_message(f"Report written to {written}")

    def show_message(self, text: str) -> None:
        self.status_label.setText(" ".join(text.split()))

    # -- dialogs -----------------------------------------------------------------------------
    def choose_case_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open case", "", self.FILE_FILTER)
        if path:
            self.open_case(path)

    def save_or_choose(self) -> None:
        if self.controller.path is None:
            self.choose_save_path()
        else:
            self.save_case()

    def choose_save_path(self) -> None:
        case = self.controller.case
        suggested = f"{case.case_id}.json" if case else "case.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save case", suggested, self.FILE_FILTER)
        if path:
            self.save_case(path)

    def choose_relocation_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder that holds the films")
        if folder:
            self.relocate(folder)

    def choose_csv_path(self, deidentify: bool = False) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export de-identified table" if deidentify else "Export table",
            "case-deidentified.csv" if deidentify else "case.csv", "CSV table (*.csv)")
        if path:
            self.export_csv(path, deidentify=deidentify)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Closing with case edits only in memory: try once more, then ask."""
        if self.controller.retry_autosave():
            self.controller.end_session()
            super().closeEvent(event)
            return
        session = self.controller.session
        reason = session.autosave_error if session is not None else "no case open"
        answer = QMessageBox.warning(
            self, "Case edits not saved",
            f"The latest case edits could not be written ({reason}).\n\n"
            "Save the case somewhere else before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            self.choose_save_path()
        if answer == QMessageBox.StandardButton.Cancel:
            event.ignore()
            return
        self.controller.end_session()
        super().closeEvent(event)

    # -- model → view ------------------------------------------------------------------------
    def _on_case_changed(self, case: Case | None) -> None:
        has_case = case is not None
        for action in (self.save_action, self.save_as_action, self.relocate_action,
                       self.export_action, self.report_action, self.sr_action):
            action.setEnabled(has_case)
        where = f" — {self.controller.path.name}" if self.controller.path else ""
        self.setWindowTitle(f"OVCF Viewer — case {case.case_id}{where}" if case
                            else "OVCF Viewer — case")

    def _on_messages(self, messages: list) -> None:
        if messages:
            self.show_message("; ".join(messages))


def open_case_window(
    parent: QWidget | None = None,
    *,
    case_path: str | os.PathLike[str] | None = None,
    image_paths: Sequence[str | os.PathLike[str]] = (),
    procedure_date: date | None = None,
    settings: Settings,
    annotations: Any = None,
    case_facts: dict[str, Any] | None = None,
) -> CaseWindow:
    """Open a case window, on a case document or on image files (timepoints proposed from
    their study dates and ``procedure_date``). For ``File > Open case`` / ``New case``.
    ``annotations`` (SOP UID → landmarks, anything with ``.get``) reuses landmarks already
    placed on the films; ``case_facts`` (``procedure``, ``treated_levels``, ``timepoints``)
    what the user confirmed in the new-case dialog."""
    controller = CaseController(settings)
    window = CaseWindow(controller, parent)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if case_path is not None:
        window.open_case(case_path)
    elif image_paths:
        try:
            controller.new_case(image_paths, procedure_date=procedure_date,
                                annotations=annotations, **(case_facts or {}))
        except CaseFormatError as exc:
            window.show_message(f"Case not created: {exc}")
    fit_to_screen(window, 1600, 950)  # never larger than the screen (a 1366 × 768 laptop)
    window.show()
    return window
