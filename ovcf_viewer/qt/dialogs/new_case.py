"""*File ▸ New case from films…*: the dialog that proposes each film's timepoint and the
procedure (date, treated levels, technique) from the films' dates, study descriptions and
landmarks (:func:`ovcf_viewer.services.case_setup.propose_case`, the proposal the CLI's case
inputs share) and lets the user confirm or edit them before the case window opens.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QSignalBlocker
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.model.case import PROCEDURE_LABELS, PROCEDURES
from ovcf_viewer.model.landmarks import LEVELS, Timepoint, level_index
from ovcf_viewer.services.case_setup import CaseProposal, FilmFacts, propose_film_timepoints

__all__ = ["NewCaseChoice", "NewCaseDialog", "read_film_facts"]

_KINDS = (("", "Unassigned"), ("preop", "Pre-operative"), ("postop", "Post-operative"),
          ("followup", "Follow-up"))


@dataclass(frozen=True)
class NewCaseChoice:
    """What the user confirmed: the films' image paths, the procedure and each film's
    timepoint (SOP Instance UID → timepoint or ``None``)."""

    paths: tuple[str, ...]
    procedure_date: date | None
    procedure: str | None
    treated_levels: tuple[str, ...]
    timepoints: dict[str, Timepoint | None]


def read_film_facts(
    paths: Sequence[str | os.PathLike[str]], annotations: Any = None
) -> tuple[list[str], list[FilmFacts], list[str]]:
    """The readable films among ``paths`` (headers only), their facts, and one message per
    file that is not a film. ``annotations`` (SOP UID → landmarks, anything with ``.get``)
    supplies the landmarks already placed."""
    from ovcf_viewer.io.dicom import read_header
    from ovcf_viewer.model.errors import ImageLoadError

    kept, facts, messages = [], [], []
    for p in paths:
        try:
            header = read_header(p)
        except ImageLoadError as exc:
            messages.append(str(exc))
            continue
        if not header.is_image:
            messages.append(f"{Path(p).name}: no image in this DICOM file")
            continue
        uid = header.sop_instance_uid
        model = annotations.get(uid) if annotations is not None else None
        kept.append(str(p))
        facts.append(FilmFacts(uid, header.patient.study_date,
                               header.patient.study_description, model))
    return kept, facts, messages


class NewCaseDialog(QDialog):
    """Proposed timepoints and procedure for the films of a new case; OK confirms them
    (:meth:`choice`). Changing the procedure date proposes again the timepoints of the films
    whose timepoint the user has not chosen by hand."""

    def __init__(self, paths: Sequence[str], films: Sequence[FilmFacts],
                 proposal: CaseProposal, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New case from films")
        self._paths = tuple(paths)
        self._films = list(films)
        self._chosen_by_hand: set[int] = set()

        intro = QLabel("Check the proposed timepoints and the procedure; they go into the "
                       "case, its report and its table.", self)
        intro.setWordWrap(True)

        self.table = QTableWidget(len(films), 4, self)
        self.table.setHorizontalHeaderLabels(["Film", "Study date and description",
                                              "Timepoint", "Days from procedure"])
        self.table.verticalHeader().setVisible(False)
        self.timepoint_boxes: list[QComboBox] = []
        for row, (path, film) in enumerate(zip(paths, films, strict=True)):
            self.table.setItem(row, 0, QTableWidgetItem(Path(path).name))
            when = film.study_date.isoformat() if film.study_date else "no date"
            described = f"{when}  {film.description}" if film.description else when
            self.table.setItem(row, 1, QTableWidgetItem(described))
            box = QComboBox(self.table)
            for kind, text in _KINDS:
                box.addItem(text, kind)
            box.currentIndexChanged.connect(lambda _i, r=row: self._on_kind_chosen(r))
            self.table.setCellWidget(row, 2, box)
            self.table.setItem(row, 3, QTableWidgetItem(""))
            self.timepoint_boxes.append(box)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)

        self.date_known = QCheckBox("known", self)
        self.procedure_date = QDateEdit(self)
        self.procedure_date.setCalendarPopup(True)
        self.procedure_date.setDisplayFormat("yyyy-MM-dd")
        date_row = QHBoxLayout()
        date_row.addWidget(self.procedure_date)
        date_row.addWidget(self.date_known)
        self.technique = QComboBox(self)
        self.technique.addItem("not recorded", None)
        for kind in PROCEDURES:
            self.technique.addItem(PROCEDURE_LABELS[kind], kind)
        self.treated_levels = QLineEdit(self)
        self.treated_levels.setPlaceholderText("e.g. L1 or T12, L1")
        #: Where each proposal came from, beside its field (grey).
        self.date_source, self.technique_source, self.levels_source = (
            _hint(self), _hint(self), _hint(self))
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020")

        self.treated_levels.setMaximumWidth(160)
        form = QFormLayout()
        form.addRow("Procedure date", _row(date_row, self.date_source))
        form.addRow("Technique", _row(self.technique, self.technique_source))
        form.addRow("Treated level(s)", _row(self.treated_levels, self.levels_source))

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create case")
        self.buttons.accepted.connect(self._on_accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addWidget(self.notes)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

        self._apply(proposal)
        self.date_known.toggled.connect(self._on_date_changed)
        self.procedure_date.dateChanged.connect(self._on_date_changed)
        self.treated_levels.textChanged.connect(lambda _t: self.problem.clear())
        rows_height = sum(self.table.rowHeight(r) for r in range(len(films)))
        self.table.setMinimumHeight(rows_height + header.height() + 8)
        self.resize(820, 0)

    # -- proposal → widgets ------------------------------------------------------------------
    def _apply(self, proposal: CaseProposal) -> None:
        with QSignalBlocker(self.date_known), QSignalBlocker(self.procedure_date):
            self.date_known.setChecked(proposal.procedure_date is not None)
            when = proposal.procedure_date or next(
                (f.study_date for f in self._films if f.study_date), None) or date.today()
            self.procedure_date.setDate(QDate(when.year, when.month, when.day))
            self.procedure_date.setEnabled(proposal.procedure_date is not None)
        index = self.technique.findData(proposal.procedure)
        self.technique.setCurrentIndex(max(index, 0))
        self.treated_levels.setText(", ".join(proposal.treated_levels))
        for row, tp in enumerate(proposal.timepoints):
            self._show_timepoint(row, tp)
        self.date_source.setText(
            f"proposed: {proposal.procedure_date_source}" if proposal.procedure_date
            else "not found in the films: enter it, or choose each film's timepoint")
        self.technique_source.setText(
            f"proposed: {proposal.procedure_source}" if proposal.procedure else "")
        self.levels_source.setText(
            f"proposed: {proposal.treated_levels_source}" if proposal.treated_levels else "")
        self.notes.setText(" ".join(f"{n}." for n in proposal.notes))
        self.notes.setVisible(bool(proposal.notes))

    def _show_timepoint(self, row: int, tp: Timepoint | None) -> None:
        box = self.timepoint_boxes[row]
        with QSignalBlocker(box):
            box.setCurrentIndex(max(box.findData(tp.kind if tp else ""), 0))
        self._show_days(row)

    def _show_days(self, row: int) -> None:
        tp = self._timepoint(row)
        days = "—" if tp is None or tp.interval_days is None else f"day {tp.interval_days}"
        if tp is not None and tp.kind == "followup" and tp.interval_days is not None:
            days = f"{tp.label.split('(')[-1].rstrip(')')}, day {tp.interval_days}"
        item = self.table.item(row, 3)
        if item is not None:
            item.setText(days)

    # -- user → dialog -----------------------------------------------------------------------
    def _on_date_changed(self, *_args: object) -> None:
        self.procedure_date.setEnabled(self.date_known.isChecked())
        proposed = propose_film_timepoints(self._films, self.chosen_procedure_date())
        for row, tp in enumerate(proposed):
            if row in self._chosen_by_hand:
                self._show_days(row)
            else:
                self._show_timepoint(row, tp)

    def _on_kind_chosen(self, row: int) -> None:
        self._chosen_by_hand.add(row)
        self._show_days(row)

    def _on_accept(self) -> None:
        try:
            self.chosen_levels()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        self.accept()

    # -- reading -----------------------------------------------------------------------------
    def chosen_procedure_date(self) -> date | None:
        if not self.date_known.isChecked():
            return None
        d = self.procedure_date.date()
        return date(d.year(), d.month(), d.day())

    def chosen_levels(self) -> tuple[str, ...]:
        """The treated levels typed (``"T12, L1"``); ``ValueError`` names a level not known."""
        words = [w.strip().upper() for w in self.treated_levels.text().replace(";", ",")
                 .replace(" ", ",").split(",") if w.strip()]
        unknown = [w for w in words if w not in LEVELS]
        if unknown:
            raise ValueError(f"Treated level(s): {', '.join(unknown)} is not a vertebral "
                             "level (C1–S1, e.g. L1)")
        return tuple(sorted(set(words), key=level_index))

    def _timepoint(self, row: int) -> Timepoint | None:
        kind = self.timepoint_boxes[row].currentData()
        if not kind:
            return None
        film = self._films[row]
        when = film.study_date
        procedure = self.chosen_procedure_date()
        days = None
        if kind != "preop" and when is not None and procedure is not None:
            days = (when - procedure).days
        elif kind != "preop" and film.timepoint is not None and film.timepoint.kind == kind:
            days = film.timepoint.interval_days
        return Timepoint(kind, when, days)

    def choice(self) -> NewCaseChoice:
        """The confirmed case facts (call after the dialog was accepted)."""
        return NewCaseChoice(
            paths=self._paths,
            procedure_date=self.chosen_procedure_date(),
            procedure=self.technique.currentData(),
            treated_levels=self.chosen_levels(),
            timepoints={f.sop_instance_uid: self._timepoint(row)
                        for row, f in enumerate(self._films)},
        )


def _hint(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text)")
    return label


def _row(field: QWidget | QHBoxLayout, hint: QLabel) -> QHBoxLayout:
    row = QHBoxLayout()
    if isinstance(field, QWidget):
        row.addWidget(field)
    else:
        row.addLayout(field)
    row.addWidget(hint, 1)
    return row
