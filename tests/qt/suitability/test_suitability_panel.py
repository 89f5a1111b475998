"""The suitability panel: model → view and view → model separately, overrides shown
as such, instant re-evaluation, and a broken department rules file reported, not fatal."""

import pytest
from PySide6.QtWidgets import QComboBox

from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.suitability.suitability_panel import STATUS_COLOURS, SuitabilityPanel
from ovcf_viewer.suitability import DISCLAIMER, Findings, MeasuredInputs

MEASURED = MeasuredInputs.from_values(
    source="L1, pre-operative film",
    worst_genant_grade=2, worst_height_reduction_pct=34.6, worst_fracture_type="wedge",
    segmental_kyphosis_deg=10.9, fractured_levels=1, vertebra_plana=False,
)
FINDINGS = Findings(
    symptomatic=True, improving_on_medical_therapy=False, mri_oedema=True,
    posterior_wall_involvement=False, neurological_deficit=False,
    retropulsion_canal_compromise=False, infection_or_sepsis=False,
    uncorrectable_coagulopathy=False, cement_or_contrast_allergy=False, of_type="OF2",
    vas_under_analgesia=7, t_score=-3.2,
)


@pytest.fixture
def panel(qtbot):
    widget = SuitabilityPanel()
    qtbot.addWidget(widget)
    widget.resize(440, 900)
    return widget


def plain(panel) -> str:
    """The results as plain text, non-breaking spaces folded."""
    return panel.results.toPlainText().replace("\xa0", " ")


def choose(combo: QComboBox, value):
    index = next(i for i in range(combo.count()) if combo.itemData(i) == value
                 and (value is not None or combo.itemData(i) is None))
    combo.setCurrentIndex(index)


def test_empty_panel_shows_unknowns_and_disclaimer(panel):
    e = panel.evaluation()
    assert e.confidence == "low"
    assert DISCLAIMER in panel.disclaimer.text()
    assert DISCLAIMER in panel.results.toPlainText()
    assert "unknown" in panel.measured_rows["segmental_kyphosis_deg"].value.text()


def test_model_to_view_does_not_emit_findings_changed(panel, qtbot):
    with qtbot.assertNotEmitted(panel.findingsChanged):
        panel.set_measured(MEASURED)
        panel.set_findings(FINDINGS)
    assert panel.finding_widgets["mri_oedema"].currentText() == "yes"
    assert panel.finding_widgets["posterior_wall_involvement"].currentText() == "no"
    assert panel.finding_widgets["radicular_pain_dominant"].currentText() == "unknown"
    assert panel.finding_widgets["of_type"].currentText() == "OF2"
    assert panel.finding_widgets["vas_under_analgesia"].number() == 7
    assert panel.finding_widgets["pain_duration_weeks"].number() is None
    assert "34.6 %" in panel.measured_rows["worst_height_reduction_pct"].value.text()
    assert panel.evaluation().status("pvp") == "favoured"
    text = plain(panel)
    assert "FAVOURED  Percutaneous vertebroplasty (PVP)" in text
    assert "Height reduction 34.6 % (Genant grade 2, L1, pre-operative film) ≤ 40 %" in text
    assert STATUS_COLOURS["favoured"] in panel.results_html()


def test_view_to_model_reevaluates_instantly(panel, qtbot):
    panel.set_measured(MEASURED)
    panel.set_findings(FINDINGS)
    with qtbot.waitSignal(panel.findingsChanged) as changed, \
            qtbot.waitSignal(panel.evaluationChanged) as evaluated:
        choose(panel.finding_widgets["posterior_wall_involvement"], True)
    assert changed.args[0].posterior_wall_involvement is True
    assert evaluated.args[0].status("pvp") == "caution"
    assert "CAUTION  Percutaneous vertebroplasty (PVP)" in plain(panel)
    with qtbot.waitSignal(panel.findingsChanged) as changed:
        choose(panel.finding_widgets["posterior_wall_involvement"], None)
    assert changed.args[0].posterior_wall_involvement is None
    assert "posterior_wall_involvement" in panel.evaluation().unknown_inputs


def test_number_field_unknown_and_value(panel, qtbot):
    field = panel.finding_widgets["vertebral_body_width_mm"]
    assert field.text() == "unknown"
    with qtbot.waitSignal(panel.findingsChanged) as changed:
        field.set_number(50.0)
    assert changed.args[0].vertebral_body_width_mm == 50.0
    assert panel.evaluation().approach.suggested == "bilateral"
    with qtbot.waitSignal(panel.findingsChanged) as changed:
        field.set_number(None)
    assert changed.args[0].vertebral_body_width_mm is None


def test_override_is_used_and_shown(panel, qtbot):
    panel.set_measured(MEASURED)
    panel.set_findings(FINDINGS)
    row = panel.measured_rows["segmental_kyphosis_deg"]
    assert not row.editor.isEnabled() and row.editor.value() == pytest.approx(10.9)
    with qtbot.waitSignal(panel.findingsChanged):
        row.override.setChecked(True)
    assert row.editor.isEnabled()
    with qtbot.waitSignal(panel.findingsChanged) as changed:
        row.editor.setValue(18.0)
    assert changed.args[0].measured_overrides == {"segmental_kyphosis_deg": 18.0}
    assert "overridden" in row.value.text() and "10.9°" in row.value.text()
    e = panel.evaluation()
    assert e.measured.segmental_kyphosis_deg.overridden
    assert e.status("pkp") == "favoured"
    assert "18° (overridden by the user; measured 10.9)" in panel.results.toPlainText()
    # New landmarks keep the user's override.
    panel.set_measured(MEASURED)
    assert panel.evaluation().status("pkp") == "favoured"
    with qtbot.waitSignal(panel.findingsChanged) as changed:
        row.override.setChecked(False)
    assert changed.args[0].measured_overrides == {}
    assert panel.evaluation().status("pvp") == "favoured"


def test_saved_overrides_restore_into_the_form(panel):
    panel.set_measured(MEASURED)
    panel.set_findings(Findings(measured_overrides={"fractured_levels": 3}))
    row = panel.measured_rows["fractured_levels"]
    assert row.override.isChecked() and row.editor.value() == 3
    assert panel.evaluation().measured.fractured_levels.value == 3


def test_of_score_breakdown_and_hint_shown(panel):
    panel.set_measured(MEASURED)
    panel.set_findings(FINDINGS)
    text = panel.results.toPlainText()
    # OF2 4 + T-score 1 + VAS 1, progression/neuro... : neuro 0, others unknown
    assert "Modified OF score: 6 → either" in text
    assert "not yet validated" in text
    assert "OF2" in panel.of_type_hint.text() and "hint" in panel.of_type_hint.text()


def test_broken_department_rules_reported_and_bundled_used(qtbot, tmp_path):
    bad = tmp_path / "dept.toml"
    bad.write_text("[thresholds\n", encoding="utf-8")
    widget = SuitabilityPanel(settings=Settings(rules_file=str(bad)))
    qtbot.addWidget(widget)
    assert not widget.rules_problem.isHidden()
    assert "dept.toml:1" in widget.rules_problem.text()
    assert widget.evaluation().rules_version == "1.0.0"
