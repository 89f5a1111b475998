"""Procedure-suitability panel (docs/clinical-reference.md §6): the clinician's findings,
the measured inputs (filled from the landmarks, each overridable and then shown as
"overridden"), and the evaluation: every option with its colour-coded status and traceable
reasons, the approach, cement viscosity, the modified OF score itemised, the OF-type hint,
unknown inputs, confidence and the disclaimer. Re-evaluates on every change (< 1 ms).

Self-contained: the main window calls :meth:`SuitabilityPanel.set_measured` when the landmarks
change and :meth:`SuitabilityPanel.set_findings` when a case opens, and saves
:meth:`SuitabilityPanel.findings` (``Findings.to_dict()``) with the case on
:attr:`SuitabilityPanel.findingsChanged`. All logic is in :mod:`ovcf_viewer.suitability`.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QEvent, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.theme import readable
from ovcf_viewer.render import format as fmt
from ovcf_viewer.services.suitability import rules_or_fallback
from ovcf_viewer.suitability import (
    DISCLAIMER,
    FINDING_RANGES,
    FINDING_SPECS,
    FRACTURE_TYPES,
    MEASURED_SPECS,
    OF_TYPES,
    Evaluation,
    Findings,
    MeasuredInputs,
    MeasuredValue,
    Rules,
    evaluate,
    finding_label,
)

__all__ = ["STATUS_COLOURS", "SuitabilityPanel", "evaluation_html"]

#: Status colours (text on white): green, slate, amber, red.
STATUS_COLOURS = {
    "favoured": "#1b7f3b",
    "possible": "#4a5a68",
    "caution": "#b25e00",
    "contraindicated": "#b3261e",
    "needs_findings": "#5b4ca8",  # violet: not a verdict, a request for findings
    "not_indicated": "#6b7680",
}
_EFFECT_COLOURS = {
    "contraindicate": "#b3261e",
    "caution": "#b25e00",
    "against": "#4a5a68",
    "favour": "#1b7f3b",
    "note": "#6b7680",
    "unilateral": "#1f4e79",
    "bilateral": "#1f4e79",
}
_OVERRIDDEN_COLOUR = "#b25e00"
_MUTED = "#6b7680"  # provenance, rules name
_SOURCE = "#8a949c"  # citations


def _ink(colour: str) -> str:
    """``colour`` as text on the current theme's ground: the colours above are chosen for
    white; on the dark theme they are lightened to stay readable (qt.theme.readable)."""
    return readable(colour).name()

#: Form sections: title → findings fields, in the order a clinician takes a history.
_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Pain and acuity", ("symptomatic", "improving_on_medical_therapy", "pain_duration_weeks",
                         "mri_oedema", "vas_under_analgesia", "radicular_pain_dominant",
                         "mobilisation_possible")),
    ("Fracture (clinician)", ("of_type", "posterior_wall_involvement",
                              "retropulsion_canal_compromise", "neurological_deficit",
                              "vertebral_body_width_mm")),
    ("Patient", ("t_score", "asa_over_3", "frailty", "anticoagulation",
                 "poor_general_condition")),
    ("Contraindications", ("infection_or_sepsis", "uncorrectable_coagulopathy",
                           "cement_or_contrast_allergy", "pregnancy")),
)
#: Numeric findings: (decimals, step, unit suffix).
_NUMBER_FORMAT = {
    "pain_duration_weeks": (0, 1.0, " weeks"),
    "t_score": (1, 0.1, ""),
    "vas_under_analgesia": (1, 0.5, " / 10"),
    "vertebral_body_width_mm": (1, 1.0, " mm"),
}
_UNKNOWN = "unknown"


def _tri_state_combo() -> QComboBox:
    combo = QComboBox()
    combo.addItem(_UNKNOWN, None)
    combo.addItem("yes", True)
    combo.addItem("no", False)
    return combo


def _set_combo_data(combo: QComboBox, value: Any) -> None:
    for i in range(combo.count()):
        if combo.itemData(i) == value and (value is not None or combo.itemData(i) is None):
            combo.setCurrentIndex(i)
            return
    combo.setCurrentIndex(0)


def _format_measured(name: str, value: Any) -> str:
    return _UNKNOWN if value is None else fmt.plain(value, name)


class _NumberField(QDoubleSpinBox):
    """A number or unknown: the value one step below the range shows "unknown"."""

    def __init__(self, name: str) -> None:
        super().__init__()
        low, high = FINDING_RANGES[name]
        decimals, step, suffix = _NUMBER_FORMAT[name]
        self.setDecimals(decimals)
        self.setSingleStep(step)
        self.setRange(low - step, high)
        self.setSuffix(suffix)
        self.setSpecialValueText(_UNKNOWN)
        self.setValue(self.minimum())
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def number(self) -> float | None:
        if self.value() <= self.minimum():
            return None
        value = self.value()
        return int(value) if self.decimals() == 0 else value

    def set_number(self, value: float | None) -> None:
        self.setValue(self.minimum() if value is None else float(value))


class _MeasuredRow:
    """One measured input: its value and provenance, an override checkbox and an editor."""

    def __init__(self, name: str) -> None:
        self.name = name
        kind = MEASURED_SPECS[name][0]
        self.label = QLabel(finding_label(name))
        self.value = QLabel(_UNKNOWN)
        self.value.setWordWrap(True)
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.override = QCheckBox("override")
        self.override.setToolTip("Use a value you enter instead of the measured one")
        self.editor: QComboBox | QSpinBox | QDoubleSpinBox
        if kind == "bool":
            self.editor = _tri_state_combo()
            self.editor.removeItem(0)  # an override is a value, not "unknown"
        elif kind == "type":
            self.editor = QComboBox()
            for fracture_type in FRACTURE_TYPES:
                self.editor.addItem(fracture_type, fracture_type)
        elif kind in ("grade", "levels"):
            self.editor = QSpinBox()
            self.editor.setRange(0, 3 if kind == "grade" else 19)
        else:
            self.editor = QDoubleSpinBox()
            self.editor.setDecimals(1)
            self.editor.setKeyboardTracking(False)
            if kind == "percent":
                self.editor.setRange(0.0, 100.0)
                self.editor.setSuffix(" %")
            else:
                self.editor.setRange(-90.0, 90.0)
                self.editor.setSuffix("°")
        self.editor.setEnabled(False)
        self.editor.setMaximumWidth(110)
        self.label.setWordWrap(True)

    def editor_value(self) -> Any:
        if isinstance(self.editor, QComboBox):
            return self.editor.currentData()
        if isinstance(self.editor, QSpinBox):
            return self.editor.value()
        return float(self.editor.value())

    def set_editor_value(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(self.editor, QComboBox):
            _set_combo_data(self.editor, value)
        elif isinstance(self.editor, QSpinBox):
            self.editor.setValue(int(value))
        else:
            self.editor.setValue(float(value))

    def show_value(self, measured: MeasuredValue, override: Any | None) -> None:
        if override is not None or self.override.isChecked():
            was = _format_measured(self.name, measured.value)
            self.value.setText(
                f"<span style='color:{_ink(_OVERRIDDEN_COLOUR)}'><b>overridden</b></span> "
                f"(measured: {html.escape(was)})"
            )
            self.value.setToolTip(measured.provenance())
            return
        if measured.value is None:
            source = measured.source
            self.value.setText(_UNKNOWN + (f" — {html.escape(source)}" if source else ""))
        else:
            self.value.setText(
                f"<b>{html.escape(_format_measured(self.name, measured.value))}</b> "
                f"<span style='color:{_ink(_MUTED)}'>{html.escape(measured.provenance())}</span>"
            )
        self.value.setToolTip(measured.provenance())


class SuitabilityPanel(QWidget):
    """Findings form + measured inputs + evaluation (docs/clinical-reference.md §6).

    Signals: ``findingsChanged(Findings)`` when the user edits a finding or an override (never
    while the panel mirrors :meth:`set_findings`/:meth:`set_measured`);
    ``evaluationChanged(Evaluation)`` after every re-evaluation.
    """

    findingsChanged = Signal(object)
    evaluationChanged = Signal(object)

    def __init__(
        self,
        rules: Rules | None = None,
        settings: Settings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("suitabilityPanel")
        self._rules_problem = ""
        if rules is None:
            # A broken department file falls back to the bundled rules; a damaged installation
            # (no readable bundled file) leaves only this panel unavailable, never the window.
            rules, self._rules_problem = rules_or_fallback(settings)
        self._rules: Rules | None = rules
        self._findings = Findings()
        self._measured = MeasuredInputs()
        self._evaluation: Evaluation | None = None

        self.disclaimer = QLabel(f"<b>{html.escape(DISCLAIMER)}</b>")
        self.disclaimer.setWordWrap(True)
        self.rules_problem = QLabel()
        self.rules_problem.setWordWrap(True)
        # Plausibility warnings of the film(s) the measured inputs come from
        # (docs/clinical-reference.md §6a): a swapped or mislabelled vertebra changes them.
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setVisible(False)
        self._style_labels()

        form_widget = QWidget()
        form_layout = QVBoxLayout(form_widget)
        form_layout.setContentsMargins(0, 0, 0, 0)
        self.finding_widgets: dict[str, QComboBox | _NumberField] = {}
        self.of_type_hint = QLabel()
        self.of_type_hint.setWordWrap(True)
        for title, names in _SECTIONS:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            for name in names:
                widget = self._make_finding_widget(name)
                self.finding_widgets[name] = widget
                form.addRow(FINDING_SPECS[name][1] + ":", widget)
                if name == "of_type":
                    form.addRow(self.of_type_hint)
            form_layout.addWidget(box)

        measured_box = QGroupBox("Measured inputs (from the landmarks)")
        grid = QGridLayout(measured_box)
        self.measured_rows: dict[str, _MeasuredRow] = {}
        for row, name in enumerate(MEASURED_SPECS):
            entry = _MeasuredRow(name)
            self.measured_rows[name] = entry
            grid.addWidget(entry.label, 2 * row, 0)
            grid.addWidget(entry.override, 2 * row, 1)
            grid.addWidget(entry.editor, 2 * row, 2)
            grid.addWidget(entry.value, 2 * row + 1, 0, 1, 3)
            entry.override.toggled.connect(self._on_override_toggled)
            if isinstance(entry.editor, QComboBox):
                entry.editor.currentIndexChanged.connect(self._on_form_changed)
            else:
                entry.editor.valueChanged.connect(self._on_form_changed)
        grid.setColumnStretch(0, 1)
        form_layout.insertWidget(0, measured_box)
        form_layout.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form_widget)

        self.results = QTextBrowser()
        self.results.setOpenLinks(False)
        self.results.setObjectName("suitabilityResults")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(scroll)
        splitter.addWidget(self.results)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.disclaimer)
        layout.addWidget(self.rules_problem)
        layout.addWidget(self.warnings_label)
        layout.addWidget(splitter, 1)
        self.rules_problem.setVisible(bool(self._rules_problem))
        self.rules_problem.setText(html.escape(self._rules_problem))
        self._sync_measured_rows()
        self._evaluate()

    # -- building ----------------------------------------------------------------------------
    def _make_finding_widget(self, name: str) -> QComboBox | _NumberField:
        kind = FINDING_SPECS[name][0]
        widget: QComboBox | _NumberField
        if kind == "bool":
            widget = _tri_state_combo()
            widget.currentIndexChanged.connect(self._on_form_changed)
        elif kind == "of_type":
            widget = QComboBox()
            widget.addItem(_UNKNOWN, None)
            for of_type in OF_TYPES:
                widget.addItem(of_type, of_type)
            widget.currentIndexChanged.connect(self._on_form_changed)
        else:
            widget = _NumberField(name)
            widget.valueChanged.connect(self._on_form_changed)
        widget.setObjectName(name)
        return widget

    # -- model → view ------------------------------------------------------------------------
    def set_measured(self, measured: MeasuredInputs) -> None:
        """New measured inputs (after a landmark change); overrides the user set are kept."""
        self._measured = measured
        self._sync_measured_rows()
        self._evaluate()

    def set_warnings(self, warnings: Any) -> None:
        """Show the plausibility warnings (objects with ``message``, or text) of the film(s)
        the measured inputs come from; none hides the line."""
        lines = [f"⚠ {getattr(w, 'message', w)}" for w in warnings]
        text = "\n".join(lines)
        if self.warnings_label.text() != text:
            self.warnings_label.setText(text)
        self.warnings_label.setVisible(bool(lines))

    def warnings(self) -> list[str]:
        text = self.warnings_label.text()
        return text.split("\n") if text else []

    def set_findings(self, findings: Findings) -> None:
        """Show ``findings`` (e.g. those saved with a case), overrides included."""
        self._findings = findings
        for name, widget in self.finding_widgets.items():
            value = getattr(findings, name)
            with QSignalBlocker(widget):
                if isinstance(widget, _NumberField):
                    widget.set_number(value)
                else:
                    _set_combo_data(widget, value)
        overrides = findings.measured_overrides
        for name, entry in self.measured_rows.items():
            with QSignalBlocker(entry.override), QSignalBlocker(entry.editor):
                entry.override.setChecked(name in overrides)
                entry.editor.setEnabled(name in overrides)
                entry.set_editor_value(overrides.get(name))
        self._sync_measured_rows()
        self._evaluate()

    def set_rules(self, rules: Rules | None, problem: str = "") -> None:
        """New rules (``None``: unavailable, with ``problem`` saying why)."""
        self._rules = rules
        self._rules_problem = problem
        self.rules_problem.setVisible(bool(problem))
        self.rules_problem.setText(html.escape(problem))
        self._evaluate()

    # -- reading -----------------------------------------------------------------------------
    def findings(self) -> Findings:
        return self._findings

    def measured(self) -> MeasuredInputs:
        return self._measured

    def rules(self) -> Rules | None:
        """The rules evaluated with, ``None`` while they are unavailable."""
        return self._rules

    def evaluation(self) -> Evaluation | None:
        """The current evaluation, ``None`` while the rules are unavailable."""
        return self._evaluation

    def results_html(self) -> str:
        return self.results.toHtml() if self._evaluation is None else evaluation_html(
            self._evaluation)

    # -- view → model ------------------------------------------------------------------------
    def _findings_from_form(self) -> Findings:
        values: dict[str, Any] = {}
        for name, widget in self.finding_widgets.items():
            if isinstance(widget, _NumberField):
                values[name] = widget.number()
            else:
                values[name] = widget.currentData()
        overrides = {
            name: entry.editor_value()
            for name, entry in self.measured_rows.items()
            if entry.override.isChecked()
        }
        return Findings(**values, measured_overrides=overrides)

    def _on_override_toggled(self, checked: bool) -> None:
        for name, entry in self.measured_rows.items():
            enabled = entry.override.isChecked()
            if enabled and not entry.editor.isEnabled():
                with QSignalBlocker(entry.editor):
                    entry.set_editor_value(getattr(self._measured, name).value)
            entry.editor.setEnabled(enabled)
        self._on_form_changed()

    def _on_form_changed(self, *_args: object) -> None:
        findings = self._findings_from_form()
        if findings == self._findings:
            return
        self._findings = findings
        self._sync_measured_rows()
        self._evaluate()
        self.findingsChanged.emit(findings)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """A theme change: every coloured text is drawn again for the new ground."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "results"):
            self._style_labels()
            self._sync_measured_rows()
            self._render()

    def _style_labels(self) -> None:
        ground = self.palette().color(QPalette.ColorRole.Window)  # labels, not the browser
        alert = readable(STATUS_COLOURS["contraindicated"], ground).name()
        self.rules_problem.setStyleSheet(f"color: {alert};")
        self.warnings_label.setStyleSheet(f"color: {alert}; font-weight: bold;")

    # -- evaluation --------------------------------------------------------------------------
    def _sync_measured_rows(self) -> None:
        overrides = self._findings.measured_overrides
        for name, entry in self.measured_rows.items():
            measured = getattr(self._measured, name)
            if name not in overrides and not entry.override.isChecked():
                with QSignalBlocker(entry.editor):  # the editor starts from the measured value
                    entry.set_editor_value(measured.value)
            entry.show_value(measured, overrides.get(name))

    def _evaluate(self) -> None:
        if self._rules is None:
            self._evaluation = None
            self.of_type_hint.setText("")
            self.results.setHtml(
                f"<p><b>{html.escape(self._rules_problem or 'Suitability unavailable.')}</b></p>"
            )
            return
        evaluation = evaluate(self._findings, self._measured, self._rules)
        self._evaluation = evaluation
        self._render()
        self.evaluationChanged.emit(evaluation)

    def _render(self) -> None:
        """Show the current evaluation (kept where it was scrolled to)."""
        evaluation = self._evaluation
        if evaluation is None:
            return
        hint = evaluation.of_type_hint
        self.of_type_hint.setText(
            f"<span style='color:{_ink(_MUTED)}'>App's hint: <b>{hint.of_type or 'none'}</b> — "
            f"{html.escape(hint.reason)}</span>"
        )
        scroll = self.results.verticalScrollBar().value()
        self.results.setHtml(evaluation_html(evaluation))
        self.results.verticalScrollBar().setValue(scroll)


# ---------------------------------------------------------------------------------- rendering


def _reason_html(reason: Any) -> str:
    colour = _EFFECT_COLOURS.get(reason.effect, "#000000")
    prefix, _sep, _rest = str(reason).partition(": ")
    return (
        f"<li><span style='color:{_ink(colour)}'><b>{html.escape(prefix)}:</b> "
        f"{html.escape(reason.text)}</span> "
        f"<span style='color:{_ink(_SOURCE)}'><i>[{html.escape(reason.source)}]</i></span></li>"
    )


def evaluation_html(e: Evaluation) -> str:
    """The evaluation as rich text (Qt's HTML subset): options with colour-coded status and
    their reasons, approach, viscosity, OF score table, OF hint, unknowns, confidence and the
    disclaimer. Used by the panel; reusable for a report preview."""
    parts = [f"<p><b>{html.escape(DISCLAIMER)}</b><br>"
             f"<span style='color:{_ink(_MUTED)}'>Rules: {html.escape(e.rules_name)} "
             f"{html.escape(e.rules_version)} · confidence <b>{html.escape(e.confidence_text)}"
             f"</b></span></p>"]
    if e.shared_notes:  # said once, not under every option they apply to (§6)
        parts.append("<p style='margin-bottom:0'><b>Notes for several options</b></p>"
                     "<ul style='margin-top:2px'>")
        parts.extend(f"<li>{html.escape(text)}</li>" for text in e.shared_notes)
        parts.append("</ul>")
    for option in e.options:
        colour = STATUS_COLOURS[option.status]
        status = option.status.replace("_", " ").upper()
        parts.append(
            f"<p style='margin-bottom:0'><span style='background-color:{colour};color:#ffffff'>"
            f"&nbsp;{status}&nbsp;</span>&nbsp;<b>{html.escape(option.label)}"
            f"</b></p><ul style='margin-top:2px'>"
        )
        own = e.own_reasons(option)
        decisive = [r for r in own if r.effect != "note"]
        notes = [r for r in own if r.effect == "note"]
        parts.extend(_reason_html(r) for r in decisive + notes)
        parts.append("</ul>")
    parts.append(f"<p style='margin-bottom:0'><b>Approach: {html.escape(e.approach.suggested)}"
                 f"</b></p><ul style='margin-top:2px'>")
    parts.extend(_reason_html(r) for r in e.approach.reasons)
    if not e.approach.reasons:
        parts.append("<li>vertebral body width and general condition unknown</li>")
    parts.append("</ul>")
    viscosity = ", ".join(f"{k.upper()} {v}" for k, v in e.cement_viscosity.viscosity.items())
    parts.append(f"<p style='margin-bottom:0'><b>Cement viscosity: {html.escape(viscosity)}</b>"
                 f"</p><ul style='margin-top:2px'>")
    parts.extend(_reason_html(r) for r in e.cement_viscosity.reasons)
    parts.append("</ul>")

    score = e.of_score
    total = "unknown (OF type not given)" if score.total is None else (
        f"{score.total} → {score.recommendation}")
    parts.append(f"<p style='margin-bottom:0'><b>Modified OF score: {html.escape(total)}</b>"
                 f"<br><i>{html.escape(score.caveat)}</i></p>")
    parts.append("<table cellspacing='0' cellpadding='2'>")
    for item in score.items:
        points = "unknown (0)" if item.points is None else fmt.points(item.points)
        parts.append(f"<tr><td>{html.escape(item.label)}</td><td align='right'><b>"
                     f"{html.escape(points)}</b></td><td style='color:{_ink(_MUTED)}'>"
                     f"{html.escape(item.detail)}</td></tr>")
    parts.append(f"</table><p style='color:{_ink(_SOURCE)}'><i>[{html.escape(score.source)}]"
                 f"</i></p>")
    hint = e.of_type_hint
    parts.append(f"<p><b>OF type hint:</b> {hint.of_type or 'none'} — "
                 f"{html.escape(hint.reason)}</p>")
    unknown = ", ".join(finding_label(n) for n in e.unknown_inputs) or "none"
    parts.append(f"<p><b>Unknown inputs ({len(e.unknown_inputs)}):</b> {html.escape(unknown)}"
                 f"<br><b>Confidence:</b> {html.escape(e.confidence_text)}</p>")
    parts.append(f"<p><b>{html.escape(DISCLAIMER)}</b></p>")
    return "".join(parts)
