"""Edge assist: move a just-placed landmark onto the strongest nearby endplate corner or edge.

Optional help for placing six-point morphometry landmarks (clinical-reference §2): a corner
(``sa``, ``sp``, ``ia``, ``ip``) moves to the strongest corner response (Harris) within
``radius_mm``; a middle point (``sm``, ``im``) moves to the strongest edge (gradient magnitude)
within ``radius_mm``. The search region is an ellipse of ``radius_mm`` converted to pixels
*per axis* with the calibration's column and row spacing (§1), so it is round in millimetres
even when pixels are not square. Nothing moves when the neighbourhood has no distinct
structure (contrast below a multiple of its noise), so a click on flat bone stays put.

The Qt layer applies this only to a point placed by a click, never to one the user dragged
by hand, and only when ``Settings.edge_assist`` is on.

Coordinates: image ``(x, y) = (column, row)``, ``(0, 0)`` at the centre of the top-left pixel.
scikit-image is imported inside the function (start-up path stays light).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ovcf_viewer.core.calibration import Calibration

__all__ = ["UNCALIBRATED_MM_PER_PX", "snap_corner"]

#: Without a calibration the search radius assumes this spacing (a typical lateral spine
#: film); the reported movement is then in pixels, like every uncalibrated length.
UNCALIBRATED_MM_PER_PX = 0.15
#: A neighbourhood whose contrast is below this many noise standard deviations has no
#: structure worth snapping to.
MIN_CONTRAST_OVER_NOISE = 8.0
#: Smoothing before the corner/edge response, in mm (kept at least one pixel).
SMOOTHING_MM = 0.3

#: A corner response below this fraction of an ideal right-angled step corner of the same
#: (normalised) contrast is an edge or noise, not a corner.
MIN_CORNER_FRACTION = 0.05

CORNER_NAMES = frozenset({"sa", "sp", "ia", "ip"})
MIDDLE_NAMES = frozenset({"sm", "im"})


def _spacing(calibration: Calibration) -> tuple[float, float]:
    """``(col_mm, row_mm)`` used to convert the search radius into pixels."""
    if calibration.is_calibrated:
        return calibration.col_mm, calibration.row_mm
    return UNCALIBRATED_MM_PER_PX, UNCALIBRATED_MM_PER_PX


def _noise_sigma(window: np.ndarray) -> float:
    """Robust noise estimate from first differences (MAD), in the window's value units."""
    diffs = np.concatenate([np.diff(window, axis=0).ravel(), np.diff(window, axis=1).ravel()])
    if diffs.size == 0:
        return 0.0
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return 1.4826 * mad / math.sqrt(2.0)


def snap_corner(
    image: np.ndarray,
    xy: tuple[float, float],
    name: str,
    calibration: Calibration,
    radius_mm: float = 2.0,
) -> tuple[tuple[float, float], float]:
    """Where landmark ``name`` clicked at ``xy`` should go, and how far it moved.

    ``image`` is a 2-D array of stored or display values (rows × columns; an RGB array is
    averaged to grey; MONOCHROME1 needs no inversion, the responses are sign-free).
    Returns ``((x, y), moved)``: the new image position and the distance moved in mm (in
    pixels when the calibration is ``none``). Returns ``(xy, 0.0)`` unchanged when nothing
    distinct lies within ``radius_mm``, when ``xy`` is off the image, or for an unknown name.
    """
    if name not in CORNER_NAMES | MIDDLE_NAMES or radius_mm <= 0:
        return (float(xy[0]), float(xy[1])), 0.0
    from skimage.filters import gaussian

    data = np.asarray(image)
    if data.ndim == 3:
        data = data[..., :3].mean(axis=2)
    if data.ndim != 2:
        raise ValueError(f"edge assist needs a 2-D image, got shape {data.shape}")
    rows, columns = data.shape
    x, y = float(xy[0]), float(xy[1])
    if not (0 <= x <= columns - 1 and 0 <= y <= rows - 1):
        return (x, y), 0.0

    col_mm, row_mm = _spacing(calibration)
    rx, ry = radius_mm / col_mm, radius_mm / row_mm
    sigma = max(1.0, SMOOTHING_MM / min(col_mm, row_mm))
    margin = int(math.ceil(3 * sigma)) + 2
    x0 = max(0, int(math.floor(x - rx)) - margin)
    x1 = min(columns, int(math.ceil(x + rx)) + margin + 1)
    y0 = max(0, int(math.floor(y - ry)) - margin)
    y1 = min(rows, int(math.ceil(y + ry)) + margin + 1)
    window = data[y0:y1, x0:x1].astype(np.float64)
    if min(window.shape) < 3:
        return (x, y), 0.0

    smoothed = gaussian(window, sigma=sigma, preserve_range=True)
    noise = _noise_sigma(window)
    low, high = np.percentile(smoothed, [1, 99])
    contrast = float(high - low)
    if contrast <= 0 or contrast < MIN_CONTRAST_OVER_NOISE * noise:
        return (x, y), 0.0
    normalised = (smoothed - low) / contrast

    yy, xx = np.mgrid[y0:y1, x0:x1]
    radial = ((xx - x) / rx) ** 2 + ((yy - y) / ry) ** 2
    inside = radial <= 1.0
    # A gentle preference for the nearer of two similar features (at most 20 % at the rim).
    falloff = 1.0 - 0.2 * radial
    if name in CORNER_NAMES:
        new_xy = _snap_to_corner((window - low) / contrast, inside, falloff)
    else:
        new_xy = _snap_to_edge(normalised, inside, falloff, (x - x0, y - y0))
    if new_xy is None:
        return (x, y), 0.0
    new_x, new_y = float(x0 + new_xy[0]), float(y0 + new_xy[1])
    if ((new_x - x) / rx) ** 2 + ((new_y - y) / ry) ** 2 > 1.0 + 1e-9:
        return (x, y), 0.0
    return (new_x, new_y), calibration.distance((x, y), (new_x, new_y))


@lru_cache(maxsize=1)
def _ideal_corner() -> float:
    """Harris response (k 0.05, sigma 1 px) of a unit-contrast right-angled step corner."""
    from skimage.feature import corner_harris

    step = np.zeros((32, 32))
    step[16:, 16:] = 1.0
    return float(corner_harris(step, method="k", k=0.05, sigma=1.0).max())


def _snap_to_corner(
    window: np.ndarray, inside: np.ndarray, falloff: np.ndarray
) -> tuple[float, float] | None:
    """Strongest Harris corner inside the search region, refined to sub-pixel precision with
    :func:`skimage.feature.corner_subpix` on the unsmoothed window (smoothing rounds a corner
    and pulls the estimate inwards); the refinement also rejects points that are edges rather
    than corners. ``(x, y)`` in window coordinates, or ``None``."""
    from skimage.feature import corner_harris, corner_subpix

    response = corner_harris(window, method="k", k=0.05, sigma=1.0)
    weighted = np.where(inside, response * falloff, -np.inf)
    best = np.unravel_index(int(np.argmax(weighted)), weighted.shape)
    if not np.isfinite(weighted[best]) or response[best] < MIN_CORNER_FRACTION * _ideal_corner():
        return None
    refined = corner_subpix(window, np.array([best]), window_size=13, alpha=0.1)[0]
    if not np.all(np.isfinite(refined)):
        return None
    return float(refined[1]), float(refined[0])


def _snap_to_edge(
    window: np.ndarray, inside: np.ndarray, falloff: np.ndarray, click: tuple[float, float]
) -> tuple[float, float] | None:
    """Strongest edge inside the search region, moving only across the edge (along the
    gradient), so a middle point keeps its place along the endplate. ``(x, y)`` in window
    coordinates, or ``None``."""
    from skimage.filters import sobel_h, sobel_v

    gy, gx = sobel_h(window), sobel_v(window)
    magnitude = np.hypot(gx, gy)
    weighted = np.where(inside, magnitude * falloff, -np.inf)
    best = np.unravel_index(int(np.argmax(weighted)), weighted.shape)
    if not np.isfinite(weighted[best]) or magnitude[best] <= 0:
        return None
    row, col = int(best[0]), int(best[1])
    normal = np.array([gx[row, col], gy[row, col]]) / magnitude[row, col]
    # Sub-pixel edge position along the normal from a parabola through three samples.
    samples = []
    for step in (-1.0, 0.0, 1.0):
        sx, sy = col + step * normal[0], row + step * normal[1]
        samples.append(_bilinear(magnitude, sx, sy))
    a, b, c = samples
    denominator = a - 2 * b + c
    offset = 0.5 * (a - c) / denominator if denominator < 0 else 0.0
    offset = min(0.5, max(-0.5, offset))
    edge_x, edge_y = col + offset * normal[0], row + offset * normal[1]
    across = (edge_x - click[0]) * normal[0] + (edge_y - click[1]) * normal[1]
    return float(click[0] + across * normal[0]), float(click[1] + across * normal[1])


def _bilinear(array: np.ndarray, x: float, y: float) -> float:
    x = min(max(x, 0.0), array.shape[1] - 1.0)
    y = min(max(y, 0.0), array.shape[0] - 1.0)
    ix, iy = min(int(x), array.shape[1] - 2), min(int(y), array.shape[0] - 2)
    fx, fy = x - ix, y - iy
    return float(
        array[iy, ix] * (1 - fx) * (1 - fy)
        + array[iy, ix + 1] * fx * (1 - fy)
        + array[iy + 1, ix] * (1 - fx) * fy
        + array[iy + 1, ix + 1] * fx * fy
    )
