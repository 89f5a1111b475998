"""Edge assist: move a just-placed landmark onto the strongest nearby endplate corner or edge.

Optional help for placing six-point morphometry landmarks (docs/clinical-reference.md §2):

* a corner (``sa``, ``sp``, ``ia``, ``ip``) moves to the intersection of the two strongest
  walls within ``radius_mm`` (an endplate and the anterior or posterior wall, more than 60°
  apart), each a line fitted to the sub-pixel ridge of the gradient magnitude. This finds
  the corner a rounded, blurred cortex implies; with only one wall nearby the point moves
  straight across it. (A Harris corner response was tried first: on the synthetic samples
  its peak sits inside the rounded corners and it did not reduce placement error.)
* a middle point (``sm``, ``im``) moves across the strongest edge within ``radius_mm`` only
  (along the gradient), keeping the user's choice of where along the endplate it lies.

The search region is an ellipse of ``radius_mm`` converted to pixels
*per axis* with the calibration's column and row spacing (§1), so it is round in millimetres
even when pixels are not square. Nothing moves when the neighbourhood has no distinct
structure (contrast below a multiple of its noise, or no edge inside the region as strong as
half the strongest edge around it), so a click on flat bone stays put.

Two guards, because real bone edges are soft and doubled (the two endplate rims of a body
seen slightly obliquely) in a way clean synthetic edges are not:

* **never further than a click error**: a move longer than ``max_move_mm`` (1 mm by default,
  about the error of a careful click at normal zoom) is refused, not shortened: an edge that
  far away is more likely another structure than the one the reader aimed at;
* **no guessing between rims**: along each wall's normal through the click, the profile's
  derivative is searched for edges of the same polarity; when the second strongest is at
  least ``ambiguity_ratio`` (0.7) of the strongest, the point stays where it was clicked.

The Qt layer applies this only to a point placed by a click, never to one the user dragged
by hand, and only when ``Settings.edge_assist`` is on (off by default; experimental: its
evaluation on real films is in README.md, "Edge assist").

Coordinates: image ``(x, y) = (column, row)``, ``(0, 0)`` at the centre of the top-left pixel.
scikit-image is imported inside the function (start-up path stays light).
"""

from __future__ import annotations

import math

import numpy as np

from ovcf_viewer.model.calibration import Calibration

__all__ = [
    "AMBIGUITY_RATIO",
    "EVALUATION",
    "MAX_MOVE_MM",
    "UNCALIBRATED_MM_PER_PX",
    "snap_corner",
]

#: What is known of the edge assist on real films, for its setting's tooltip and the README
#: (``scripts/evaluate_edge_assist.py`` on 20 AP films of the AASCE 2019 set, 1,360
#: expert-placed corners; the data is not shipped).
EVALUATION = (
    "Experimental, off by default: it does not yet earn its place. On real spine films "
    "(20 AP films, 1,360 expert-placed corners) a click 0.75 mm off was moved closer in 10 %, "
    "further in 15 % and left alone in 75 % of corners (1.5 mm off: 12 %, 14 %, 74 %); the "
    "median error did not change. It never moves a point more than 1 mm and leaves it where "
    "it was clicked between doubled endplate rims."
)

#: Without a calibration the search radius assumes this spacing (a typical lateral spine
#: film); the reported movement is then in pixels, like every uncalibrated length.
UNCALIBRATED_MM_PER_PX = 0.15
#: A neighbourhood whose contrast is below this many noise standard deviations has no
#: structure worth snapping to.
MIN_CONTRAST_OVER_NOISE = 4.0
#: Smoothing before the corner/edge response, in mm (kept at least one pixel).
SMOOTHING_MM = 0.3

#: A corner's second wall must differ in direction from the first by more than 60°
#: (|cos| below this) and be at least this fraction as strong.
MAX_WALL_COSINE = 0.5
#: An edge inside the search region must be at least this fraction as strong as the
#: strongest edge in the surrounding window to count.
MIN_EDGE_FRACTION = 0.5
MIN_SECOND_EDGE = 0.5

#: The furthest a snap may move a click (mm); a longer move is refused.
MAX_MOVE_MM = 1.0
#: A second same-polarity edge at least this strong (relative to the strongest) along a
#: wall's normal makes the wall ambiguous (doubled rim): nothing moves.
AMBIGUITY_RATIO = 0.7
#: Half-length (mm) of the strip along the wall over which the normal profile is averaged.
PROFILE_STRIP_MM = 0.6

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
    *,
    max_move_mm: float = MAX_MOVE_MM,
    ambiguity_ratio: float = AMBIGUITY_RATIO,
) -> tuple[tuple[float, float], float]:
    """Where landmark ``name`` clicked at ``xy`` should go, and how far it moved.

    ``image`` is a 2-D array of stored or display values (rows × columns; an RGB array is
    averaged to grey; MONOCHROME1 needs no inversion, the responses are sign-free).
    Returns ``((x, y), moved)``: the new image position and the distance moved in mm (in
    pixels when the calibration is ``none``). Returns ``(xy, 0.0)`` unchanged when nothing
    distinct lies within ``radius_mm``, when ``xy`` is off the image, for an unknown name,
    when the move would exceed ``max_move_mm`` or a wall is ambiguous (see the module
    docstring; ``math.inf`` for either turns that guard off).
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
    click = (x - x0, y - y0)
    if name in CORNER_NAMES:
        found = _snap_to_corner(normalised, inside, falloff, click)
    else:
        found = _snap_to_edge(normalised, inside, falloff, click)
    if found is None:
        return (x, y), 0.0
    new_xy, normals = found
    new_x, new_y = float(x0 + new_xy[0]), float(y0 + new_xy[1])
    if ((new_x - x) / rx) ** 2 + ((new_y - y) / ry) ** 2 > 1.0 + 1e-9:
        return (x, y), 0.0
    moved_mm = _spacing(calibration)
    moved = math.hypot((new_x - x) * moved_mm[0], (new_y - y) * moved_mm[1])
    if moved > max_move_mm:
        return (x, y), 0.0
    strip = PROFILE_STRIP_MM / min(col_mm, row_mm)
    reach = max(rx, ry)
    for normal in normals:
        if _second_edge_ratio(normalised, click, normal, reach, strip) >= ambiguity_ratio:
            return (x, y), 0.0
    return (new_x, new_y), calibration.distance((x, y), (new_x, new_y))


def _second_edge_ratio(
    window: np.ndarray, click: tuple[float, float], normal: np.ndarray, reach: float,
    strip: float,
) -> float:
    """Strength of the second edge relative to the strongest, of the same polarity, on the
    profile across a wall (along ``normal``) through ``click``, averaged over a strip
    ``±strip`` pixels along the wall; 0 when there is one edge. ``reach`` pixels each way."""
    from scipy.ndimage import map_coordinates

    along = np.array([-normal[1], normal[0]])
    t = np.arange(-reach, reach + 1e-9, 0.5)
    s = np.linspace(-strip, strip, 5)
    tt, ss = np.meshgrid(t, s)
    xs = click[0] + tt * normal[0] + ss * along[0]
    ys = click[1] + tt * normal[1] + ss * along[1]
    profile = map_coordinates(window, [ys.ravel(), xs.ravel()], order=1, mode="nearest")
    derivative = np.gradient(profile.reshape(tt.shape).mean(axis=0))
    main = int(np.argmax(np.abs(derivative)))
    sign = math.copysign(1.0, derivative[main])
    signed = sign * derivative
    peaks = [
        signed[i] for i in range(1, len(signed) - 1)
        if signed[i] > 0 and signed[i] >= signed[i - 1] and signed[i] > signed[i + 1]
        and abs(i - main) * 0.5 > 1.5  # a separate edge, not the same one's shoulder
    ]
    if not peaks or signed[main] <= 0:
        return 0.0
    return float(max(peaks) / signed[main])


def _edge_at(
    gx: np.ndarray, gy: np.ndarray, magnitude: np.ndarray, row: int, col: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Sub-pixel edge position near pixel ``(row, col)`` along its gradient (a parabola
    through three magnitude samples across the edge), the edge's unit normal, and whether
    the pixel is on the ridge (not weaker than its neighbours across the edge)."""
    normal = np.array([gx[row, col], gy[row, col]]) / magnitude[row, col]
    a, b, c = (_bilinear(magnitude, col + k * normal[0], row + k * normal[1])
               for k in (-1.0, 0.0, 1.0))
    denominator = a - 2 * b + c
    offset = 0.5 * (a - c) / denominator if denominator < 0 else 0.0
    offset = min(0.5, max(-0.5, offset))
    on_ridge = b >= a and b >= c
    return np.array([col + offset * normal[0], row + offset * normal[1]]), normal, on_ridge


def _gradients(window: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from skimage.filters import sobel_h, sobel_v

    gy, gx = sobel_h(window), sobel_v(window)
    return gx, gy, np.hypot(gx, gy)


def _strongest(score: np.ndarray, mask: np.ndarray) -> tuple[int, int] | None:
    """The best-scoring pixel inside ``mask``; ``None`` unless it reaches
    :data:`MIN_EDGE_FRACTION` of the strongest edge in the whole window (otherwise the
    search region holds only noise while the real edge lies outside it)."""
    weighted = np.where(mask, score, -np.inf)
    best = np.unravel_index(int(np.argmax(weighted)), weighted.shape)
    if not np.isfinite(weighted[best]) or weighted[best] <= MIN_EDGE_FRACTION * score.max():
        return None
    return int(best[0]), int(best[1])


def _wall(
    gx: np.ndarray, gy: np.ndarray, magnitude: np.ndarray, mask: np.ndarray,
    seed: tuple[int, int],
) -> tuple[np.ndarray, float]:
    """The straight edge through ``seed``: the sub-pixel ridge points of every strong pixel
    in ``mask`` whose gradient points the same way (within about 18°), fitted with a total
    least-squares line (refitted once without points more than half a pixel off it, which
    drops the rounded part near a corner). Returns ``(normal, offset)`` with the line
    ``normal · (x, y) = offset`` in window coordinates."""
    seed_point, n0, _ = _edge_at(gx, gy, magnitude, *seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = (gx * n0[0] + gy * n0[1]) / magnitude
    rows, cols = np.nonzero(mask & (magnitude >= 0.5 * magnitude[seed]) & (agree > 0.95))
    points = []
    for row, col in zip(rows[:600], cols[:600], strict=True):
        point, _, on_ridge = _edge_at(gx, gy, magnitude, int(row), int(col))
        if on_ridge:
            points.append(point)
    normal, offset = n0, float(seed_point @ n0)
    if len(points) < 3:
        return normal, offset
    cloud = np.asarray(points)
    for _ in range(2):
        centre = cloud.mean(axis=0)
        _, _, vt = np.linalg.svd(cloud - centre)
        normal = vt[1] if vt[1] @ n0 >= 0 else -vt[1]
        offset = float(centre @ normal)
        keep = np.abs(cloud @ normal - offset) < 0.5
        if keep.sum() < 3 or keep.all():
            break
        cloud = cloud[keep]
    return normal, offset


Found = tuple[tuple[float, float], list[np.ndarray]]


def _snap_to_corner(
    window: np.ndarray, inside: np.ndarray, falloff: np.ndarray, click: tuple[float, float]
) -> Found | None:
    """A body corner as the intersection of its two walls: the strongest edge in the search
    region, then the strongest edge at least 60° from it (an endplate and a wall); lines
    fitted to each cross at the corner, which is where the rounded, blurred cortex would
    meet if it were sharp. With only one edge the point moves across it, like a middle
    point. ``((x, y), wall normals)`` in window coordinates, or ``None``."""
    gx, gy, magnitude = _gradients(window)
    first = _strongest(magnitude * falloff, inside)
    if first is None:
        return None
    n1, d1 = _wall(gx, gy, magnitude, inside, first)
    c = np.asarray(click, dtype=float)
    across_first = c + (d1 - float(c @ n1)) * n1
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.abs((gx * n1[0] + gy * n1[1]) / magnitude)
    second = _strongest(magnitude * falloff, inside & (cosine < MAX_WALL_COSINE))
    if second is None or magnitude[second] < MIN_SECOND_EDGE * magnitude[first]:
        return (float(across_first[0]), float(across_first[1])), [n1]
    n2, d2 = _wall(gx, gy, magnitude, inside, second)
    try:
        corner = np.linalg.solve(np.array([n1, n2]), np.array([d1, d2]))
    except np.linalg.LinAlgError:
        return (float(across_first[0]), float(across_first[1])), [n1]
    return (float(corner[0]), float(corner[1])), [n1, n2]


def _snap_to_edge(
    window: np.ndarray, inside: np.ndarray, falloff: np.ndarray, click: tuple[float, float]
) -> Found | None:
    """Strongest edge inside the search region, moving only across the edge (along the
    gradient), so a middle point keeps its place along the endplate. ``((x, y), [normal])``
    in window coordinates, or ``None``."""
    gx, gy, magnitude = _gradients(window)
    best = _strongest(magnitude * falloff, inside)
    if best is None:
        return None
    edge, normal, _ = _edge_at(gx, gy, magnitude, *best)
    across = (edge[0] - click[0]) * normal[0] + (edge[1] - click[1]) * normal[1]
    return (float(click[0] + across * normal[0]), float(click[1] + across * normal[1])), [normal]


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
