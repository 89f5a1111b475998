"""``ovcf-viewer suitability``: annotation files or a case in, the §6 evaluation out.

Films are built from known geometry (tests/spine_builder.py), so the measured inputs are
known in advance: L1 anterior height 18 of 27 mm → height reduction 33.3 %, Genant grade 2."""

import json
from datetime import date
from pathlib import Path

import pytest

from ovcf_viewer.cli import main
from ovcf_viewer.model.case import Case, CaseFilm, save_case
from ovcf_viewer.model.landmarks import Timepoint, save_annotations
from ovcf_viewer.suitability import DISCLAIMER, Findings
from tests.spine_builder import place, stack

REPO = Path(__file__).resolve().parents[2]


def annotations(l1_anterior_mm, kind="preop", day=None, rotation_t12=0.0, uid="1.2.3.4"):
    specs = stack(
        [("T12", 27.0, 27.0, 27.0), ("L1", l1_anterior_mm, 25.0, 27.0), ("L2", 27.0, 27.0, 27.0)],
        rotations={"T12": rotation_t12},
    )
    model = place(specs, index_levels=("L1",))
    model.sop_instance_uid = uid
    model.file = ""
    model.timepoint = Timepoint(kind, day)
    return model


def write_film(tmp_path, name, **kwargs):
    path = tmp_path / name
    save_annotations(annotations(**kwargs), path)
    return path


FINDINGS = Findings(
    mri_oedema=True, symptomatic=True, improving_on_medical_therapy=False,
    infection_or_sepsis=False, uncorrectable_coagulopathy=False,
    cement_or_contrast_allergy=False, posterior_wall_involvement=False,
    neurological_deficit=False, retropulsion_canal_compromise=False, of_type="OF2",
    vas_under_analgesia=8, t_score=-3.4, mobilisation_possible=False,
)


def run_json(capsys, *argv):
    code = main(["suitability", *map(str, argv), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def statuses(doc):
    return {o["id"]: o["status"] for o in doc["options"]}


def test_single_film_with_findings(tmp_path, capsys):
    film = write_film(tmp_path, "pre.json", l1_anterior_mm=18.0, rotation_t12=-9.0,
                      day=date(2026, 1, 5))
    findings = tmp_path / "findings.json"
    findings.write_text(FINDINGS.to_json(), encoding="utf-8")
    doc = run_json(capsys, film, "--findings", findings)
    assert set(doc) >= {"options", "approach", "cement_viscosity", "of_score", "inputs",
                        "disclaimer"}
    assert doc["disclaimer"] == DISCLAIMER
    measured = doc["inputs"]["measured"]
    assert measured["worst_height_reduction_pct"]["value"] == pytest.approx(100 / 3, abs=0.01)
    assert measured["worst_genant_grade"]["value"] == 2
    assert measured["segmental_kyphosis_deg"]["value"] == pytest.approx(9.0, abs=0.01)
    assert measured["fractured_levels"]["value"] == 1
    assert "pre.json" in measured["worst_genant_grade"]["source"]
    assert statuses(doc)["pvp"] == "favoured"
    assert doc["cement_viscosity"]["pvp"] == "high" and doc["cement_viscosity"]["pkp"] == "medium"
    # OF2 4 + T 1 + progression unknown 0 + VAS 1 + neuro 0 + immobile 1 + comorbidity unknown
    assert doc["of_score"]["total"] == 7
    assert doc["of_score"]["items"]["progression"]["points"] is None
    assert doc["films"]["measured_on"] == "Pre-operative 2026-01-05, pre.json"


def test_earlier_preop_film_gives_progression(tmp_path, capsys):
    early = write_film(tmp_path, "early.json", l1_anterior_mm=23.0, day=date(2025, 12, 1),
                       uid="1.2.3.1")  # r 14.8 %
    late = write_film(tmp_path, "late.json", l1_anterior_mm=18.0, day=date(2026, 1, 5),
                      uid="1.2.3.2")  # r 33.3 %: +18.5 points
    post = write_film(tmp_path, "post.json", l1_anterior_mm=24.0, kind="postop",
                      day=date(2026, 1, 8), uid="1.2.3.3")
    doc = run_json(capsys, post, late, early)
    assert doc["films"]["measured_on"].endswith("late.json")
    assert doc["films"]["earlier"] == ["Pre-operative 2025-12-01, early.json"]
    progression = doc["inputs"]["measured"]["deformity_progression"]
    assert progression["value"] is True and "+18.5 points" in progression["source"]
    assert doc["of_score"]["items"]["progression"]["points"] == 1


def test_no_findings_everything_unknown(tmp_path, capsys):
    film = write_film(tmp_path, "pre.json", l1_anterior_mm=18.0)
    doc = run_json(capsys, film)
    assert doc["confidence"]["level"] == "low"
    assert doc["of_score"]["total"] is None
    assert "Oedema on MRI STIR/T2 (acute fracture)" in doc["unknown_inputs"]
    assert all(v is None for k, v in doc["inputs"]["findings"].items() if k != "measured_overrides")


def test_case_document_uses_its_saved_findings(tmp_path, capsys):
    model = annotations(17.0, day=date(2026, 1, 5))  # r 37 %
    case = Case(
        "case-7", films=(CaseFilm(None, model.sop_instance_uid, model, model.timepoint),),
        findings=Findings(posterior_wall_involvement=True).to_dict(),
    )
    path = tmp_path / "case.json"
    save_case(case, path)
    doc = run_json(capsys, path)
    assert doc["inputs"]["findings"]["posterior_wall_involvement"] is True
    # Posterior-wall involvement cautions PVP, but symptoms and acuity are unknown: §6's
    # "needs findings" comes first, and the caution is still listed among the reasons.
    assert statuses(doc)["pvp"] == "needs_findings"
    pvp = next(o for o in doc["options"] if o["id"] == "pvp")
    assert any(r.startswith("Caution:") for r in pvp["reasons"])


def test_text_output_is_traceable(tmp_path, capsys):
    film = write_film(tmp_path, "pre.json", l1_anterior_mm=18.0)
    assert main(["suitability", str(film)]) == 0
    out = capsys.readouterr().out
    assert "Percutaneous vertebroplasty (PVP): " in out
    assert "Worst height reduction: 33.3 %" in out
    assert out.rstrip().endswith(DISCLAIMER)


@pytest.mark.parametrize(
    "content,fragment",
    [
        ('{"mri_edema": true}', "unknown key 'mri_edema' (did you mean 'mri_oedema'?)"),
        ('{"vas_under_analgesia": "high"}', "'vas_under_analgesia' must be a number"),
        ("{oops", "not valid JSON"),
    ],
)
def test_bad_findings_exit_2(tmp_path, capsys, content, fragment):
    film = write_film(tmp_path, "pre.json", l1_anterior_mm=18.0)
    findings = tmp_path / "findings.json"
    findings.write_text(content, encoding="utf-8")
    assert main(["suitability", str(film), "--findings", str(findings)]) == 2
    err = capsys.readouterr().err
    assert "findings.json" in err and fragment in err


def test_bad_rules_file_exit_2_names_line(tmp_path, capsys):
    film = write_film(tmp_path, "pre.json", l1_anterior_mm=18.0)
    rules = tmp_path / "rules.toml"
    rules.write_text('[meta]\nname = "x"\nversion = 1\n', encoding="utf-8")
    assert main(["suitability", str(film), "--rules", str(rules)]) == 2
    assert "rules.toml:3: meta.version: must be a non-empty string" in capsys.readouterr().err


def test_missing_input_exit_2(tmp_path, capsys):
    assert main(["suitability", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err


def test_sample_case_preop_with_example_findings(capsys):
    pre = REPO / "sample_dicom" / "case-0001" / "pre.json"
    findings = REPO / "docs" / "examples" / "case-0001-preop-findings.json"
    if not pre.exists():
        pytest.skip("sample case not present")
    doc = run_json(capsys, pre, "--findings", findings)
    # The sample's L1: anterior 17.0 mm against (23.5 + 28.5) / 2 = 26 mm → r 34.6 %.
    r = doc["inputs"]["measured"]["worst_height_reduction_pct"]["value"]
    assert r == pytest.approx((1 - 17.0 / 26.0) * 100, abs=0.05)
    # Every referral criterion known absent in the example findings: "not indicated" (§6).
    assert statuses(doc) == {"conservative": "possible", "pvp": "favoured", "pkp": "possible",
                             "expandable": "possible", "refer": "not_indicated"}
