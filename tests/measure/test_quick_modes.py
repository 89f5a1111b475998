"""Quick placement modes in the core: the order of clicks, two-click proposals from a known
shape (exact when the shape is right), and carried-forward proposals accepted, adjusted or
rejected, all undoable."""

import math

import pytest

from ovcf_viewer.measure.placement import (
    PlacementState,
    apply_proposals,
    complete_two_clicks,
    next_level,
    propose_from_two_clicks,
    shape_source,
)
from ovcf_viewer.model.landmarks import CORNER_NAMES, POINT_NAMES, ImageAnnotations
from tests.spine_builder import BodySpec, place, stack


def _close(a, b, tol=1e-6):
    return math.hypot(a[0] - b[0], a[1] - b[1]) <= tol


@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("row_mm,col_mm", [(0.15, 0.15), (0.16, 0.10)])
def test_two_clicks_on_a_film_of_the_same_patient_recover_the_body_exactly(facing, row_mm,
                                                                            col_mm):
    body = BodySpec("L1", ha=19.0, hm=21.0, hp=27.0, depth=38.0, rotation_deg=2.0)
    previous = place([body], facing="left", tilt_deg=3.0)  # 0.15 mm square pixels
    # Today's film: another tilt, another spacing, maybe the other facing, a larger image.
    today = place([body], facing=facing, tilt_deg=-7.0, row_mm=row_mm, col_mm=col_mm,
                  centre_px=(1500.0, 900.0))
    truth = today.vertebrae["L1"].points
    # A neighbour on today's film tells which way the patient faces.
    neighbour = place([BodySpec("L2", 28.0, 26.0, 28.0, origin=(0.0, -40.0))], facing=facing,
                      tilt_deg=-7.0, row_mm=row_mm, col_mm=col_mm, centre_px=(1500.0, 900.0))
    proposal = propose_from_two_clicks(
        truth["sa"], truth["ip"], previous.vertebrae["L1"].points,
        facing_like=neighbour.vertebrae["L2"].points, col_mm=col_mm, row_mm=row_mm,
        shape_spacing=(0.15, 0.15),
    )
    assert set(proposal) == set(POINT_NAMES)
    for name in POINT_NAMES:
        assert _close(proposal[name], truth[name], 1e-6), name


def test_two_click_mode_asks_for_sa_then_ip_and_proposes_the_rest():
    specs = stack([("T12", 26.0, 24.0, 26.0), ("L1", 26.0, 24.0, 26.0)])
    film = place(specs)
    truth = film.vertebrae["L1"].points
    model = ImageAnnotations("1.2.3", "x.dcm")
    model.vertebrae["T12"] = film.vertebrae["T12"].copy()  # same shape, already placed
    state = PlacementState("L1", mode="two_click")
    asked = []
    while (target := state.target(model)) is not None:
        asked.append(target[1])
        model.set_point("L1", target[1], truth[target[1]])
    assert asked == ["sa", "ip"]
    assert state.wants_proposal(model)
    assert shape_source(model, "L1")[0] == "the shape of T12"
    complete_two_clicks(model, "L1", col_mm=0.15, row_mm=0.15)
    l1 = model.vertebrae["L1"]
    assert l1.has_proposal and not l1.is_complete
    for name in POINT_NAMES:
        assert _close(l1.points[name], truth[name], 1e-6)
    assert "Enter to accept" in state.prompt(model)
    assert state.after_placement(model) == "L2"  # the proposal is checked later
    model.accept_proposal("L1")
    assert model.vertebrae["L1"].is_complete


def test_typical_body_when_nothing_is_placed():
    model = ImageAnnotations("1.2.3", "x.dcm")
    model.set_point("L3", "sa", (100.0, 100.0))
    model.set_point("L3", "ip", (400.0, 300.0))
    assert shape_source(model, "L3")[0] == "a typical body"
    complete_two_clicks(model, "L3")
    points = model.vertebrae["L3"].points
    assert set(points) == set(POINT_NAMES)
    assert points["sa"] == (100.0, 100.0) and points["ip"] == (400.0, 300.0)


def test_four_corner_mode_asks_for_the_corners():
    model = ImageAnnotations("1.2.3", "x.dcm")
    state = PlacementState("L2", mode="four_corner")
    asked = []
    while (target := state.target(model)) is not None:
        if "L2" not in model.vertebrae:
            model.set_vertebra_mode("L2", state.landmark_mode())
        asked.append(target[1])
        model.set_point(*target, (10.0 * len(asked), 20.0 * len(asked)))
    assert tuple(asked) == CORNER_NAMES
    assert model.vertebrae["L2"].is_complete
    assert state.after_placement(model) == "L3"


def test_carried_forward_proposals_accept_adjust_reject_and_undo():
    model = ImageAnnotations("1.2.3", "x.dcm", rows=1000, columns=1000)
    commands = []
    model.command_recorded.connect(commands.append)
    model.set_point("T12", "sa", (5.0, 5.0))  # the reader started T12: kept
    proposals = {
        "T12": ({n: (50.0, 50.0) for n in POINT_NAMES}, ""),
        "L1": ({n: (100.0 + i, 100.0) for i, n in enumerate(POINT_NAMES)},
               "shape changed: sup. endplate 6.0 mm"),
        "L2": ({n: (200.0 + i, 200.0) for i, n in enumerate(CORNER_NAMES)}, ""),
        "L5": ({n: (300.0, 1000.0 + i) for i, n in enumerate(POINT_NAMES)}, ""),  # off film
    }
    assert apply_proposals(model, proposals) == ["L1", "L2"]
    assert "L5" not in model.vertebrae
    assert len(commands) == 2  # one undoable step for the whole carry-forward
    assert model.vertebrae["L2"].mode == "four_corner"
    assert not model.complete_vertebrae()  # proposals are not measured
    assert next_level(model, "T11") == "T12"
    # The autosave keeps proposals and their reason; an export does not write them.
    partial = model.to_json(partial=True)
    l1 = next(v for v in partial["vertebrae"] if v["level"] == "L1")
    assert l1["check"].startswith("shape changed") and set(l1["proposed"]) == set(POINT_NAMES)
    again = ImageAnnotations.from_json(partial, partial=True)
    assert again.vertebrae["L1"].check_reason.startswith("shape changed")
    assert [v["level"] for v in model.to_json()["vertebrae"]] == []
    # Adjusting one point by dragging accepts the vertebra.
    model.set_point("L1", "sa", (110.0, 98.0))
    assert model.vertebrae["L1"].is_complete and model.vertebrae["L1"].check_reason == ""
    model.accept_proposal("L2")
    assert set(model.complete_vertebrae()) == {"L1", "L2"}
    model.remove_vertebra("L2")  # reject
    assert "L2" not in model.vertebrae
    for command in reversed(commands[1:]):
        command.revert(model)
    assert set(model.vertebrae) == {"T12"}
