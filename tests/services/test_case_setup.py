"""The new-case proposals (docs/clinical-reference.md §5): procedure date, timepoints, treated
levels and technique from the films' timepoints, dates and study descriptions, with the CLI's
case inputs and the GUI dialog reading the same."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.model.landmarks import ImageAnnotations, Timepoint, load_annotations
from ovcf_viewer.services.case_setup import (
    FilmFacts,
    description_kind,
    description_levels,
    description_procedure,
    propose_case,
    propose_film_timepoints,
)

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"


@pytest.mark.parametrize("text, kind", [
    ("Lumbar spine lateral, pre-operative", "preop"),
    ("LWS seitlich präop", None),  # not a phrase we read: nothing proposed
    ("Preop lateral", "preop"),
    ("after L1 kyphoplasty", "postop"),
    ("Post-op control", "followup"),  # a control film is a follow-up
    ("3-month follow-up", "followup"),
    ("FU 6 weeks", "followup"),
    ("Lumbar spine lateral", None),
    ("", None),
])
def test_description_kind(text, kind):
    assert description_kind(text) == kind


def test_description_procedure_and_levels():
    assert description_procedure("after L1 kyphoplasty") == "PKP"
    assert description_procedure("T12 vertebroplasty") == "PVP"
    assert description_procedure("SpineJack L2") == "expandable"
    assert description_procedure("lateral") is None
    assert description_levels("after T12 and L1 kyphoplasty") == ("T12", "L1")
    assert description_levels("L 2 stent, 3000 x 2500") == ("L2",)
    assert description_levels("L9 and X1") == ()


def film(uid, when, text, annotations=None):
    return FilmFacts(uid, when, text, annotations)


def test_from_descriptions_alone():
    films = [
        film("1.1", date(2026, 3, 1), "pre-operative"),
        film("1.2", date(2026, 3, 4), "after T12 vertebroplasty"),
        film("1.3", date(2026, 6, 2), "follow-up"),
        film("1.4", None, "follow-up"),
    ]
    proposal = propose_case(films)
    assert proposal.procedure_date == date(2026, 3, 4)
    assert "after T12 vertebroplasty" in proposal.procedure_date_source
    assert proposal.timepoints == (
        Timepoint("preop", date(2026, 3, 1)),
        Timepoint("postop", date(2026, 3, 4), 0),
        Timepoint("followup", date(2026, 6, 2), 90),
        Timepoint("followup", None),  # no date: the description's kind, no interval
    )
    assert proposal.procedure == "PVP"
    assert proposal.treated_levels == ("T12",)
    assert proposal.notes == ()


def test_a_description_the_dates_contradict_is_noted():
    films = [film("1.1", date(2026, 3, 10), "pre-operative"),
             film("1.2", date(2026, 3, 4), "post-op")]
    proposal = propose_case(films)
    # Six days after the procedure (within the 7-day post-operative window, §5).
    assert proposal.timepoints[0] == Timepoint("postop", date(2026, 3, 10), 6)
    assert any("pre-operative" in note and "check it" in note for note in proposal.notes)


def test_nothing_to_go_on_proposes_nothing():
    proposal = propose_case([film("1.1", date(2026, 3, 1), "lateral"),
                             film("1.2", None, "")])
    assert proposal.procedure_date is None
    assert proposal.timepoints == (None, None)
    assert proposal.procedure is None and proposal.treated_levels == ()


def test_annotation_timepoints_win_and_match_the_cli_case():
    """With the films' own annotations (their timepoints, index levels), the proposal is the
    case the CLI builds from the annotation files."""
    names = ("pre", "post", "followup")
    cli = load_case_inputs([SAMPLE / f"{n}.json" for n in names])
    films = []
    for n in names:
        model = load_annotations(SAMPLE / f"{n}.json", partial=True)
        films.append(film(model.sop_instance_uid, model.timepoint.date, "lateral", model))
    proposal = propose_case(films)
    assert proposal.procedure_date == cli.procedure_date == date(2026, 1, 8)
    assert proposal.treated_levels == cli.treated_levels == ("L1",)
    assert list(proposal.timepoints) == [cli.film(f.sop_instance_uid).timepoint for f in films]
    assert [tp.label for tp in proposal.timepoints] == [
        "Pre-operative", "Post-operative", "Follow-up (3 months)"]


def test_moving_the_procedure_date_moves_the_intervals():
    films = [film("1.1", date(2026, 1, 5), ""), film("1.2", date(2026, 4, 8), "")]
    assert propose_film_timepoints(films, date(2026, 1, 7)) == [
        Timepoint("preop", date(2026, 1, 5)), Timepoint("followup", date(2026, 4, 8), 91)]
    # A film's own timepoint is kept, its interval filled from the date.
    own = ImageAnnotations("1.3")
    own.timepoint = Timepoint("postop", date(2026, 1, 9))
    assert propose_film_timepoints([film("1.3", date(2026, 1, 9), "", own)],
                                   date(2026, 1, 7)) == [Timepoint("postop", date(2026, 1, 9), 2)]
