"""render.format: the one way a person reads a number (GUI, CLI text, PDF)."""

import pytest

from ovcf_viewer.render import format as fmt


@pytest.mark.parametrize(
    "call,expected",
    [
        (lambda: fmt.length(23.456, "mm (Pixel Spacing)"), "23.5 mm (Pixel Spacing)"),
        (lambda: fmt.length(152.04, "px"), "152.0 px"),
        (lambda: fmt.length(None, "mm"), "—"),
        (lambda: fmt.signed_length(-2.25), "−2.2"),
        (lambda: fmt.signed_length(2.26), "+2.3"),
        (lambda: fmt.signed_length(-0.04), "0.0"),  # no "−0.0"
        (lambda: fmt.angle(-7.25), "−7.2°"),
        (lambda: fmt.signed_angle(3.0), "+3.0°"),
        (lambda: fmt.pct(39.62), "39.6 %"),
        (lambda: fmt.signed_pct(-12.0), "−12.0 %"),
        (lambda: fmt.ratio(0.7999), "0.80"),
        (lambda: fmt.ratio(None), "—"),
        (lambda: fmt.compact(35.0), "35"),
        (lambda: fmt.compact(-3.25), "−3.2"),
        (lambda: fmt.points(-1), "−1"),
        (lambda: fmt.points(1), "+1"),
        (lambda: fmt.points(0), "0"),
        (lambda: fmt.points(6, signed=False), "6"),
        (lambda: fmt.points(None), "unknown"),
        (lambda: fmt.plain(None), "unknown"),
        (lambda: fmt.plain(True), "yes"),
        (lambda: fmt.plain(41.25, "worst_height_reduction_pct"), "41.2 %"),
        (lambda: fmt.plain(-16.04, "segmental_kyphosis_deg"), "−16.0°"),
        (lambda: fmt.plain(2, "fractured_levels"), "2"),
        (lambda: fmt.plain("wedge"), "wedge"),
    ],
)
def test_formats(call, expected):
    assert call() == expected


def test_the_minus_sign_is_the_true_one():
    assert fmt.MINUS == "\u2212"
    assert "-" not in fmt.number(-1.5, 1) and fmt.number(-1.5, 1).startswith(fmt.MINUS)
