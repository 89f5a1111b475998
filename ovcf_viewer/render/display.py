"""The grey-scale display pipeline as pure functions over arrays (PS3.3 C.11, PS3.4 N.2).

stored value ──Modality LUT──▶ modality value ──VOI──▶ 0..255 ──Presentation──▶ displayed

* Modality LUT: Rescale Slope/Intercept or the Modality LUT Sequence table (PS3.3 C.11.1).
* VOI: a window (Window Center/Width with VOI LUT Function LINEAR, LINEAR_EXACT or SIGMOID,
  C.11.2.1.2 and C.11.2.1.3), a VOI LUT Sequence table (C.11.2.1.1), or ``None`` meaning the
  full range of the image's values.
* Presentation: MONOCHROME1 (C.7.6.3.1.2) and Presentation LUT Shape INVERSE (C.11.6.1,
  C.8.11.6.1.1) display high values dark. For a MONOCHROME1 image INVERSE *is* that inversion
  ("output after inversion is in P-Values"), so it is applied once, not twice. The user's
  *invert* toggles on top.

Rather than transforming the image, the pipeline is evaluated once over every possible stored
value into a ``uint8`` lookup table (:func:`display_lut`); a window change costs one table
(< 2 ms for 16-bit) and one gather over the pixels on screen (:func:`render`).

Coordinates follow :mod:`ovcf_viewer.model.calibration`: ``(x, y) = (column, row)``, ``(0, 0)``
at the centre of the top-left pixel.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.image import RadiographImage, VoiLutTable, VoiWindow

__all__ = [
    "DisplayVoi",
    "auto_window",
    "default_window",
    "display_lut",
    "displayed_value",
    "full_range_window",
    "is_inverted",
    "modality_value",
    "pixel_aspect",
    "render",
    "stored_value",
    "voi_output",
    "window_from_range",
]

#: What the VOI stage can be: a window, a VOI LUT Sequence table, or ``None`` (full range).
DisplayVoi = VoiWindow | VoiLutTable | None

_Y_MAX = 255.0  # display output range 0..255 (8-bit P-values for the screen)


@dataclass(eq=False)
class _ImageCache:
    """Per-image values computed on demand (kept outside the image so it stays plain data)."""

    stored_id: int = 0  # the cache is dropped if the image's stored array is replaced
    stored_range: tuple[int, int] | None = None
    auto: VoiWindow | None = None
    luts: dict[tuple[object, ...], tuple[np.ndarray, int]] = field(default_factory=dict)


_CACHE: weakref.WeakKeyDictionary[RadiographImage, _ImageCache] = weakref.WeakKeyDictionary()
_LUT_CACHE_SIZE = 4


def _cache(image: RadiographImage) -> _ImageCache:
    entry = _CACHE.get(image)
    if entry is None or entry.stored_id != id(image.stored):
        entry = _CACHE[image] = _ImageCache(stored_id=id(image.stored))
    return entry


# --------------------------------------------------------------------------- VOI functions


def voi_output(values: np.ndarray, window: VoiWindow) -> np.ndarray:
    """Apply one VOI window to modality ``values``; float64 in ``0 .. 255``.

    PS3.3 C.11.2.1.2.1 (LINEAR), with ``c`` = center, ``w`` = width (≥ 1)::

        x <= c - 0.5 - (w-1)/2  ->  0
        x >  c - 0.5 + (w-1)/2  ->  255
        else                    ->  ((x - (c - 0.5)) / (w-1) + 0.5) * 255

    C.11.2.1.3.2 (LINEAR_EXACT, w > 0)::

        x <= c - w/2  ->  0;   x > c + w/2  ->  255;   else ((x - c) / w + 0.5) * 255

    C.11.2.1.3.1 (SIGMOID, w > 0)::

        255 / (1 + exp(-4 (x - c) / w))
    """
    x = np.asarray(values, dtype=np.float64)
    c, w = float(window.center), float(window.width)
    function = window.function.upper()
    if function == "SIGMOID":
        with np.errstate(over="ignore"):
            return _Y_MAX / (1.0 + np.exp(-4.0 * (x - c) / w))
    if function == "LINEAR_EXACT":
        y = ((x - c) / w + 0.5) * _Y_MAX
        y[x <= c - w / 2.0] = 0.0
        y[x > c + w / 2.0] = _Y_MAX
        return y
    # LINEAR (also the default for an unknown function)
    if w <= 1.0:  # the standard's limit case: a hard threshold at c - 0.5
        return np.where(x > c - 0.5, _Y_MAX, 0.0)
    y = ((x - (c - 0.5)) / (w - 1.0) + 0.5) * _Y_MAX
    np.clip(y, 0.0, _Y_MAX, out=y)
    y[x <= c - 0.5 - (w - 1.0) / 2.0] = 0.0
    y[x > c - 0.5 + (w - 1.0) / 2.0] = _Y_MAX
    return y


def _voi_table_output(values: np.ndarray, table: VoiLutTable) -> np.ndarray:
    """VOI LUT Sequence table (PS3.3 C.11.2.1.1): input ``first_mapped + i`` → ``data[i]``,
    inputs below/above the table take its first/last entry; scaled to ``0 .. 255``."""
    index = np.rint(values).astype(np.int64) - int(table.first_mapped)
    np.clip(index, 0, len(table.data) - 1, out=index)
    top = float(2**table.bits - 1)
    return np.asarray(table.data, dtype=np.float64)[index] * (_Y_MAX / top)


def is_inverted(image: RadiographImage, invert: bool = False) -> bool:
    """Whether high modality values display dark: MONOCHROME1 or Presentation LUT Shape
    INVERSE (one inversion, PS3.3 C.8.11.6.1.1), toggled by the user's ``invert``."""
    inherent = (
        image.photometric.upper() == "MONOCHROME1"
        or image.presentation_lut_shape.upper() == "INVERSE"
    )
    return inherent != bool(invert)


# --------------------------------------------------------------------------- the LUT


def _stored_domain(image: RadiographImage) -> tuple[int, int]:
    """``(offset, entries)`` of the table: every value the stored dtype can hold (so stray
    values beyond Bits Stored still index safely); 256 for 8-bit, 65536 for 16-bit."""
    dtype = image.stored.dtype
    if dtype.kind not in "iu" or dtype.itemsize > 2:
        raise TypeError(f"display LUT needs 8- or 16-bit integer stored values, got {dtype}")
    entries = 1 << (8 * dtype.itemsize)
    offset = -(entries // 2) if dtype.kind == "i" else 0
    return offset, entries


def display_lut(
    image: RadiographImage, window: DisplayVoi, invert: bool = False
) -> tuple[np.ndarray, int]:
    """The whole grey-scale pipeline as one table: ``displayed = lut[stored - offset]``.

    Returns ``(lut, offset)``: ``lut`` is C-contiguous ``uint8`` with one entry for every
    value of the stored dtype (256 or 65536 entries, a superset of the Bits Stored range),
    ``offset`` the stored value of entry 0 (0 unsigned, -128 or -32768 signed). It evaluates
    modality LUT → VOI (``window``; a :class:`VoiLutTable`; or ``None`` = full range) →
    presentation (:func:`is_inverted`) and rounds to the nearest integer.

    For RGB images the table is the identity (inverted when ``invert``) over 0..255: colour is
    shown as stored, windows do not apply.
    """
    if image.is_color:
        ramp = np.arange(256, dtype=np.uint8)
        return (255 - ramp if invert else ramp), 0
    cache = _cache(image)
    # Everything else the table depends on is in the key, so edits to the image never
    # return a stale table.
    key = (window, bool(invert), image.photometric, image.presentation_lut_shape,
           id(image.modality_lut))
    hit = cache.luts.get(key)
    if hit is not None:
        return hit
    offset, entries = _stored_domain(image)
    stored = np.arange(offset, offset + entries, dtype=np.int64)
    modality = image.modality_lut.apply(stored)
    if window is None:
        window = full_range_window(image)
    if isinstance(window, VoiLutTable):
        y = _voi_table_output(modality, window)
    else:
        y = voi_output(modality, window)
    if is_inverted(image, invert):
        y = _Y_MAX - y
    lut = np.rint(y).astype(np.uint8)
    if len(cache.luts) >= _LUT_CACHE_SIZE:
        cache.luts.pop(next(iter(cache.luts)))
    cache.luts[key] = (lut, offset)
    return lut, offset


def _index_table(lut: np.ndarray, offset: int) -> np.ndarray:
    """The table re-ordered so it is indexed by the stored array's *unsigned* view: signed
    value ``s`` has bit pattern ``s mod 2**n`` and needs entry ``s - offset``."""
    if offset == 0:
        return lut
    return np.roll(lut, offset)


def render(
    image: RadiographImage,
    window: DisplayVoi,
    invert: bool = False,
    region: tuple[int, int, int, int] | None = None,
    step: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Display values of a sub-rectangle, subsampled, for the screen.

    ``region`` is ``(x0, y0, x1, y1)`` in whole pixels, columns ``x0 .. x1 - 1`` and rows
    ``y0 .. y1 - 1`` (clipped to the image; the whole image when ``None``); ``step`` keeps
    every ``step``-th row and column from ``(x0, y0)`` (viewport-sized rendering when zoomed
    out), or, as ``(row_step, col_step)``, every ``row_step``-th row and ``col_step``-th
    column (non-square pixels shown in physical proportions need different steps). Returns
    a C-contiguous ``uint8`` array, rows × columns for grey-scale images, rows × columns × 3
    for RGB (passed through, inverted when ``invert``).
    """
    row_step, col_step = (step, step) if isinstance(step, int) else step
    row_step, col_step = max(1, int(row_step)), max(1, int(col_step))
    rows, cols = image.rows, image.columns
    if region is None:
        x0, y0, x1, y1 = 0, 0, cols, rows
    else:
        x0, y0, x1, y1 = (int(v) for v in region)
        x0, x1 = max(0, min(x0, cols)), max(0, min(x1, cols))
        y0, y1 = max(0, min(y0, rows)), max(0, min(y1, rows))
        x1, y1 = max(x0, x1), max(y0, y1)
    view = image.stored[y0:y1:row_step, x0:x1:col_step]
    if not view.dtype.isnative:
        view = view.astype(view.dtype.newbyteorder("="))
    lut, offset = display_lut(image, window, invert)
    if image.is_color:
        if not invert:
            return np.ascontiguousarray(view, dtype=np.uint8)
        return np.take(lut, np.ascontiguousarray(view, dtype=np.uint8))
    table = _index_table(lut, offset)
    # One gather straight from the (strided) view: np.take is faster than ``table[view]``.
    unsigned: npt.NDArray[np.unsignedinteger[Any]] = view.view(
        np.uint16 if view.dtype.itemsize == 2 else np.uint8
    )
    return np.take(table, unsigned)


# --------------------------------------------------------------------------- geometry

#: Aspects outside this range are treated as header errors and ignored (square display).
_ASPECT_LIMITS = (1.0 / 16.0, 16.0)


def pixel_aspect(image: RadiographImage, calibration: Calibration | None = None) -> float:
    """How much taller than wide one pixel is in the patient/detector: ``row_mm / col_mm``.

    The viewer draws each image row ``pixel_aspect`` times as high as a column is wide, so
    the film keeps its physical proportions (a 10 × 10 mm square looks square) while image
    coordinates stay ``(column, row)`` (docs/clinical-reference.md §1). It is the ratio of
    ``calibration``'s spacings (default: the image's own, :meth:`RadiographImage.calibration`):
    Pixel Spacing (0028,0030) or Imager Pixel Spacing (0018,1164), both stored *row\\column*,
    or, on an uncalibrated image, Pixel Aspect Ratio (0028,0034), which
    :func:`~ovcf_viewer.model.calibration.resolve_calibration` puts into the row spacing of its
    ``none`` calibration. Anything beyond 1:16 .. 16:1 (a header error) is shown square.
    """
    if calibration is None:
        calibration = image.calibration()
    aspect = calibration.row_mm / calibration.col_mm
    if not (math.isfinite(aspect) and _ASPECT_LIMITS[0] <= aspect <= _ASPECT_LIMITS[1]):
        return 1.0
    return float(aspect)


# --------------------------------------------------------------------------- windows


def window_from_range(low: float, high: float, explanation: str = "") -> VoiWindow:
    """The LINEAR window (C.11.2.1.2.1) that maps modality value ``low`` to 0 and ``high``
    to 255: ``center = (low + high + 1) / 2``, ``width = high - low + 1``."""
    low, high = float(min(low, high)), float(max(low, high))
    return VoiWindow((low + high + 1.0) / 2.0, high - low + 1.0, "LINEAR", explanation)


def _stored_range(image: RadiographImage) -> tuple[int, int]:
    image.wait_for_pixels()  # a progressive open: the values are those of full resolution
    cache = _cache(image)
    if cache.stored_range is None:
        cache.stored_range = (int(image.stored.min()), int(image.stored.max()))
    return cache.stored_range


def _modality_bounds(image: RadiographImage, low: int, high: int) -> tuple[float, float]:
    """Smallest and largest modality value over stored values ``low .. high``."""
    lut = image.modality_lut
    if lut.table is not None:
        values = lut.apply(np.arange(low, high + 1, dtype=np.int64))
        return float(values.min()), float(values.max())
    ends = lut.apply(np.array([low, high], dtype=np.int64))
    return float(ends.min()), float(ends.max())


def full_range_window(image: RadiographImage) -> VoiWindow:
    """A LINEAR window over the image's actual modality values, minimum → black, maximum →
    white (before presentation inversion). Computed once per image."""
    low, high = _stored_range(image)
    mod_low, mod_high = _modality_bounds(image, low, high)
    return window_from_range(mod_low, mod_high, "Full range")


def auto_window(
    image: RadiographImage, low_percent: float = 0.5, high_percent: float = 99.5
) -> VoiWindow:
    """A LINEAR window from the histogram: the ``low_percent`` to ``high_percent``
    percentiles of the modality values, on a subsample of about 512 × 512 pixels (fast on any
    image size). Falls back to the full range when the percentiles coincide. Waits for full
    resolution while the image is still decoding (:meth:`RadiographImage.wait_for_pixels`)."""
    image.wait_for_pixels()
    cache = _cache(image)
    if cache.auto is not None and (low_percent, high_percent) == (0.5, 99.5):
        return cache.auto
    stored = image.stored
    step = max(1, int(max(stored.shape[0], stored.shape[1]) // 512))
    sample = stored[::step, ::step]
    modality = image.modality_lut.apply(sample.reshape(-1))
    low, high = np.percentile(modality, [low_percent, high_percent])
    if not high > low:
        window = full_range_window(image)
        window = VoiWindow(window.center, window.width, window.function, "Auto (full range)")
    else:
        window = window_from_range(
            float(low), float(high), f"Auto ({low_percent:g}-{high_percent:g} %)"
        )
    if (low_percent, high_percent) == (0.5, 99.5):
        cache.auto = window
    return window


def default_window(image: RadiographImage) -> DisplayVoi:
    """What the viewer shows first: the first DICOM window (C.11.2.1.2), else the first VOI
    LUT Sequence table, else :func:`auto_window`. ``None`` for RGB images (no VOI)."""
    if image.is_color:
        return None
    if image.windows:
        return image.windows[0]
    if image.voi_luts:
        return image.voi_luts[0]
    return auto_window(image)


# --------------------------------------------------------------------------- status bar


def _pixel(image: RadiographImage, x: float, y: float) -> tuple[int, int] | None:
    """The (row, column) of the pixel whose centre is nearest image point ``(x, y)``;
    ``None`` off the image, and while full resolution is still being decoded (or failed
    to): the values below never come from a preview."""
    if not image.contains(x, y) or not image.pixels_ready() or image.pixels_failed():
        return None
    col = min(image.columns - 1, max(0, int(np.floor(x + 0.5))))
    row = min(image.rows - 1, max(0, int(np.floor(y + 0.5))))
    return row, col


def stored_value(image: RadiographImage, x: float, y: float) -> int | tuple[int, ...] | None:
    """The stored value under image point ``(x, y)``; an ``(R, G, B)`` tuple for colour;
    ``None`` off the image."""
    pixel = _pixel(image, x, y)
    if pixel is None:
        return None
    value = image.stored[pixel]
    if image.is_color:
        return tuple(int(v) for v in value)
    return int(value)


def modality_value(image: RadiographImage, x: float, y: float) -> float | None:
    """The modality value (after Rescale or the Modality LUT) under ``(x, y)``; ``None`` off
    the image or for colour images."""
    pixel = _pixel(image, x, y)
    if pixel is None or image.is_color:
        return None
    value = image.modality_lut.apply(np.array([image.stored[pixel]], dtype=np.int64))
    return float(value[0])


def displayed_value(
    image: RadiographImage, x: float, y: float, window: DisplayVoi, invert: bool = False
) -> int | tuple[int, ...] | None:
    """The 0..255 value shown on screen under ``(x, y)`` for this window and invert state."""
    pixel = _pixel(image, x, y)
    if pixel is None:
        return None
    lut, offset = display_lut(image, window, invert)
    value = image.stored[pixel]
    if image.is_color:
        return tuple(int(lut[int(v)]) for v in value)
    return int(lut[int(value) - offset])
