"""The segmental-kyphosis endplate lines on constructed geometry (docs/clinical-reference.md
§3): superior endplate of the vertebra above, inferior endplate of the vertebra below."""

from __future__ import annotations

import pytest

from ovcf_viewer.measure.endplates import segmental_endplate_lines
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import ImageAnnotations
from ovcf_viewer.model.settings import Settings


def _body(model, level, top, height=100.0, x0=100.0, depth=120.0):
    points = {"sa": (x0, top), "sm": (x0 + depth / 2, top + 2), "sp": (x0 + depth, top),
              "ia": (x0, top + height), "im": (x0 + depth / 2, top + height - 2),
              "ip": (x0 + depth, top + height)}
    for name, xy in points.items():
        model.set_point(level, name, xy)


def test_lines_run_along_the_facing_endplates_and_beyond():
    model = ImageAnnotations("1.2.3", rows=1000, columns=1000)
    _body(model, "T12", 100.0)
    _body(model, "L1", 220.0, height=70.0)
    _body(model, "L2", 310.0)
    model.set_index_level("L1", True)
    cal = Calibration(CalibrationSource.PIXEL_SPACING, 0.2, 0.1, "test")
    lines = segmental_endplate_lines(model, measure_image(model, cal, Settings()), 0.5)
    assert [(ln.level, ln.endplate) for ln in lines] == [("T12", "superior"), ("L2", "inferior")]
    # sp (220, 100) → sa (100, 100), extended by half its length both ways.
    assert lines[0].start == pytest.approx((280.0, 100.0))
    assert lines[0].end == pytest.approx((40.0, 100.0))
    assert lines[1].start == pytest.approx((280.0, 410.0))
    assert lines[1].end == pytest.approx((40.0, 410.0))


def test_no_lines_without_both_neighbours_or_measurements():
    model = ImageAnnotations("1.2.3", rows=1000, columns=1000)
    _body(model, "L1", 220.0)
    _body(model, "L2", 330.0)
    model.set_index_level("L1", True)
    cal = Calibration.none()
    assert segmental_endplate_lines(model, measure_image(model, cal, Settings())) == []
    assert segmental_endplate_lines(model, None) == []
