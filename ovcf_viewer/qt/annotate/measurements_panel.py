"""The measurements panel: per-vertebra heights, ratios, wedge angle and Genant grade, and
per index level the segmental kyphosis and LOVBH (docs/clinical-reference.md §3, §4), with the
settings that change them (Genant reference, which angle is "Cobb", magnification
correction, edge assist), applied to the application's one settings instance.

Every length column header carries the calibration's unit tag ("Ha (mm at detector)",
wrapped onto short lines so the columns stay narrow) and the panel's first line states the
calibration source (§1). Values are shown to 0.1 mm and 0.1° (``render.format``); the exact
values are :meth:`MeasurementsPanel.measurements`.

Compact by default, so the panel fits beside the film: the vertebra table shows the level,
Ha, Hm, Hp, Genant grade and type (:data:`COMPACT_VERTEBRA_COLUMNS`; the plausibility "Check"
column joins them when a warning is raised), the index table the level, kyphosis, "Cobb" and
LOVBH (the endplates it spans in the kyphosis cell's tooltip). The *Details* switch shows
every column; right-clicking a header chooses columns one by one.

Cells are created once and only rewritten when their text changes: besides avoiding flicker
while a drag updates the panel many times a second, this keeps clear of a PySide6 6.12.0
defect on Python 3.11 where every item update drops a reference to ``None`` (the process
aborts after a few thousand).

The panel mirrors what it is given (:meth:`MeasurementsPanel.show_measurements`) and writes
nothing back except the settings it owns, emitted as ``settingsChanged(Settings)``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.measure.measurements import DEFORMITY_RATIO, ImageMeasurements
from ovcf_viewer.model.settings import COBB_DEFINITIONS, GENANT_REFERENCES, Settings
from ovcf_viewer.qt.theme import readable
from ovcf_viewer.render import format as fmt

__all__ = ["COMPACT_INDEX_COLUMNS", "COMPACT_VERTEBRA_COLUMNS", "INDEX_COLUMNS",
           "MeasurementsPanel", "VERTEBRA_COLUMNS"]

GENANT_REFERENCE_NAMES = {
    "adjacent": "adjacent vertebrae (mean above/below)",
    "own_posterior": "own posterior height",
}
COBB_NAMES = {
    "segmental": "segmental kyphosis (endplate above to endplate below)",
    "vertebral_wedge": "vertebral wedge angle (index vertebra's own endplates)",
}
_SHORT_NAMES = {  # the settings' boxes, narrow beside the film
    "adjacent": "adjacent vertebrae", "own_posterior": "own posterior height",
    "segmental": "segmental kyphosis", "vertebral_wedge": "vertebral wedge angle",
}

#: Column keys of the vertebra table, in order.
VERTEBRA_COLUMNS = (
    "level", "ha", "hm", "hp", "wedge_ratio", "biconcavity_ratio", "crush_ratio",
    "wedge_angle", "grade", "type", "reduction", "reference", "check",
)
#: Column keys of the index-level table, in order.
INDEX_COLUMNS = ("level", "kyphosis", "endplates", "cobb", "lovbh")
#: The columns shown until *Details* is switched on.
COMPACT_VERTEBRA_COLUMNS = ("level", "ha", "hm", "hp", "grade", "type")
COMPACT_INDEX_COLUMNS = ("level", "kyphosis", "cobb", "lovbh")
_UNIT_LINE_CHARS = 10  # "(mm at" / "detector)": a length column about 70 px wide


_ALERT = QColor(220, 30, 30)  # made readable on the theme's ground (qt.theme.readable)
_ALERT_ROLE = Qt.ItemDataRole.UserRole + 1  # the cell shows an alert


@dataclass(frozen=True)
class _Cell:
    text: str
    align_right: bool = False
    tooltip: str = ""
    alert: bool = False  # a ratio below the deformity cut-off


FOUR_CORNER_TIP = (
    "Placed in four-corner mode: no middle points, so Hm, the biconcavity ratio and the "
    "biconcave Genant type are unavailable"
)


def _number(value: float | None, decimals: int = 1) -> str:
    """Lengths, angles and percentages to 1 decimal (:mod:`ovcf_viewer.render.format`); the
    column headers carry the units."""
    return fmt.MISSING if value is None else fmt.number(value, decimals)


def _ratio_cell(value: float | None, below_cutoff: bool) -> _Cell:
    tooltip = (f"below the {fmt.ratio(DEFORMITY_RATIO)} fixed cut-off (Siminoski 2006)"
               if below_cutoff else "")
    return _Cell(fmt.ratio(value), True, tooltip, below_cutoff)


class MeasurementsPanel(QWidget):
    """Tables of measurements and the measurement settings; see the module docstring."""

    settingsChanged = Signal(object)  # Settings

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings or Settings()
        self._measurements: ImageMeasurements | None = None

        self.calibration_label = QLabel("No image")
        self.calibration_label.setWordWrap(True)
        self.calibration_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.prompt_label = QLabel("")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setStyleSheet("font-weight: bold;")

        self.vertebra_table = self._table(len(VERTEBRA_COLUMNS))
        self.index_table = self._table(len(INDEX_COLUMNS))
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        # Plausibility warnings (docs/clinical-reference.md §6a), in full, above the notes;
        # each also sits in its vertebra's "Check" cell, next to the values it puts in doubt.
        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self._style_alerts()

        self.genant_combo = QComboBox()
        for key in GENANT_REFERENCES:  # short names in the box, the full ones as tooltips
            self.genant_combo.addItem(_SHORT_NAMES.get(key, key), key)
            self.genant_combo.setItemData(self.genant_combo.count() - 1,
                                          GENANT_REFERENCE_NAMES.get(key, key),
                                          Qt.ItemDataRole.ToolTipRole)
        self.cobb_combo = QComboBox()
        for key in COBB_DEFINITIONS:
            self.cobb_combo.addItem(_SHORT_NAMES.get(key, key), key)
            self.cobb_combo.setItemData(self.cobb_combo.count() - 1, COBB_NAMES.get(key, key),
                                        Qt.ItemDataRole.ToolTipRole)
        self.magnification_check = QCheckBox("Magnification correction (ERMF)")
        self.magnification_check.setToolTip(
            "Imager Pixel Spacing ÷ Estimated Radiographic Magnification Factor; ERMF refers "
            "to the table, not the spine, so it under-corrects (clinical reference §1)"
        )
        self.edge_assist_check = QCheckBox("Edge assist (experimental)")
        from ovcf_viewer.measure.edge_assist import EVALUATION

        self.edge_assist_check.setToolTip("Snap clicked points to nearby edges. " + EVALUATION)
        for combo in (self.genant_combo, self.cobb_combo):  # narrow: the full names drop down
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
            combo.currentIndexChanged.connect(self._sync_combo_tips)
        settings_box = QGroupBox("Measurement settings")
        form = QFormLayout(settings_box)
        form.addRow("Genant reference", self.genant_combo)
        form.addRow('"Cobb" means', self.cobb_combo)
        form.addRow(self.magnification_check)
        form.addRow(self.edge_assist_check)

        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip(
            "Show every column (ratios, wedge angle, height reduction, Genant reference, "
            "endplates); right-click a column header to choose columns one by one")
        self.details_button.toggled.connect(self.set_details)
        for table in (self.vertebra_table, self.index_table):
            header = table.horizontalHeader()
            header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            header.customContextMenuRequested.connect(
                lambda pos, t=table: self._choose_columns(t, pos))
        self._shown_columns: dict[int, set[str]] = {}

        title_row = QHBoxLayout()
        title_row.addWidget(QLabel("Vertebrae"))
        title_row.addStretch(1)
        title_row.addWidget(self.details_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt_label)
        layout.addWidget(self.calibration_label)
        layout.addLayout(title_row)
        layout.addWidget(self.vertebra_table, 3)
        layout.addWidget(QLabel("Index (fractured) levels"))
        layout.addWidget(self.index_table, 1)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.notes_label)
        layout.addWidget(settings_box)

        self.genant_combo.currentIndexChanged.connect(self._on_settings_edited)
        self.cobb_combo.currentIndexChanged.connect(self._on_settings_edited)
        self.magnification_check.toggled.connect(self._on_settings_edited)
        self.edge_assist_check.toggled.connect(self._on_settings_edited)
        self.set_settings(self._settings)
        self.set_details(False)
        self.show_measurements(None)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        """Wide enough for the compact columns without scrolling."""
        hint = super().sizeHint()
        return QSize(max(hint.width(), 380), hint.height())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """A theme change: alert colours are re-made readable on the new ground."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "details_button"):
            self._style_alerts()

    def _style_alerts(self) -> None:
        alert = readable(_ALERT, self.palette().color(QPalette.ColorRole.Window))
        self.warnings_label.setStyleSheet(f"color: {alert.name()}; font-weight: bold;")
        cell_alert = QBrush(readable(_ALERT))
        for table in (self.vertebra_table, self.index_table):
            for row in range(table.rowCount()):
                for column in range(table.columnCount()):
                    item = table.item(row, column)
                    if item is not None and item.data(_ALERT_ROLE):
                        item.setForeground(cell_alert)

    # -- columns ------------------------------------------------------------------------------
    def set_details(self, details: bool) -> None:
        """Every column (``True``) or the compact set."""
        with QSignalBlocker(self.details_button):
            self.details_button.setChecked(details)
        self._shown_columns = {
            id(self.vertebra_table): set(VERTEBRA_COLUMNS if details
                                         else COMPACT_VERTEBRA_COLUMNS),
            id(self.index_table): set(INDEX_COLUMNS if details else COMPACT_INDEX_COLUMNS),
        }
        self._apply_columns()

    def details(self) -> bool:
        return self.details_button.isChecked()

    def set_column_shown(self, table: QTableWidget, column: str, shown: bool) -> None:
        """Show or hide one column (a key of the table's column tuple); "level" stays."""
        keys = self._shown_columns[id(table)]
        if shown:
            keys.add(column)
        elif column != "level":
            keys.discard(column)
        self._apply_columns()

    def shown_columns(self, table: QTableWidget) -> list[str]:
        """The keys of ``table``'s visible columns, in order."""
        columns = VERTEBRA_COLUMNS if table is self.vertebra_table else INDEX_COLUMNS
        return [key for i, key in enumerate(columns) if not table.isColumnHidden(i)]

    def _apply_columns(self) -> None:
        warned = self._measurements is not None and bool(self._measurements.warnings)
        for table, columns in ((self.vertebra_table, VERTEBRA_COLUMNS),
                               (self.index_table, INDEX_COLUMNS)):
            keys = self._shown_columns[id(table)]
            for i, key in enumerate(columns):
                shown = key in keys or (key == "check" and warned)
                if table.isColumnHidden(i) == shown:
                    table.setColumnHidden(i, not shown)

    def _choose_columns(self, table: QTableWidget, pos: QPoint) -> None:
        """The header's context menu: one check per column."""
        columns = VERTEBRA_COLUMNS if table is self.vertebra_table else INDEX_COLUMNS
        menu = QMenu(self)
        for i, key in enumerate(columns[1:], start=1):
            action = menu.addAction(self.header_text(table, i))
            action.setCheckable(True)
            action.setChecked(not table.isColumnHidden(i))
            action.toggled.connect(
                lambda on, k=key: self.set_column_shown(table, k, on))
        menu.popup(table.horizontalHeader().mapToGlobal(pos))

    @staticmethod
    def _table(columns: int) -> QTableWidget:
        table = QTableWidget(0, columns)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setWordWrap(False)
        rows = table.verticalHeader()  # compact rows: more vertebrae without scrolling
        rows.setDefaultSectionSize(table.fontMetrics().height() + 8)
        return table

    # -- settings ---------------------------------------------------------------------------
    def settings(self) -> Settings:
        return self._settings

    def set_settings(self, settings: Settings) -> None:
        """Mirror ``settings`` in the controls without emitting ``settingsChanged``."""
        self._settings = settings
        blockers = [QSignalBlocker(w) for w in (self.genant_combo, self.cobb_combo,
                                                 self.magnification_check,
                                                 self.edge_assist_check)]
        self.genant_combo.setCurrentIndex(max(0, self.genant_combo.findData(
            settings.genant_reference)))
        self.cobb_combo.setCurrentIndex(max(0, self.cobb_combo.findData(settings.cobb_definition)))
        self.magnification_check.setChecked(settings.use_magnification)
        self.edge_assist_check.setChecked(settings.edge_assist)
        del blockers
        self._sync_combo_tips()

    def _sync_combo_tips(self) -> None:
        """Each settings box's tooltip is its choice's full name."""
        for combo in (self.genant_combo, self.cobb_combo):
            tip = combo.itemData(combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)
            combo.setToolTip(str(tip or ""))

    def _on_settings_edited(self) -> None:
        self._settings = self._settings.replace(
            genant_reference=self.genant_combo.currentData(),
            cobb_definition=self.cobb_combo.currentData(),
            use_magnification=self.magnification_check.isChecked(),
            edge_assist=self.edge_assist_check.isChecked(),
        )
        self.settingsChanged.emit(self._settings)

    # -- measurements ----------------------------------------------------------------------
    def set_prompt(self, text: str) -> None:
        self.prompt_label.setText(text)

    def measurements(self) -> ImageMeasurements | None:
        return self._measurements

    def show_measurements(self, measurements: ImageMeasurements | None, error: str = "") -> None:
        """Fill the tables from ``measurements`` (``None``: empty, with ``error`` if any)."""
        self._measurements = measurements
        if measurements is None:
            self.calibration_label.setText(error or "No complete vertebra yet.")
            self._set_row_count(self.vertebra_table, 0)
            self._set_row_count(self.index_table, 0)
            self._set_headers("px")
            self.notes_label.setText("")
            self.warnings_label.setText("")
            self._apply_columns()
            return
        calibration = measurements.calibration
        if self.calibration_label.text() != calibration.statement():
            self.calibration_label.setText(calibration.statement())
            self.calibration_label.setToolTip(calibration.source.description)
        self._set_headers(calibration.unit_tag)
        self._fill_vertebrae(measurements)
        self._fill_index_levels(measurements)
        self._apply_columns()
        warnings = "\n".join(f"⚠ {w.message}" for w in measurements.warnings)
        if self.warnings_label.text() != warnings:
            self.warnings_label.setText(warnings)
        notes = list(measurements.notes)
        if error:
            notes.insert(0, error)
        self.notes_label.setText("\n".join(notes))

    def _set_headers(self, unit_tag: str) -> None:
        unit = "\n".join(textwrap.wrap(f"({unit_tag})", _UNIT_LINE_CHARS))
        vertebra_headers = [
            "Level", f"Ha\n{unit}", f"Hm\n{unit}", f"Hp\n{unit}",
            "Wedge\nHa/Hp (ratio)", "Biconcavity\nHm/Hp (ratio)", "Crush\nHp/Hp adj. (ratio)",
            "Wedge angle\n(°, kyphosis +)", "Genant\ngrade", "Genant\ntype",
            "Height\nreduction (%)", "Genant\nreference", "Check",
        ]
        self._set_headers_if_changed(self.vertebra_table, vertebra_headers)
        cobb_name = "segmental" if self._settings.cobb_definition == "segmental" else "wedge"
        self._set_headers_if_changed(self.index_table, [
            "Level", "Segmental kyphosis\n(°, kyphosis +)", "Endplates",
            f'"Cobb" =\n{cobb_name} (°)', "LOVBH\n(%)",
        ])

    @staticmethod
    def _set_headers_if_changed(table: QTableWidget, labels: list[str]) -> None:
        current = [_text(table.horizontalHeaderItem(c)) for c in range(table.columnCount())]
        if current != labels:
            table.setHorizontalHeaderLabels(labels)

    @staticmethod
    def _set_row(table: QTableWidget, row: int, cells: list[_Cell]) -> None:
        """Write one row, touching only cells whose content changed."""
        for column, cell in enumerate(cells):
            item = table.item(row, column)
            if item is None:
                item = QTableWidgetItem(cell.text)
                if cell.align_right:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(row, column, item)
            elif item.text() != cell.text:
                item.setText(cell.text)
            if item.toolTip() != cell.tooltip:
                item.setToolTip(cell.tooltip)
            if bool(item.data(_ALERT_ROLE)) != cell.alert:
                item.setData(_ALERT_ROLE, cell.alert)
                item.setForeground(QBrush(readable(_ALERT)) if cell.alert else QBrush())

    @staticmethod
    def _set_row_count(table: QTableWidget, rows: int) -> None:
        if table.rowCount() != rows:
            table.setRowCount(rows)

    def _fill_vertebrae(self, m: ImageMeasurements) -> None:
        table = self.vertebra_table
        self._set_row_count(table, len(m.vertebrae))
        for row, (level, v) in enumerate(m.vertebrae.items()):
            reference = GENANT_REFERENCE_NAMES.get(v.genant.reference, v.genant.reference)
            if v.genant.reference == "adjacent":
                reference = "adjacent " + "/".join(v.genant.reference_levels)
            deformed = set(v.deformed_ratios)
            if v.genant.reference == "adjacent" and len(v.genant.reference_levels) == 1:
                reference += " (one neighbour)"  # which were left out: in the tooltip
            warnings = m.warnings_for(level)

            self._set_row(table, row, [
                _Cell(level),
                _Cell(_number(v.anterior_height_mm), True),
                _Cell(_number(v.middle_height_mm), True)
                if v.middle_height_mm is not None
                else _Cell("n/a", True, FOUR_CORNER_TIP),
                _Cell(_number(v.posterior_height_mm), True),
                _ratio_cell(v.wedge_ratio, "wedge" in deformed),
                _ratio_cell(v.biconcavity_ratio, "biconcavity" in deformed)
                if v.biconcavity_ratio is not None
                else _Cell("n/a", True, FOUR_CORNER_TIP),
                _ratio_cell(v.crush_ratio, "crush" in deformed),
                _Cell(_number(v.wedge_angle_deg), True),
                _Cell("treated" if v.treated else str(v.genant.grade), True,
                      "cemented: not graded as an untreated body" if v.treated else ""),
                _Cell("treated" if v.treated else v.genant.type),
                _Cell(_number(v.genant.height_reduction_pct, 1), True),
                _Cell(reference, False, v.genant.note or v.genant.reference_note),
                _Cell("; ".join(f"⚠ {w.short}" for w in warnings), False,
                      "\n".join(w.message for w in warnings), bool(warnings)),
            ])

    def _fill_index_levels(self, m: ImageMeasurements) -> None:
        table = self.index_table
        self._set_row_count(table, len(m.index_levels))
        for row, (level, index) in enumerate(m.index_levels.items()):
            self._set_row(table, row, [
                _Cell(level),
                _Cell(_number(index.segmental_kyphosis_deg), True,
                      f"Segmental kyphosis: {index.segmental_endplates}"),
                _Cell(index.segmental_endplates),
                _Cell(_number(index.cobb_deg(m.cobb_definition)), True),
                _Cell(("not assessed" if index.lovbh_pct is None else _number(index.lovbh_pct, 1))
                      + (f" ({index.lovbh_note})" if index.lovbh_note else ""), True,
                      index.lovbh_note),
            ])

    # -- reading back (tests, export) ------------------------------------------------------
    def vertebra_cell(self, level: str, column: str) -> str:
        """The text shown for ``level`` in the vertebra table's ``column`` (a key of
        :data:`VERTEBRA_COLUMNS`)."""
        return self._cell(self.vertebra_table, VERTEBRA_COLUMNS, level, column)

    def index_cell(self, level: str, column: str) -> str:
        return self._cell(self.index_table, INDEX_COLUMNS, level, column)

    @staticmethod
    def _cell(table: QTableWidget, columns: tuple[str, ...], level: str, column: str) -> str:
        for row in range(table.rowCount()):
            if _text(table.item(row, 0)) == level:
                return _text(table.item(row, columns.index(column)))
        raise KeyError(level)

    def header_text(self, table: QTableWidget, column: int) -> str:
        """A column header on one line (headers wrap the unit onto a second line)."""
        return _text(table.horizontalHeaderItem(column)).replace("-\n", "-").replace("\n", " ")


def _text(item: QTableWidgetItem | None) -> str:
    """A table cell's or header's text; "" where there is none."""
    return item.text() if item is not None else ""
