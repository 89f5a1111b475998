"""The opened image: plain data the loader fills and the views and measurements read.

Coordinates and calibration follow :mod:`ovcf_viewer.model.calibration` (docs/clinical-reference.md
§1). Pixel values are kept as *stored values* (the decoded frame, never rescaled), so the
display pipeline can map them with one lookup table per window change instead of touching a
float copy of the image: modality LUT → VOI LUT → Presentation LUT (PS3.3 C.11; MONOCHROME1
per C.7.6.3.1.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ovcf_viewer.model.calibration import (
    Calibration,
    CalibrationHeader,
    resolve_calibration,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["ModalityLut", "PatientInfo", "RadiographImage", "VoiLutTable", "VoiWindow"]


@dataclass(frozen=True)
class VoiWindow:
    """One VOI window, Window Center (0028,1050) / Width (0028,1051), PS3.3 C.11.2.1.2.

    ``function`` is VOI LUT Function (0028,1056): ``LINEAR``, ``LINEAR_EXACT`` or ``SIGMOID``.
    Values are in modality units (after Rescale Slope/Intercept or the Modality LUT).
    """

    center: float
    width: float
    function: str = "LINEAR"
    explanation: str = ""

    @property
    def label(self) -> str:
        name = self.explanation or "Window"
        return f"{name} (C {self.center:g} / W {self.width:g})"


@dataclass(frozen=True, eq=False)
class VoiLutTable:
    """A VOI LUT from the VOI LUT Sequence (0028,3010): input value ``first_mapped + i``
    maps to ``data[i]`` (output range ``0 .. 2**bits - 1``)."""

    first_mapped: int
    bits: int
    data: np.ndarray
    explanation: str = ""


@dataclass(frozen=True, eq=False)
class ModalityLut:
    """Stored value → modality value. Either a Rescale Slope/Intercept (0028,1053/1052), or a
    Modality LUT Sequence table (0028,3000) when ``table`` is set (PS3.3 C.11.1)."""

    slope: float = 1.0
    intercept: float = 0.0
    table: np.ndarray | None = None
    first_mapped: int = 0

    def apply(self, stored: np.ndarray) -> np.ndarray:
        """Modality values for ``stored`` (float64, or the table's dtype for a LUT)."""
        if self.table is not None:
            index = np.clip(stored.astype(np.int64) - self.first_mapped, 0, len(self.table) - 1)
            return self.table[index]
        return stored.astype(np.float64) * self.slope + self.intercept


@dataclass(frozen=True)
class PatientInfo:
    """Identifying and descriptive header values; empty strings when absent."""

    name: str = ""
    patient_id: str = ""
    birth_date: date | None = None
    sex: str = ""
    study_date: date | None = None
    study_description: str = ""
    series_description: str = ""
    view_position: str = ""  # (0018,5101), e.g. LL for lateral
    body_part: str = ""
    institution: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    acquisition_datetime: str = ""


@dataclass(eq=False)
class RadiographImage:
    """One frame of a radiograph, ready to display and measure.

    ``stored`` is a 2-D array of stored values (rows × columns), C-contiguous. ``photometric``
    is ``MONOCHROME1``, ``MONOCHROME2`` or ``RGB`` (photographs and scans; then ``stored`` is
    rows × columns × 3 uint8). MONOCHROME1 means high values display dark: the display
    pipeline inverts it, the user's "invert" toggles on top of that.

    ``pending`` is set while the full-resolution pixels are still being decoded in the
    background (a JPEG 2000 film opened progressively, :mod:`ovcf_viewer.io.progressive`):
    geometry, calibration and every header value are final, but ``stored`` is a read-only
    all-zero placeholder of the right shape and dtype until :meth:`pixels_ready`. Image
    coordinates never depend on it; code that reads pixel *values* (edge assist, the
    status bar's values, reports) calls :meth:`wait_for_pixels` first or skips.
    """

    stored: np.ndarray
    photometric: str
    calibration_header: CalibrationHeader
    sop_instance_uid: str
    path: Path | None = None
    frame_index: int = 0
    number_of_frames: int = 1
    modality: str = ""
    transfer_syntax: str = ""  # UID, empty for non-DICOM
    transfer_syntax_name: str = ""
    bits_stored: int = 8
    pixel_representation: int = 0  # 0 unsigned, 1 signed
    modality_lut: ModalityLut = field(default_factory=ModalityLut)
    windows: tuple[VoiWindow, ...] = ()
    voi_luts: tuple[VoiLutTable, ...] = ()
    presentation_lut_shape: str = ""  # IDENTITY / INVERSE / "" (0x2050,0x0020)
    patient: PatientInfo = field(default_factory=PatientInfo)
    sop_class_uid: str = ""
    is_dicom: bool = True
    warnings: tuple[str, ...] = ()
    pending: Future[None] | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return int(self.stored.shape[0])

    @property
    def columns(self) -> int:
        return int(self.stored.shape[1])

    @property
    def is_color(self) -> bool:
        return self.stored.ndim == 3

    def pixels_ready(self) -> bool:
        """Whether ``stored`` holds the full-resolution pixels (always, unless the image is
        being decoded progressively; also ``True`` once such a decode has *failed*:
        :meth:`wait_for_pixels` then raises)."""
        return self.pending is None or self.pending.done()

    def pixels_failed(self) -> bool:
        """Whether the background decode of the full-resolution pixels failed."""
        pending = self.pending
        return pending is not None and pending.done() and pending.exception() is not None

    def wait_for_pixels(self, timeout: float | None = None) -> None:
        """Block until ``stored`` holds the full-resolution pixels. Raises the loader's
        :class:`~ovcf_viewer.model.errors.ImageLoadError` if their decode failed, and
        ``TimeoutError`` after ``timeout`` seconds."""
        if self.pending is not None:
            self.pending.result(timeout)

    def contains(self, x: float, y: float) -> bool:
        """Whether image point ``(x, y)`` lies on the image (pixel centres at integers)."""
        return -0.5 <= x <= self.columns - 0.5 and -0.5 <= y <= self.rows - 0.5

    def calibration(
        self, *, use_magnification: bool = False, manual: Calibration | None = None
    ) -> Calibration:
        """This image's calibration per docs/clinical-reference.md §1."""
        return resolve_calibration(
            self.calibration_header, use_magnification=use_magnification, manual=manual
        )
