"""The synthetic teaching library: varied reference cases with exact expert landmarks.

Each case (:class:`TeachingSynthCase`) is one lateral film rendered by
:mod:`ovcf_viewer.devtools.synthetic` from a seed and a handful of choices — which vertebrae are
on the film (thoracolumbar T9–L3 or lumbar T12–S1), their size, how lordotic or kyphotic the
spine is, the fracture (wedge, biconcave or crush) with its Genant grade 0–3 at one index level,
the facing, tilt, exposure (noise), contrast, photometric interpretation and pixel spacing
(square and non-square). The ground truth is the construction itself (exchange format v1,
:func:`~ovcf_viewer.devtools.synthetic.annotation_document`), so it is exact; the grade and type
the construction aims at are checked against :func:`ovcf_viewer.measure.measurements.measure_image`
by the tests.

The films are not shipped (the sample folder is near its size budget): :mod:`ovcf_viewer.io.
teaching` lists :data:`CASES` and renders a case into the user's data folder the first time it
is practised (:func:`write_case`, about a second), so every installation has the same pixels.
The case titles do not give the answer away; :attr:`TeachingSynthCase.answer` does, for the
tests and the README.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovcf_viewer.devtools.synthetic import (
    FilmSpec,
    annotation_document,
    deterministic_uid,
    render_film,
    teaching_spine,
    write_dicom,
)

__all__ = ["CASES", "LIBRARY_VERSION", "TeachingSynthCase", "write_case"]

#: Bump when a case's pixels or ground truth change, so old renderings are not reused.
LIBRARY_VERSION = 1

THORACOLUMBAR = ("T9", "T10", "T11", "T12", "L1", "L2", "L3")
LUMBAR = ("T12", "L1", "L2", "L3", "L4", "L5")


@dataclass(frozen=True)
class TeachingSynthCase:
    """One synthetic teaching case; everything not given is drawn from ``seed``."""

    number: int
    seed: int
    region: str  # "thoracolumbar" or "lumbar"
    index_level: str
    fracture_type: str
    grade: int
    facing: str
    row_mm: float
    col_mm: float
    photometric: str = "MONOCHROME2"

    @property
    def case_id(self) -> str:
        return f"tl-{self.number:02d}"

    @property
    def title(self) -> str:
        """Neutral: the region and the spacing, never the finding."""
        levels = THORACOLUMBAR if self.region == "thoracolumbar" else LUMBAR
        return f"Synthetic case {self.number:02d} ({levels[0]}–{levels[-1]})"

    @property
    def answer(self) -> str:
        kind = "no fracture" if self.grade == 0 else f"{self.fracture_type}, Genant {self.grade}"
        return (f"{self.index_level} {kind}; facing {self.facing}; "
                f"{self.row_mm:g} × {self.col_mm:g} mm pixels; {self.photometric}")

    def film_spec(self) -> FilmSpec:
        """The film, with the anatomy's free choices drawn from ``seed``."""
        rng = random.Random(self.seed)
        scale = rng.uniform(0.86, 1.14)
        curvature = rng.uniform(0.6, 1.5)
        levels = THORACOLUMBAR if self.region == "thoracolumbar" else LUMBAR
        spine = teaching_spine(levels, scale=scale, curvature=curvature,
                               fracture_level=self.index_level,
                               fracture_type=self.fracture_type, grade=self.grade,
                               sacrum=self.region == "lumbar")
        # The base of a thoracolumbar film is L3's inferior endplate, nearly level.
        slope = rng.uniform(30.0, 42.0) if self.region == "lumbar" else rng.uniform(-4.0, 6.0)
        height_mm = 300.0 if self.region == "lumbar" else 320.0
        width_mm = 190.0
        return FilmSpec(
            rows=int(round(height_mm / self.row_mm)),
            cols=int(round(width_mm / self.col_mm)),
            row_mm=self.row_mm,
            col_mm=self.col_mm,
            facing=self.facing,
            tilt_deg=round(rng.uniform(-6.0, 6.0), 1),
            sacral_slope_deg=round(slope, 1),
            anterior_margin=round(rng.uniform(0.22, 0.34), 2),
            vertical_shift_mm=round(rng.uniform(-8.0, 8.0), 1),
            seed=self.seed,
            exposure_quanta=round(rng.choice((350.0, 600.0, 900.0, 1500.0, 2600.0))),
            marker="L" if self.facing == "left" else "R",
            spine=spine,
        )

    def contrast(self) -> float:
        """Stored-value contrast around the soft-tissue level (1 = the renderer's own)."""
        return round(random.Random(self.seed * 7 + 1).uniform(0.55, 1.0), 2)


def _case(number: int, region: str, level: str, kind: str, grade: int, facing: str,
          spacing: tuple[float, float], photometric: str = "MONOCHROME2") -> TeachingSynthCase:
    return TeachingSynthCase(number, 9000 + 37 * number, region, level, kind, grade, facing,
                             spacing[0], spacing[1], photometric)


#: Every grade 0–3, the three fracture types, index levels T10–L4, both facings, square and
#: non-square pixels, MONOCHROME1 and 2.
CASES: tuple[TeachingSynthCase, ...] = (
    _case(1, "lumbar", "L1", "wedge", 2, "left", (0.20, 0.20)),
    _case(2, "lumbar", "L2", "biconcave", 1, "right", (0.22, 0.22)),
    _case(3, "thoracolumbar", "T12", "wedge", 3, "left", (0.25, 0.20)),
    _case(4, "lumbar", "L3", "crush", 2, "left", (0.20, 0.20), "MONOCHROME1"),
    _case(5, "thoracolumbar", "T11", "biconcave", 2, "right", (0.22, 0.22)),
    _case(6, "lumbar", "L4", "wedge", 0, "right", (0.20, 0.16)),
    _case(7, "thoracolumbar", "L1", "crush", 3, "right", (0.25, 0.25)),
    _case(8, "lumbar", "L1", "biconcave", 3, "left", (0.18, 0.18)),
    _case(9, "thoracolumbar", "T10", "wedge", 1, "left", (0.22, 0.22)),
    _case(10, "lumbar", "L2", "wedge", 2, "right", (0.16, 0.20), "MONOCHROME1"),
    _case(11, "thoracolumbar", "T12", "crush", 1, "left", (0.20, 0.20)),
    _case(12, "lumbar", "L3", "wedge", 0, "left", (0.24, 0.24)),
)


def write_case(case: TeachingSynthCase, folder: str | Path) -> tuple[Path, Path]:
    """Render ``case`` into ``folder`` as ``film.dcm`` (DX, Imager Pixel Spacing only) and its
    ground truth ``film.json``; returns both paths. Deterministic for a given case."""
    folder = Path(folder)
    film = render_film(case.film_spec())
    pixels = film.pixels.astype(np.float32)
    gain = case.contrast()
    soft = 1100.0  # the renderer maps soft tissue behind the spine near here
    pixels = np.clip(np.rint(soft + gain * (pixels - soft)), 0, 4095)
    windows = tuple((soft + gain * (c - soft), w * gain, name) for c, w, name in film.windows)
    stored = pixels.astype(np.uint16)
    if case.photometric == "MONOCHROME1":  # high stored values display dark
        stored = (4095 - stored.astype(np.int32)).astype(np.uint16)
        windows = tuple((4095.0 - c, w, name) for c, w, name in windows)
    seed = f"ovcf-teaching-library/v{LIBRARY_VERSION}/{case.case_id}"
    sop_uid = deterministic_uid(seed + "/sop")
    image = folder / "film.dcm"
    write_dicom(
        image, stored, spacing=(case.row_mm, case.col_mm), photometric=case.photometric,
        magnification=1.15, sid_mm=1150.0,
        windows=tuple((round(c, 1), round(w, 1), n) for c, w, n in windows),
        sop_uid=sop_uid, uid_seed=seed, study_date="2026-02-01",
        study_description="Synthetic teaching case", series_description="LAT SPINE",
        patient_name="TEACHING^SYNTHETIC", patient_id=case.case_id.upper(),
        patient_sex="F", institution="OVCF Viewer synthetic teaching library",
        body_part="SPINE" if case.region == "thoracolumbar" else "LSPINE",
        patient_orientation=["A", "F"] if case.facing == "right" else ["P", "F"],
    )
    doc = annotation_document(film, sop_instance_uid=sop_uid, file=image.name,
                              index_levels=(case.index_level,))
    reference = folder / "film.json"
    reference.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return image, reference
