"""Outcome records (docs/clinical-reference.md §5a): validation, the case document (version 2,
version 1 still read), undo and autosave through the case session."""

from __future__ import annotations

import json
import math

import pytest

from ovcf_viewer.model.case import CaseFormatError, CaseSession, load_case, save_case
from ovcf_viewer.model.outcomes import (
    CementFinding,
    LeakRegion,
    LevelProcedure,
    OutcomeValueError,
    PainScore,
)
from tests.outcome_case import CEMENT_ML, LEAK_POINTS, WIDTH_MM, outcome_case


@pytest.mark.parametrize("vas", [-0.5, 10.01, math.nan, math.inf, True, "8"])
def test_vas_out_of_range_or_not_a_number_is_refused(vas):
    with pytest.raises(OutcomeValueError, match="pain VAS"):
        PainScore(vas=vas)


@pytest.mark.parametrize("vas", [0, 0.0, 10, 7.5])
def test_vas_at_the_bounds_is_accepted(vas):
    assert PainScore(vas=vas).vas == float(vas)


def test_odi_range_and_unknown_stays_unknown():
    with pytest.raises(OutcomeValueError, match=r"ODI 100.5 % is out of range: expected 0 to 100"):
        PainScore(odi=100.5)
    empty = PainScore()
    assert empty.vas is None and empty.odi is None and empty.is_empty
    assert PainScore(vas=0).vas == 0.0 and not PainScore(vas=0).is_empty


@pytest.mark.parametrize("ml", [0, -1.0, 30.5, math.nan])
def test_cement_volume_out_of_range_is_refused(ml):
    with pytest.raises(OutcomeValueError, match="L1 cement volume"):
        LevelProcedure("L1", cement_ml=ml)


def test_level_record_choices_and_width():
    with pytest.raises(OutcomeValueError, match="technique 'PVX'"):
        LevelProcedure("L1", technique="PVX")
    with pytest.raises(OutcomeValueError, match="cement viscosity"):
        LevelProcedure("L1", viscosity="thick")
    with pytest.raises(OutcomeValueError, match="transverse width 5 mm"):
        LevelProcedure("L1", width_mm=5)
    with pytest.raises(OutcomeValueError, match="level"):
        LevelProcedure("X9")
    rec = LevelProcedure("L1")
    assert (rec.technique, rec.approach, rec.viscosity, rec.cement_ml, rec.width_mm) == (
        None, None, None, None, None)


def test_leak_region_needs_three_finite_points_and_a_listed_location():
    with pytest.raises(OutcomeValueError, match="at least 3 points, got 2"):
        LeakRegion("venous", ((0, 0), (1, 1)))
    with pytest.raises(OutcomeValueError, match="finite"):
        LeakRegion("venous", ((0, 0), (1, 1), (math.nan, 2)))
    with pytest.raises(OutcomeValueError, match="leak location 'lung'"):
        LeakRegion("lung", ((0, 0), (1, 0), (0, 1)))
    # a 40 × 60 px rectangle
    assert LeakRegion("paravertebral", LEAK_POINTS).area_px() == pytest.approx(2400.0)


def test_leak_locations_need_leakage_yes():
    with pytest.raises(OutcomeValueError, match="leakage is no"):
        CementFinding("L1", leakage=False, locations=("disc",))
    with pytest.raises(OutcomeValueError, match="leakage is unknown"):
        CementFinding("L1", locations=("disc",))
    finding = CementFinding("L1", leakage=True, locations=("venous", "disc"),
                            regions=(LeakRegion("paravertebral", LEAK_POINTS),))
    assert finding.locations == ("disc", "paravertebral", "venous")  # the §5a order


def test_case_document_round_trip(tmp_path):
    case = outcome_case(tmp_path)
    path = tmp_path / "case.json"
    save_case(case, path)
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    assert doc["procedure"]["levels"] == [{
        "level": "L1", "technique": "PKP", "approach": "bilateral", "viscosity": "high",
        "cement_ml": CEMENT_ML, "width_mm": WIDTH_MM}]
    loaded = load_case(path)
    assert [f.pain for f in loaded.chronological_films()] == [
        PainScore(8), PainScore(3), PainScore(2, 24)]
    post = loaded.postop_film().cement_at("L1")
    assert post.leakage is True and post.endplate_contact is True
    assert post.locations == ("paravertebral",)
    assert post.regions[0].points == LEAK_POINTS
    assert loaded.level_procedure("L1") == case.level_procedure("L1")
    assert loaded.preop_film().cement == ()


def test_version_1_document_still_loads_with_everything_unknown(tmp_path):
    case = outcome_case(tmp_path)
    doc_path = tmp_path / "case.json"
    save_case(case, doc_path)
    doc = json.loads(doc_path.read_text())
    doc["version"] = 1
    del doc["procedure"]["levels"]
    for film in doc["films"]:
        del film["outcomes"]
    doc_path.write_text(json.dumps(doc))
    old = load_case(doc_path)
    assert old.level_procedures == ()
    assert all(f.pain.vas is None and f.pain.odi is None and f.cement == () for f in old.films)
    assert len(old.films) == 3
    doc["version"] = 3
    doc_path.write_text(json.dumps(doc))
    with pytest.raises(CaseFormatError, match="unsupported case version 3"):
        load_case(doc_path)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("vas", 11, r"case\.json: films\[\d\]\.outcomes\.pain: pain VAS 11 is out of range"),
    ("odi_pct", -3, r"case\.json: films\[\d\]\.outcomes\.pain: ODI -3 % is out of range"),
    ("cement_ml", 0, r"case\.json: procedure\.levels\[0\]: L1 cement volume 0 mL"),
])
def test_bad_values_in_a_document_name_the_file_and_key(tmp_path, key, value, message):
    case = outcome_case(tmp_path)
    path = tmp_path / "case.json"
    save_case(case, path)
    doc = json.loads(path.read_text())
    if key == "cement_ml":
        doc["procedure"]["levels"][0]["cement_ml"] = value
    else:
        doc["films"][0]["outcomes"]["pain"][key] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(CaseFormatError, match=message):
        load_case(path)


def test_session_edits_are_autosaved_and_undoable(tmp_path):
    case = outcome_case(tmp_path)
    session = CaseSession(case)
    uid = case.postop_film().sop_instance_uid
    history = []
    session.history_changed.connect(lambda: history.append(session.undo_text))
    session.set_pain(uid, PainScore(vas=4))
    assert load_case(session.autosave_file).film(uid).pain.vas == 4.0
    session.set_level_procedure(LevelProcedure("L1", technique="PVP", cement_ml=3.0))
    session.add_leak_region(uid, "L1", LeakRegion("venous", ((1, 1), (5, 1), (3, 4))))
    assert session.case.film(uid).cement_at("L1").locations == ("paravertebral", "venous")
    assert session.undo_text == "Draw L1 leak"
    assert session.undo()
    assert session.case.film(uid).cement_at("L1").locations == ("paravertebral",)
    assert load_case(session.autosave_file).film(uid).cement_at("L1").locations == (
        "paravertebral",)
    assert session.undo() and session.case.level_procedure("L1").technique == "PKP"
    assert session.undo() and session.case.film(uid).pain.vas == 3.0
    assert not session.undo()
    assert session.redo() and session.case.film(uid).pain.vas == 4.0
    assert load_case(session.autosave_file).film(uid).pain.vas == 4.0
    assert history[:3] == ["Edit pain score", "Edit L1 procedure", "Draw L1 leak"]
    session.close()


def test_polygon_draft_click_by_click():
    from ovcf_viewer.model.outcomes import PolygonDraft

    draft = PolygonDraft("venous")
    assert draft.add(10, 10) and draft.add(20, 10)
    assert not draft.can_close
    with pytest.raises(OutcomeValueError, match="at least 3 points, got 2"):
        draft.close()
    assert draft.add(20, 30)
    assert not draft.add(20.3, 30.2)  # the second click of a double-click
    region = draft.close()
    assert region.points == ((10.0, 10.0), (20.0, 10.0), (20.0, 30.0))
    assert region.area_px() == pytest.approx(100.0)
    with pytest.raises(OutcomeValueError, match="leak location"):
        PolygonDraft("lung")
