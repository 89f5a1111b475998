"""Carry landmarks forward from another film of the same patient: which films can be a source
(:func:`find_sources`) and the proposals for the film on screen (:func:`propose`).

Used by the main window (a film opened whose patient has another annotated film in the
scanned folder) and the case window (the post-operative and follow-up panes). The
registration itself is :func:`ovcf_viewer.measure.carry_forward.carry_forward`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ovcf_viewer.measure.carry_forward import CarryForwardResult, carry_forward, film_from_pixels
from ovcf_viewer.model.landmarks import CORNER_NAMES, ImageAnnotations

__all__ = ["CarrySource", "find_sources", "film_of", "propose", "proposals_of"]


@dataclass(frozen=True)
class CarrySource:
    """A film whose landmarks can be carried: its file, SOP Instance UID, study date and
    how many vertebrae it has (accepted, with their four corners)."""

    path: Path
    sop_instance_uid: str
    study_date: date | None
    vertebrae: int

    @property
    def label(self) -> str:
        when = self.study_date.isoformat() if self.study_date else "undated"
        return f"{self.path.name} ({when}, {self.vertebrae} vertebrae)"


def _carriable(model: ImageAnnotations | None) -> int:
    if model is None:
        return 0
    return sum(
        1 for v in model.vertebrae.values()
        if not v.has_proposal and all(n in v.points for n in CORNER_NAMES)
    )


def find_sources(scan: Any, sop_instance_uid: str, store: Any) -> list[CarrySource]:
    """Other films of the patient whose film ``sop_instance_uid`` is, in the scan
    (:class:`~ovcf_viewer.io.study_scan.ScanResult`), that have carriable landmarks in the
    annotation ``store``: the nearest earlier study first, then later ones."""
    if scan is None or store is None:
        return []
    patient = next((p for p in scan.patients
                    if any(i.sop_instance_uid == sop_instance_uid for i in p.images())), None)
    if patient is None or patient.is_photos:
        return []
    this_date = next((s.study_date for s in patient.studies
                      if any(i.sop_instance_uid == sop_instance_uid for i in s.images())), None)
    sources = []
    for study in patient.studies:
        for image in study.images():
            if image.sop_instance_uid == sop_instance_uid:
                continue
            try:
                count = _carriable(store.load(image.sop_instance_uid))
            except (OSError, ValueError):
                continue
            if count:
                sources.append(CarrySource(image.path, image.sop_instance_uid,
                                           study.study_date, count))

    def order(source: CarrySource) -> tuple[int, int]:
        if this_date is None or source.study_date is None:
            return (1, 0)
        days = (this_date - source.study_date).days
        return (0, days) if days >= 0 else (1, -days)

    return sorted(sources, key=order)


def film_of(image: Any, use_magnification: bool = False):
    """A :class:`~ovcf_viewer.measure.carry_forward.Film` of a loaded
    :class:`~ovcf_viewer.model.image.RadiographImage` in its header calibration. Registration
    reads pixel values: a film still decoding progressively is waited for (raises the
    loader's :class:`~ovcf_viewer.model.errors.ImageLoadError` if its decode failed)."""
    image.wait_for_pixels()
    calibration = image.calibration(use_magnification=use_magnification)
    if calibration.is_calibrated:
        return film_from_pixels(image.stored, image.photometric, calibration.row_mm,
                                calibration.col_mm)
    return film_from_pixels(image.stored, image.photometric, None, None,
                            row_aspect=calibration.row_mm)


def proposals_of(result: CarryForwardResult) -> dict[str, tuple[dict, str]]:
    """``level → (points, check reason)`` as :func:`~ovcf_viewer.measure.placement.
    apply_proposals` takes them."""
    return {level: (dict(p.points), p.reason_text) for level, p in result.proposals.items()}


def propose(source_image: Any, source: ImageAnnotations, target_image: Any) -> CarryForwardResult:
    """Carry ``source``'s accepted vertebrae (four corners at least) from ``source_image`` to
    ``target_image`` (both loaded images). Raises ``ValueError`` with a one-line reason."""
    landmarks = {
        v.level: dict(v.points) for v in source.ordered_vertebrae()
        if not v.has_proposal and all(n in v.points for n in CORNER_NAMES)
    }
    if not landmarks:
        raise ValueError("the source film has no vertebra with its four corners placed")
    return carry_forward(film_of(source_image), landmarks, film_of(target_image))
