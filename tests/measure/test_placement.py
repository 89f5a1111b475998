"""Landmark-placement and tool-drawing logic, driven with small event records (no display)."""

import pytest

from ovcf_viewer.measure.placement import (
    PlacementState,
    PointerEvent,
    ToolDraft,
    hit_test,
    next_level,
    nudge_step,
    placement_prompt,
    screen_to_image_tolerance,
)
from ovcf_viewer.model.landmarks import ImageAnnotations, Tool


def model_with(levels_complete=(), partial=None):
    model = ImageAnnotations("1.2.3", "x.dcm")
    for i, level in enumerate(levels_complete):
        for j, name in enumerate(("sa", "sm", "sp", "ia", "im", "ip")):
            model.set_point(level, name, (100.0 + j * 10, 100.0 + i * 100))
    for level, names in (partial or {}).items():
        for name in names:
            model.set_point(level, name, (50.0, 50.0))
    return model


def test_prompt_names_the_next_point_in_clinical_order():
    model = model_with(partial={"L1": ("sa", "sm")})
    assert placement_prompt(model, "L1") == "L1: click the superior-posterior corner (3/6)"
    assert placement_prompt(model, "L2") == "L2: click the superior-anterior corner (1/6)"
    model_done = model_with(("L1",))
    assert placement_prompt(model_done, "L1") == "L1: all six landmarks placed"


def test_state_walks_through_six_points_then_offers_the_level_below():
    model = ImageAnnotations("1.2.3")
    state = PlacementState("T12")
    placed = []
    for _ in range(6):
        assert state.after_placement(model) is None
        level, name = state.target(model)
        model.set_point(level, name, (10.0 * len(placed), 5.0))
        placed.append(name)
    assert placed == ["sa", "sm", "sp", "ia", "im", "ip"]
    assert state.after_placement(model) == "L1"
    assert state.level == "L1"
    assert state.target(model) == ("L1", "sa")


def test_next_level_skips_complete_levels_and_goes_up_on_request():
    model = model_with(("L1", "L2"))
    assert next_level(model, "T12", "down") == "L3"
    assert next_level(model, "L3", "up") == "T12"
    assert next_level(model, "S1", "down") is None
    assert next_level(model, "C7", "up") is None
    state = PlacementState("L1", direction="up")
    assert state.after_placement(model) == "T12"
    with pytest.raises(ValueError):
        next_level(model, "L1", "sideways")


def test_hit_test_uses_screen_pixels():
    model = model_with(partial={"L1": ("sa",)})  # sa at (50, 50)
    model.add_tool(Tool("ruler", [(50.0, 53.0), (90.0, 90.0)]))
    # At zoom 1 an 8-pixel tolerance reaches 8 image pixels: the landmark is nearest.
    hit = hit_test(model, (52.0, 50.0), zoom=1.0)
    assert hit.is_landmark and (hit.level, hit.name) == ("L1", "sa")
    hit = hit_test(model, (50.0, 53.5), zoom=1.0)
    assert not hit.is_landmark and (hit.tool_id, hit.index) == (1, 0)
    # At zoom 0.25 (zoomed out) 8 screen pixels are 32 image pixels.
    assert hit_test(model, (75.0, 50.0), zoom=0.25) is not None
    assert hit_test(model, (75.0, 50.0), zoom=1.0) is None
    # At zoom 16 the tolerance is half an image pixel.
    assert hit_test(model, (50.6, 50.0), zoom=16.0) is None
    assert hit_test(model, (50.4, 50.0), zoom=16.0).name == "sa"


def test_nudge_is_one_screen_pixel():
    assert nudge_step(1.0) == 1.0
    assert nudge_step(8.0) == pytest.approx(0.125)
    assert nudge_step(0.5) == 2.0
    with pytest.raises(ValueError):
        screen_to_image_tolerance(8, 0)


def test_ruler_by_two_clicks_and_by_one_drag():
    clicks = ToolDraft("ruler")
    assert not clicks.handle(PointerEvent("press", 1, 1))
    assert not clicks.handle(PointerEvent("release", 1, 1))
    clicks.handle(PointerEvent("move", 5, 5))
    assert clicks.preview_points() == [(1, 1), (5, 5)]
    assert clicks.handle(PointerEvent("press", 9, 9))  # the second click completes it
    assert clicks.handle(PointerEvent("release", 9, 9))
    assert clicks.points == [(1, 1), (9, 9)]

    drag = ToolDraft("calibration")
    drag.handle(PointerEvent("press", 0, 0))
    drag.handle(PointerEvent("move", 10, 0, buttons_down=True))
    assert drag.handle(PointerEvent("release", 20, 0), drag_tolerance=1.0)
    assert drag.points == [(0, 0), (20, 0)]


def test_cobb_takes_two_dragged_lines_and_angle_three_clicks():
    cobb = ToolDraft("cobb")
    events = [("press", 0, 0), ("release", 10, 0), ("press", 0, 5), ("release", 10, 8)]
    results = [cobb.handle(PointerEvent(k, x, y)) for k, x, y in events]
    assert results == [False, False, False, True]
    assert cobb.points == [(0, 0), (10, 0), (0, 5), (10, 8)]

    angle = ToolDraft("angle")
    for i, xy in enumerate([(0, 10), (0, 0), (10, 0)]):
        assert f"({i + 1}/3)" in angle.prompt()
        angle.handle(PointerEvent("press", *xy))
        angle.handle(PointerEvent("release", *xy))
    assert angle.is_complete and angle.points[1] == (0, 0)
    with pytest.raises(ValueError):
        ToolDraft("protractor")
