"""Deterministic synthetic lateral lumbar radiographs with known landmarks.

The sample studies in ``sample_dicom/`` and the benchmark image are made here, from geometry
alone, so their ground truth is exact by construction.

Conventions
-----------
* **Patient frame** (mm, the anatomy's own size): ``A`` points anteriorly, ``C`` cranially.
  Every vertebral body is built in its own *local frame*: origin at its inferior-posterior
  corner ``ip``, axis ``a`` along the inferior endplate towards anterior, axis ``h`` at right
  angles to it, cranially. In that frame the body's corners are ``ip = (0, 0)``,
  ``ia = (D, 0)``, ``sp = (0, Hp)`` and ``sa = (D, Ha)``, so the anterior and posterior
  heights of docs/clinical-reference.md §3 are exactly ``Ha`` and ``Hp``. The endplates are
  parabolas
  through their corners whose deepest points, midway between anterior and posterior, are the
  middle landmarks ``sm`` / ``im`` (docs/clinical-reference.md §2), displaced along ``h`` by the
  concavity depths, so ``Hm = (Ha + Hp) / 2 - c_sup - c_inf`` exactly.
* **Projection**: the patient frame is rotated by the film's tilt, magnified by
  :attr:`FilmSpec.magnification` (the synthetic spine sits exactly at the plane the header's
  Estimated Radiographic Magnification Factor refers to), mirrored when the patient faces left
  (anterior towards ``x = 0``), and sampled on the detector grid.
* **Image coordinates** are docs/clinical-reference.md §1's: ``(x, y) = (column, row)`` floats,
  ``(0, 0)`` at the centre of the top-left pixel; a pixel's detector position is
  ``(x * col_mm, y * row_mm)``. Non-square pixels are handled by rendering in mm.

Rendering is a line-integral model: each structure adds ``mu * path length`` to an
attenuation map (vertebral bodies as cortical shells around trabecular bone, seen edge-on
endplates, posterior elements, iliac wings, soft-tissue envelope, bowel gas, cement), then
the detector sees ``exp(-attenuation)`` with a heel-effect gradient and Poisson-like quantum
noise, and the "For Presentation" processing takes the log, enhances edges and compresses the
dynamic range, like a DR workstation. Pure numpy / scipy (scikit-image's backend); no Qt.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LANDMARK_NAMES",
    "FilmSpec",
    "RenderedFilm",
    "VertebraGeometry",
    "VertebraSpec",
    "annotation_document",
    "deterministic_uid",
    "make_benchmark_image",
    "patient_spine",
    "render_film",
    "teaching_spine",
    "spine_geometry",
    "write_dicom",
]

#: The six morphometry landmarks in placement order (docs/clinical-reference.md §2).
LANDMARK_NAMES: tuple[str, ...] = ("sa", "sm", "sp", "ia", "im", "ip")

#: Root of every UID made here: "2.25." + a 128-bit integer from a name hash (PS3.5 B.2).
UID_ROOT = "2.25."

# Effective linear attenuation coefficients (1/mm) at a ~60 keV effective beam energy,
# as excess over the soft tissue the structure displaces. Osteoporotic trabecular bone is thin.
_MU_SOFT = 0.020
_MU_TRABECULAR = 0.0085
_MU_CORTICAL = 0.050
_MU_POSTERIOR = 0.019
_MU_CEMENT = 0.120
_MU_LEAD = 1.0


def deterministic_uid(name: str) -> str:
    """A fixed UID under the ``2.25`` root derived from ``name`` (SHA-256, 128 bits)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return UID_ROOT + str(int.from_bytes(digest[:16], "big"))


# --------------------------------------------------------------------------------------------
# Anatomy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VertebraSpec:
    """One vertebral body and the disc below it; every length in patient mm.

    ``depth_mm`` is the antero-posterior length of the inferior endplate (``ip``→``ia``);
    ``width_mm`` the transverse width (along the beam). Concavities are the depths of the
    endplates' deepest (middle) points, measured along the body axis from the corner chord.
    ``impaction`` (0–1) adds the dense trabecular band of an acute compression below the
    superior endplate; ``cement`` fills the body with radiodense PMMA (after kyphoplasty).
    """

    level: str
    depth_mm: float
    anterior_height_mm: float
    posterior_height_mm: float
    superior_concavity_mm: float = 1.2
    inferior_concavity_mm: float = 1.0
    width_mm: float = 44.0
    disc_below_anterior_mm: float = 10.0
    disc_below_posterior_mm: float = 6.0
    impaction: float = 0.0
    cement: bool = False
    anterior_osteophyte_mm: float = 0.0  # beak at the inferior-anterior corner, excluded (§2)
    annotated: bool = True  # False for the sacrum, whose lower corners are not on the film

    @property
    def middle_height_mm(self) -> float:
        """Hm implied by the construction: ``(Ha + Hp)/2 - c_sup - c_inf``."""
        return (
            (self.anterior_height_mm + self.posterior_height_mm) / 2
            - self.superior_concavity_mm
            - self.inferior_concavity_mm
        )


def patient_spine(timepoint: str = "preop") -> tuple[VertebraSpec, ...]:
    """The synthetic patient's spine, T11 to S1, cranial first, at ``preop``, ``postop``
    or ``followup``.

    L1 has a wedge fracture: anterior height 17.0 mm pre-operatively against a mean of
    26.0 mm for T12 and L2 (about 35 % lower), posterior wall intact (27.0 mm). Kyphoplasty
    restores it to 22.0 mm (≈ 85 % of the reference) with cement in the body; at 3 months
    it has lost 2.0 mm (20.0 mm), which adds about 3° of kyphosis.
    """
    base = (
        VertebraSpec("T11", 31.0, 21.5, 23.0, 0.9, 0.8, 38.0, 5.5, 4.5),
        VertebraSpec("T12", 33.0, 23.5, 25.0, 1.0, 0.9, 40.0, 7.0, 6.0),
        VertebraSpec("L1", 38.0, 26.0, 27.0, 1.2, 1.0, 42.0, 9.0, 6.0),
        VertebraSpec("L2", 40.0, 28.5, 28.0, 1.3, 1.1, 44.0, 11.0, 6.5),
        VertebraSpec("L3", 42.0, 29.5, 28.5, 1.4, 1.2, 46.0, 12.5, 7.0, anterior_osteophyte_mm=2.5),
        VertebraSpec("L4", 43.0, 29.5, 28.0, 1.4, 1.2, 48.0, 13.0, 7.0),
        VertebraSpec("L5", 44.0, 30.0, 26.0, 1.3, 1.1, 50.0, 13.0, 6.0),
        VertebraSpec("S1", 46.0, 75.0, 75.0, 0.8, 0.0, 52.0, 0.0, 0.0, annotated=False),
    )
    fractures: dict[str, dict[str, Any]] = {
        "preop": {"anterior_height_mm": 17.0, "superior_concavity_mm": 2.0, "impaction": 1.0},
        "postop": {"anterior_height_mm": 22.0, "superior_concavity_mm": 1.4, "cement": True},
        "followup": {
            "anterior_height_mm": 20.0,
            "superior_concavity_mm": 1.6,
            "cement": True,
            "impaction": 0.35,
        },
    }
    if timepoint not in fractures:
        raise ValueError(f"timepoint must be preop, postop or followup, not {timepoint!r}")
    return tuple(replace(v, **fractures[timepoint]) if v.level == "L1" else v for v in base)


#: Nominal adult bodies, T9 to L5 (patient mm): AP depth, anterior and posterior height,
#: disc below anterior / posterior. Thoracic bodies are slightly wedged and their discs
#: kyphotic; lumbar discs lordotic, like the sample patient's.
_NOMINAL: dict[str, tuple[float, float, float, float, float]] = {
    "T9": (28.0, 19.5, 21.0, 4.0, 4.5),
    "T10": (29.0, 20.5, 22.0, 4.5, 4.8),
    "T11": (31.0, 21.5, 23.0, 5.0, 5.0),
    "T12": (33.0, 23.5, 25.0, 6.5, 6.0),
    "L1": (38.0, 26.0, 27.0, 9.0, 6.0),
    "L2": (40.0, 28.0, 28.0, 11.0, 6.5),
    "L3": (42.0, 29.0, 28.5, 12.5, 7.0),
    "L4": (43.0, 29.5, 28.0, 13.0, 7.0),
    "L5": (44.0, 30.0, 26.0, 13.0, 6.0),
}

#: Height reduction (fraction) built for each Genant grade (docs/clinical-reference.md §4),
#: well inside each grade's band (0: < 20 %, 1: 20–25 %, 2: 25–40 %, 3: > 40 %).
GRADE_REDUCTION = {0: 0.08, 1: 0.225, 2: 0.32, 3: 0.48}


def teaching_spine(
    levels: Sequence[str],
    *,
    scale: float = 1.0,
    curvature: float = 1.0,
    fracture_level: str | None = None,
    fracture_type: str = "wedge",
    grade: int = 0,
    sacrum: bool = True,
) -> tuple[VertebraSpec, ...]:
    """A spine for the teaching library, cranial first: the ``levels`` (T9–L5, consecutive)
    with every length × ``scale``, the discs' anterior–posterior difference × ``curvature``
    (> 1 more lordotic in the lumbar spine and more kyphotic in the thoracic, < 1 flatter),
    plus the sacrum (not annotated) when ``sacrum``.

    ``fracture_level`` is built as a Genant ``grade`` (0–3) fracture of ``fracture_type``
    against the mean of its two neighbours' heights (both must be in ``levels``;
    docs/clinical-reference.md §4), with the reduction :data:`GRADE_REDUCTION` [grade]:

    * ``wedge``: Ha reduced by it, Hm by half of it, Hp as the neighbours';
    * ``biconcave``: Hm reduced by it (deeper endplate concavities), Ha and Hp by a third;
    * ``crush``: Ha, Hm and Hp all reduced by it.

    Grade 0 with any type is a mild (8 %) anterior wedging, not a fracture."""
    if fracture_type not in ("wedge", "biconcave", "crush"):
        raise ValueError(f"fracture type must be wedge, biconcave or crush, not {fracture_type!r}")
    if grade not in GRADE_REDUCTION:
        raise ValueError(f"Genant grade must be 0–3, not {grade!r}")
    names = list(_NOMINAL)
    if not levels or any(lv not in _NOMINAL for lv in levels):
        raise ValueError(f"levels must be among {names[0]}–{names[-1]}")
    first = names.index(levels[0])
    if list(levels) != names[first:first + len(levels)]:
        raise ValueError("levels must be consecutive, cranial first")
    specs: list[VertebraSpec] = []
    for level in levels:
        depth, ha, hp, da, dp = (v * scale for v in _NOMINAL[level])
        da = dp + (da - dp) * curvature
        specs.append(VertebraSpec(
            level, depth, ha, hp, 1.0 * scale, 0.9 * scale, depth + 6.0,
            max(da, 1.0), dp,
        ))
    if fracture_level is not None:
        i = list(levels).index(fracture_level)
        if i == 0 or i == len(specs) - 1:
            raise ValueError("the fractured level needs a neighbour on each side")
        above, own, below = specs[i - 1], specs[i], specs[i + 1]
        ref_a = (above.anterior_height_mm + below.anterior_height_mm) / 2
        ref_p = (above.posterior_height_mm + below.posterior_height_mm) / 2
        ref_m = (above.middle_height_mm + below.middle_height_mm) / 2
        r = GRADE_REDUCTION[grade]
        if grade == 0 or fracture_type == "wedge":
            ha, hm, hp = ref_a * (1 - r), ref_m * (1 - r / 2), ref_p
        elif fracture_type == "biconcave":
            ha, hm, hp = ref_a * (1 - r / 3), ref_m * (1 - r), ref_p * (1 - r / 3)
        else:
            ha, hm, hp = ref_a * (1 - r), ref_m * (1 - r), ref_p * (1 - r)
        concavity = (ha + hp) / 2 - hm  # split between the endplates, more on the superior
        specs[i] = replace(
            own, anterior_height_mm=ha, posterior_height_mm=hp,
            superior_concavity_mm=0.6 * concavity, inferior_concavity_mm=0.4 * concavity,
            impaction=0.0 if grade == 0 else 0.8,
        )
    if sacrum:
        specs.append(VertebraSpec("S1", 46.0 * scale, 75.0, 75.0, 0.8, 0.0, 52.0, 0.0, 0.0,
                                  annotated=False))
    return tuple(specs)


@dataclass(frozen=True)
class VertebraGeometry:
    """A placed vertebral body: its local frame in the patient frame and its landmarks.

    ``origin`` is ``ip`` (patient mm), ``axis`` the unit vector ``ip→ia``; ``normal`` is
    ``axis`` turned 90° towards cranial. ``points`` are the six landmarks in patient mm.
    """

    spec: VertebraSpec
    origin: tuple[float, float]
    axis: tuple[float, float]
    points: Mapping[str, tuple[float, float]]

    @property
    def normal(self) -> tuple[float, float]:
        return (-self.axis[1], self.axis[0])

    def to_patient(self, a: float, h: float) -> tuple[float, float]:
        """Local ``(a, h)`` mm to patient ``(A, C)`` mm."""
        (ox, oy), (ux, uy), (nx, ny) = self.origin, self.axis, self.normal
        return (ox + a * ux + h * nx, oy + a * uy + h * ny)


def _local_points(spec: VertebraSpec) -> dict[str, tuple[float, float]]:
    d, ha, hp = spec.depth_mm, spec.anterior_height_mm, spec.posterior_height_mm
    return {
        "sa": (d, ha),
        "sm": (d / 2, (ha + hp) / 2 - spec.superior_concavity_mm),
        "sp": (0.0, hp),
        "ia": (d, 0.0),
        "im": (d / 2, spec.inferior_concavity_mm),
        "ip": (0.0, 0.0),
    }


def spine_geometry(
    spine: Sequence[VertebraSpec], sacral_slope_deg: float = 36.0
) -> list[VertebraGeometry]:
    """Stack the bodies from the sacrum upwards (docs/clinical-reference.md §2 landmarks,
    patient mm).

    The S1 superior endplate slopes down anteriorly by ``sacral_slope_deg``. Each disc sits
    on the superior endplate chord of the body below: the next body's ``ip`` is the disc's
    posterior height above ``sp`` along the chord's normal, and its inferior endplate is
    turned from that chord by the disc's wedge angle ``atan((da - dp) / depth)`` (lordotic
    when the disc is taller anteriorly).
    """
    order = list(spine)[::-1]  # caudal first
    sacrum = order[0]
    angle = -math.radians(sacral_slope_deg)
    axis = (math.cos(angle), math.sin(angle))
    # Put the S1 inferior-posterior corner so that S1's superior-posterior corner is (0, 0).
    normal = (-axis[1], axis[0])
    origin = (-sacrum.posterior_height_mm * normal[0], -sacrum.posterior_height_mm * normal[1])
    placed: list[VertebraGeometry] = []
    for i, spec in enumerate(order):
        local = _local_points(spec)
        geo = VertebraGeometry(spec, origin, axis, {})
        pts = {k: geo.to_patient(*v) for k, v in local.items()}
        geo = VertebraGeometry(spec, origin, axis, pts)
        placed.append(geo)
        if i + 1 == len(order):
            break
        above = order[i + 1]
        sp, sa = pts["sp"], pts["sa"]
        chord = (sa[0] - sp[0], sa[1] - sp[1])
        length = math.hypot(*chord)
        cu = (chord[0] / length, chord[1] / length)
        cn = (-cu[1], cu[0])
        dp, da = above.disc_below_posterior_mm, above.disc_below_anterior_mm
        wedge = math.atan2(da - dp, length)
        origin = (sp[0] + dp * cn[0], sp[1] + dp * cn[1])
        c, s = math.cos(wedge), math.sin(wedge)
        axis = (cu[0] * c - cu[1] * s, cu[0] * s + cu[1] * c)
    return placed[::-1]


# --------------------------------------------------------------------------------------------
# Films
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilmSpec:
    """How one film is taken and rendered.

    ``row_mm``/``col_mm`` are the detector pixel spacings (Imager Pixel Spacing, row\\column);
    ``magnification`` maps patient mm to detector mm. ``facing`` is where the patient's
    anterior points on the image; ``tilt_deg`` rotates the spine counter-clockwise in the
    patient frame (anterior to the right, cranial up), before a left-facing film is mirrored
    (so it shows clockwise there). ``anterior_margin`` is the fraction of the width between
    the anterior image edge and the most anterior landmark; ``vertical_shift_mm`` moves the
    spine down the film (detector mm). ``seed`` fixes every random texture and the noise;
    ``exposure_quanta`` sets the quantum noise (quanta per pixel behind ~275 mm of tissue).
    """

    rows: int = 2000
    cols: int = 1400
    row_mm: float = 0.16
    col_mm: float = 0.16
    magnification: float = 1.15
    facing: str = "left"
    tilt_deg: float = 0.0
    sacral_slope_deg: float = 36.0
    anterior_margin: float = 0.30
    vertical_shift_mm: float = 0.0
    seed: int = 1
    exposure_quanta: float = 900.0
    marker: str = "L"
    spine: tuple[VertebraSpec, ...] = field(default_factory=patient_spine)

    def __post_init__(self) -> None:
        if self.facing not in ("left", "right"):
            raise ValueError(f"facing must be 'left' or 'right', not {self.facing!r}")
        if self.rows < 16 or self.cols < 16:
            raise ValueError("a film needs at least 16 x 16 pixels")
        if not (self.row_mm > 0 and self.col_mm > 0 and self.magnification > 0):
            raise ValueError("spacings and magnification must be positive")


@dataclass(frozen=True, eq=False)
class RenderedFilm:
    """A rendered film: 12-bit MONOCHROME2 stored values (bone bright, uint16) and the
    ground-truth landmarks in image coordinates (docs/clinical-reference.md §1) per annotated level.
    ``windows`` are ``(center, width, explanation)`` matched to the image."""

    pixels: np.ndarray
    landmarks: dict[str, dict[str, tuple[float, float]]]
    windows: tuple[tuple[float, float, str], ...]
    spec: FilmSpec
    geometry: tuple[VertebraGeometry, ...]


class _Projection:
    """Patient mm <-> image pixels for one film (see module docstring)."""

    def __init__(self, spec: FilmSpec, geometry: Sequence[VertebraGeometry]) -> None:
        self.spec = spec
        t = math.radians(spec.tilt_deg)
        self.cos, self.sin = math.cos(t), math.sin(t)
        self.sign = 1.0 if spec.facing == "right" else -1.0
        self.offset = (0.0, 0.0)
        pts = np.array(
            [p for g in geometry if g.spec.annotated for p in g.points.values()], dtype=float
        )
        xs, ys = self.patient_to_pixel(pts[:, 0], pts[:, 1])
        width_mm, height_mm = spec.cols * spec.col_mm, spec.rows * spec.row_mm
        xs_mm, ys_mm = xs * spec.col_mm, ys * spec.row_mm
        margin = spec.anterior_margin * width_mm
        if self.sign < 0:  # anterior towards x = 0: most anterior point is min x
            dx = margin - xs_mm.min()
        else:
            dx = (width_mm - margin) - xs_mm.max()
        dy = height_mm / 2 - (ys_mm.min() + ys_mm.max()) / 2 + spec.vertical_shift_mm
        self.offset = (dx, dy)

    def patient_to_pixel(self, a: Any, c: Any) -> tuple[Any, Any]:
        s = self.spec
        ar = a * self.cos - c * self.sin
        cr = a * self.sin + c * self.cos
        x_mm = self.offset[0] + self.sign * s.magnification * ar
        y_mm = self.offset[1] - s.magnification * cr
        return x_mm / s.col_mm, y_mm / s.row_mm

    def pixel_to_patient(self, x: Any, y: Any) -> tuple[Any, Any]:
        s = self.spec
        ar = (x * s.col_mm - self.offset[0]) / (self.sign * s.magnification)
        cr = -(y * s.row_mm - self.offset[1]) / s.magnification
        return ar * self.cos + cr * self.sin, -ar * self.sin + cr * self.cos

    def bbox(self, centre: tuple[float, float], radius_mm: float) -> tuple[slice, slice] | None:
        """Pixel slices covering a patient-frame disc; ``None`` when it misses the film."""
        s = self.spec
        x, y = self.patient_to_pixel(centre[0], centre[1])
        rx = radius_mm * s.magnification / s.col_mm + 2
        ry = radius_mm * s.magnification / s.row_mm + 2
        x0, x1 = max(0, int(math.floor(x - rx))), min(s.cols, int(math.ceil(x + rx)) + 1)
        y0, y1 = max(0, int(math.floor(y - ry))), min(s.rows, int(math.ceil(y + ry)) + 1)
        if x0 >= x1 or y0 >= y1:
            return None
        return slice(y0, y1), slice(x0, x1)


def _ellipsoid_path(
    u: np.ndarray, v: np.ndarray, ru: float, rv: float, depth: float, power: float = 2.0
) -> np.ndarray:
    """Path length (mm) along the beam through a super-ellipsoid with in-plane semi-axes
    ``ru``, ``rv`` (exponent ``power``; 2 is an ellipsoid) and thickness ``depth`` along the
    beam, at in-plane offsets ``u``, ``v`` (mm)."""
    q = np.abs(u / ru) ** power + np.abs(v / rv) ** power
    return depth * np.clip(1.0 - q, 0.0, None) ** (1.0 / power)


def _shell_path(
    u: np.ndarray,
    v: np.ndarray,
    ru: float,
    rv: float,
    depth: float,
    shell: float,
    power: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(inner, shell) path lengths of a super-ellipsoid with a cortical shell ``shell`` mm
    thick: the shell's path peaks where the beam runs tangent to it, drawing the bright rim
    that outlines bone on a radiograph."""
    outer = _ellipsoid_path(u, v, ru, rv, depth, power)
    inner = _ellipsoid_path(
        u, v, max(ru - shell, 0.1), max(rv - shell, 0.1), depth - 2 * shell, power
    )
    return inner, outer - inner


def _neural_arch_outline(spec: VertebraSpec) -> np.ndarray:
    """Lateral outline (local mm, ``a`` posterior negative, ``h`` cranial) of the neural arch
    behind a body: pedicle, superior articular process (SAP), lamina, hatchet-shaped spinous
    process, inferior articular process (IAP) and inferior notch. Scaled with the body's
    height and depth; thoracic spinous processes slope further down."""
    hp, k = spec.posterior_height_mm, spec.depth_mm / 40.0
    drop = 0.25 * hp if spec.level.startswith("T") else 0.0
    outline = np.array(
        [
            (0.5, 0.86 * hp), (-11.0, 0.88 * hp),  # pedicle, upper edge
            (-13.0, hp + 3.0), (-14.5, hp + 9.0), (-17.0, hp + 10.5), (-20.0, hp + 9.0),  # SAP
            (-22.0, 0.86 * hp), (-29.0, 0.80 * hp),  # lamina
            (-44.0, 0.76 * hp - 0.5 * drop), (-55.0, 0.80 * hp - drop),  # spinous process
            (-60.0, 0.74 * hp - drop), (-61.0, 0.22 * hp - drop), (-56.0, 0.12 * hp - drop),
            (-44.0, 0.18 * hp - 0.5 * drop), (-34.0, 0.10 * hp),
            (-31.0, -4.0), (-29.5, -10.0), (-26.5, -11.5), (-23.5, -9.5), (-22.0, -3.0),  # IAP
            (-20.0, 0.20 * hp), (-15.0, 0.42 * hp), (-8.0, 0.46 * hp), (0.5, 0.44 * hp),
        ],
        dtype=np.float64,
    )  # fmt: skip
    outline[:, 0] *= k
    return outline


def _polygon_depth(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Signed distance (mm) from each point to the polygon's outline: positive inside,
    negative outside (even-odd rule)."""
    inside = np.zeros(x.shape, bool)
    dist2 = np.full(x.shape, np.inf, np.float32)
    for (x1, y1), (x2, y2) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (x2 - x1) * (y - y1) / (y2 - y1)
        inside ^= crosses & (x < x_at)
        dx, dy = x2 - x1, y2 - y1
        t = np.clip(((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        dist2 = np.minimum(dist2, (x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2)
    dist = np.sqrt(dist2)
    return np.where(inside, dist, -dist)


class _Renderer:
    def __init__(self, spec: FilmSpec) -> None:
        self.spec = spec
        self.geometry = spine_geometry(spec.spine, spec.sacral_slope_deg)
        self.proj = _Projection(spec, self.geometry)
        self.rng = np.random.default_rng(spec.seed)
        yy, xx = np.mgrid[0 : spec.rows, 0 : spec.cols].astype(np.float32)
        self.A, self.C = self.proj.pixel_to_patient(xx, yy)
        self.att = np.zeros((spec.rows, spec.cols), np.float32)
        self.body_mask = np.zeros((spec.rows, spec.cols), bool)
        self.cement_mask = np.zeros((spec.rows, spec.cols), bool)

    # -- helpers -------------------------------------------------------------------------
    def _local(self, geo: VertebraGeometry, sl: tuple[slice, slice]) -> tuple[np.ndarray, ...]:
        A, C = self.A[sl] - geo.origin[0], self.C[sl] - geo.origin[1]
        (ux, uy), (nx, ny) = geo.axis, geo.normal
        return A * ux + C * uy, A * nx + C * ny

    def _texture(self, sigma_fine_mm: tuple[float, float], sigma_coarse_mm: float) -> np.ndarray:
        """Band-pass noise (unit variance) with anisotropic fine scale (row, col) in mm."""
        from scipy.ndimage import gaussian_filter

        s = self.spec
        white = self.rng.standard_normal((s.rows, s.cols), dtype=np.float32)
        fine = gaussian_filter(
            white, (sigma_fine_mm[0] / s.row_mm, sigma_fine_mm[1] / s.col_mm), truncate=3.0
        )
        coarse_px = (sigma_coarse_mm / s.row_mm, sigma_coarse_mm / s.col_mm)
        if min(coarse_px) > 24:  # large kernels: same low-pass on a reduced grid
            coarse = _smooth_large(white, coarse_px)
        else:
            coarse = gaussian_filter(white, coarse_px, truncate=3.0)
        band = fine - coarse
        return band / max(float(band.std()), 1e-6)

    # -- structures ----------------------------------------------------------------------
    def soft_tissue(self) -> None:
        """Torso envelope: lateral chord of a super-elliptic cross-section whose back skin
        follows the spine's curve; a fat layer under the skin; bowel gas anteriorly."""
        bodies = [g for g in self.geometry]
        post = np.array([g.points["ip"] for g in bodies] + [bodies[0].points["sp"]])
        order = np.argsort(post[:, 1])
        c_knots, a_knots = post[order, 1], post[order, 0]
        spine_a = np.interp(self.C, c_knots, a_knots).astype(np.float32)
        rel = self.A - spine_a  # mm anterior of the posterior vertebral wall
        back, front = -88.0, 250.0
        mid, half = (back + front) / 2, (front - back) / 2
        r = np.abs((rel - mid) / half)
        chord = 320.0 * np.clip(1.0 - r**2.6, 0.0, None) ** (1 / 2.6)
        # soften the skin edge over ~0.3 mm
        chord *= np.clip((rel - back) / 0.3, 0.0, 1.0)
        fat = np.clip(1.0 - (rel - back) / 22.0, 0.0, 1.0) * (rel > back)
        self.att += _MU_SOFT * chord - 0.004 * 60.0 * fat
        self.rel = rel
        # lung bases in the posterior costophrenic recesses, above the diaphragm
        by_level = {g.spec.level: g for g in bodies}
        if "T12" in by_level:
            c_ref = by_level["T12"].points["ip"][1]
            dome = c_ref + 8.0 + 0.004 * (rel + 45.0) ** 2
            lung = np.clip((self.C - dome) / 14.0, 0.0, 1.0) ** 1.5
            lung *= np.clip((rel - back - 18.0) / 12.0, 0.0, 1.0)
            self.att -= _MU_SOFT * 28.0 * lung
        # paraspinal muscles slightly denser than the surrounding fat
        self.att += 0.06 * np.exp(-(((rel + 45.0) / 25.0) ** 2)) * (rel > back)
        # bowel gas: loops and mottled stool in front of the spine, soft-edged
        c_lo, c_hi = float(c_knots.min()) - 20.0, float(c_knots.max()) + 40.0
        for i in range(70):
            small = i >= 20
            ca = float(self.rng.uniform(c_lo, c_hi))
            ra = float(self.rng.uniform(70.0, 200.0) if small else self.rng.uniform(95.0, 200.0))
            su = float(self.rng.uniform(2.0, 5.0) if small else self.rng.uniform(8.0, 22.0))
            sv = float(self.rng.uniform(2.0, 5.0) if small else self.rng.uniform(6.0, 13.0))
            depth = float(self.rng.uniform(6.0, 14.0) if small else self.rng.uniform(12.0, 30.0))
            a0 = float(np.interp(ca, c_knots, a_knots)) + ra
            sl = self.proj.bbox((a0, ca), 2.0 * max(su, sv) + 2)
            if sl is None:
                continue
            u, v = self.A[sl] - a0, self.C[sl] - ca
            q = (u / su) ** 2 + (v / sv) ** 2
            self.att[sl] -= _MU_SOFT * depth * np.exp(-1.6 * q**1.5)

    def vertebral_body(self, geo: VertebraGeometry, texture: np.ndarray) -> None:
        """The body as a cortical shell around trabecular bone, rendered as its left and right
        halves slightly apart: the beam's divergence and a little patient rotation make the
        endplates and walls of the two sides project as double contours, increasingly so far
        from the central ray. The landmarks lie midway between them (docs/clinical-reference.md
        §2)."""
        spec = geo.spec
        d, ha, hp = spec.depth_mm, spec.anterior_height_mm, spec.posterior_height_mm
        centre = geo.to_patient(d / 2, (ha + hp) / 4)
        sl = self.proj.bbox(centre, math.hypot(d, max(ha, hp)) * 0.6 + 8)
        if sl is None:
            return
        a, h = self._local(geo, sl)
        _, cy = self.proj.patient_to_pixel(*geo.to_patient(d / 2, hp / 2))
        off_centre = (cy - self.spec.rows / 2) * self.spec.row_mm / self.spec.magnification
        dh = 0.5 * (0.15 + 0.005 * abs(off_centre)) * (1 if off_centre > 0 else -1)
        da = 0.5 * 0.35
        tex = texture[sl]
        total = np.zeros(a.shape, np.float32)
        cover_any = np.zeros(a.shape, bool)
        for sign in (1.0, -1.0):
            contribution, cover = self._body_half(spec, a - sign * da, h - sign * dh, tex)
            total += contribution
            cover_any |= cover > 0.5
        self.att[sl] += total
        self.body_mask[sl] |= cover_any
        if spec.anterior_osteophyte_mm > 0:  # beak below ia; excluded from the corner (§2)
            # a beak growing from the corner forwards and down, into the disc space
            ou, ov = a - d, h + 0.6
            r = math.radians(-35.0)
            u = ou * math.cos(r) + ov * math.sin(r)
            v = -ou * math.sin(r) + ov * math.cos(r)
            path = _ellipsoid_path(u, v, spec.anterior_osteophyte_mm + 0.6, 1.6, 12.0)
            self.att[sl] += _MU_CORTICAL * 0.7 * path * (ou > -0.5)
        if spec.cement:
            t, tau = self._body_coordinates(spec, a, h)
            self._cement(sl, t, tau)

    @staticmethod
    def _body_coordinates(spec: VertebraSpec, a: np.ndarray, h: np.ndarray) -> tuple[Any, Any]:
        """Body-relative coordinates: ``t`` 0 (posterior) .. 1 (anterior), ``tau`` 0 (inferior
        endplate) .. 1 (superior endplate)."""
        d, ha, hp = spec.depth_mm, spec.anterior_height_mm, spec.posterior_height_mm
        t = a / d
        bump = 4.0 * t * (1.0 - t)
        top = hp + (ha - hp) * t - spec.superior_concavity_mm * bump
        bottom = spec.inferior_concavity_mm * bump
        return t, (h - bottom) / np.maximum(top - bottom, 1e-3)

    def _body_half(
        self, spec: VertebraSpec, a: np.ndarray, h: np.ndarray, texture: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        d, ha, hp = spec.depth_mm, spec.anterior_height_mm, spec.posterior_height_mm
        cs, ci = spec.superior_concavity_mm, spec.inferior_concavity_mm
        t = a / d
        bump = 4.0 * t * (1.0 - t)
        top = hp + (ha - hp) * t - cs * bump  # superior endplate
        bottom = ci * bump  # inferior endplate
        height = np.maximum(top - bottom, 1e-3)
        tw = np.clip((h - bottom) / height, 0.0, 1.0)
        waist = 4.0 * tw * (1.0 - tw)
        front = d - 0.9 * waist
        back = 0.5 * waist
        if spec.impaction > 0:  # buckled anterior cortex of the acute fracture
            front = front + 0.8 * spec.impaction * np.exp(-(((tw - 0.62) / 0.08) ** 2))
        half = (front - back) / 2
        mid = (front + back) / 2
        s = (a - mid) / np.maximum(half, 1e-3)  # -1 posterior wall .. +1 anterior wall
        # axial cross-section: rounded anteriorly, flatter posteriorly (super-ellipse p = 3)
        p = np.where(s > 0, 2.0, 3.0)
        w = spec.width_mm / 2  # one lateral half of the body
        absx = np.clip(np.abs(s), 0.0, 1.0)
        outer = w * np.clip(1.0 - absx**p, 0.0, None) ** (1.0 / p)
        shell = 1.1  # mm of cortex
        s_in = np.abs(s) * half / np.maximum(half - shell, 0.5)
        inner = (w - shell) * np.clip(1.0 - np.clip(s_in, 0, 1) ** p, 0.0, None) ** (1.0 / p)
        inner = np.where(s_in < 1.0, inner, 0.0)
        # inside/outside with ~half-pixel anti-aliasing
        px = min(self.spec.row_mm, self.spec.col_mm) / self.spec.magnification
        cover = (
            np.clip((top - h) / px + 0.5, 0, 1)
            * np.clip((h - bottom) / px + 0.5, 0, 1)
            * np.clip((front - a) / px + 0.5, 0, 1)
            * np.clip((a - back) / px + 0.5, 0, 1)
        )
        trab_density = 1.0 + 0.35 * texture
        if spec.impaction > 0:  # condensation band of the impacted trabeculae
            band = np.exp(-(((top - h) / 4.5) ** 2)) * np.clip(1.2 - s, 0, 1) * (h < top)
            trab_density = trab_density * (1.0 + 1.3 * spec.impaction * band)
        trab = _MU_TRABECULAR * inner * trab_density
        cort = _MU_CORTICAL * (outer - inner)
        # endplates seen edge-on: a thin dense plate across the whole width
        plate = 0.7
        edge = np.clip(1.0 - (top - h) / plate, 0, 1) + np.clip(1.0 - (h - bottom) / plate, 0, 1)
        cort = cort + 0.5 * _MU_CORTICAL * outer * np.clip(edge, 0, 1)
        return ((trab + cort) * cover).astype(np.float32), cover

    def _cement(self, sl: tuple[slice, slice], t: Any, tau: Any) -> None:
        """Kyphoplasty cement: an irregular radiodense mass in the anterior two thirds of the
        body, defined in body-relative coordinates so it follows the body's shape."""
        from scipy.ndimage import gaussian_filter

        rough = self.cement_noise[sl]
        q = ((t - 0.56) / 0.30) ** 2 + ((tau - 0.52) / 0.36) ** 2
        q2 = ((t - 0.40) / 0.22) ** 2 + ((tau - 0.38) / 0.30) ** 2
        q = np.minimum(q, q2 * 1.1) * np.clip(1.0 + 0.28 * rough, 0.7, 1.5)
        fill = np.clip(1.0 - q, 0.0, None) ** 0.5
        inside = (t > 0.08) & (t < 0.93) & (tau > 0.07) & (tau < 0.93)
        fill = gaussian_filter((fill * inside).astype(np.float32), 0.8)
        self.att[sl] += _MU_CEMENT * 14.0 * fill
        self.cement_mask[sl] |= fill > 0.02

    def posterior_elements(self, geo: VertebraGeometry) -> None:
        """Pedicles, articular processes, lamina and spinous process (one outline, as a
        lateral film shows the neural arch), plus the transverse processes seen end-on;
        fainter than the body. Drawn in the body's local frame (posterior is ``a < 0``)
        as its left and right halves slightly apart, like the body."""
        spec = geo.spec
        hp = spec.posterior_height_mm
        if not spec.annotated:
            self._sacral_elements(geo)
            return
        centre = geo.to_patient(-30.0 * spec.depth_mm / 40.0, 0.5 * hp)
        sl = self.proj.bbox(centre, 50.0)
        if sl is None:
            return
        a, h = self._local(geo, sl)
        outline = _neural_arch_outline(spec)
        _, cy = self.proj.patient_to_pixel(*centre)
        off_centre = (cy - self.spec.rows / 2) * self.spec.row_mm / self.spec.magnification
        dh = 0.5 * (0.3 + 0.006 * abs(off_centre)) * (1 if off_centre > 0 else -1)
        density = 1.0 + 0.3 * self.texture_fine[sl]
        for sign in (1.0, -1.0):
            inside_mm = _polygon_depth(a - sign * 0.4, h - sign * dh, outline)
            # rounded edges (2.5 mm) and a 1 mm cortex that the beam grazes at the outline
            outer = 7.0 * np.sqrt(np.clip(inside_mm / 2.5, 0.0, 1.0))
            inner = 5.0 * np.sqrt(np.clip((inside_mm - 1.0) / 2.5, 0.0, 1.0))
            self.att[sl] += 0.8 * _MU_POSTERIOR * inner * density + 1.1 * _MU_CORTICAL * (
                outer - inner
            )
        # transverse processes, end-on over the pedicle
        u, v = a + 12.0, h - 0.62 * hp
        inner, shell = _shell_path(u, v, 4.5, 4.0 * hp / 28.0, 22.0, 1.2, 2.0)
        self.att[sl] += 0.4 * _MU_POSTERIOR * inner + 0.3 * _MU_CORTICAL * shell

    def _sacral_elements(self, geo: VertebraGeometry) -> None:
        """Sacral lateral masses and median crest behind the S1 body."""
        parts = (
            ((-16.0, 50.0), (16.0, 55.0), 16.0),
            ((-33.0, 40.0), (6.0, 50.0), 6.0),
        )
        for (ca, ch), (ra, rh), depth in parts:
            centre = geo.to_patient(ca, ch)
            sl = self.proj.bbox(centre, max(ra, rh) + 2)
            if sl is None:
                continue
            a, h = self._local(geo, sl)
            inner, shell = _shell_path(a - ca, h - ch, ra, rh, depth, 1.2, 3.0)
            self.att[sl] += _MU_POSTERIOR * inner + 0.4 * _MU_CORTICAL * shell

    def pelvis(self) -> None:
        """Both iliac wings, slightly offset (two crest contours, as the two sides are
        magnified differently), with the crests at about the L4–L5 disc."""
        by_level = {g.spec.level: g for g in self.geometry}
        if "L5" not in by_level:
            return
        l5 = by_level["L5"]
        crest = l5.to_patient(-5.0, l5.spec.posterior_height_mm + 14.0)
        for shift_a, shift_c, depth in ((0.0, 0.0, 7.0), (7.0, -6.0, 6.0)):
            centre = (crest[0] + 15.0 + shift_a, crest[1] - 115.0 + shift_c)
            sl = self.proj.bbox(centre, 135.0)
            if sl is None:
                continue
            u, v = self.A[sl] - centre[0], self.C[sl] - centre[1]
            inner, shell = _shell_path(u, v, 120.0, 115.0, depth * 2, 2.2, 2.0)
            self.att[sl] += 0.03 * inner * (1.0 + 0.08 * self.texture_coarse[sl]) + 0.03 * shell

    def lead_marker(self) -> None:
        """A lead side marker ("L" or "R", 14 mm tall on the detector) in the upper anterior
        corner, built from rectangular strokes (plus the R's diagonal leg)."""
        s = self.spec
        if not s.marker:
            return
        size, stroke = 14.0, 3.0  # detector mm
        x_mm = 12.0 if s.facing == "left" else s.cols * s.col_mm - 12.0 - size
        y_mm = 12.0
        r0, r1 = max(0, int((y_mm - 1) / s.row_mm)), min(s.rows, int((y_mm + size + 1) / s.row_mm))
        c0, c1 = max(0, int((x_mm - 1) / s.col_mm)), min(s.cols, int((x_mm + size + 1) / s.col_mm))
        yy, xx = np.mgrid[r0:r1, c0:c1]
        X, Y = xx * s.col_mm - x_mm, yy * s.row_mm - y_mm

        def box(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
            return (X >= x0) & (X <= x1) & (Y >= y0) & (Y <= y1)

        glyph = box(0, stroke, 0, size)  # stem
        if s.marker == "R":
            bowl = 0.6 * size
            glyph |= box(0, bowl, 0, stroke) | box(bowl - stroke, bowl, 0, size / 2)
            glyph |= box(0, bowl, size / 2 - stroke / 2, size / 2 + stroke / 2)
            leg = np.abs(X - (Y - size / 2) * 0.7 - stroke) <= stroke / 2
            glyph |= leg & (Y >= size / 2) & (Y <= size)
        else:
            glyph |= box(0, 0.7 * size, size - stroke, size)  # foot of the L
        self.att[r0:r1, c0:c1] += _MU_LEAD * 2.0 * glyph

    # -- detector and processing ---------------------------------------------------------
    def detect(self) -> np.ndarray:
        """Blur, heel effect, quantum noise, log, edge enhancement, dynamic-range compression;
        returns the processed log signal (float32)."""
        from scipy.ndimage import gaussian_filter

        s = self.spec
        blur_mm = 0.13  # focal spot + detector MTF
        att = gaussian_filter(self.att, (blur_mm / s.row_mm, blur_mm / s.col_mm))
        rows = np.linspace(-0.5, 0.5, s.rows, dtype=np.float32)[:, None]
        heel = 1.0 - 0.22 * rows  # heel effect: anode side (fewer quanta) at the bottom
        cols = np.linspace(-0.5, 0.5, s.cols, dtype=np.float32)[None, :]
        heel = heel * (1.0 - 0.08 * cols**2)
        ref = 5.5  # attenuation at which a pixel receives ``exposure_quanta``
        quanta = s.exposure_quanta * heel * np.exp(np.minimum(ref - att, 8.0))
        noise = self.rng.standard_normal((s.rows, s.cols), dtype=np.float32)
        noise = gaussian_filter(noise, 0.45) * 1.9  # detector correlation, unit variance
        quanta = np.maximum(quanta + np.sqrt(quanta) * noise, 1.0)
        signal = ref - np.log(quanta / s.exposure_quanta)  # log-processed attenuation
        signal = signal.astype(np.float32)
        # edge enhancement (unsharp mask, ~1.5 mm) and dynamic range compression (~25 mm)
        fine = gaussian_filter(signal, (1.5 / s.row_mm, 1.5 / s.col_mm), truncate=3.0)
        signal = signal + 0.9 * (signal - fine)
        coarse = _smooth_large(signal, (25.0 / s.row_mm, 25.0 / s.col_mm))
        return signal - 0.55 * (coarse - float(np.median(coarse)))

    def render(self) -> RenderedFilm:
        s = self.spec
        texture = self._texture((0.45, 0.16), 1.1)
        self.texture_fine = texture
        self.cement_noise = self._texture((2.0, 2.0), 6.0)
        self.texture_coarse = self._texture((1.5, 1.5), 8.0)
        self.soft_tissue()
        self.pelvis()
        for geo in self.geometry:
            self.posterior_elements(geo)
        for geo in self.geometry:
            self.vertebral_body(geo, texture)
        self.lead_marker()
        signal = self.detect()
        # map to 12 bits: soft tissue behind the spine ~ 900, dense bone ~ 3400
        inside = self.body_mask
        # bone (without cement) sets the scale, so every film of the case looks alike
        bone_lo, bone_hi = np.percentile(signal[inside & ~self.cement_mask], [2.0, 99.5])
        soft = np.percentile(signal[(self.rel > -60) & (self.rel < -30)], 50.0)
        gain = 2300.0 / max(float(bone_hi - soft), 1e-3)
        stored = 1100.0 + gain * (signal - soft)
        knee = 3500.0  # soft shoulder: cement and lead keep their texture instead of clipping
        above = stored > knee
        stored[above] = knee + 590.0 * np.tanh((stored[above] - knee) / 590.0)
        pixels = np.clip(np.rint(stored), 0, 4095).astype(np.uint16)
        b_lo, b_hi = 1100.0 + gain * (bone_lo - soft), 1100.0 + gain * (bone_hi - soft)
        bone_c = round((b_lo + b_hi) / 2 - 150)
        bone_w = round((b_hi - b_lo) * 1.5)
        windows = (
            (float(bone_c), float(bone_w), "BONE"),
            # soft tissue (mapped near 1100) mid-grey, air black, bone white
            (1350.0, 2700.0, "SOFT"),
        )
        landmarks: dict[str, dict[str, tuple[float, float]]] = {}
        for geo in self.geometry:
            if not geo.spec.annotated:
                continue
            pts = {}
            for name in LANDMARK_NAMES:
                x, y = self.proj.patient_to_pixel(*geo.points[name])
                pts[name] = (round(float(x), 4), round(float(y), 4))
            inside_img = all(
                -0.5 <= x <= s.cols - 0.5 and -0.5 <= y <= s.rows - 0.5 for x, y in pts.values()
            )
            if inside_img:
                landmarks[geo.spec.level] = pts
        return RenderedFilm(pixels, landmarks, windows, s, tuple(self.geometry))


def _smooth_large(image: np.ndarray, sigma_px: tuple[float, float]) -> np.ndarray:
    """Gaussian blur with a large sigma, computed on an 8× reduced grid and interpolated
    back (bilinear): the same low-pass in a fraction of the time."""
    from scipy.ndimage import gaussian_filter, zoom

    f = 8
    rows, cols = image.shape
    pr, pc = (-rows) % f, (-cols) % f
    padded = np.pad(image, ((0, pr), (0, pc)), mode="edge")
    small = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).mean(axis=(1, 3))
    small = gaussian_filter(small, (sigma_px[0] / f, sigma_px[1] / f), mode="nearest")
    big = zoom(small, f, order=1, mode="nearest", grid_mode=True)
    return big[:rows, :cols].astype(np.float32)


def render_film(spec: FilmSpec) -> RenderedFilm:
    """Render one film and its ground truth (deterministic for a given ``spec``)."""
    return _Renderer(spec).render()


# --------------------------------------------------------------------------------------------
# Ground truth in the exchange format (version 1)
# --------------------------------------------------------------------------------------------


def annotation_document(
    film: RenderedFilm,
    *,
    sop_instance_uid: str,
    file: str,
    timepoint_kind: str | None = None,
    timepoint_date: str | None = None,
    index_levels: Sequence[str] = ("L1",),
) -> dict[str, Any]:
    """The film's ground truth as an ``ovcf-annotations`` version 1 document. No
    ``calibration`` key: the image's own calibration applies."""
    doc: dict[str, Any] = {
        "format": "ovcf-annotations",
        "version": 1,
        "image": {"sop_instance_uid": sop_instance_uid, "file": file},
    }
    if timepoint_kind is not None:
        doc["timepoint"] = {"kind": timepoint_kind, "date": timepoint_date}
    doc["index_levels"] = [lv for lv in index_levels if lv in film.landmarks]
    doc["vertebrae"] = [
        {"level": level, "points": {k: [pts[k][0], pts[k][1]] for k in LANDMARK_NAMES}}
        for level, pts in film.landmarks.items()
    ]
    return doc


# --------------------------------------------------------------------------------------------
# DICOM writing and the benchmark image
# --------------------------------------------------------------------------------------------

_SOP_CLASSES = {
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
}


def _da(value: str) -> str:
    return value.replace("-", "")


def write_dicom(
    path: str | Path,
    pixels: np.ndarray,
    spacing: tuple[float, float] = (0.15, 0.15),
    **meta: Any,
) -> Path:
    """Write a single-frame 16-bit-allocated grayscale radiograph.

    ``spacing`` is Imager Pixel Spacing (0018,1164) as ``(row_mm, col_mm)``. Keyword
    ``meta`` (all optional): ``modality`` (``"DX"``/``"CR"``), ``photometric``
    (``MONOCHROME2``/``MONOCHROME1``), ``bits_stored`` (12), ``pixel_spacing`` (also write
    (0028,0030) with these values), ``magnification`` (ERMF, with SID/SOD), ``sid_mm``,
    ``windows`` (sequence of ``(center, width, explanation)``), ``patient_name``,
    ``patient_id``, ``patient_sex``, ``patient_birth_date`` (ISO), ``institution``,
    ``study_uid``, ``series_uid``, ``sop_uid``, ``study_date`` (ISO), ``study_description``,
    ``series_description``, ``series_number``, ``instance_number``, ``view_position``,
    ``body_part``, ``accession``, ``transfer_syntax`` (``"explicit"``, ``"jpeg2000"``),
    ``derivation``, ``uid_seed`` (name the default UIDs derive from).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        PYDICOM_IMPLEMENTATION_UID,
        UID,
        ExplicitVRLittleEndian,
        JPEG2000Lossless,
    )

    pixels = np.ascontiguousarray(pixels)
    if pixels.ndim != 2 or pixels.dtype != np.uint16:
        raise ValueError("pixels must be a 2-D uint16 array")
    path = Path(path)
    modality = meta.get("modality", "DX")
    if modality not in _SOP_CLASSES:
        raise ValueError(f"modality must be DX or CR, not {modality!r}")
    seed = str(meta.get("uid_seed", path.name))
    bits = int(meta.get("bits_stored", 12))
    if int(pixels.max(initial=0)) >= 1 << bits:
        raise ValueError(f"pixel values exceed BitsStored {bits}")

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(_SOP_CLASSES[modality])
    ds.file_meta.MediaStorageSOPInstanceUID = UID(
        meta.get("sop_uid") or deterministic_uid(seed + "/sop")
    )
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta.ImplementationVersionName = "OVCF_SYNTH_1"

    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = (
        ["ORIGINAL", "PRIMARY", ""]
        if not meta.get("derivation")
        else [
            "DERIVED",
            "PRIMARY",
            "",
        ]
    )
    ds.SOPClassUID = _SOP_CLASSES[modality]
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    study_date = _da(meta.get("study_date", "2026-01-01"))
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = meta.get(
        "study_time", "093000"
    )
    ds.AccessionNumber = meta.get("accession", "")
    ds.Modality = modality
    ds.PresentationIntentType = "FOR PRESENTATION" if modality == "DX" else None
    if ds.PresentationIntentType is None:
        del ds.PresentationIntentType
    ds.Manufacturer = "OVCF Viewer"
    ds.ManufacturerModelName = "synthetic.py"
    ds.InstitutionName = meta.get("institution", "OVCF Viewer synthetic data")
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = meta.get("study_description", "")
    ds.SeriesDescription = meta.get("series_description", "")
    if meta.get("derivation"):
        ds.DerivationDescription = meta["derivation"]
    ds.PatientName = meta.get("patient_name", "SYNTHETIC^BENCHMARK")
    ds.PatientID = meta.get("patient_id", "OVCF-BENCH")
    ds.PatientBirthDate = _da(meta.get("patient_birth_date", ""))
    ds.PatientSex = meta.get("patient_sex", "O")
    ds.BodyPartExamined = meta.get("body_part", "LSPINE")
    ds.ViewPosition = meta.get("view_position", "LL")
    ds.PatientOrientation = meta.get("patient_orientation", ["A", "F"])
    ds.ImagerPixelSpacing = [float(spacing[0]), float(spacing[1])]
    if meta.get("pixel_spacing") is not None:
        ps = meta["pixel_spacing"]
        ds.PixelSpacing = [float(ps[0]), float(ps[1])]
    mag = meta.get("magnification")
    if mag:
        sid = float(meta.get("sid_mm", 1150.0))
        ds.DistanceSourceToDetector = round(sid, 2)
        ds.DistanceSourceToPatient = round(sid / float(mag), 2)
        ds.EstimatedRadiographicMagnificationFactor = float(mag)
    ds.KVP = meta.get("kvp", 85)
    ds.StudyInstanceUID = meta.get("study_uid") or deterministic_uid(seed + "/study")
    ds.SeriesInstanceUID = meta.get("series_uid") or deterministic_uid(seed + "/series")
    ds.StudyID = meta.get("study_id", "1")
    ds.SeriesNumber = meta.get("series_number", 1)
    ds.InstanceNumber = meta.get("instance_number", 1)

    photometric = meta.get("photometric", "MONOCHROME2")
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.BitsAllocated = 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if modality == "DX":
        ds.PresentationLUTShape = "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"
    windows = meta.get("windows") or ()
    if windows:
        ds.WindowCenter = [float(w[0]) for w in windows]
        ds.WindowWidth = [float(w[1]) for w in windows]
        ds.WindowCenterWidthExplanation = [str(w[2]) for w in windows]
        ds.VOILUTFunction = "LINEAR"
    if modality == "CR":
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.RescaleType = "US"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PixelData = pixels.tobytes()

    if meta.get("transfer_syntax", "explicit") == "jpeg2000":
        ds.compress(
            JPEG2000Lossless, pixels, encoding_plugin="pylibjpeg", generate_instance_uid=False
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def make_benchmark_image(
    rows: int = 3000, cols: int = 3000, seed: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    """A large 12-bit (uint16) lateral lumbar film for benchmarks, made in about a second.

    The spine is rendered at a third of the resolution and enlarged ×3 (bilinear) to
    ``rows`` × ``cols``, with fresh full-resolution grain, so the image has radiograph-like
    structure at every scale. The pixel size is chosen so the whole spine is in view.
    Returns ``(pixels, meta)``; ``write_dicom(path, pixels, **meta)`` stores it as a DX
    (``meta`` holds ``spacing`` as (row_mm, col_mm), ``windows`` and descriptive tags).
    """
    from scipy.ndimage import zoom

    if rows < 48 or cols < 48:
        raise ValueError("the benchmark image needs at least 48 x 48 pixels")
    factor = 3
    small_rows, small_cols = -(-rows // factor), -(-cols // factor)
    pitch = max(300.0 / small_rows, 230.0 / small_cols)  # detector mm per small pixel
    small = FilmSpec(
        rows=small_rows,
        cols=small_cols,
        row_mm=pitch,
        col_mm=pitch,
        seed=seed,
        exposure_quanta=4000.0,
        anterior_margin=0.32,
    )
    film = render_film(small)
    big = zoom(film.pixels.astype(np.float32), factor, order=1, grid_mode=True, mode="nearest")
    rng = np.random.default_rng(seed + 1)
    grain = rng.standard_normal((rows, cols), dtype=np.float32) * 18.0
    pixels = np.clip(big[:rows, :cols] + grain, 0, 4095).astype(np.uint16)
    meta = {
        "spacing": (pitch / factor, pitch / factor),
        "windows": film.windows,
        "modality": "DX",
        "patient_name": "SYNTHETIC^BENCHMARK",
        "patient_id": "OVCF-BENCH",
        "series_description": f"Benchmark {rows}x{cols} 16-bit",
        "uid_seed": f"benchmark-{rows}x{cols}-{seed}",
    }
    return pixels, meta
