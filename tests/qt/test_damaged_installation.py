"""A damaged installation (the bundled rules file missing or broken) disables suitability
only: the main window starts, the panel says why, and the rest keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

import ovcf_viewer.suitability.rules as suitability  # where load_rules reads BUNDLED_RULES_PATH

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"


@pytest.fixture
def no_bundled_rules(monkeypatch, tmp_path):
    monkeypatch.setattr(suitability, "BUNDLED_RULES_PATH", tmp_path / "gone.toml")


def test_main_window_starts_and_the_panel_says_suitability_is_unavailable(
        qtbot, no_bundled_rules):
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window()
    qtbot.addWidget(window)
    window.show()
    assert window.open_paths([SAMPLE / "pre.dcm"])
    assert window.open_annotations(SAMPLE / "pre.json")
    panel = window.workstation.suitability
    assert panel.evaluation() is None
    shown = panel.results.toPlainText()
    assert "Suitability unavailable" in shown and "gone.toml" in shown
    assert panel.rules_problem.isVisible()
    # the measurements still work
    assert window.annotation_controller.model.complete_vertebrae()
    window.close()


def test_panel_recovers_when_readable_rules_arrive(qtbot, no_bundled_rules, monkeypatch):
    from ovcf_viewer.qt.suitability.suitability_panel import SuitabilityPanel

    panel = SuitabilityPanel()
    qtbot.addWidget(panel)
    assert panel.evaluation() is None
    monkeypatch.undo()
    panel.set_rules(suitability.load_rules())
    assert panel.evaluation() is not None
    assert not panel.rules_problem.isVisibleTo(panel)
