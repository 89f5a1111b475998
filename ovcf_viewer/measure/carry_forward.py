"""Carry landmarks forward from one film of a patient to another (pre-op → post-op → follow-up).

Given a *source* film whose vertebrae are measured and a *target* film of the same patient,
:func:`carry_forward` proposes each vertebra's landmarks on the target. The patient stands
differently, the films may have different pixel spacing and magnification, and the treated
level changes shape (height restored, cement), so the proposal is made in three steps, all in
millimetre space (detector mm, ``x * col_mm``, ``y * row_mm``; docs/clinical-reference.md §1):

1. **Global**: the source's spine region, resampled at 2 mm, is rotated and scaled over a
   small grid of candidates (and mirrored, for a film taken facing the other way); for each,
   normalised cross-correlation against the whole target (``skimage.feature.match_template``)
   finds the translation. The best candidate is the starting transform.
2. **Per vertebra**: the body's neighbourhood (its corners plus a margin) is aligned with a
   similarity transform (translation, rotation, scale): first the translation by phase
   correlation of the patch (``skimage.registration.phase_cross_correlation``), then all four
   parameters by maximising normalised cross-correlation (NCC), coarse to fine (0.5 mm then
   0.25 mm sampling). The NCC after alignment is the proposal's ``confidence``.
3. **Shape check**: with the body aligned, each endplate is allowed to move along the body's
   axis on its own, at the posterior and the anterior corner (a band a few mm either side of
   the endplate, NCC again). An endplate that moves more than :data:`SHAPE_CHANGE_MM` means the
   body changed shape (a restored or further collapsed height): the vertebra is **flagged**
   and its endplate points follow the endplate, not the rigid body. A vertebra is also
   flagged when its alignment is poor (NCC below :data:`MIN_CONFIDENCE`) or when it moved
   differently from both its neighbours by more than :data:`NEIGHBOUR_DISAGREEMENT_MM`
   (neighbours that changed shape do not count).

Flagged proposals must be checked by the reader; nothing is accepted on the reader's behalf.

Pixels: pass arrays in which bone is bright (MONOCHROME2 values, or MONOCHROME1 inverted);
NCC is insensitive to window and gain differences between the films. Coordinates are image
``(x, y) = (column, row)``, ``(0, 0)`` at the centre of the top-left pixel. scikit-image and
SciPy are imported inside the functions (the start-up path stays light). No Qt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MIN_CONFIDENCE",
    "NEIGHBOUR_DISAGREEMENT_MM",
    "SHAPE_CHANGE_MM",
    "CarryForwardResult",
    "Film",
    "VertebraProposal",
    "carry_forward",
    "film_from_pixels",
]

Point = tuple[float, float]

#: An endplate that moves more than this (target mm) relative to its aligned body changed
#: the body's shape: the vertebra is flagged for checking.
SHAPE_CHANGE_MM = 1.0
#: Alignment quality (NCC of the body's neighbourhood) below which a proposal is flagged.
MIN_CONFIDENCE = 0.5
#: A body whose position differs by more than this (target mm) from where each of its aligned
#: neighbours would put it is flagged (wrong level, or a local change).
NEIGHBOUR_DISAGREEMENT_MM = 3.0

#: Global search grid: rotations (degrees) and scales tried before the local refinement.
GLOBAL_ROTATIONS_DEG = tuple(float(a) for a in range(-12, 13, 3))
GLOBAL_SCALES = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15)
GLOBAL_STEP_MM = 2.0
GLOBAL_MARGIN_MM = 40.0
GLOBAL_PAD_MM = 60.0
#: Margin (mm) around the body's corners included in its neighbourhood, as a fraction of the
#: body height, and the half-width (mm) of the band around an endplate.
BODY_MARGIN_FRACTION = 0.25
ENDPLATE_BAND_MM = 4.0
#: The furthest an endplate may move relative to its body (source mm).
MAX_ENDPLATE_SHIFT_MM = 9.0

CORNERS = ("sa", "sp", "ia", "ip")


@dataclass(frozen=True, eq=False)
class Film:
    """A film's pixels (rows × columns, bone bright) and its pixel spacing in mm
    (row, column). An uncalibrated film can pass an assumed spacing: only the search's
    scale in mm depends on it, and proposals are returned in pixels."""

    pixels: np.ndarray
    row_mm: float
    col_mm: float

    def __post_init__(self) -> None:
        if np.asarray(self.pixels).ndim != 2:
            raise ValueError(f"a film is a 2-D array, got shape {np.shape(self.pixels)}")
        if not (self.row_mm > 0 and self.col_mm > 0):
            raise ValueError("pixel spacing must be positive")

    @property
    def size_mm(self) -> tuple[float, float]:
        rows, cols = np.shape(self.pixels)
        return cols * self.col_mm, rows * self.row_mm

    def to_mm(self, xy: Point) -> np.ndarray:
        return np.array([xy[0] * self.col_mm, xy[1] * self.row_mm])

    def to_pixel(self, mm: np.ndarray) -> Point:
        return float(mm[0] / self.col_mm), float(mm[1] / self.row_mm)


#: Spacing assumed for an uncalibrated film (only the search's mm-based sizes depend on it).
UNCALIBRATED_MM_PER_PX = 0.15


def film_from_pixels(stored: np.ndarray, photometric: str, row_mm: float | None,
                     col_mm: float | None, row_aspect: float = 1.0) -> Film:
    """A :class:`Film` from a decoded frame: RGB averaged to grey, MONOCHROME1 inverted (bone
    bright), and the calibration's spacing; ``None`` spacing (uncalibrated) assumes
    :data:`UNCALIBRATED_MM_PER_PX` per column and ``row_aspect`` times that per row."""
    data = np.asarray(stored)
    if data.ndim == 3:
        data = data[..., :3].mean(axis=2)
    if photometric == "MONOCHROME1":
        data = data.max() - data.astype(np.float32)
    if row_mm is None or col_mm is None:
        col_mm = UNCALIBRATED_MM_PER_PX
        row_mm = UNCALIBRATED_MM_PER_PX * row_aspect
    return Film(data, float(row_mm), float(col_mm))


@dataclass(frozen=True)
class VertebraProposal:
    """Proposed landmarks for one level on the target film (image coordinates).

    ``confidence`` is the NCC (−1…1) of the body's neighbourhood after alignment;
    ``endplate_shift_mm`` how far (target mm) the superior and inferior endplates moved
    relative to the rigidly aligned body (largest of posterior and anterior corner);
    ``flagged`` with ``reasons`` (one line each) when the reader must check this level.
    """

    level: str
    points: dict[str, Point]
    confidence: float
    endplate_shift_mm: tuple[float, float]
    flagged: bool
    reasons: tuple[str, ...] = ()

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class CarryForwardResult:
    """All proposals, cranial first, and the global transform (source mm → target mm,
    a 2 × 3 matrix) with its NCC."""

    proposals: dict[str, VertebraProposal]
    global_matrix: np.ndarray = field(repr=False)
    global_score: float

    @property
    def flagged_levels(self) -> list[str]:
        return [level for level, p in self.proposals.items() if p.flagged]


# -- sampling ----------------------------------------------------------------------------------


class _Sampler:
    """Bilinear samples of a film at millimetre positions, smoothed to the sampling step
    (anti-aliasing), normalised to its 1st–99th percentile range."""

    def __init__(self, film: Film) -> None:
        data = np.asarray(film.pixels, dtype=np.float32)
        stride = (max(1, data.shape[0] // 256), max(1, data.shape[1] // 256))
        low, high = np.percentile(data[:: stride[0], :: stride[1]], [1, 99])
        self.data = (data - low) / max(float(high - low), 1e-6)
        self.film = film
        self._smoothed: dict[float, np.ndarray] = {}

    def _at_sigma(self, sigma_mm: float) -> np.ndarray:
        key = round(sigma_mm, 3)
        if key not in self._smoothed:
            from scipy.ndimage import gaussian_filter

            sigma = (sigma_mm / self.film.row_mm, sigma_mm / self.film.col_mm)
            if max(sigma) < 0.3:
                self._smoothed[key] = self.data
            else:
                self._smoothed[key] = gaussian_filter(self.data, sigma, mode="nearest")
        return self._smoothed[key]

    def sample(self, xs_mm: np.ndarray, ys_mm: np.ndarray, step_mm: float) -> np.ndarray:
        from scipy.ndimage import map_coordinates

        image = self._at_sigma(0.5 * step_mm)
        coords = np.array([ys_mm / self.film.row_mm, xs_mm / self.film.col_mm])
        return map_coordinates(image, coords.reshape(2, -1), order=1, mode="constant",
                               cval=np.nan).reshape(xs_mm.shape)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation over the samples where both are defined."""
    valid = np.isfinite(a) & np.isfinite(b)
    if valid.sum() < 0.5 * a.size:
        return -1.0
    x, y = a[valid], b[valid]
    x = x - x.mean()
    y = y - y.mean()
    denominator = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denominator) if denominator > 0 else -1.0


def _rotation(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


# -- global alignment --------------------------------------------------------------------------


def _global_alignment(
    source: _Sampler, target: _Sampler, points_mm: np.ndarray, allow_mirror: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(linear 2×2, translation, ncc)`` of the best rotation/scale/mirror candidate."""
    from skimage.feature import match_template

    step = GLOBAL_STEP_MM
    width, height = target.film.size_mm
    gx, gy = np.meshgrid(np.arange(0, width, step), np.arange(0, height, step))
    target_image = target.sample(gx, gy, step)
    fill = float(np.nanmean(target_image))
    # Padding lets the spine region reach past the target's edges (a film framed lower or
    # higher, a region as large as the film): the padding has no structure and scores none.
    pad = int(round(GLOBAL_PAD_MM / step))
    target_image = np.pad(np.nan_to_num(target_image, nan=fill), pad, constant_values=fill)
    # Generous context: with few levels placed, the unplaced neighbours (and the sacrum,
    # ribs, soft tissue) are what tell one vertebra from the next.
    lo = np.maximum(points_mm.min(axis=0) - GLOBAL_MARGIN_MM, 0.0)
    hi = np.minimum(points_mm.max(axis=0) + GLOBAL_MARGIN_MM, source.film.size_mm)
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [lo[0], hi[1]], [hi[0], hi[1]]])
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    mirrors = (False, True) if allow_mirror else (False,)
    for mirror in mirrors:
        flip = np.diag([-1.0, 1.0]) if mirror else np.eye(2)
        for angle in GLOBAL_ROTATIONS_DEG:
            for scale in GLOBAL_SCALES:
                linear = scale * _rotation(math.radians(angle)) @ flip
                mapped = corners @ linear.T
                qmin, qmax = mapped.min(axis=0), mapped.max(axis=0)
                if (qmax[0] - qmin[0] >= width + GLOBAL_PAD_MM
                        or qmax[1] - qmin[1] >= height + GLOBAL_PAD_MM):
                    continue
                qx, qy = np.meshgrid(np.arange(qmin[0], qmax[0], step),
                                     np.arange(qmin[1], qmax[1], step))
                inverse = np.linalg.inv(linear)
                sx = inverse[0, 0] * qx + inverse[0, 1] * qy
                sy = inverse[1, 0] * qx + inverse[1, 1] * qy
                template = source.sample(sx, sy, step)
                template = np.nan_to_num(template, nan=float(np.nanmean(template)))
                scores = match_template(target_image, template.astype(np.float32))
                i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
                score = float(scores[i, j])
                if best is None or score > best[0]:
                    translation = np.array([j * step, i * step]) - pad * step - qmin
                    best = (score, linear, translation)
    if best is None:
        raise ValueError("the source's spine region is larger than the target film")
    return best[1], best[2], best[0]


# -- per-vertebra alignment --------------------------------------------------------------------


@dataclass
class _Body:
    """A vertebral body's frame in source mm: centre, anterior unit axis ``u``, cranial unit
    normal ``n``, depth and height."""

    centre: np.ndarray
    u: np.ndarray
    n: np.ndarray
    depth: float
    height: float

    @classmethod
    def from_points(cls, p: Mapping[str, np.ndarray]) -> _Body:
        anterior = (p["sa"] + p["ia"]) / 2
        posterior = (p["sp"] + p["ip"]) / 2
        superior = (p["sa"] + p["sp"]) / 2
        inferior = (p["ia"] + p["ip"]) / 2
        u = anterior - posterior
        depth = float(np.linalg.norm(u))
        u = u / depth
        n = np.array([-u[1], u[0]])
        if n @ (superior - inferior) < 0:
            n = -n
        height = float(abs((superior - inferior) @ n))
        centre = (p["sa"] + p["sp"] + p["ia"] + p["ip"]) / 4
        return cls(centre, u, n, depth, height)

    def grid(self, half_a: float, half_h: float, step: float,
             offset_h: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Source-mm sample positions of a rectangle in the body frame (rows along ``n``)."""
        a = np.arange(-half_a, half_a + 1e-9, step)
        h = np.arange(-half_h, half_h + 1e-9, step)[::-1] + offset_h
        aa, hh = np.meshgrid(a, h)
        xs = self.centre[0] + aa * self.u[0] + hh * self.n[0]
        ys = self.centre[1] + aa * self.u[1] + hh * self.n[1]
        return xs, ys


class _Similarity:
    """``T(p) = base_linear · s·R(θ) · (p − c) + base(c) + d`` around a body centre ``c``."""

    def __init__(self, linear: np.ndarray, translation: np.ndarray, centre: np.ndarray) -> None:
        self.base_linear = linear
        self.centre = centre
        self.base_centre = linear @ centre + translation
        self.params = np.zeros(4)  # dx, dy (target mm), theta (rad), log scale

    def linear(self, params: np.ndarray | None = None) -> np.ndarray:
        p = self.params if params is None else params
        return self.base_linear @ (math.exp(p[3]) * _rotation(p[2]))

    def apply(self, xs: np.ndarray, ys: np.ndarray,
              params: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        p = self.params if params is None else params
        m = self.linear(p)
        dx, dy = xs - self.centre[0], ys - self.centre[1]
        tx = self.base_centre[0] + p[0]
        ty = self.base_centre[1] + p[1]
        return m[0, 0] * dx + m[0, 1] * dy + tx, m[1, 0] * dx + m[1, 1] * dy + ty

    def point(self, xy: np.ndarray) -> np.ndarray:
        x, y = self.apply(np.array(xy[0]), np.array(xy[1]))
        return np.array([float(x), float(y)])


def _align_body(
    source: _Sampler, target: _Sampler, body: _Body, transform: _Similarity
) -> float:
    """Refine ``transform`` in place on the body's neighbourhood; return the final NCC."""
    from scipy.optimize import minimize
    from skimage.registration import phase_cross_correlation

    margin = BODY_MARGIN_FRACTION * body.height + 2.0
    half_a, half_h = body.depth / 2 + margin, body.height / 2 + margin

    # Translation first: phase correlation of the patch against the target resampled
    # through the current transform (in the body frame, 0.5 mm steps).
    step = 0.5
    xs, ys = body.grid(half_a, half_h, step)
    fixed = source.sample(xs, ys, step)
    moving = target.sample(*transform.apply(xs, ys), step)
    if np.isfinite(fixed).all() and np.isfinite(moving).all():
        shift, _, _ = phase_cross_correlation(fixed, moving, upsample_factor=4,
                                              normalization=None)
        # shift = (rows, cols) to move `moving` onto `fixed`: the target content sits at
        # grid position - shift; rows run against n.
        d_source = (-shift[1] * step) * body.u + (shift[0] * step) * body.n
        if np.linalg.norm(d_source) < 0.5 * body.height:
            candidate = transform.params.copy()
            candidate[:2] += transform.linear() @ d_source
            before = _ncc(fixed, moving)
            after = _ncc(fixed, target.sample(*transform.apply(xs, ys, candidate), step))
            if after > before:
                transform.params = candidate

    score = -1.0
    for step, scales in ((0.5, (1.0, 0.02, 0.02)), (0.25, (0.3, 0.006, 0.006))):
        xs, ys = body.grid(half_a, half_h, step)
        fixed = source.sample(xs, ys, step)

        start = transform.params.copy()

        def cost(x: np.ndarray, xs=xs, ys=ys, fixed=fixed, step=step,
                 scales=scales, start=start) -> float:
            p = np.array([x[0] * scales[0], x[1] * scales[0], x[2] * scales[1],
                          x[3] * scales[2]]) + start
            return -_ncc(fixed, target.sample(*transform.apply(xs, ys, p), step))

        result = minimize(cost, np.zeros(4), method="Powell",
                          options={"xtol": 0.05, "ftol": 1e-5, "maxfev": 400})
        x = result.x
        transform.params = start + np.array([x[0] * scales[0], x[1] * scales[0],
                                             x[2] * scales[1], x[3] * scales[2]])
        score = -float(result.fun)
    return score


def _endplate_shift(
    source: _Sampler,
    target: _Sampler,
    transform: _Similarity,
    posterior: np.ndarray,
    anterior: np.ndarray,
    cranial: np.ndarray,
) -> tuple[float, float]:
    """How far (source mm, along ``cranial``) the endplate from ``posterior`` to
    ``anterior`` moved on the target relative to the aligned body, at each end: the pair
    ``(posterior, anterior)`` maximising NCC of a band around the endplate."""
    from scipy.optimize import minimize

    length = float(np.linalg.norm(anterior - posterior))
    along = (anterior - posterior) / length

    def band(step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        t = np.arange(-0.05 * length, 1.05 * length + 1e-9, step)
        e = np.arange(-ENDPLATE_BAND_MM, ENDPLATE_BAND_MM + 1e-9, step)
        tt, ee = np.meshgrid(t, e)
        xs = posterior[0] + tt * along[0] + ee * cranial[0]
        ys = posterior[1] + tt * along[1] + ee * cranial[1]
        fixed = np.diff(source.sample(xs, ys, step), axis=0)
        return xs, ys, np.clip(tt / length, 0.0, 1.0), fixed

    def score(dp: float, da: float, grid: tuple[np.ndarray, ...], step: float) -> float:
        xs, ys, fraction, fixed = grid
        d = dp + (da - dp) * fraction
        moving = target.sample(*transform.apply(xs + d * cranial[0], ys + d * cranial[1]), step)
        return _ncc(fixed, np.diff(moving, axis=0))

    # The endplate is compared as its profile's derivative across the band (its edges), so
    # cement filling the body or a healed impaction band does not pull it. A coarse search
    # over both ends (1 mm) first, then both free at 0.25 mm sampling.
    coarse = band(0.5)
    shifts = np.arange(-MAX_ENDPLATE_SHIFT_MM, MAX_ENDPLATE_SHIFT_MM + 1e-9, 1.0)
    best = max((score(dp, da, coarse, 0.5), dp, da) for dp in shifts for da in shifts)
    fine = band(0.25)

    def cost(x: np.ndarray) -> float:
        dp, da = best[1] + x[0], best[2] + x[1]
        if max(abs(dp), abs(da)) > MAX_ENDPLATE_SHIFT_MM:
            return 1.0
        return -score(dp, da, fine, 0.25)

    result = minimize(cost, np.zeros(2), method="Powell",
                      options={"xtol": 0.02, "ftol": 1e-5, "maxfev": 300})
    return best[1] + float(result.x[0]), best[2] + float(result.x[1])


# -- the whole series --------------------------------------------------------------------------


def carry_forward(
    source: Film,
    landmarks: Mapping[str, Mapping[str, Point]],
    target: Film,
    *,
    allow_mirror: bool = True,
) -> CarryForwardResult:
    """Propose ``landmarks`` (level → landmark name → image ``(x, y)`` on ``source``) on
    ``target``. Every level needs its four corners ``sa sp ia ip``; middle points, when
    given, are carried too. Raises ``ValueError`` when no level has its four corners.
    """
    from ovcf_viewer.model.landmarks import level_index

    levels = [
        level for level in sorted(landmarks, key=level_index)
        if all(name in landmarks[level] for name in CORNERS)
    ]
    if not levels:
        raise ValueError("no vertebra on the source film has its four corners placed")
    src, tgt = _Sampler(source), _Sampler(target)
    src_mm = {
        level: {name: source.to_mm(xy) for name, xy in landmarks[level].items()}
        for level in levels
    }
    all_points = np.array([p for level in levels for p in src_mm[level].values()])
    linear, translation, global_score = _global_alignment(src, tgt, all_points, allow_mirror)

    transforms: dict[str, _Similarity] = {}
    scores: dict[str, float] = {}
    bodies: dict[str, _Body] = {}
    for level in levels:
        body = _Body.from_points(src_mm[level])
        bodies[level] = body
        transform = _Similarity(linear, translation, body.centre)
        # Start from the neighbour above when it is aligned: it carries the local posture.
        if transforms:
            previous = transforms[levels[levels.index(level) - 1]]
            guess = previous.point(body.centre)
            transform.params[:2] = guess - transform.base_centre
        scores[level] = _align_body(src, tgt, body, transform)
        transforms[level] = transform

    shifts: dict[str, tuple[tuple[float, float], tuple[float, float], float, float]] = {}
    for level in levels:
        transform, body, points = transforms[level], bodies[level], src_mm[level]
        scale = math.sqrt(abs(np.linalg.det(transform.linear())))
        superior = _endplate_shift(src, tgt, transform, points["sp"], points["sa"], body.n)
        inferior = _endplate_shift(src, tgt, transform, points["ip"], points["ia"], -body.n)
        shifts[level] = (superior, inferior, max(abs(superior[0]), abs(superior[1])) * scale,
                         max(abs(inferior[0]), abs(inferior[1])) * scale)

    proposals: dict[str, VertebraProposal] = {}
    for i, level in enumerate(levels):
        transform, body, points = transforms[level], bodies[level], src_mm[level]
        reasons: list[str] = []
        superior, inferior, shift_sup, shift_inf = shifts[level]
        changed = max(shift_sup, shift_inf) > SHAPE_CHANGE_MM
        proposed: dict[str, Point] = {}
        for name, p in points.items():
            q = p
            if changed:
                q = _follow_endplate(name, p, points, body, superior, inferior)
            proposed[name] = target.to_pixel(transform.point(q))
        if changed:
            which = []
            if shift_sup > SHAPE_CHANGE_MM:
                which.append(f"sup. endplate {shift_sup:.1f} mm")
            if shift_inf > SHAPE_CHANGE_MM:
                which.append(f"inf. endplate {shift_inf:.1f} mm")
            reasons.append(f"shape changed: {', '.join(which)}")
        if scores[level] < MIN_CONFIDENCE:
            reasons.append(f"poor image match (NCC {scores[level]:.2f})")
        # A neighbour that changed shape is no reference for where this body should be.
        neighbours = [levels[j] for j in (i - 1, i + 1) if 0 <= j < len(levels)
                      and max(shifts[levels[j]][2:]) <= SHAPE_CHANGE_MM]
        if neighbours:
            mine = transform.point(body.centre)
            gaps = [float(np.linalg.norm(transforms[lv].point(body.centre) - mine))
                    for lv in neighbours]
            if min(gaps) > NEIGHBOUR_DISAGREEMENT_MM:
                reasons.append(f"moved {min(gaps):.1f} mm unlike its neighbours")
        proposals[level] = VertebraProposal(
            level=level,
            points=proposed,
            confidence=scores[level],
            endplate_shift_mm=(shift_sup, shift_inf),
            flagged=bool(reasons),
            reasons=tuple(reasons),
        )
    return CarryForwardResult(
        proposals=proposals,
        global_matrix=np.column_stack([linear, translation]),
        global_score=global_score,
    )


def _follow_endplate(
    name: str,
    p: np.ndarray,
    points: Mapping[str, np.ndarray],
    body: _Body,
    superior: tuple[float, float],
    inferior: tuple[float, float],
) -> np.ndarray:
    """A source point moved with its endplate's shift (linear from posterior to anterior)."""
    if name.startswith("s"):
        posterior, anterior, (dp, da), direction = points["sp"], points["sa"], superior, body.n
    else:
        posterior, anterior, (dp, da), direction = points["ip"], points["ia"], inferior, -body.n
    along = anterior - posterior
    fraction = float(np.clip((p - posterior) @ along / (along @ along), 0.0, 1.0))
    return p + (dp + (da - dp) * fraction) * direction
