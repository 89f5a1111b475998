"""The display pipeline against hand-computed values (PS3.3 C.11.2.1.2, C.11.2.1.3, C.11.6)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from ovcf_viewer.model.calibration import Calibration, CalibrationHeader, CalibrationSource
from ovcf_viewer.model.image import ModalityLut, RadiographImage, VoiLutTable, VoiWindow
from ovcf_viewer.render.display import (
    auto_window,
    default_window,
    display_lut,
    displayed_value,
    full_range_window,
    is_inverted,
    modality_value,
    pixel_aspect,
    render,
    stored_value,
    window_from_range,
)


def make_image(stored, photometric="MONOCHROME2", **kwargs) -> RadiographImage:
    stored = np.ascontiguousarray(stored)
    return RadiographImage(
        stored=stored,
        photometric=photometric,
        calibration_header=CalibrationHeader(),
        sop_instance_uid="1.2.3",
        bits_stored=stored.dtype.itemsize * 8,
        pixel_representation=1 if stored.dtype.kind == "i" else 0,
        **kwargs,
    )


def all_bytes() -> RadiographImage:
    """An 8-bit image holding every value 0..255 once, so lut[v] is the display of v."""
    return make_image(np.arange(256, dtype=np.uint8).reshape(16, 16))


def shown(image, window, value, invert=False) -> int:
    lut, offset = display_lut(image, window, invert)
    return int(lut[value - offset])


# --------------------------------------------------------------------------- VOI functions


def test_linear_window_hand_computed():
    # c = 100, w = 51: bottom edge c - 0.5 - (w-1)/2 = 74.5, top edge 124.5 (C.11.2.1.2.1)
    image, window = all_bytes(), VoiWindow(100, 51, "LINEAR")
    assert shown(image, window, 74) == 0
    assert shown(image, window, 75) == round(((75 - 99.5) / 50 + 0.5) * 255)  # 2.55 -> 3
    assert shown(image, window, 112) == 191  # ((112 - 99.5)/50 + 0.5) * 255 = 191.25
    assert shown(image, window, 124) == 252  # 252.45
    assert shown(image, window, 125) == 255
    assert shown(image, window, 3) == 0 and shown(image, window, 250) == 255


def test_linear_exact_hand_computed():
    # c = 100, w = 50: 0 at x <= 75, 255 above 125, else ((x - c)/w + 0.5) * 255 (C.11.2.1.3.2)
    image, window = all_bytes(), VoiWindow(100, 50, "LINEAR_EXACT")
    assert shown(image, window, 75) == 0
    assert shown(image, window, 85) == 51  # 0.2 * 255
    assert shown(image, window, 105) == 153  # 0.6 * 255
    assert shown(image, window, 125) == 255
    assert shown(image, window, 126) == 255


def test_linear_exact_differs_from_linear_by_the_half_pixel():
    image = all_bytes()
    linear = display_lut(image, VoiWindow(100, 50, "LINEAR"))[0]
    exact = display_lut(image, VoiWindow(100, 50, "LINEAR_EXACT"))[0]
    assert linear[85] == round(((85 - 99.5) / 49 + 0.5) * 255)  # 52.04 -> 52
    assert exact[85] == 51


def test_sigmoid_hand_computed():
    # 255 / (1 + exp(-4 (x - c) / w)), c = 100, w = 40 (C.11.2.1.3.1)
    image, window = all_bytes(), VoiWindow(100, 40, "SIGMOID")
    assert shown(image, window, 110) == 186  # 255 / (1 + e^-1) = 186.42
    assert shown(image, window, 90) == 69  # 255 / (1 + e) = 68.58
    assert shown(image, window, 100) == 128  # 127.5 rounds to even
    assert shown(image, window, 0) == round(255 / (1 + math.exp(10)))


def test_window_applies_to_modality_values_of_signed_rescaled_data():
    stored = np.array([[-2048, -1, 0, 1000, 2047]], dtype=np.int16)
    image = make_image(stored, modality_lut=ModalityLut(slope=2.0, intercept=-1000.0))
    window = VoiWindow(0, 2001, "LINEAR")  # modality -1000..1000 -> 0..255
    lut, offset = display_lut(image, window)
    assert offset == -32768 and len(lut) == 65536 and lut.dtype == np.uint8
    # stored 0 -> modality -1000 -> 0; stored 1000 -> 1000 -> 255; stored 500 -> 0 -> mid
    assert lut[0 - offset] == 0
    assert lut[1000 - offset] == 255
    assert lut[500 - offset] == round(((0 - (-0.5)) / 2000 + 0.5) * 255)
    np.testing.assert_array_equal(render(image, window), lut[stored.astype(np.int64) - offset])


def test_modality_lut_table_before_window():
    image = make_image(
        np.array([[0, 1, 2, 3]], dtype=np.uint16),
        modality_lut=ModalityLut(table=np.array([0, 50, 200, 255]), first_mapped=1),
    )
    lut, _ = display_lut(image, window_from_range(0, 255))
    # stored 0 is below the table: first entry; stored 1, 2, 3 map to 0, 50, 200
    assert list(lut[:5]) == [0, 0, 50, 200, 255]


def test_voi_lut_table_scaled_and_clamped():
    table = VoiLutTable(first_mapped=10, bits=12, data=np.array([0, 1000, 4095]))
    image = all_bytes()
    lut, _ = display_lut(image, table)
    assert lut[5] == 0  # below first mapped: first entry
    assert lut[11] == round(1000 * 255 / 4095)
    assert lut[12] == 255 and lut[200] == 255  # last entry beyond the table


def test_no_window_is_full_range_of_actual_values():
    image = make_image(np.array([[1000, 1500, 3000]], dtype=np.uint16))
    lut, _ = display_lut(image, None)
    assert (lut[1000], lut[3000]) == (0, 255)
    window = full_range_window(image)
    assert window.explanation == "Full range"


# --------------------------------------------------------------------------- presentation


def test_monochrome1_high_values_display_dark():
    stored = np.array([[0, 128, 255]], dtype=np.uint8)
    window = window_from_range(0, 255)
    mono1 = make_image(stored, "MONOCHROME1")
    mono2 = make_image(stored, "MONOCHROME2")
    assert list(render(mono2, window)[0]) == [0, 128, 255]
    assert list(render(mono1, window)[0]) == [255, 127, 0]  # dense (high) = dark
    assert list(render(mono1, window, invert=True)[0]) == [0, 128, 255]  # user toggles back


def test_presentation_lut_shape_inverse():
    stored = np.array([[0, 255]], dtype=np.uint8)
    window = window_from_range(0, 255)
    inverse2 = make_image(stored, "MONOCHROME2", presentation_lut_shape="INVERSE")
    identity2 = make_image(stored, "MONOCHROME2", presentation_lut_shape="IDENTITY")
    inverse1 = make_image(stored, "MONOCHROME1", presentation_lut_shape="INVERSE")
    assert list(render(inverse2, window)[0]) == [255, 0]
    assert list(render(identity2, window)[0]) == [0, 255]
    # PS3.3 C.8.11.6.1.1: INVERSE on MONOCHROME1 is that same inversion, applied once
    assert list(render(inverse1, window)[0]) == [255, 0]
    assert is_inverted(inverse1) and not is_inverted(inverse1, invert=True)


# --------------------------------------------------------------------------- render


def test_render_region_and_step_match_the_full_lut():
    rng = np.random.default_rng(3)
    stored = rng.integers(-3000, 3000, (50, 70), dtype=np.int16)
    image = make_image(stored, modality_lut=ModalityLut(slope=1.0, intercept=24.0))
    window = VoiWindow(200, 1500, "LINEAR")
    lut, offset = display_lut(image, window)
    expected = lut[stored.astype(np.int64) - offset]
    np.testing.assert_array_equal(render(image, window), expected)
    part = render(image, window, region=(10, 5, 41, 30), step=3)
    np.testing.assert_array_equal(part, expected[5:30:3, 10:41:3])
    assert part.flags.c_contiguous and part.dtype == np.uint8
    clipped = render(image, window, region=(-5, -5, 500, 8))
    np.testing.assert_array_equal(clipped, expected[0:8, :])
    assert render(image, window, region=(60, 40, 10, 10)).size == 0
    # Separate row and column steps (non-square pixels shown in physical aspect).
    uneven = render(image, window, region=(10, 5, 41, 30), step=(2, 5))
    np.testing.assert_array_equal(uneven, expected[5:30:2, 10:41:5])


def test_render_rgb_passes_through_and_inverts():
    rgb = np.zeros((3, 4, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    rgb[..., 1] = np.arange(4) * 10
    image = make_image(rgb, "RGB")
    assert default_window(image) is None
    np.testing.assert_array_equal(render(image, None), rgb)
    np.testing.assert_array_equal(render(image, VoiWindow(1, 2)), rgb)  # windows ignored
    np.testing.assert_array_equal(render(image, None, invert=True), 255 - rgb)
    assert displayed_value(image, 2, 1, None) == (200, 20, 0)


# --------------------------------------------------------------------------- windows


def test_default_window_order():
    stored = np.arange(100, dtype=np.uint16).reshape(10, 10)
    table = VoiLutTable(0, 8, np.arange(256))
    first = VoiWindow(50, 20, explanation="first")
    assert default_window(make_image(stored, windows=(first, VoiWindow(1, 2)),
                                     voi_luts=(table,))) is first
    assert default_window(make_image(stored, voi_luts=(table,))) is table
    assert default_window(make_image(stored)).explanation.startswith("Auto")


def test_auto_window_uses_percentiles_of_modality_values():
    stored = np.tile(np.arange(1000, dtype=np.uint16), 1000).reshape(1000, 1000)
    image = make_image(stored, modality_lut=ModalityLut(slope=1.0, intercept=-500.0))
    window = auto_window(image)
    low = window.center - window.width / 2  # inverse of window_from_range
    high = window.center + window.width / 2 - 1
    assert low == pytest.approx(-500 + 5, abs=6)  # 0.5 % of 0..999, minus 500
    assert high == pytest.approx(-500 + 994, abs=6)
    constant = make_image(np.full((8, 8), 7, dtype=np.uint16))
    assert auto_window(constant).width == 1.0


def test_window_from_range_maps_ends_exactly():
    image = all_bytes()
    lut, _ = display_lut(image, window_from_range(20, 220))
    assert (lut[20], lut[220], lut[19], lut[221]) == (0, 255, 0, 255)


# --------------------------------------------------------------------------- status bar


def test_pixel_value_helpers_round_to_pixel_centres():
    stored = np.array([[10, 20], [30, 40]], dtype=np.uint16)
    image = make_image(stored, modality_lut=ModalityLut(slope=0.5, intercept=1.0))
    window = window_from_range(6, 21)
    assert stored_value(image, 0.4, 0.4) == 10
    assert stored_value(image, 0.6, 0.2) == 20  # nearest centre is column 1
    assert stored_value(image, 1.49, 1.49) == 40
    assert stored_value(image, 1.6, 0) is None and stored_value(image, -0.6, 0) is None
    assert modality_value(image, 0, 1) == 16.0
    assert displayed_value(image, 0, 0, window) == 0  # modality 6 = low end
    assert displayed_value(image, 1, 1, window) == 255  # modality 21 = high end


# --------------------------------------------------------------------------- speed


def test_display_lut_16bit_under_2ms_and_viewport_render_fast():
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 65535, (3000, 3000), dtype=np.uint16)
    image = make_image(stored, modality_lut=ModalityLut(slope=1.0, intercept=-1024.0))
    lut_times, render_times = [], []
    for i in range(15):
        window = VoiWindow(30000 + i, 20000 + 3 * i, "LINEAR")  # new window: no cache
        start = time.perf_counter()
        display_lut(image, window)
        lut_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        render(image, window, region=(700, 1000, 2300, 2000))  # 1600 x 1000 viewport
        render_times.append(time.perf_counter() - start)
    assert min(lut_times) < 0.002, f"display_lut {min(lut_times) * 1e3:.2f} ms"
    assert min(render_times) < 0.016, f"render {min(render_times) * 1e3:.2f} ms"


def test_lut_cache_follows_changes_to_the_image():
    image = make_image(np.array([[0, 255]], dtype=np.uint8))
    window = window_from_range(0, 255)
    assert list(render(image, window)[0]) == [0, 255]
    image.photometric = "MONOCHROME1"
    assert list(render(image, window)[0]) == [255, 0]
    image.photometric = "MONOCHROME2"
    image.modality_lut = ModalityLut(slope=-1.0, intercept=255.0)
    assert list(render(image, window)[0]) == [255, 0]
    image.stored = np.array([[10, 20]], dtype=np.uint8)
    assert full_range_window(image) == window_from_range(20 * -1 + 255, 10 * -1 + 255, "Full range")


# --------------------------------------------------------------------------- pixel aspect


def _with_header(**header) -> RadiographImage:
    return RadiographImage(
        stored=np.zeros((4, 4), np.uint16), photometric="MONOCHROME2",
        calibration_header=CalibrationHeader(**header), sop_instance_uid="1.2.9",
    )


def test_pixel_aspect_is_row_spacing_over_column_spacing():
    # Imager Pixel Spacing 0.16 (rows) \ 0.10 (columns): a pixel is 1.6 times taller.
    image = _with_header(modality="DX", imager_pixel_spacing=(0.16, 0.10))
    assert pixel_aspect(image) == pytest.approx(1.6)
    manual = Calibration(CalibrationSource.MANUAL, 0.2, 0.25)
    assert pixel_aspect(image, manual) == pytest.approx(0.8)
    assert pixel_aspect(_with_header(modality="DX", imager_pixel_spacing=(0.1, 0.1))) == 1.0


def test_pixel_aspect_ratio_tag_when_uncalibrated():
    # Pixel Aspect Ratio (0028,0034) is vertical\horizontal (PS3.3 C.7.6.3.1.7).
    tagged = _with_header(extra={"pixel_aspect_ratio": "5\\4"})
    assert pixel_aspect(tagged) == pytest.approx(1.25)
    # Spacing, when present, wins: it is the physical size.
    both = _with_header(modality="DX", imager_pixel_spacing=(0.1, 0.2),
                        extra={"pixel_aspect_ratio": "5\\4"})
    assert pixel_aspect(both) == pytest.approx(0.5)


@pytest.mark.parametrize("value", ["", "1", "0\\1", "-1\\2", "a\\b", "100\\1"])
def test_pixel_aspect_ignores_unusable_values(value):
    assert pixel_aspect(_with_header(extra={"pixel_aspect_ratio": value})) == 1.0
