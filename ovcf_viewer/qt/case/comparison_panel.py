"""The comparison panel: what the augmentation restored and whether it held
(docs/clinical-reference.md §5), read without a calculator.

Three tables mirror a :class:`~ovcf_viewer.measure.comparison.CaseComparison`:

- **Kyphosis** per treated level: the angle the *setting* calls Cobb (its endplates named) on
  each film, the correction ``θ_pre − θ_post`` and the loss of correction
  ``θ_followup − θ_post`` at each follow-up;
- **Heights** per treated and adjacent level and per height (anterior, middle, posterior): the
  height on every film with its % of the reference height on that film, the pre-operative
  reference heights and the levels they come from, the restoration four ways (absolute mm,
  % of initial, % of lost height, % of reference; McKiernan 2003) and the height loss at each
  follow-up;
- **New deformities** at any level between consecutive films and against each level's
  baseline (≥ 20 % and ≥ 4 mm, EPOS), saying which comparison fired; "Not assessed" when no
  level was measured on two comparable films; new fractures (index levels first marked after
  the procedure) listed with them.

The tables open **compact**, so they fit the case window's panel at 1366 px without sideways
scrolling: each film's value under a short header ("Pre-op", "3 months"; date and calibration
in its tooltip and in the summary line), the correction or the absolute restoration, and the
loss at the latest follow-up; heights as Ha/Hm/Hp with their % of reference in the tooltip.
*Details* shows every column above with full headers, like the main window's Vertebrae table.

Changes smaller than the variability *settings* are shown grey and marked "≈" (legend below
the tables). Every length carries its unit; the summary line, and in *Details* the column
headers, carry each film's calibration unit tag (§1). When films were calibrated differently
the panel says so first, shows % of reference before millimetres and marks millimetre
differences "⚠". Exact values are kept in each cell's ``Qt.ItemDataRole.UserRole``. The panel
mirrors what it is given and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape as _html_escape
from typing import Any

from PySide6.QtCore import QEvent, QSignalBlocker, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

from ovcf_viewer.measure.comparison import (
    HEIGHT_NAMES,
    INCIDENT_DROP_FRACTION,
    INCIDENT_DROP_MM,
    CaseComparison,
    FilmMeasurement,
    LevelComparison,
)
from ovcf_viewer.model.case import PROCEDURE_LABELS, Case
from ovcf_viewer.qt.case.sections import fit_table_height, fit_table_heights, scrolling_sections
from ovcf_viewer.qt.theme import readable
from ovcf_viewer.render import format as fmt

__all__ = ["ComparisonPanel", "WITHIN_MARK", "MM_WARNING_MARK"]

#: Appended to a change within measurement variability.
WITHIN_MARK = " ≈"
#: Appended to a millimetre difference between films calibrated differently.
MM_WARNING_MARK = " ⚠"
_MUTED = QColor(130, 130, 130)
_ALERT = QColor(200, 30, 30)
_WARN_BG = QColor(255, 243, 205)

_COBB_NAMES = {"segmental": "segmental kyphosis", "vertebral_wedge": "vertebral wedge angle"}
#: The morphometry symbols the compact heights table uses (the full names in its tooltips).
_HEIGHT_SYMBOLS = {"a": "Ha", "m": "Hm", "p": "Hp"}
_SHORT_KINDS = {"preop": "Pre-op", "postop": "Post-op", "followup": "Follow-up"}


@dataclass(frozen=True)
class _Column:
    """One column of a comparison table: its full header, the short header of the compact
    layout (the full one when empty), whether the compact layout shows it, a header tooltip,
    and the cell it makes for a row."""

    header: str
    cell: Callable[[Any], QTableWidgetItem]
    compact: bool = True
    short: str = ""
    tip: str = ""


def _fmt(value: float | None, decimals: int = 1, unit: str = "", signed: bool = False) -> str:
    """A number as everywhere a person reads it (:mod:`ovcf_viewer.render.format`: true minus,
    "—" when missing), with its unit ("°" joins the number, other units after a space)."""
    if value is None:
        return fmt.MISSING
    text = fmt.number(value, decimals, signed=signed)
    if unit == "°":
        return text + unit
    return f"{text} {unit}" if unit else text


def _item(text: str, value: object = None, *, tooltip: str = "", muted: bool = False,
          alert: bool = False, bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, value)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tooltip:
        item.setToolTip(tooltip)
    if muted:
        item.setForeground(QBrush(readable(_MUTED)))
    if alert:
        item.setForeground(QBrush(readable(_ALERT)))
    if bold or alert:
        font = QFont(item.font())
        font.setBold(True)
        item.setFont(font)
    return item


def _text_item(text: str, *, bold: bool = False, tooltip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    if bold:
        font = QFont(item.font())
        font.setBold(True)
        item.setFont(font)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def _table(parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, 0, parent)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
    return table


def _film_header(film: FilmMeasurement) -> str:
    when = film.date.isoformat() if film.date else "undated"
    return f"{film.label}\n{when}\n({film.calibration.unit_tag})"


def _film_tip(film: FilmMeasurement) -> str:
    when = film.date.isoformat() if film.date else "undated"
    return f"{film.label}, {when}: {film.calibration.statement()}"


def _short_labels(films: Sequence[FilmMeasurement]) -> dict[str, str]:
    """Each film's compact column header by SOP Instance UID: "Pre-op", "Post-op", a
    follow-up's interval ("3 months"), with the date below when two would read the same."""
    names = {}
    for film in films:
        tp = film.timepoint
        names[film.sop_instance_uid] = (
            tp.label.removeprefix("Follow-up (").removesuffix(")")
            if tp.kind == "followup" and tp.interval_days is not None
            else _SHORT_KINDS[tp.kind])
    seen = list(names.values())
    for film in films:
        if seen.count(names[film.sop_instance_uid]) > 1:
            names[film.sop_instance_uid] += (
                f"\n{film.date.isoformat() if film.date else 'undated'}")
    return names


def _short_angle_name(name: str, endplates: str) -> str:
    """``segmental kyphosis (T12 sup. – L2 inf.)`` from the measurement's endplate text."""
    match = re.fullmatch(r"superior endplate of (\w+) to inferior endplate of (\w+)", endplates)
    if match:
        return f"{name} ({match.group(1)} sup. – {match.group(2)} inf.)"
    return name


class ComparisonPanel(QWidget):
    """See the module docstring. :meth:`show_comparison` mirrors a comparison (``None``
    clears the panel)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: CaseComparison | None = None
        self.summary = QLabel("No case open.", self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.notes = QLabel("", self)
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.kyphosis_table = _table(self)
        self.heights_table = _table(self)
        self.deformity_table = _table(self)
        self.kyphosis_caption = QLabel("", self)
        self.kyphosis_caption.setWordWrap(True)
        self.details_button = QToolButton(self)
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip(
            "Show every column: dates and calibrations in the headers, % of reference beside "
            "each height, the reference heights, restoration as % of initial, of lost height "
            "and of reference, and the loss at every follow-up")
        self.details_button.toggled.connect(self.set_details)
        head = QWidget(self)
        head_row = QHBoxLayout(head)
        head_row.setContentsMargins(0, 0, 0, 0)
        head_row.addWidget(self.summary, 1)
        head_row.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        self.deformity_summary = QLabel("", self)
        self.deformity_summary.setWordWrap(True)
        self.legend = QLabel("", self)
        self.legend.setWordWrap(True)
        self._case: Case | None = None
        self._style_legend()

        scrolling_sections(self, [head, self.notes], [
            ("Kyphosis", [self.kyphosis_table, self.kyphosis_caption]),
            ("Vertebral heights and restoration (treated and adjacent levels)",
             [self.heights_table]),
            ("New deformities and new fractures (any level)",
             [self.deformity_summary, self.deformity_table]),
        ], [self.legend])
        fit_table_heights(self, [self.kyphosis_table, self.heights_table, self.deformity_table])

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """A theme change: the tables and texts are drawn again in colours readable on the
        new ground (qt.theme.readable)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_case"):
            self._style_legend()
            if self.comparison is not None:
                self.show_comparison(self.comparison, self._case)

    def _style_legend(self) -> None:
        ground = self.palette().color(QPalette.ColorRole.Window)  # a label, not a table
        self.legend.setStyleSheet(f"color: {readable('#555555', ground).name()};")

    # -- model → view --------------------------------------------------------------------------
    def show_comparison(self, comparison: CaseComparison | None, case: Case | None = None
                        ) -> None:
        self.comparison = comparison
        self._case = case
        if comparison is None:
            self.summary.setText("No case open.")
            for table in (self.kyphosis_table, self.heights_table, self.deformity_table):
                table.setRowCount(0)
                table.setColumnCount(0)
            self.notes.setText("")
            self.deformity_summary.setText("")
            self.legend.setText("")
            return
        self.summary.setText(self._summary_html(comparison, case))
        self.notes.setText(self._notes_html(comparison))
        self._fill_kyphosis(comparison)
        self._fill_heights(comparison)
        self._fill_deformities(comparison)
        self.legend.setText(
            f"≈ within measurement variability (change < {comparison.variability_deg:g}° or "
            f"< {comparison.variability_mm:g} mm; Morrissy 1990, Alanay 2007; a setting). "
            f"⚠ millimetres compared across different calibration sources. "
            "Restoration: absolute = H_post − H_pre; % of initial = (H_post − H_pre)/H_pre; "
            "% of lost = (H_post − H_pre)/(H_ref − H_pre); % of reference = "
            "(H_post − H_pre)/H_ref (McKiernan 2003). H_ref: "
            f"{'mean of the adjacent untreated vertebrae' if comparison.genant_reference == 'adjacent' else 'own posterior height'}"  # noqa: E501
            " on the pre-operative film (docs/clinical-reference.md §4). Kyphosis positive, "
            "lordosis "
            "negative."
        )

    def _summary_html(self, comparison: CaseComparison, case: Case | None) -> str:
        parts = [f"<b>Case {comparison.case_id}</b>"]
        if case is not None:
            who = ", ".join(p for p in (case.patient_name, case.patient_id) if p)
            if who:
                parts.append(who)
            if case.procedure:
                proc = PROCEDURE_LABELS[case.procedure]
                if case.approach:
                    proc += f", {case.approach}"
                if case.procedure_date:
                    proc += f" on {case.procedure_date.isoformat()}"
                parts.append(proc)
        levels = ", ".join(comparison.treated_levels) or "none recorded"
        parts.append(f"treated: {levels}")
        films = "; ".join(
            f"{f.label} {f.date.isoformat() if f.date else 'undated'} ({f.calibration.unit_tag})"
            for f in comparison.films
        )
        text = " · ".join(parts) + f"<br>Films: {films or 'none with a timepoint'}"
        outcomes = self._outcomes_html(comparison, case) if case is not None else ""
        return text + (f"<br>{outcomes}" if outcomes else "")

    @staticmethod
    def _outcomes_html(comparison: CaseComparison, case: Case) -> str:
        """Pain change, procedure record with the volume estimate, and leaks (§5a)."""
        from html import escape

        from ovcf_viewer.measure.outcomes import pain_change_text, summarize_outcomes

        summary = summarize_outcomes(case, comparison)
        lines = [f"<b>Pain</b>: {escape(pain_change_text(c))}" for c in summary.pain_changes
                 if c.measure == "vas"]
        for v in summary.volumes:
            r = v.record
            if r is None:
                continue
            facts = [x for x in (r.technique, r.approach,
                                 f"{r.viscosity} viscosity" if r.viscosity else None,
                                 f"{r.cement_ml:g} mL cement" if r.cement_ml else None) if x]
            volume = (f"est. body volume {v.volume_ml:.1f} mL, cement {v.fill_pct:.1f} % of it"
                      if v.volume_ml is not None and v.fill_pct is not None
                      else f"body volume unknown ({v.reason})" if v.reason else "")
            lines.append(f"<b>{v.level}</b>: {escape(', '.join(facts) or 'not recorded')}"
                         + (f"; {escape(volume)}" if volume else ""))
        ink = readable("#b31e14").name()
        lines += [f"<span style='color:{ink}'><b>Complication</b>: {escape(c.text)}</span>"
                  for c in summary.complications if c.kind == "leakage"]
        return "<br>".join(lines)

    def _notes_html(self, comparison: CaseComparison) -> str:
        lines = []
        for note in comparison.notes:
            if "different calibration sources" in note:
                lines.append(f"<span style='background:{_WARN_BG.name()};color:#1a1a1a'>"
                             f"<b>⚠ {note}</b></span>")  # dark on light yellow, either theme
            else:
                lines.append(note)
        for level in comparison.levels:
            lines.extend(level.notes)
        return "<br>".join(lines)

    # -- columns -------------------------------------------------------------------------------
    def set_details(self, details: bool) -> None:
        """Every column (``True``) or the compact set (the default) that fits the panel at
        1366 px: each film's value, the correction or restoration, and the loss at the latest
        follow-up."""
        with QSignalBlocker(self.details_button):
            self.details_button.setChecked(details)
        if self.comparison is not None:
            self.show_comparison(self.comparison, self._case)

    def details(self) -> bool:
        return self.details_button.isChecked()

    def _fill(self, table: QTableWidget, columns: Sequence[_Column], rows: Sequence[Any]
              ) -> None:
        shown = [c for c in columns if self.details() or c.compact]
        table.clear()
        table.setColumnCount(len(shown))
        table.setRowCount(len(rows))
        for col, column in enumerate(shown):
            header = QTableWidgetItem(column.header if self.details() or not column.short
                                      else column.short)
            header.setToolTip(column.tip)
            table.setHorizontalHeaderItem(col, header)
            for r, row in enumerate(rows):
                item = column.cell(row)
                if item is not None:
                    table.setItem(r, col, item)

    # -- kyphosis ------------------------------------------------------------------------------
    def _fill_kyphosis(self, comparison: CaseComparison) -> None:
        table = self.kyphosis_table
        fus = [comparison.film(uid) for uid in comparison.followup_uids]
        short = _short_labels(comparison.films)
        tol = comparison.variability_deg
        Row = tuple[str, Any]  # (level, KyphosisChange)

        def angle_name(row: Row) -> str:
            return _short_angle_name(_COBB_NAMES.get(row[1].definition, row[1].definition),
                                     row[1].endplates)

        def correction(row: Row) -> QTableWidgetItem:
            k = row[1]
            within = bool(k.correction_within_variability)
            return _item(
                _fmt(k.correction_deg, unit="°", signed=True) + (WITHIN_MARK if within else ""),
                k.correction_deg, muted=within, bold=not within,
                tooltip=(f"within measurement variability (< {tol:g}°)" if within
                         else "kyphosis reduced by the procedure (positive = less kyphosis)"))

        def loss_of(row: Row, fu: FilmMeasurement) -> Any:
            return next((x for x in row[1].losses if x.followup_uid == fu.sop_instance_uid),
                        None)

        def followup_value(fu: FilmMeasurement) -> Callable[[Row], QTableWidgetItem]:
            def cell(row: Row) -> QTableWidgetItem:
                loss = loss_of(row, fu)
                value = loss.followup_deg if loss else None
                return _item(_fmt(value, unit="°"), value)
            return cell

        def followup_loss(fu: FilmMeasurement) -> Callable[[Row], QTableWidgetItem]:
            def cell(row: Row) -> QTableWidgetItem:
                loss = loss_of(row, fu)
                lw = bool(loss and loss.within_variability)
                return _item(
                    _fmt(loss.loss_deg if loss else None, unit="°", signed=True)
                    + (WITHIN_MARK if lw else ""),
                    loss.loss_deg if loss else None, muted=lw,
                    alert=bool(loss and not lw and loss.loss_deg > 0),
                    tooltip=(f"within measurement variability (< {tol:g}°)" if lw
                             else "positive = kyphosis recurred since the post-operative film"))
            return cell

        columns = [
            _Column("Level", lambda row: _text_item(row[0], bold=True,
                                                    tooltip=angle_name(row)), compact=True),
            _Column("Angle", lambda row: _text_item(angle_name(row), tooltip=row[1].endplates),
                    compact=False),
            _Column("Pre-operative", lambda row: _item(_fmt(row[1].pre_deg, unit="°"),
                                                       row[1].pre_deg),
                    short="Pre-op"),
            _Column("Post-operative", lambda row: _item(_fmt(row[1].post_deg, unit="°"),
                                                        row[1].post_deg),
                    short="Post-op"),
            _Column("Correction\nθ_pre − θ_post", correction, short="Correction",
                    tip="Correction = θ_pre − θ_post (positive = less kyphosis after the "
                        "procedure)"),
        ]
        for i, fu in enumerate(fus):
            latest = i == len(fus) - 1
            columns += [
                _Column(f"{fu.label}\n{fu.date.isoformat() if fu.date else ''}",
                        followup_value(fu), short=short[fu.sop_instance_uid],
                        tip=_film_tip(fu)),
                _Column(f"Loss of correction\nθ_follow-up − θ_post\n({fu.label})",
                        followup_loss(fu), compact=latest,
                        short=f"Loss of\ncorrection\n({short[fu.sop_instance_uid]})",
                        tip=f"Loss of correction = θ_follow-up − θ_post at {fu.label.lower()}"
                            " (positive = kyphosis recurred)"),
            ]
        rows = [(lc.level, lc.kyphosis) for lc in comparison.levels if lc.kyphosis is not None]
        self._fill(table, columns, rows)
        if not rows:
            table.setRowCount(1)
            table.setItem(0, 0, _text_item("No treated level recorded"))
        self.kyphosis_caption.setText(
            "" if self.details() else
            "; ".join(f"{level}: {angle_name((level, k))}" for level, k in rows))
        self.kyphosis_caption.setVisible(bool(self.kyphosis_caption.text()))
        fit_table_height(table)

    # -- heights -------------------------------------------------------------------------------
    def _fill_heights(self, comparison: CaseComparison) -> None:
        table = self.heights_table
        films = comparison.films
        fus = [comparison.film(uid) for uid in comparison.followup_uids]
        mixed = comparison.mixed_calibration
        short = _short_labels(films)
        tol = comparison.variability_mm
        details = self.details()
        Row = tuple[LevelComparison, str]  # (level, "a" | "m" | "p")

        def level_cell(row: Row) -> QTableWidgetItem:
            lc, key = row
            if key != "a":
                return _text_item("")
            role = "treated" if lc.role == "treated" else "adjacent"
            return _text_item(f"{lc.level} ({role})", bold=lc.role == "treated")

        def height_cell(row: Row) -> QTableWidgetItem:
            name = HEIGHT_NAMES[row[1]]
            return (_text_item(name) if details
                    else _text_item(_HEIGHT_SYMBOLS[row[1]], tooltip=f"{name} height"))

        def film_cell(fi: int, film: FilmMeasurement) -> Callable[[Row], QTableWidgetItem]:
            def cell(row: Row) -> QTableWidgetItem:
                lc, key = row
                heights = lc.heights_mm[fi]
                if heights is None:
                    return _item("not placed", None, muted=True)
                pct = (lc.pct_of_reference[fi] or {}).get(key)
                mm = _fmt(heights[key], 1, film.unit)
                ratio = f"{fmt.number(pct, 0)} % of ref" if pct is not None else ""
                if mixed:  # ratios lead: they do not depend on magnification
                    text = f"{ratio} · {mm}" if ratio else mm
                elif details:
                    text = f"{mm} ({ratio})" if ratio else mm
                else:
                    text = mm
                tip = film.calibration.statement()
                if ratio and not details and not mixed:
                    tip = f"{ratio}; {tip}"
                return _item(text, heights[key], tooltip=tip)
            return cell

        pre = next((f for f in films if f.timepoint.kind == "preop"), None)

        def reference(row: Row) -> QTableWidgetItem:
            lc, key = row
            ref = lc.reference_heights_mm.get(key)
            text = _fmt(ref, 1, pre.unit if pre else "")
            if ref is not None and lc.reference_levels:
                text += f" ({'/'.join(lc.reference_levels)})"
            return _item(text, ref, tooltip=f"§4 reference: {lc.reference_kind or '—'}")

        post_unit = next((f.unit for f in films if f.timepoint.kind == "postop"), "mm")

        def restoration(which: str) -> Callable[[Row], QTableWidgetItem]:
            def cell(row: Row) -> QTableWidgetItem:
                lc, key = row
                rest = lc.restoration_for(key)
                if rest is None:
                    return _item(fmt.MISSING)
                within = rest.within_variability is True
                tip = (f"within measurement variability (< {tol:g} mm)" if within else
                       "different calibration sources: compare the change in % of reference"
                       if not rest.mm_comparable else "")
                bold = lc.role == "treated" and not within
                if which == "mm":
                    mark = WITHIN_MARK if within else (
                        MM_WARNING_MARK if not rest.mm_comparable else "")
                    return _item(_fmt(rest.absolute_mm, 1, post_unit, signed=True) + mark,
                                 rest.absolute_mm, muted=within, tooltip=tip, bold=bold)
                if which == "pp":
                    return _item(
                        _fmt(rest.ratio_change_pp, 1, "pp", signed=True), rest.ratio_change_pp,
                        tooltip="height as % of each film's own reference: does not depend on "
                                "magnification", bold=mixed and lc.role == "treated")
                value = {"initial": rest.pct_of_initial, "lost": rest.pct_of_lost,
                         "reference": rest.pct_of_reference}[which]
                return _item(
                    _fmt(value, 1, "%", signed=True)
                    + (WITHIN_MARK if within and value is not None else ""),
                    value, muted=within, bold=bold and which == "reference",
                    tooltip=tip or ("no height lost: undefined" if value is None else ""))
            return cell

        def height_loss(fu: FilmMeasurement) -> Callable[[Row], QTableWidgetItem]:
            def cell(row: Row) -> QTableWidgetItem:
                lc, key = row
                loss = next((x for x in lc.height_loss
                             if x.height == key and x.followup_uid == fu.sop_instance_uid), None)
                if loss is None:
                    return _item(fmt.MISSING)
                within = loss.within_variability is True
                mark = WITHIN_MARK if within else (MM_WARNING_MARK if not loss.mm_comparable
                                                   else "")
                pct = f"{_fmt(loss.loss_pct_of_post, 0, '%')} of the post-operative height"
                tip = (f"within measurement variability (< {tol:g} mm)" if within
                       else "positive = height lost since the post-operative film")
                return _item(
                    _fmt(loss.loss_mm, 1, fu.unit, signed=True) + mark
                    + (f" ({_fmt(loss.loss_pct_of_post, 0, '%')})" if details else ""),
                    loss.loss_mm, muted=within,
                    alert=loss.within_variability is False and loss.loss_mm > 0,
                    tooltip=tip if details else f"{pct}; {tip}")
            return cell

        columns = [_Column("Level", level_cell, compact=True),
                   _Column("Height", height_cell, compact=True)]
        columns += [_Column(_film_header(f), film_cell(fi, f), short=short[f.sop_instance_uid],
                            tip=_film_tip(f)) for fi, f in enumerate(films)]
        columns += [
            _Column("Reference H_ref\n(pre-operative)", reference, compact=False),
            _Column("Restored\nH_post − H_pre", restoration("mm"), short="Restored",
                    tip="Restored = H_post − H_pre (McKiernan 2003)"),
            _Column("% of initial", restoration("initial"), compact=False),
            _Column("% of lost\nheight", restoration("lost"), compact=False),
            _Column("% of\nreference", restoration("reference"), compact=False),
            _Column("Change in\n% of reference\n(magnification-free)", restoration("pp"),
                    compact=mixed, short="Change in\n% of ref"),
        ]
        columns += [_Column(f"Height loss\nH_post − H_follow-up\n({fu.label})", height_loss(fu),
                            compact=i == len(fus) - 1,
                            short=f"Height loss\n({short[fu.sop_instance_uid]})",
                            tip=f"Height loss = H_post − H_follow-up at {fu.label.lower()}")
                    for i, fu in enumerate(fus)]
        rows = [(lc, key) for lc in comparison.levels for key in ("a", "m", "p")]
        self._fill(table, columns, rows)
        fit_table_height(table)

    # -- new deformities -----------------------------------------------------------------------
    def _fill_deformities(self, comparison: CaseComparison) -> None:
        table = self.deformity_table
        rule = (f"a height fell by ≥ {INCIDENT_DROP_FRACTION * 100:.0f} % and "
                f"≥ {INCIDENT_DROP_MM:g} mm (EPOS)")
        items = comparison.new_deformities
        table.clear()
        headers = ["Level", "Height", "Between", "Before", "After", "Fall", "Where",
                   "Found"]
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(items))
        treated = set(comparison.treated_levels)
        adjacent = {lc.level for lc in comparison.levels if lc.role == "adjacent"}
        for r, d in enumerate(items):
            unit = comparison.film(d.to_uid).unit
            where = ("treated level" if d.treated else
                     "adjacent level" if d.level in adjacent else "remote level")
            table.setItem(r, 0, _text_item(d.level, bold=True))
            table.setItem(r, 1, _text_item(HEIGHT_NAMES[d.height]))
            table.setItem(r, 2, _text_item(f"{d.from_label} → {d.to_label}"))
            table.setItem(r, 3, _item(_fmt(d.from_mm, 1, unit), d.from_mm))
            table.setItem(r, 4, _item(_fmt(d.to_mm, 1, unit), d.to_mm))
            note = "" if d.mm_tested else " (4 mm not testable: px)"
            warn = "" if d.mm_comparable else MM_WARNING_MARK
            table.setItem(r, 5, _item(f"{fmt.length(-d.drop_mm, unit)}{warn} "
                                      f"({fmt.number(-d.drop_pct, 0)} %)"
                                      f"{note}", d.drop_pct, alert=True))
            table.setItem(r, 6, _text_item(where, bold=d.level not in treated))
            table.setItem(r, 7, _text_item(d.comparison))
        fractures = "".join(
            f"<br><b style='color:{readable(_ALERT).name()}'>New fracture</b>: "
            f"{_html_escape(nf.description)} (not a treated level)"
            for nf in comparison.new_fractures)
        self.deformity_summary.setTextFormat(Qt.TextFormat.RichText)
        if items:
            self.deformity_summary.setText(
                f"<b style='color:{readable(_ALERT).name()}'>{len(items)} new deformit"
                f"{'y' if len(items) == 1 else 'ies'}</b>: {rule}, between consecutive films "
                f"or against the baseline (latest pre-operative film; post-operative film for "
                f"treated levels).{fractures}")
            table.show()
        elif not comparison.deformities_assessed:
            self.deformity_summary.setText(
                "<b>Not assessed</b>: no level is measured on two comparable films yet."
                + fractures)
            table.hide()
        else:
            self.deformity_summary.setText(
                f"None: no height at any level fell by the rule ({rule}) between consecutive "
                f"films or against the baseline.{fractures}")
            table.hide()
        fit_table_height(table)
