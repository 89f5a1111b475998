"""The annotation model and the exchange format (docs/clinical-reference.md §2)."""

import json

import pytest

from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import (
    LEVELS,
    POINT_NAMES,
    AnnotationFormatError,
    ImageAnnotations,
    Tool,
    load_annotations,
    neighbour_levels,
    save_annotations,
)

SIX = {
    "sa": [10, 20],
    "sm": [30, 22],
    "sp": [50, 20],
    "ia": [10, 50],
    "im": [30, 48],
    "ip": [50, 50],
}


def doc(**overrides):
    base = {
        "format": "ovcf-annotations",
        "version": 1,
        "image": {"sop_instance_uid": "1.2.3", "file": "pre.dcm"},
        "timepoint": {"kind": "preop", "date": "2026-01-05"},
        "calibration": {"source": "manual", "row_mm": 0.15, "col_mm": 0.15},
        "index_levels": ["L1"],
        "vertebrae": [{"level": "L1", "points": SIX}],
    }
    base.update(overrides)
    return base


def test_levels_and_order():
    assert LEVELS[0] == "C7" and LEVELS[-1] == "S1" and len(LEVELS) == 19
    assert POINT_NAMES == ("sa", "sm", "sp", "ia", "im", "ip")
    assert neighbour_levels("T12") == ("T11", "L1")
    assert neighbour_levels("C7") == (None, "T1")


def test_round_trip(tmp_path):
    model = ImageAnnotations.from_json(doc())
    path = tmp_path / "a.json"
    save_annotations(model, path)
    again = load_annotations(path)
    assert again.to_json() == model.to_json()
    written = json.loads(path.read_text())
    assert written["vertebrae"][0]["points"]["sm"] == [30.0, 22.0]
    assert written["calibration"] == {"source": "manual", "row_mm": 0.15, "col_mm": 0.15}
    assert again.timepoint.kind == "preop" and again.timepoint.date.isoformat() == "2026-01-05"


@pytest.mark.parametrize(
    "overrides,fragment",
    [
        ({"version": 2}, "unsupported annotation version 2"),
        ({"format": "other"}, "not an annotation file"),
        ({"vertebrae": [{"level": "L9", "points": SIX}]}, "unknown level 'L9'"),
        (
            {"vertebrae": [{"level": "L1", "points": {k: v for k, v in SIX.items() if k != "im"}}]},
            "L1 is missing landmark(s) im",
        ),
        ({"vertebrae": [{"level": "L1", "points": dict(SIX, sa=[1])}]}, "L1 sa must be [x, y]"),
        ({"index_levels": ["L2"]}, "index level L2 has no landmarks"),
        ({"timepoint": {"kind": "later"}}, "timepoint kind 'later'"),
        ({"calibration": {"source": "detector", "row_mm": 1, "col_mm": 1}}, 'only "manual"'),
    ],
)
def test_bad_documents_name_the_problem(overrides, fragment):
    with pytest.raises(AnnotationFormatError) as info:
        ImageAnnotations.from_json(doc(**overrides))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_point_outside_image():
    model = ImageAnnotations.from_json(doc())
    with pytest.raises(AnnotationFormatError, match="L1 ia at \\(10, 50\\) lies outside"):
        model.validate_inside(rows=40, columns=100)


def test_invalid_json_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(AnnotationFormatError, match="bad.json: not valid JSON"):
        load_annotations(path)


def test_edits_record_one_command_each_and_undo():
    model = ImageAnnotations("1.2", rows=100, columns=100)
    commands, changes = [], []
    model.command_recorded.connect(commands.append)
    model.changed.connect(lambda: changes.append(1))
    for name, xy in SIX.items():
        model.set_point("L1", name, xy)
    assert len(commands) == 6 and len(changes) == 6
    assert model.vertebrae["L1"].is_complete
    before_index = model.to_json(partial=True)
    model.set_index_level("L1", True)
    assert len(commands) == 7 and model.index_levels == ["L1"]
    commands[-1].revert(model)
    assert model.index_levels == [] and model.to_json(partial=True) == before_index
    commands[-1].apply(model)
    assert model.index_levels == ["L1"]
    # A no-op edit records nothing.
    model.set_index_level("L1", True)
    assert len(commands) == 7


def test_partial_vertebra_in_autosave_only():
    model = ImageAnnotations("1.2")
    model.set_point("L2", "sa", (1, 2))
    assert model.vertebrae["L2"].next_point() == "sm"
    assert model.to_json()["vertebrae"] == []
    assert model.to_json(partial=True)["vertebrae"][0]["points"] == {"sa": [1.0, 2.0]}
    with pytest.raises(AnnotationFormatError):
        ImageAnnotations.from_json(
            model.to_json(partial=True) | {"vertebrae": [{"level": "L2", "points": {"sa": [1, 2]}}]}
        )
    assert ImageAnnotations.from_json(model.to_json(partial=True), partial=True).vertebrae["L2"]


def test_preview_then_commit_records_one_step_from_the_origin():
    model = ImageAnnotations("1.2")
    model.set_point("L1", "sa", (10, 10))
    origin = model.to_json(partial=True)
    recorded = []
    model.command_recorded.connect(recorded.append)
    for x in range(11, 20):
        model.preview_point("L1", "sa", (x, 10))
    assert recorded == []
    model.set_point("L1", "sa", (20, 10))
    assert len(recorded) == 1 and recorded[0].before == origin
    model.preview_point("L1", "sa", (50, 50))
    model.cancel_preview()
    assert model.vertebrae["L1"].points["sa"] == (20.0, 10.0)


def test_point_outside_image_rejected_on_edit():
    model = ImageAnnotations("1.2", rows=10, columns=10)
    with pytest.raises(ValueError, match="outside"):
        model.set_point("L1", "sa", (20, 5))
    assert model.vertebrae == {}  # the failed edit left nothing behind


def test_relabel_moves_index_mark_and_tools_round_trip():
    model = ImageAnnotations.from_json(doc())
    model.relabel("L1", "T12")
    assert model.index_levels == ["T12"] and "T12" in model.vertebrae
    tool = model.add_tool(Tool("calibration", [(0, 0), (100, 0)], true_length_mm=15.0))
    model.set_manual_calibration(Calibration(CalibrationSource.MANUAL, 0.15, 0.15))
    again = ImageAnnotations.from_json(model.to_json())
    assert again.tools[0].true_length_mm == 15.0 and again.tools[0].tool_id == tool.tool_id
    assert again.manual_calibration.source is CalibrationSource.MANUAL
