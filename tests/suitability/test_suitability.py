"""Procedure suitability (docs/clinical-reference.md §6): every rule in both directions, every
contraindication, the modified OF score table, unknowns, custom and malformed rules files.

Expected statuses follow from the §6 table and the status definition in the module docstring
(contraindicated > caution > favoured when favoured and never argued against > possible)."""

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.suitability import (
    BUNDLED_RULES_PATH,
    DISCLAIMER,
    Findings,
    FindingsError,
    MeasuredInputs,
    RulesError,
    apply_overrides,
    evaluate,
    findings_from_dict,
    findings_from_json,
    load_findings,
    load_rules,
    measured_inputs_from,
    modified_of_score,
    of_type_hint,
    rules_for_settings,
)
from tests.spine_builder import place, stack

RULES = load_rules()

#: Every finding known: a symptomatic, acute, single-level, mild-moderate L1 wedge fracture.
BASE_FINDINGS = Findings(
    pain_duration_weeks=4,
    mri_oedema=True,
    posterior_wall_involvement=False,
    neurological_deficit=False,
    retropulsion_canal_compromise=False,
    t_score=-3.5,
    vas_under_analgesia=7,
    mobilisation_possible=False,
    asa_over_3=False,
    frailty=False,
    anticoagulation=False,
    poor_general_condition=False,
    symptomatic=True,
    improving_on_medical_therapy=False,
    radicular_pain_dominant=False,
    infection_or_sepsis=False,
    uncorrectable_coagulopathy=False,
    cement_or_contrast_allergy=False,
    pregnancy=False,
    of_type="OF2",
    vertebral_body_width_mm=40.0,
)
BASE_MEASURED = dict(
    worst_genant_grade=2,
    worst_height_reduction_pct=30.0,
    worst_fracture_type="wedge",
    segmental_kyphosis_deg=10.0,
    fractured_levels=1,
    vertebra_plana=False,
    deformity_progression=True,
)


def measured(**changes):
    values = {**BASE_MEASURED, **changes}
    return MeasuredInputs.from_values(source="L1, pre-operative film", **values)


def run(findings=None, rules=RULES, **measured_changes):
    return evaluate(findings or BASE_FINDINGS, measured(**measured_changes), rules)


def finding(**changes):
    return replace(BASE_FINDINGS, **changes)


def reasons(evaluation, option_id):
    return [str(r) for r in evaluation.option(option_id).reasons]


def has_reason(evaluation, option_id, effect, fragment):
    return any(
        r.effect == effect and fragment in r.text for r in evaluation.option(option_id).reasons
    )


AUGMENTATION = ("pvp", "pkp", "expandable")


# ------------------------------------------------------------------------------ baseline


def test_baseline_single_level_mild_fracture_favours_pvp():
    e = run()
    # OF2 4 + T-score 1 + progression 1 + VAS 1 + neuro 0 + immobile 1 + comorbidity 0 = 8.
    assert e.of_score.total == 8 and e.of_score.recommendation == "operative"
    assert e.status("pvp") == "favoured"
    assert e.status("pkp") == "possible"  # none of its §6 criteria met
    assert e.status("expandable") == "possible"  # mild collapse argues against it
    assert e.status("conservative") == "possible"  # refractory pain, OF score > 6
    # Every referral criterion is known absent (no deficit, no retropulsion, OF2): §6 calls
    # that "not indicated"; "possible" would read as if referral were still open.
    assert e.status("refer") == "not_indicated"
    assert e.unknown_inputs == () and e.confidence == "high"
    assert e.approach.suggested == "unilateral"
    assert e.cement_viscosity.viscosity == {"pvp": "high", "pkp": "medium"}
    assert e.disclaimer == DISCLAIMER == "Decision support only; the treating clinician decides."


def test_every_reason_names_values_and_source():
    e = run()
    for option in e.options:
        assert option.reasons
        for reason in option.reasons:
            text = str(reason)
            assert text.endswith("]") and "[" in text, text
    assert (
        "For: Height reduction 30 % (Genant grade 2, L1, pre-operative film) ≤ 40 %: "
        "mild–moderate collapse suits PVP; the strong reduction of an expandable implant is not "
        "needed [docs/clinical-reference.md §6; Liu & Guo review]"
    ) in reasons(e, "pvp")


def test_json_document_shape():
    doc = run().to_dict()
    json.dumps(doc)  # serialisable
    assert [o["id"] for o in doc["options"]] == ["conservative", "pvp", "pkp", "expandable",
                                                 "refer"]
    for option in doc["options"]:
        assert option["status"] in ("favoured", "possible", "caution", "contraindicated",
                                    "needs_findings", "not_indicated")
        assert all(isinstance(r, str) for r in option["reasons"])
    assert doc["of_score"]["total"] == 8
    assert set(doc["of_score"]["items"]) == {
        "of_type", "t_score", "progression", "vas", "neurological_deficit", "mobilisation",
        "comorbidity",
    }
    assert doc["inputs"]["measured"]["segmental_kyphosis_deg"]["value"] == 10.0
    assert doc["disclaimer"] == DISCLAIMER


def test_deterministic_and_fast():
    findings, m = BASE_FINDINGS, measured()
    first = evaluate(findings, m, RULES).to_dict()
    start = time.perf_counter()
    for _ in range(200):
        assert evaluate(findings, m, RULES).to_dict() == first
    per_call_ms = (time.perf_counter() - start) / 200 * 1000
    assert per_call_ms < 5.0


# ------------------------------------------------------------------------------ §6 table


def test_collapse_at_40_percent_suits_pvp():
    e = run(worst_height_reduction_pct=40.0)
    assert e.status("pvp") == "favoured"
    assert has_reason(e, "pvp", "favour", "40 % (Genant grade 2")
    assert has_reason(e, "expandable", "against", "≤ 40 %")


def test_collapse_just_above_40_percent_favours_pkp_and_expandable():
    e = run(worst_height_reduction_pct=40.1, worst_genant_grade=3)
    assert e.status("pvp") == "possible"
    assert has_reason(e, "pvp", "against", "40.1 % (Genant grade 3")
    assert e.status("pkp") == "favoured"
    assert e.status("expandable") == "favoured"


def test_kyphosis_just_below_15_degrees_suits_pvp():
    e = run(segmental_kyphosis_deg=14.9)
    assert e.status("pvp") == "favoured"
    assert has_reason(e, "pvp", "favour", "14.9° (L1, pre-operative film) < 15°")


def test_kyphosis_at_15_degrees_favours_pkp():
    e = run(segmental_kyphosis_deg=15.0)
    assert e.status("pkp") == "favoured"
    assert e.status("pvp") == "possible"
    assert has_reason(e, "pkp", "favour", "15° (L1, pre-operative film) ≥ 15°")


def test_single_level_suits_pvp_two_levels_favour_pkp():
    one = run(fractured_levels=1)
    assert has_reason(one, "pvp", "favour", "1 fractured level")
    two = run(fractured_levels=2)
    assert two.status("pkp") == "favoured" and two.status("pvp") == "possible"
    assert has_reason(two, "pkp", "favour", "2 fractured levels")


def test_three_levels_no_caution_four_levels_caution():
    three = run(fractured_levels=3)
    assert three.status("pkp") == "favoured"
    four = run(fractured_levels=4)
    for option in AUGMENTATION:
        assert four.status(option) == "caution"
    assert has_reason(four, "pkp", "caution", "4 fractured levels")
    assert has_reason(four, "pkp", "caution", "> 3 in one session")


def test_vertebra_plana_threshold_70_percent():
    below = run(worst_height_reduction_pct=69.9, worst_genant_grade=3)
    assert below.status("pkp") == "favoured"
    at = run(worst_height_reduction_pct=70.0, worst_genant_grade=3)
    for option in AUGMENTATION:
        assert at.status(option) == "caution"
    assert has_reason(at, "pkp", "caution", "Vertebra plana: height reduction 70 %")
    assert of_type_hint(BASE_FINDINGS, measured(worst_height_reduction_pct=70.0),
                        RULES).of_type == "OF4"


def test_posterior_wall_intact_suits_pvp_involved_favours_pkp_with_caution():
    intact = run()
    assert has_reason(intact, "pvp", "favour", "Posterior wall intact")
    involved = run(finding(posterior_wall_involvement=True))
    for option in AUGMENTATION:
        assert involved.status(option) == "caution"  # relative contraindication
    assert has_reason(involved, "pkp", "favour", "lower pressure")
    assert has_reason(involved, "pvp", "against", "Posterior-wall involvement")


def test_neurological_deficit_refers():
    e = run(finding(neurological_deficit=True))
    assert e.status("refer") == "favoured"
    assert has_reason(e, "conservative", "against", "Neurological deficit")
    assert e.of_score.items[4].points == 2


@pytest.mark.parametrize("of_type", ["OF4", "OF5"])
def test_of4_of5_refer(of_type):
    e = run(finding(of_type=of_type))
    assert e.status("refer") == "favoured"
    assert has_reason(e, "refer", "favour", f"{of_type} (clinician)")
    assert e.status("pvp") == "possible"


def test_of1_favours_conservative():
    e = run(finding(of_type="OF1"))
    assert has_reason(e, "conservative", "favour", "OF1 (clinician)")


def test_genant_grade_0_is_prophylaxis_and_favours_conservative():
    e = run(worst_genant_grade=0, worst_height_reduction_pct=15.0, fractured_levels=0)
    for option in AUGMENTATION:
        assert e.status(option) == "contraindicated"
    assert has_reason(e, "conservative", "favour", "worst Genant grade 0")
    assert e.approach.suggested == "not applicable"


# ------------------------------------------------------------------------------ contraindications


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"symptomatic": False}, "Asymptomatic"),
        ({"improving_on_medical_therapy": True}, "Improving on medical therapy"),
        ({"infection_or_sepsis": True}, "Infection"),
        ({"uncorrectable_coagulopathy": True}, "coagulopathy"),
        ({"cement_or_contrast_allergy": True}, "Allergy"),
    ],
)
def test_absolute_contraindications_block_every_augmentation(changes, fragment):
    e = run(finding(**changes))
    for option in AUGMENTATION:
        assert e.status(option) == "contraindicated"
        assert has_reason(e, option, "contraindicate", fragment)
    assert e.status("conservative") != "contraindicated"
    assert e.approach.suggested == "not applicable"


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"radicular_pain_dominant": True}, "Radicular pain"),
        ({"retropulsion_canal_compromise": True}, "Retropulsed fragment"),
        ({"posterior_wall_involvement": True}, "Posterior-wall involvement"),
        ({"mri_oedema": False}, "No oedema on MRI"),
        ({"pregnancy": True}, "Pregnancy"),
    ],
)
def test_relative_contraindications_give_caution(changes, fragment):
    e = run(finding(**changes))
    for option in AUGMENTATION:
        assert e.status(option) == "caution"
        assert has_reason(e, option, "caution", fragment)


def test_retropulsion_favours_referral():
    assert run(finding(retropulsion_canal_compromise=True)).status("refer") == "favoured"


def test_no_oedema_favours_conservative_with_pain_duration():
    e = run(finding(mri_oedema=False, pain_duration_weeks=14))
    assert has_reason(e, "conservative", "favour", "No oedema on MRI STIR/T2 (pain 14 weeks)")


# ------------------------------------------------------------------------------ approach


def test_width_at_threshold_unilateral_just_above_bilateral():
    at = run(finding(vertebral_body_width_mm=45.0))
    assert at.approach.suggested == "unilateral"
    assert str(at.approach.reasons[0]).startswith(
        "Unilateral: Vertebral body width 45 mm (clinician, AP film/CT) ≤ 45 mm"
    )
    above = run(finding(vertebral_body_width_mm=45.1))
    assert above.approach.suggested == "bilateral"
    assert str(above.approach.reasons[0]).startswith(
        "Bilateral: Vertebral body width 45.1 mm (clinician, AP film/CT) > 45 mm"
    )


def test_poor_condition_favours_unilateral_and_conflicts_with_wide_body():
    e = run(finding(vertebral_body_width_mm=50.0, frailty=True))
    assert e.approach.suggested == "either"
    texts = " | ".join(str(r) for r in e.approach.reasons)
    assert "bilateral approach" in texts and "Frailty" in texts
    assert run(finding(vertebral_body_width_mm=None, asa_over_3=True)).approach.suggested == (
        "unilateral"
    )


def test_approach_unknown_without_inputs():
    e = run(finding(vertebral_body_width_mm=None, poor_general_condition=None))
    assert e.approach.suggested == "unknown"
    assert {"vertebral_body_width_mm", "poor_general_condition"} <= set(e.unknown_inputs)


def test_settings_width_threshold_overrides_rules_file():
    rules = rules_for_settings(Settings(bilateral_width_threshold_mm=38.0))
    e = evaluate(BASE_FINDINGS, measured(), rules)  # width 40 mm
    assert e.approach.suggested == "bilateral"
    assert "threshold from settings" in str(e.approach.reasons[0])
    default = rules_for_settings(Settings())
    assert evaluate(BASE_FINDINGS, measured(), default).approach.suggested == "unilateral"


# ------------------------------------------------------------------------------ OF score


def score(findings=None, **measured_changes):
    return modified_of_score(findings or Findings(), MeasuredInputs.from_values(
        **measured_changes), RULES)


def points(result, item_id):
    return {item.item_id: item.points for item in result.items}[item_id]


@pytest.mark.parametrize("of_type,expected", [("OF1", 2), ("OF2", 4), ("OF3", 6), ("OF4", 8),
                                              ("OF5", 10)])
def test_of_type_points(of_type, expected):
    result = score(Findings(of_type=of_type))
    assert points(result, "of_type") == expected
    assert result.total == expected  # every other item unknown: 0


@pytest.mark.parametrize("t_score,expected", [(-3.0, 0), (-3.1, 1), (-1.0, 0)])
def test_t_score_below_minus_3(t_score, expected):
    assert points(score(Findings(t_score=t_score)), "t_score") == expected


@pytest.mark.parametrize("progression,expected", [(True, 1), (False, -1), (None, None)])
def test_progression(progression, expected):
    assert points(score(deformity_progression=progression), "progression") == expected


@pytest.mark.parametrize("vas,expected", [(5, 1), (4.9, -1), (10, 1), (0, -1)])
def test_vas_under_analgesia(vas, expected):
    assert points(score(Findings(vas_under_analgesia=vas)), "vas") == expected


@pytest.mark.parametrize("deficit,expected", [(True, 2), (False, 0), (None, None)])
def test_neurological_deficit_points(deficit, expected):
    assert points(score(Findings(neurological_deficit=deficit)), "neurological_deficit") == (
        expected
    )


@pytest.mark.parametrize("possible,expected", [(True, -1), (False, 1), (None, None)])
def test_mobilisation(possible, expected):
    assert points(score(Findings(mobilisation_possible=possible)), "mobilisation") == expected


@pytest.mark.parametrize(
    "asa,frail,anticoag,expected",
    [
        (True, False, False, -1),
        (True, True, False, -2),
        (True, True, True, -2),  # capped
        (False, False, False, 0),
        (True, None, None, -1),
        (None, None, None, None),
    ],
)
def test_comorbidity_capped_at_minus_2(asa, frail, anticoag, expected):
    f = Findings(asa_over_3=asa, frailty=frail, anticoagulation=anticoag)
    assert points(score(f), "comorbidity") == expected


def test_unknown_items_score_0_and_total_null_without_of_type():
    result = score(Findings(vas_under_analgesia=8, neurological_deficit=True))
    assert result.total is None and result.recommendation is None
    assert points(result, "vas") == 1
    assert "of_type" in result.unknown and "t_score" in result.unknown


@pytest.mark.parametrize(
    "findings,total,recommendation",
    [
        (Findings(of_type="OF3", vas_under_analgesia=2), 5, "conservative"),
        (Findings(of_type="OF3"), 6, "either"),
        (Findings(of_type="OF3", vas_under_analgesia=8), 7, "operative"),
    ],
)
def test_of_score_thresholds(findings, total, recommendation):
    result = score(findings)
    assert result.total == total and result.recommendation == recommendation
    assert "not yet validated" in result.caveat


def test_of_score_drives_conservative_and_augmentation():
    low = run(finding(of_type="OF1", t_score=-1.0, vas_under_analgesia=3,
                      mobilisation_possible=True),
              deformity_progression=False)
    # OF1 2 + 0 − 1 − 1 + 0 − 1 + 0 = −1 → conservative
    assert low.of_score.total == -1 and low.of_score.recommendation == "conservative"
    assert has_reason(low, "conservative", "favour", "Modified OF score −1 ≤ 5")
    assert has_reason(low, "pvp", "against", "Modified OF score −1 ≤ 5")
    assert low.status("pvp") == "possible"


# ------------------------------------------------------------------------------ unknowns


def test_unknowns_are_listed_and_lower_confidence_never_guessed():
    e = evaluate(Findings(), MeasuredInputs(), RULES)
    assert e.confidence == "low"
    assert {"mri_oedema", "worst_height_reduction_pct", "segmental_kyphosis_deg", "of_type",
            "symptomatic"} <= set(e.unknown_inputs)
    for option in AUGMENTATION:
        # No rule fired, nothing guessed; with symptoms and acuity unknown §6 says the
        # augmentation options need findings (they were "possible", which reads as advice).
        assert e.status(option) == "needs_findings"
        assert has_reason(e, option, "note", "Not yet answered")
    assert e.of_score.total is None
    assert e.of_type_hint.of_type is None
    assert e.to_dict()["confidence"] == {"level": "low", "unknown_count": len(e.unknown_inputs)}


def test_one_unknown_gives_medium_confidence():
    e = run(finding(pregnancy=None))
    assert e.unknown_inputs == ("pregnancy",)
    assert e.confidence == "medium" and e.confidence_text == "medium (1 unknown input)"
    assert e.status("pvp") == "favoured"


def test_unknown_oedema_does_not_fire_the_no_oedema_rule():
    e = run(finding(mri_oedema=None))
    assert e.status("pvp") == "favoured"
    assert has_reason(e, "pvp", "note", "Oedema on MRI STIR/T2 (acute fracture)")
    assert "mri_oedema" in e.unknown_inputs


# ------------------------------------------------------------------------------ overrides


def test_override_is_used_and_shown_as_overridden():
    m = apply_overrides(measured(), {"segmental_kyphosis_deg": 20.0})
    assert m.segmental_kyphosis_deg.overridden and m.segmental_kyphosis_deg.measured == 10.0
    e = evaluate(BASE_FINDINGS, m, RULES)
    assert e.status("pkp") == "favoured"
    assert has_reason(e, "pkp", "favour", "20° (overridden by the user; measured 10)")
    assert e.to_dict()["inputs"]["measured"]["segmental_kyphosis_deg"]["overridden"] is True


def test_overrides_saved_with_findings_apply_in_evaluate():
    f = finding(measured_overrides={"fractured_levels": 2})
    e = run(f)
    assert e.measured.fractured_levels.overridden
    assert e.status("pkp") == "favoured"


def test_vertebra_plana_override_wins_over_measured_reduction():
    f = finding(measured_overrides={"vertebra_plana": True})
    e = run(f)
    assert e.status("pvp") == "caution"
    assert has_reason(e, "pvp", "caution", "overridden by the user")


# ------------------------------------------------------------------------------ findings JSON


def test_findings_round_trip():
    f = finding(measured_overrides={"segmental_kyphosis_deg": 17.5})
    again = findings_from_json(f.to_json())
    assert again == f
    assert json.loads(f.to_json())["format"] == "ovcf-findings"
    assert findings_from_dict({}) == Findings()


def test_findings_file_round_trip(tmp_path):
    path = tmp_path / "findings.json"
    path.write_text(BASE_FINDINGS.to_json(), encoding="utf-8")
    assert load_findings(path) == BASE_FINDINGS


@pytest.mark.parametrize(
    "doc,message",
    [
        ({"mri_edema": True}, "unknown key 'mri_edema' (did you mean 'mri_oedema'?)"),
        ({"mri_oedema": "yes"}, "'mri_oedema' must be true, false or null"),
        ({"vas_under_analgesia": 11}, "'vas_under_analgesia' = 11 is outside 0..10"),
        ({"t_score": True}, "'t_score' must be a number"),
        ({"of_type": "OF6"}, "'of_type' must be one of OF1, OF2, OF3, OF4, OF5"),
        ({"measured_overrides": {"kyphosis": 3}}, "unknown key 'measured_overrides.kyphosis'"),
        ({"measured_overrides": {"worst_genant_grade": 4}}, "Genant grade is 0, 1, 2 or 3"),
        ({"version": 2}, "unsupported findings version 2"),
        ([], "expected a JSON object"),
    ],
)
def test_findings_validation_names_the_key(doc, message):
    with pytest.raises(FindingsError, match=None) as info:
        findings_from_dict(doc, where="case.json")
    assert str(info.value).startswith("case.json")
    assert message in str(info.value)


def test_of_type_is_normalised():
    assert findings_from_dict({"of_type": "of3"}).of_type == "OF3"


def test_findings_bad_json_names_the_line(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{\n  "mri_oedema": true,\n  oops\n}', encoding="utf-8")
    with pytest.raises(FindingsError, match=r"f\.json:3: not valid JSON"):
        load_findings(path)


# ------------------------------------------------------------------------------ rules files


def bundled_text():
    return BUNDLED_RULES_PATH.read_text(encoding="utf-8")


def write_rules(tmp_path, text) -> Path:
    path = tmp_path / "department_rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text, fragment):
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_bundled_rules_load_with_version_and_sources():
    assert RULES.version == "1.0.0"
    assert Path(RULES.path) == BUNDLED_RULES_PATH
    assert BUNDLED_RULES_PATH.parent.name == "resources"
    assert all(spec.source for spec in RULES.rules.values())
    assert RULES.threshold("mild_moderate_max_reduction_pct") == 40.0


def test_custom_rules_file_changes_an_outcome(tmp_path):
    text = bundled_text().replace("kyphosis_pkp_min_deg = 15.0", "kyphosis_pkp_min_deg = 10.0")
    rules = load_rules(write_rules(tmp_path, text))
    e = evaluate(BASE_FINDINGS, measured(segmental_kyphosis_deg=12.0), rules)
    assert e.status("pkp") == "favoured" and e.status("pvp") == "possible"
    assert has_reason(e, "pkp", "favour", "12° (L1, pre-operative film) ≥ 10°")
    assert e.rules_path.endswith("department_rules.toml")
    # The bundled rules give the opposite answer for the same film.
    assert run(segmental_kyphosis_deg=12.0).status("pvp") == "favoured"


def test_department_can_make_no_oedema_an_absolute_contraindication(tmp_path):
    original = (
        'effects = { pvp = "caution", pkp = "caution", expandable = "caution", '
        'conservative = "favour" }'
    )
    assert original in bundled_text()
    text = bundled_text().replace(
        original,
        'effects = { pvp = "contraindicate", pkp = "contraindicate", '
        'expandable = "contraindicate", conservative = "favour" }',
    )
    rules = load_rules(write_rules(tmp_path, text))
    e = evaluate(finding(mri_oedema=False), measured(), rules)
    assert all(e.status(o) == "contraindicated" for o in AUGMENTATION)


def test_settings_rules_file_is_used(tmp_path):
    text = bundled_text().replace('version = "1.0.0"', 'version = "dept-7"')
    path = write_rules(tmp_path, text)
    assert rules_for_settings(Settings(rules_file=str(path))).version == "dept-7"


def test_disabled_rule_is_skipped(tmp_path):
    text = bundled_text().replace(
        '[rules.pregnancy]\n', '[rules.pregnancy]\nenabled = false\n'
    )
    rules = load_rules(write_rules(tmp_path, text))
    assert evaluate(finding(pregnancy=True), measured(), rules).status("pvp") == "favoured"


def test_malformed_toml_names_the_line(tmp_path):
    lines = bundled_text().splitlines()
    n = line_of(bundled_text(), "kyphosis_pkp_min_deg = 15.0")
    lines[n - 1] = "kyphosis_pkp_min_deg = = 15"
    path = write_rules(tmp_path, "\n".join(lines))
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert info.value.line == n
    assert f"department_rules.toml:{n}:" in str(info.value)
    assert "not valid TOML" in str(info.value)


@pytest.mark.parametrize(
    "old,new,key,problem",
    [
        ("kyphosis_pkp_min_deg = 15.0", 'kyphosis_pkp_min_deg = "15"',
         "thresholds.kyphosis_pkp_min_deg", "must be a number"),
        ("vertebra_plana_min_reduction_pct = 70.0", "vertebra_plana_min_reduction_pct = 170.0",
         "thresholds.vertebra_plana_min_reduction_pct", "outside 0..100"),
        ("max_levels_per_session = 3", "max_levels_per_sesion = 3",
         "thresholds.max_levels_per_sesion", "did you mean 'max_levels_per_session'"),
        ('effects = { pvp = "against", pkp = "favour" }\n[rules.kyphosis.no]',
         'effects = { pvp = "against", pkq = "favour" }\n[rules.kyphosis.no]',
         "rules.kyphosis.yes.effects.pkq", "unknown option id"),
        ('effects = { pvp = "favour" }\n\n[rules.multilevel]',
         'effects = { pvp = "favoured" }\n\n[rules.multilevel]',
         "rules.kyphosis.no.effects.pvp", "got 'favoured' (did you mean 'favour'?)"),
        ("max_levels_per_session = 3", "max_levels_per_session = 2.5",
         "thresholds.max_levels_per_session", "must be a whole number, got 2.5"),
        ("max_levels_per_session = 3", "max_levels_per_session = 25",
         "thresholds.max_levels_per_session", "25 is outside 1..19"),
        ("kyphosis_pkp_min_deg = 15.0", "kyphosis_pkp_min_deg = nan",
         "thresholds.kyphosis_pkp_min_deg", "must be a number"),
        ("medium_max_unknowns = 4", "medium_max_unknowns = -1",
         "confidence.medium_max_unknowns", "must be ≥ high_max_unknowns"),
        ('[rules.pregnancy.yes]', 'enabled = "no"\n[rules.pregnancy.yes]',
         "rules.pregnancy.enabled", "must be true or false"),
        ('name = "OVCF Viewer default suitability rules"', 'name = "  "',
         "meta.name", "must be a non-empty string"),
        ('[rules.pregnancy.yes]', '[rules.pregnancy.maybe]',
         "rules.pregnancy.maybe", "unknown key; expected source, enabled, yes, no"),
        ("text = \"Segmental kyphosis {kyphosis} ≥ {limit}",
         "text = \"Segmental kyphosis {angle} ≥ {limit}",
         "rules.kyphosis.yes.text", "unknown placeholder {angle}"),
        ('viscosity = "high"', 'viscosity = "very high"', "cement.pvp.viscosity",
         "must be one of low, medium, high"),
    ],
)
def test_schema_errors_name_key_and_line(tmp_path, old, new, key, problem):
    text = bundled_text()
    assert old in text
    broken = text.replace(old, new, 1)
    path = write_rules(tmp_path, broken)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    err = info.value
    assert err.key == key
    assert problem in str(err)
    changed_line = line_of(broken, new.splitlines()[0])
    assert err.line == changed_line, str(err)
    assert f"department_rules.toml:{changed_line}: {key}:" in str(err)


def test_missing_rule_is_reported(tmp_path):
    text = bundled_text()
    start = text.index("[rules.pregnancy]")
    end = text.index("# ------", start)
    path = write_rules(tmp_path, text[:start] + text[end:])
    with pytest.raises(RulesError, match=r"rules\.pregnancy: required key missing"):
        load_rules(path)


def test_rules_and_findings_with_a_byte_order_mark(tmp_path):
    rules = tmp_path / "bom.toml"
    rules.write_bytes(b"\xef\xbb\xbf" + BUNDLED_RULES_PATH.read_bytes())
    assert load_rules(rules).version == "1.0.0"
    findings = tmp_path / "bom.json"
    findings.write_bytes(b"\xef\xbb\xbf" + b'{"mri_oedema": true}')
    assert load_findings(findings).mri_oedema is True
    assert hash(BASE_FINDINGS) == hash(replace(BASE_FINDINGS))


def test_unreadable_rules_file_names_it(tmp_path):
    with pytest.raises(RulesError, match="nope.toml: cannot read"):
        load_rules(tmp_path / "nope.toml")


# ------------------------------------------------------------------------------ OF type hint


@pytest.mark.parametrize(
    "changes,findings,expected",
    [
        ({"worst_genant_grade": 0, "worst_height_reduction_pct": 10.0}, {}, "OF1"),
        ({}, {}, "OF2"),
        ({}, {"posterior_wall_involvement": True}, "OF3"),
        ({"worst_fracture_type": "crush"}, {"posterior_wall_involvement": None}, "OF3"),
        ({"worst_height_reduction_pct": 75.0, "worst_genant_grade": 3}, {}, "OF4"),
    ],
)
def test_of_type_hint(changes, findings, expected):
    hint = of_type_hint(finding(**findings), measured(**changes), RULES)
    assert hint.of_type == expected
    assert "hint" in hint.reason
    assert hint.to_dict()["label"] == "hint"


# ------------------------------------------------------------------------------ from landmarks


def film(l1_anterior_mm: float, rotation_t12: float = 0.0, l2_anterior_mm: float = 27.0):
    """T12, L1, L2 with 27 mm bodies; L1 (index) wedged to ``l1_anterior_mm``.
    ``rotation_t12`` tilts T12 so its superior endplate makes that angle with L2's inferior
    endplate (negative rotation: anterior end down, i.e. kyphosis)."""
    specs = stack([("T12", 27.0, 27.0, 27.0), ("L1", l1_anterior_mm, 25.0, 27.0),
                   ("L2", l2_anterior_mm, 27.0, 27.0)], rotations={"T12": rotation_t12})
    cal = Calibration(CalibrationSource.DETECTOR, 0.15, 0.15)
    model = place(specs, index_levels=("L1",))
    return measure_image(model, cal)


def test_measured_inputs_from_constructed_film():
    m = measured_inputs_from(film(18.0, rotation_t12=-12.0), film="pre-operative film")
    expected_r = (1 - 18.0 / 27.0) * 100  # 33.3 %: Genant grade 2, wedge
    assert math.isclose(m.worst_height_reduction_pct.value, expected_r, abs_tol=0.01)
    assert m.worst_genant_grade.value == 2
    assert m.worst_fracture_type.value == "wedge"
    assert m.fractured_levels.value == 1
    assert m.vertebra_plana.value is False
    assert math.isclose(m.segmental_kyphosis_deg.value, 12.0, abs_tol=0.01)
    assert m.worst_height_reduction_pct.source.startswith("L1, pre-operative film")
    assert "T12 superior to L2 inferior" in m.segmental_kyphosis_deg.source
    assert m.deformity_progression.value is None


def test_progression_from_earlier_films():
    current = film(18.0)  # r 33.3 %
    grew = measured_inputs_from(current, earlier=[("2024-01-05", film(22.0))])  # r 18.5 %
    assert grew.deformity_progression.value is True
    assert "height reduction +14.8 points since 2024-01-05" in grew.deformity_progression.source
    stable = measured_inputs_from(current, earlier=[("2024-01-05", film(19.0))])  # +3.7 points
    assert stable.deformity_progression.value is False
    kyphosis = measured_inputs_from(film(18.0, rotation_t12=-8.0),
                                    earlier=[("2024-01-05", film(18.0, rotation_t12=-2.0))])
    assert kyphosis.deformity_progression.value is True
    assert "kyphosis +6°" in kyphosis.deformity_progression.source
