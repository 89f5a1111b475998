"""Settings dialog: the choices docs/clinical-reference.md marks as *settings* (Genant reference,
which angle is "Cobb", magnification correction, measurement variability) and the report's
institution, physician and page size.

The form edits a copy of the application's one :class:`~ovcf_viewer.model.settings.Settings`;
OK saves the copy and then applies it to that instance (whose followers update themselves)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.model.settings import (
    COBB_DEFINITIONS,
    GENANT_REFERENCES,
    PAGE_SIZES,
    THEMES,
    Settings,
    save_settings,
)
from ovcf_viewer.qt.archive.nodes_editor import ArchiveNodesEditor
from ovcf_viewer.qt.theme import THEME_NAMES, readable

__all__ = ["SettingsDialog"]

_GENANT_LABELS = {
    "adjacent": "Adjacent vertebrae (mean of the non-fractured neighbours)",
    "own_posterior": "Own posterior height (Ha, Hm against Hp)",
}
_COBB_LABELS = {
    "segmental": "Segmental kyphosis: superior endplate above to inferior endplate below",
    "vertebral_wedge": "Vertebral wedge angle: the index vertebra's own endplates",
}


class SettingsDialog(QDialog):
    """Edits a copy of ``settings``; on OK saves it, applies it to ``settings`` and emits
    :attr:`settingsChanged` with it."""

    settingsChanged = Signal(object)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        form = QFormLayout()

        self.genant_reference = QComboBox()
        for key in GENANT_REFERENCES:
            self.genant_reference.addItem(_GENANT_LABELS[key], key)
        form.addRow("Genant reference height:", self.genant_reference)

        self.cobb_definition = QComboBox()
        for key in COBB_DEFINITIONS:
            self.cobb_definition.addItem(_COBB_LABELS[key], key)
        form.addRow("Angle reported as \"Cobb\":", self.cobb_definition)

        self.use_magnification = QCheckBox(
            "Divide Imager Pixel Spacing by the radiographic magnification factor"
        )
        self.use_magnification.setToolTip(
            "ERMF refers to the table, not the spine: it under-corrects "
            "(docs/clinical-reference.md §1)."
        )
        form.addRow("Magnification:", self.use_magnification)

        self.edge_assist = QCheckBox(
            "Snap placed corners to the nearest endplate edge (experimental)")
        self.edge_assist.setToolTip(_edge_assist_evaluation())
        form.addRow("Edge assist:", self.edge_assist)

        self.variability_deg = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=20.0, suffix=" °")
        self.variability_mm = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=20.0, suffix=" mm")
        # Each spin box its own label (the millimetre one had none).
        form.addRow("Within measurement variability, angles below:", self.variability_deg)
        form.addRow("Within measurement variability, lengths below:", self.variability_mm)

        self.bilateral_width = QDoubleSpinBox(
            decimals=1, minimum=10.0, maximum=120.0, suffix=" mm"
        )
        form.addRow("Bilateral approach when body width above:", self.bilateral_width)

        self.institution = QLineEdit()
        self.physician = QLineEdit()
        self.physician.setToolTip("Also the observer named in exported DICOM SR "
                                  "(e.g. Doe^Jane); empty: the SR names the program")
        self.page_size = QComboBox()
        self.page_size.addItems(list(PAGE_SIZES))
        form.addRow("Institution (report header):", self.institution)
        form.addRow("Physician (report header):", self.physician)
        form.addRow("Report page size:", self.page_size)
        self.theme = QComboBox()
        for name in THEMES:
            self.theme.addItem(THEME_NAMES[name], name)
        self.theme.setToolTip("The look of every window; the film area is dark in each")
        form.addRow("Theme:", self.theme)

        self.rules_file = QLineEdit()
        self.rules_file.setPlaceholderText("bundled rules (resources/suitability_rules.toml)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_rules)
        rules_row = QHBoxLayout()
        rules_row.addWidget(self.rules_file)
        rules_row.addWidget(browse)
        form.addRow("Department suitability rules:", rules_row)

        self.archive_nodes = ArchiveNodesEditor(settings.archive_nodes)
        self.archive_cache_mb = QSpinBox(minimum=0, maximum=1_000_000, suffix=" MB")
        self.archive_cache_mb.setToolTip(
            "Retrieved studies are kept up to this size; the least recently used go first."
        )
        archive_box = QGroupBox("Archive nodes")
        archive_layout = QVBoxLayout(archive_box)
        archive_layout.addWidget(self.archive_nodes)
        cache_row = QFormLayout()
        cache_row.addRow("Cache of retrieved studies:", self.archive_cache_mb)
        archive_layout.addLayout(cache_row)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(f"color: {readable('#b00020').name()}")
        self.error_label.setWordWrap(True)

        general = QWidget()
        general.setLayout(form)
        self.tabs = QTabWidget()
        self.tabs.addTab(general, "Measurement and report")
        self.tabs.addTab(archive_box, "Archive (PACS)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self._mirror(settings)

    def _mirror(self, s: Settings) -> None:
        self.genant_reference.setCurrentIndex(self.genant_reference.findData(s.genant_reference))
        self.cobb_definition.setCurrentIndex(self.cobb_definition.findData(s.cobb_definition))
        self.use_magnification.setChecked(s.use_magnification)
        self.edge_assist.setChecked(s.edge_assist)
        self.variability_deg.setValue(s.variability_deg)
        self.variability_mm.setValue(s.variability_mm)
        self.bilateral_width.setValue(s.bilateral_width_threshold_mm)
        self.institution.setText(s.institution)
        self.physician.setText(s.physician)
        self.page_size.setCurrentText(s.page_size)
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        self.rules_file.setText(s.rules_file)
        self.archive_cache_mb.setValue(s.archive_cache_mb)

    def settings(self) -> Settings:
        """The settings as the form shows them."""
        return self._settings.replace(
            genant_reference=self.genant_reference.currentData(),
            cobb_definition=self.cobb_definition.currentData(),
            use_magnification=self.use_magnification.isChecked(),
            edge_assist=self.edge_assist.isChecked(),
            variability_deg=self.variability_deg.value(),
            variability_mm=self.variability_mm.value(),
            bilateral_width_threshold_mm=self.bilateral_width.value(),
            institution=self.institution.text().strip(),
            physician=self.physician.text().strip(),
            page_size=self.page_size.currentText(),
            theme=self.theme.currentData(),
            rules_file=self.rules_file.text().strip(),
            archive_nodes=self.archive_nodes.nodes(),
            archive_cache_mb=self.archive_cache_mb.value(),
        )

    def _browse_rules(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Department suitability rules", "", "TOML rules (*.toml)"
        )
        if path:
            self.rules_file.setText(path)

    def accept(self) -> None:
        try:
            new = self.settings()
        except ValueError as exc:  # an archive node the form cannot make valid
            self.error_label.setText(f"Archive node: {exc}")
            return
        try:
            save_settings(new)
        except OSError as exc:
            self.error_label.setText(f"Settings could not be saved: {exc}")
            return
        self._settings.update_from(new)
        self.settingsChanged.emit(new)
        super().accept()


def _edge_assist_evaluation() -> str:
    from ovcf_viewer.measure.edge_assist import EVALUATION

    return EVALUATION
