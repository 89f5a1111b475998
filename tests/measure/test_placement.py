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


def test_angle_by_dragging_each_arm_continues_from_the_vertex():
    from ovcf_viewer.measure.placement import ToolDraft as Draft

    angle = Draft("angle")
    angle.handle(PointerEvent("press", 0, 0, screen=(0, 0)))
    assert not angle.handle(PointerEvent("release", 10, 10, screen=(100, 100)))
    assert angle.points == [(0, 0), (10, 10)]

    def to_screen(xy):
        return (xy[0] * 10, xy[1] * 10)

    # A press on the vertex adds nothing (no zero-length arm) ...
    angle.handle(PointerEvent("press", 10.2, 10, screen=(102, 100)), to_screen=to_screen)
    assert angle.points == [(0, 0), (10, 10)]
    assert angle.in_progress
    # ... and the drag out of it ends the second arm.
    assert angle.handle(PointerEvent("release", 20, 0, screen=(200, 0)), to_screen=to_screen)
    assert angle.points == [(0, 0), (10, 10), (20, 0)]


def test_a_click_on_the_vertex_adds_nothing_but_cobb_line_two_may_start_there():
    angle = ToolDraft("angle")
    for kind, x, y in [("press", 0, 0), ("release", 0, 0), ("press", 5, 5), ("release", 5, 5),
                       ("press", 5.1, 5), ("release", 5.1, 5)]:
        angle.handle(PointerEvent(kind, x, y), drag_tolerance=0.5)
    assert angle.points == [(0, 0), (5, 5)]  # the third click on the vertex was no point

    cobb = ToolDraft("cobb")
    for kind, x, y in [("press", 0, 0), ("release", 9, 0), ("press", 9, 0), ("release", 9, 0)]:
        cobb.handle(PointerEvent(kind, x, y), drag_tolerance=0.5)
    assert cobb.points == [(0, 0), (9, 0), (9, 0)]  # line two starts on line one's end


def test_drag_threshold_is_measured_on_screen_when_known():
    ruler = ToolDraft("ruler")
    ruler.handle(PointerEvent("press", 0, 0, screen=(50, 50)))
    # 2 screen pixels is a click however far apart the image points are (zoomed out).
    assert not ruler.handle(PointerEvent("release", 8, 0, screen=(52, 50)))
    assert ruler.handle(PointerEvent("press", 40, 0, screen=(90, 50)))


def test_nearest_corner_uses_screen_pixels_and_only_corners():
    from ovcf_viewer.measure.placement import SNAP_TOLERANCE_PX, nearest_corner

    model = ImageAnnotations("1.2.3", rows=500, columns=500)
    for name, xy in {"sa": (100, 100), "sm": (150, 95), "sp": (200, 100),
                     "ia": (100, 150), "im": (150, 155), "ip": (200, 150)}.items():
        model.set_point("L1", name, xy)

    def to_screen(xy):  # zoom 2 on columns, rows twice as tall again (aspect 2)
        return (xy[0] * 2.0, xy[1] * 4.0)

    assert nearest_corner(model, (203.0, 398.0), to_screen) == ("L1", "sa", (100, 100))
    assert nearest_corner(model, (300.0, 380.0), to_screen) is None  # sm is no corner
    just_out = 200.0 + SNAP_TOLERANCE_PX + 0.5
    assert nearest_corner(model, (just_out, 400.0), to_screen) is None
    assert nearest_corner(model, (401.0, 601.0), to_screen)[1] == "ip"


def test_handle_names_for_the_status_bar():
    from ovcf_viewer.measure.placement import HandleKey, handle_name
    from ovcf_viewer.model.landmarks import Tool

    assert handle_name(HandleKey(level="L1", name="sa")) == "L1 sa — superior-anterior corner"
    model = ImageAnnotations("1.2.3", rows=500, columns=500)
    tool = model.add_tool(Tool("cobb", [(0, 0), (9, 0), (0, 5), (9, 6)]))
    tool_id = tool.tool_id if tool is not None else model.tools[-1].tool_id
    assert handle_name(HandleKey(tool_id=tool_id, index=2), model) == "cobb point 3 of 4"
    assert handle_name(HandleKey(tool_id=99, index=0)) == "tool point 1"
