"""Landmarks built from known geometry, for tests that must know the answer in advance.

A vertebra is described in an anatomical millimetre frame: ``A`` points anteriorly, ``S``
superiorly; its inferior-posterior corner sits at the vertebra's origin and its inferior
endplate lies along ``A`` before the vertebra's own rotation. The frame is then placed on the
image facing left or right, tilted, and converted to pixels with separate row and column
spacing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ovcf_viewer.model.landmarks import ImageAnnotations


@dataclass(frozen=True)
class BodySpec:
    level: str
    ha: float  # anterior height, mm
    hm: float  # middle height, mm
    hp: float  # posterior height, mm
    depth: float = 36.0  # AP depth along the inferior endplate, mm
    rotation_deg: float = 0.0  # extra rotation of this body in the sagittal plane (+ = toward S)
    origin: tuple[float, float] = (0.0, 0.0)  # inferior-posterior corner, (A, S) in mm

    def local_points(self) -> dict[str, tuple[float, float]]:
        """(A, S) coordinates in mm before placement; inferior endplate along A."""
        d = self.depth
        concave = 1.5  # how far each middle point sits inside the body
        im_s = concave
        sm_s = im_s + self.hm
        return {
            "ip": (0.0, 0.0),
            "ia": (d, 0.0),
            "im": (d / 2, im_s),
            "sp": (0.0, self.hp),
            "sa": (d, self.ha),
            "sm": (d / 2, sm_s),
        }

    def superior_tilt_deg(self) -> float:
        """Direction of sp→sa measured from A toward S, after rotation."""
        return self.rotation_deg + math.degrees(math.atan2(self.ha - self.hp, self.depth))

    def inferior_tilt_deg(self) -> float:
        return self.rotation_deg


def place(
    specs: list[BodySpec],
    *,
    facing: str = "left",
    tilt_deg: float = 0.0,
    row_mm: float = 0.15,
    col_mm: float = 0.15,
    centre_px: tuple[float, float] = (1000.0, 1200.0),
    index_levels: tuple[str, ...] = (),
) -> ImageAnnotations:
    """Place bodies on an image. ``facing='left'``: anterior toward x = 0. ``tilt_deg`` rotates
    the whole spine in the image plane. Returns annotations in pixel coordinates."""
    sign = -1.0 if facing == "left" else 1.0
    t = math.radians(tilt_deg)
    # Anterior and superior unit vectors in image mm space (y grows downwards).
    a_dir = (sign * math.cos(t), math.sin(t))
    # S: perpendicular to A, pointing up the image (towards smaller y).
    s_dir = (a_dir[1], -a_dir[0])
    if s_dir[1] > 0:
        s_dir = (-s_dir[0], -s_dir[1])
    model = ImageAnnotations("1.2.3.4", "test.dcm")
    cx, cy = centre_px[0] * col_mm, centre_px[1] * row_mm
    for spec in specs:
        r = math.radians(spec.rotation_deg)
        for name, (a, s) in spec.local_points().items():
            ra = a * math.cos(r) - s * math.sin(r) + spec.origin[0]
            rs = a * math.sin(r) + s * math.cos(r) + spec.origin[1]
            x_mm = cx + ra * a_dir[0] + rs * s_dir[0]
            y_mm = cy + ra * a_dir[1] + rs * s_dir[1]
            model.vertebrae.setdefault(spec.level, _new_vertebra(spec.level)).points[name] = (
                x_mm / col_mm,
                y_mm / row_mm,
            )
    model.index_levels = list(index_levels)
    return model


def _new_vertebra(level: str):
    from ovcf_viewer.model.landmarks import Vertebra

    return Vertebra(level)


def stack(
    levels_heights: list[tuple[str, float, float, float]],
    disc_mm: float = 10.0,
    rotations: dict[str, float] | None = None,
) -> list[BodySpec]:
    """Bodies stacked cranial first with discs between them (posterior corners aligned)."""
    rotations = rotations or {}
    specs = []
    s = 0.0
    for level, ha, hm, hp in reversed(levels_heights):  # build from the caudal end up
        specs.append(
            BodySpec(level, ha, hm, hp, rotation_deg=rotations.get(level, 0.0), origin=(0.0, s))
        )
        s += hp + disc_mm
    return list(reversed(specs))
