"""The measurements panel: model → view (what it shows for constructed geometry, headers
with the unit tag and calibration source) and view → model (settings it owns, persisted)."""

from __future__ import annotations

import pytest

from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.settings import Settings, SettingsKeeper, load_settings, save_settings
from ovcf_viewer.qt.annotate.measurements_panel import (
    INDEX_COLUMNS,
    VERTEBRA_COLUMNS,
    MeasurementsPanel,
)
from tests.spine_builder import place, stack

HEIGHTS = [("T12", 26.0, 25.0, 27.0), ("L1", 16.0, 19.0, 25.0), ("L2", 27.0, 26.0, 28.0)]

def shown_number(text: str) -> float:
    """A number as the panel shows it (render.format: 1 decimal, true minus sign)."""
    return float(text.replace("\u2212", "-"))



def spine(row_mm=0.15, col_mm=0.15):
    return place(stack(HEIGHTS), row_mm=row_mm, col_mm=col_mm, tilt_deg=10.0,
                 index_levels=("L1",))


@pytest.fixture
def panel(qtbot):
    widget = MeasurementsPanel(Settings())
    qtbot.addWidget(widget)
    return widget


def test_shows_known_heights_ratios_and_grade(panel):
    calibration = Calibration(CalibrationSource.DETECTOR, 0.16, 0.10)
    m = measure_image(spine(0.16, 0.10), calibration)
    panel.show_measurements(m)
    assert shown_number(panel.vertebra_cell("L1", "ha")) == pytest.approx(16.0, abs=0.0501)
    assert shown_number(panel.vertebra_cell("L1", "hm")) == pytest.approx(19.0, abs=0.0501)
    assert shown_number(panel.vertebra_cell("L1", "hp")) == pytest.approx(25.0, abs=0.0501)
    assert shown_number(panel.vertebra_cell("L1", "wedge_ratio")) == pytest.approx(
        16 / 25, abs=0.0051)
    # Reference: mean of neighbours: a (26+27)/2 = 26.5 → r = 1 − 16/26.5 = 39.6 % → grade 2.
    assert panel.vertebra_cell("L1", "grade") == "2"
    assert panel.vertebra_cell("L1", "type") == "wedge"
    assert shown_number(panel.vertebra_cell("L1", "reduction")) == pytest.approx(
        (1 - 16 / 26.5) * 100, abs=0.0501)
    assert panel.vertebra_cell("L1", "reference") == "adjacent T12/L2"
    assert panel.vertebra_cell("T12", "crush_ratio") == f"{27 / 25:.2f}"
    kyphosis = m.index_levels["L1"].segmental_kyphosis_deg
    assert shown_number(panel.index_cell("L1", "kyphosis")) == pytest.approx(kyphosis, abs=0.0501)
    assert panel.index_cell("L1", "endplates") == (
        "superior endplate of T12 to inferior endplate of L2")
    lovbh = ((26 + 27) - 2 * 16) / (26 + 27) * 100
    assert shown_number(panel.index_cell("L1", "lovbh")) == pytest.approx(lovbh, abs=0.0501)
    # The exact values stay available; a ratio below 0.80 is flagged.
    assert panel.measurements() is m
    row = [panel.vertebra_table.item(r, 0).text() for r in range(3)].index("L1")
    assert "0.80" in panel.vertebra_table.item(row, VERTEBRA_COLUMNS.index("wedge_ratio")).toolTip()
    # Showing the same numbers again rewrites nothing (no flicker during drags).
    item = panel.vertebra_table.item(row, 1)
    panel.show_measurements(m)
    assert panel.vertebra_table.item(row, 1) is item


@pytest.mark.parametrize("source,tag", [
    (CalibrationSource.DETECTOR, "mm at detector"),
    (CalibrationSource.MANUAL, "mm (manual)"),
    (CalibrationSource.NONE, "px"),
])
def test_every_length_header_carries_the_unit_tag(panel, source, tag):
    calibration = Calibration.none() if source is CalibrationSource.NONE else Calibration(
        source, 0.15, 0.15)
    panel.show_measurements(measure_image(spine(), calibration))
    headers = [panel.header_text(panel.vertebra_table, c) for c in range(len(VERTEBRA_COLUMNS))]
    assert headers[1:4] == [f"Ha ({tag})", f"Hm ({tag})", f"Hp ({tag})"]
    assert all("(" in h for h in headers[1:8]), headers  # every number column says its unit
    assert panel.calibration_label.text() == calibration.statement()
    if source is CalibrationSource.NONE:
        assert "pixels" in panel.calibration_label.text()


def test_cobb_column_follows_the_setting(panel):
    m = measure_image(spine(), Calibration(CalibrationSource.DETECTOR, 0.15, 0.15),
                      Settings(cobb_definition="vertebral_wedge"))
    panel.set_settings(Settings(cobb_definition="vertebral_wedge"))
    panel.show_measurements(m)
    header = panel.header_text(panel.index_table, INDEX_COLUMNS.index("cobb"))
    assert header == '"Cobb" = wedge (°)'
    assert shown_number(panel.index_cell("L1", "cobb")) == pytest.approx(
        m.vertebrae["L1"].wedge_angle_deg, abs=0.0501)


def test_settings_edits_are_emitted_and_mirroring_is_silent(panel, qtbot):
    emitted = []
    panel.settingsChanged.connect(emitted.append)
    panel.set_settings(Settings(genant_reference="own_posterior", use_magnification=True))
    assert emitted == []  # mirroring a model never writes back
    assert panel.genant_combo.currentData() == "own_posterior"
    assert panel.magnification_check.isChecked()
    with qtbot.waitSignal(panel.settingsChanged) as blocker:
        panel.cobb_combo.setCurrentIndex(panel.cobb_combo.findData("vertebral_wedge"))
    assert blocker.args[0].cobb_definition == "vertebral_wedge"
    assert blocker.args[0].genant_reference == "own_posterior"


def test_settings_persist_through_the_controller(qtbot, tmp_path):
    from ovcf_viewer.io.store import AnnotationStore
    from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
    from ovcf_viewer.qt.viewer.image_view import ImageView

    save_settings(Settings())
    view = ImageView()
    qtbot.addWidget(view)
    settings = load_settings()
    keeper = SettingsKeeper(settings)  # the application's: saves the one instance
    controller = AnnotationController(view, settings, view,
                                      store=AnnotationStore(tmp_path / "x.sqlite3"))
    panel = controller.panel
    panel.genant_combo.setCurrentIndex(panel.genant_combo.findData("own_posterior"))
    panel.magnification_check.setChecked(True)
    saved = load_settings()
    assert saved.genant_reference == "own_posterior" and saved.use_magnification
    assert controller.magnification_action.isChecked()
    controller.magnification_action.trigger()
    assert not load_settings().use_magnification
    assert not panel.magnification_check.isChecked()
    assert keeper.problem == ""


def test_empty_and_error_states(panel):
    panel.show_measurements(None, "Not measured: L1: a height is zero, two landmarks coincide")
    assert panel.vertebra_table.rowCount() == 0
    assert "coincide" in panel.calibration_label.text()
