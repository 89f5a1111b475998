"""Suitability wording that cannot mislead (docs/clinical-reference.md §6): needs findings,
not indicated, shared notes once; inputs measured from constructed vertebrae."""

from __future__ import annotations

import pytest

from ovcf_viewer.measure.measurements import measure_image
from tests.measure.test_safety import MANUAL, annotations

# --------------------------------------------------------------------- 6. suitability wording


def _suitability(findings):
    from ovcf_viewer.suitability import evaluate, load_rules, measured_inputs_from

    heights = [("T12", 27.0, 26.0, 28.0), ("L1", 18.0, 22.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    measured = measured_inputs_from(measure_image(annotations(heights, index=("L1",)), MANUAL),
                                    film="pre-operative film")
    # L1: r = 1 − 18/28 = 35.7 %, grade 2, single level: morphology that favours PVP.
    assert measured.worst_height_reduction_pct.value == pytest.approx(
        (1 - 18 / 28) * 100, abs=0.01)
    return evaluate(findings, measured, load_rules())


def test_morphology_alone_never_makes_augmentation_favoured():
    from ovcf_viewer.suitability import Findings

    unknown = _suitability(Findings())
    assert {o: unknown.status(o) for o in ("pvp", "pkp", "expandable")} == {
        "pvp": "needs_findings", "pkp": "needs_findings", "expandable": "needs_findings"}
    # Symptoms known but acuity not (no oedema finding, no pain duration): still needs them.
    assert _suitability(Findings(symptomatic=True)).status("pvp") == "needs_findings"
    known = _suitability(Findings(symptomatic=True, mri_oedema=True))
    assert known.status("pvp") == "favoured"
    # Contraindicated stays contraindicated: it needs no more findings to say no.
    assert _suitability(Findings(symptomatic=False)).status("pvp") == "contraindicated"


def test_referral_not_indicated_only_when_every_criterion_is_known_absent():
    from ovcf_viewer.suitability import Findings

    absent = dict(neurological_deficit=False, retropulsion_canal_compromise=False, of_type="OF2")
    assert _suitability(Findings(**absent)).status("refer") == "not_indicated"
    for key in absent:
        partly = {k: v for k, v in absent.items() if k != key}
        assert _suitability(Findings(**partly)).status("refer") == "possible"
    assert _suitability(Findings(**{**absent, "neurological_deficit": True})).status(
        "refer") == "favoured"


def test_notes_shared_by_several_options_are_listed_once():
    from ovcf_viewer.suitability import Findings

    e = _suitability(Findings())
    shared = e.shared_notes
    assert any("Needs findings" in n for n in shared)
    for option in e.options:
        own = [str(r) for r in e.own_reasons(option)]
        assert not set(own) & set(shared)
    doc = e.to_dict()
    assert doc["shared_notes"] == list(shared)
    # The JSON options keep their complete reasons (an additive change only).
    assert any("Needs findings" in r for r in doc["options"][1]["reasons"])


