"""The case window's Outcomes tab (docs/clinical-reference.md §5a): pain VAS and ODI per
timepoint, the procedure record per treated level with the estimated body volume and the
cement fill (formula and limits written beside them), and per post-operative film the cement
leakage (with a tool to draw each leak on the film) and endplate contact.

Model → view: :meth:`OutcomesPanel.sync` mirrors the case with every widget's signals blocked
(``QSignalBlocker``). View → model: each edit goes through the case session
(:class:`~ovcf_viewer.model.case.CaseSession`: undoable, autosaved). A value out of range is
refused with a message under the tables and the field shows the case's value again; an empty
field is "not recorded", never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QSignalBlocker, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ovcf_viewer.measure.outcomes import VOLUME_FORMULA, VOLUME_LIMITS, OutcomeSummary
from ovcf_viewer.model.case import Case, CaseFilm
from ovcf_viewer.model.outcomes import (
    APPROACHES,
    LEAK_LOCATION_LABELS,
    LEAK_LOCATIONS,
    TECHNIQUE_LABELS,
    TECHNIQUES,
    VISCOSITIES,
    CementFinding,
    LevelProcedure,
    OutcomeValueError,
    PainScore,
)
from ovcf_viewer.qt.case.sections import fit_table_height, fit_table_heights, scrolling_sections
from ovcf_viewer.qt.theme import readable

__all__ = ["CEMENT_ROWS", "OutcomesPanel", "PROCEDURE_ROWS", "parse_optional_number"]

#: The procedure table's rows (one column per treated level).
PROCEDURE_ROWS = ("Technique", "Approach", "Viscosity", "Cement (mL)", "Width W (mm)",
                  "Body volume est. (mL)", "Cement / volume")
#: The cement table's rows (one column per post-operative film and level).
CEMENT_ROWS = ("Cement leakage", "Where", "Drawn outlines", "Both endplates", "Draw a leak")

_TRISTATE = (("not recorded", None), ("yes", True), ("no", False))


def parse_optional_number(text: str, what: str) -> float | None:
    """``""`` → ``None`` (not recorded); a number (``,`` accepted as the decimal mark);
    else :class:`OutcomeValueError`."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise OutcomeValueError(f"{what}: {text!r} is not a number") from None


def _fmt(value: float | None, decimals: int = 1) -> str:
    return "" if value is None else f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def _data(widget: QWidget) -> Any:
    assert isinstance(widget, QComboBox)
    return widget.currentData()


def _text(widget: QWidget) -> str:
    assert isinstance(widget, QLineEdit)
    return widget.text()


def _checked(widget: QWidget) -> bool:
    assert isinstance(widget, QCheckBox)
    return widget.isChecked()


def _combo(choices: list[tuple[str, Any]], current: Any) -> QComboBox:
    box = QComboBox()
    for label, data in choices:
        box.addItem(label, data)
    box.setCurrentIndex(max(0, [d for _, d in choices].index(current)
                            if current in [d for _, d in choices] else 0))
    return box


class OutcomesPanel(QWidget):
    """See the module docstring. ``drawRequested(uid, level, location)`` asks the case view
    to start the leak tool on that film."""

    drawRequested = Signal(str, str, str)

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self._style_message()
        self.pain = QTableWidget(0, 4, self)
        self.pain.setHorizontalHeaderLabels(["Timepoint", "Days", "Pain VAS (0–10)",
                                             "ODI (0–100 %)"])
        # One column per treated level (per film and level for the cement), the fields as
        # rows: a panel half a 1366-px screen wide shows them without sideways scrolling.
        self.procedure = QTableWidget(len(PROCEDURE_ROWS), 0, self)
        self.procedure.setVerticalHeaderLabels(list(PROCEDURE_ROWS))
        width_header = self.procedure.verticalHeaderItem(PROCEDURE_ROWS.index("Width W (mm)"))
        if width_header is not None:
            width_header.setToolTip(
                "Transverse body width read on an AP film or CT (the lateral film cannot "
                "show it); without it the body volume is unknown")
        self.volume_note = QLabel(
            f"{VOLUME_FORMULA}. {VOLUME_LIMITS}.", self)
        self.volume_note.setWordWrap(True)
        self.cement = QTableWidget(len(CEMENT_ROWS), 0, self)
        self.cement.setVerticalHeaderLabels(list(CEMENT_ROWS))
        self.leak_note = QLabel(
            "Leak locations after Yeom 2003. “No” means none seen on this film: plain films "
            "miss venous leaks CT shows (§5a). Draw: click the outline's points on the film, "
            "double-click or Enter to close, Esc to cancel.", self)
        self.leak_note.setWordWrap(True)
        # Said instead of a table of row names without a column.
        self.no_levels = QLabel("No treated level recorded: enter the treated levels above.",
                                self)
        self.no_postop = QLabel("", self)
        for label in (self.no_levels, self.no_postop):
            label.setWordWrap(True)
            label.setVisible(False)
        scrolling_sections(self, [], [
            ("Pain and disability per timepoint", [self.pain]),
            ("Procedure per treated level", [self.no_levels, self.procedure,
                                             self.volume_note]),
            ("Cement on post-operative films", [self.no_postop, self.cement, self.leak_note]),
        ], [self.message])
        fit_table_heights(self, [self.pain, self.procedure, self.cement])
        self.pain_edits: dict[tuple[str, str], QLineEdit] = {}
        self.procedure_widgets: dict[tuple[str, str], QWidget] = {}
        self.cement_widgets: dict[tuple[str, str, str], QWidget] = {}

    # -- model → view ---------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """A theme change: the message colour is made readable on the new ground."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "message"):
            self._style_message()

    def _style_message(self) -> None:
        ground = self.palette().color(QPalette.ColorRole.Window)  # a label, not a table
        self.message.setStyleSheet(f"color: {readable('#b31e14', ground).name()}")

    def sync(self, case: Case | None, summary: OutcomeSummary | None) -> None:
        """Mirror ``case`` and its ``summary`` (volumes) without writing back."""
        self._fill_pain(case)
        self._fill_procedure(case, summary)
        self._fill_cement(case)

    def _fill_pain(self, case: Case | None) -> None:
        films = case.chronological_films() if case else []
        self.pain_edits = {}
        with QSignalBlocker(self.pain):
            self.pain.setRowCount(len(films))
            for row, film in enumerate(films):
                self.pain.setItem(row, 0, QTableWidgetItem(film.label))
                days = film.timepoint.interval_days if film.timepoint else None
                self.pain.setItem(row, 1, QTableWidgetItem("" if days is None else str(days)))
                for col, key in ((2, "vas"), (3, "odi")):
                    edit = QLineEdit(_fmt(getattr(film.pain, key)))
                    edit.setPlaceholderText("not recorded")
                    edit.editingFinished.connect(self._pain_handler(film.sop_instance_uid))
                    self.pain.setCellWidget(row, col, edit)
                    self.pain_edits[(film.sop_instance_uid, key)] = edit
        self.pain.resizeColumnsToContents()
        fit_table_height(self.pain)

    def _fill_procedure(self, case: Case | None, summary: OutcomeSummary | None) -> None:
        levels = list(case.treated_levels) if case else []
        volumes = {v.level: v for v in summary.volumes} if summary else {}
        self.procedure_widgets = {}
        self.no_levels.setVisible(not levels)
        self.procedure.setVisible(bool(levels))
        self.procedure.setColumnCount(len(levels))
        self.procedure.setHorizontalHeaderLabels(levels)
        for col, level in enumerate(levels):
            assert case is not None
            record = case.level_procedure(level) or LevelProcedure(level)
            widgets: dict[str, QWidget] = {
                "technique": _combo([("—", None)] + [(TECHNIQUE_LABELS[t], t)
                                                      for t in TECHNIQUES], record.technique),
                "approach": _combo([("—", None)] + [(a, a) for a in APPROACHES],
                                   record.approach),
                "viscosity": _combo([("—", None)] + [(v, v) for v in VISCOSITIES],
                                    record.viscosity),
                "cement_ml": QLineEdit(_fmt(record.cement_ml, 2)),
                "width_mm": QLineEdit(_fmt(record.width_mm, 1)),
            }
            for row, (key, widget) in enumerate(widgets.items()):
                if isinstance(widget, QComboBox):
                    widget.currentIndexChanged.connect(self._procedure_handler(level))
                else:
                    assert isinstance(widget, QLineEdit)
                    widget.setPlaceholderText("not recorded")
                    widget.editingFinished.connect(self._procedure_handler(level))
                self.procedure.setCellWidget(row, col, widget)
                self.procedure_widgets[(level, key)] = widget
            v = volumes.get(level)
            volume = _fmt(v.volume_ml) if v and v.volume_ml is not None else (
                f"unknown ({v.reason})" if v else "unknown")
            self.procedure.setItem(5, col, QTableWidgetItem(volume))
            fill = f"{v.fill_pct:.1f} %" if v and v.fill_pct is not None else "—"
            self.procedure.setItem(6, col, QTableWidgetItem(fill))
        self.procedure.resizeColumnsToContents()
        fit_table_height(self.procedure)

    def _fill_cement(self, case: Case | None) -> None:
        rows: list[tuple[CaseFilm, str]] = []
        if case:
            for film in case.films_of_kind("postop"):
                levels = list(dict.fromkeys([*case.treated_levels,
                                             *(c.level for c in film.cement)]))
                rows += [(film, level) for level in levels]
        self.cement_widgets = {}
        if not rows:
            self.no_postop.setText(
                "No treated level recorded: enter the treated levels above."
                if case and case.films_of_kind("postop") else
                "No post-operative film in the case: give a film the post-operative "
                "timepoint above.")
        self.no_postop.setVisible(not rows)
        self.cement.setVisible(bool(rows))
        self.cement.setColumnCount(len(rows))
        self.cement.setHorizontalHeaderLabels([f"{film.label}\n{level}" for film, level in rows])
        for col, (film, level) in enumerate(rows):
            uid = film.sop_instance_uid
            finding = film.cement_at(level) or CementFinding(level)
            leakage = _combo(list(_TRISTATE), finding.leakage)
            endplates = _combo(list(_TRISTATE), finding.endplate_contact)
            where = QWidget()
            where_layout = QGridLayout(where)  # two by two: narrow enough for the panel
            where_layout.setContentsMargins(2, 0, 2, 0)
            for i, loc in enumerate(LEAK_LOCATIONS):
                check = QCheckBox(LEAK_LOCATION_LABELS[loc], where)
                check.setChecked(loc in finding.locations)
                check.setEnabled(finding.leakage is True)
                check.toggled.connect(self._cement_handler(uid, level))
                where_layout.addWidget(check, i // 2, i % 2)
                self.cement_widgets[(uid, level, loc)] = check
            draw = QWidget()
            draw_layout = QHBoxLayout(draw)
            draw_layout.setContentsMargins(2, 0, 2, 0)
            location = _combo([(LEAK_LOCATION_LABELS[x], x) for x in LEAK_LOCATIONS], None)
            button = QPushButton("Draw…", draw)
            button.clicked.connect(lambda _=False, u=uid, lv=level, c=location:
                                   self.drawRequested.emit(u, lv, c.currentData()))
            draw_layout.addWidget(location)
            draw_layout.addWidget(button)
            leakage.currentIndexChanged.connect(self._cement_handler(uid, level))
            endplates.currentIndexChanged.connect(self._cement_handler(uid, level))
            self.cement.setCellWidget(0, col, leakage)
            self.cement.setCellWidget(1, col, where)
            self.cement.setItem(2, col, QTableWidgetItem(str(len(finding.regions))))
            self.cement.setCellWidget(3, col, endplates)
            self.cement.setCellWidget(4, col, draw)
            self.cement_widgets[(uid, level, "leakage")] = leakage
            self.cement_widgets[(uid, level, "endplate_contact")] = endplates
            self.cement_widgets[(uid, level, "location")] = location
            self.cement_widgets[(uid, level, "draw")] = button
        self.cement.resizeColumnsToContents()
        fit_table_height(self.cement)

    # -- view → model ---------------------------------------------------------------------
    def _session(self) -> Any:
        return self.controller.session

    def _apply(self, edit: Callable[[], None]) -> None:
        """Run one session edit; a refused value shows its message and the case's value."""
        try:
            edit()
            self.message.setText("")
        except OutcomeValueError as exc:
            self.message.setText(f"Not recorded: {exc}")
            case = self.controller.case
            self.sync(case, self._summary())

    def _summary(self) -> OutcomeSummary | None:
        from ovcf_viewer.measure.outcomes import summarize_outcomes

        case, comparison = self.controller.case, self.controller.comparison
        if case is None or comparison is None:
            return None
        return summarize_outcomes(case, comparison)

    def _pain_handler(self, uid: str) -> Callable[[], None]:
        def handler() -> None:
            session = self._session()
            if session is None:
                return
            vas_text = self.pain_edits[(uid, "vas")].text()
            odi_text = self.pain_edits[(uid, "odi")].text()

            def edit() -> None:
                pain = PainScore(parse_optional_number(vas_text, "pain VAS"),
                                 parse_optional_number(odi_text, "ODI"))
                if pain != session.case.film(uid).pain:
                    session.set_pain(uid, pain)
            self._apply(edit)
        return handler

    def _procedure_handler(self, level: str) -> Callable[..., None]:
        def handler(*_args: object) -> None:
            session = self._session()
            if session is None:
                return
            w = self.procedure_widgets

            def edit() -> None:
                old = session.case.level_procedure(level) or LevelProcedure(level)
                record = replace(
                    old,
                    technique=_data(w[(level, "technique")]),
                    approach=_data(w[(level, "approach")]),
                    viscosity=_data(w[(level, "viscosity")]),
                    cement_ml=parse_optional_number(
                        _text(w[(level, "cement_ml")]), f"{level} cement volume"),
                    width_mm=parse_optional_number(
                        _text(w[(level, "width_mm")]), f"{level} transverse width"),
                )
                if record != session.case.level_procedure(level):
                    session.set_level_procedure(record)
            self._apply(edit)
        return handler

    def _cement_handler(self, uid: str, level: str) -> Callable[..., None]:
        def handler(*_args: object) -> None:
            session = self._session()
            if session is None:
                return
            w = self.cement_widgets

            def edit() -> None:
                old = session.case.film(uid).cement_at(level) or CementFinding(level)
                leakage = _data(w[(uid, level, "leakage")])
                locations = tuple(loc for loc in LEAK_LOCATIONS
                                  if _checked(w[(uid, level, loc)]))
                regions = old.regions
                if leakage is not True:  # no leak: its locations and drawings go (undoable)
                    locations, regions = (), ()
                finding = CementFinding(
                    level, leakage=leakage, locations=locations, regions=regions,
                    endplate_contact=_data(w[(uid, level, "endplate_contact")]))
                if finding != old:
                    session.set_cement(uid, finding)
            self._apply(edit)
        return handler
