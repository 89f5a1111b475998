"""Open one image file: DICOM (any image SOP class, every transfer syntax pydicom decodes with
the pylibjpeg plugins) or a PNG/JPEG/TIFF photograph or scan of a film.

What the loader keeps (see :mod:`ovcf_viewer.model.image`):

* ``stored``: the decoded frame as *stored values*, integer, never rescaled and, for native
  (uncompressed) little-endian data, a read-only view on the file's bytes (a memory map of the
  Pixel Data element for large grey-scale films, see :func:`_map_native_frame`): the pixel data
  is decoded exactly once and never copied to float. The display pipeline
  (:mod:`ovcf_viewer.render.display`) maps it through one lookup table.
* the grey-scale pipeline's parameters: Modality LUT (Rescale Slope/Intercept or Modality LUT
  Sequence, PS3.3 C.11.1), VOI windows with their explanations and VOI LUT Function, VOI LUT
  Sequence tables (C.11.2), Photometric Interpretation and Presentation LUT Shape (C.11.6);
* the header values calibration is resolved from (docs/clinical-reference.md §1), as a
  :class:`~ovcf_viewer.model.calibration.CalibrationHeader`.

Errors are the typed :mod:`ovcf_viewer.model.errors`, never a bare pydicom or numpy exception.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, JPEG2000TransferSyntaxes

from ovcf_viewer.io import limits, safe_read
from ovcf_viewer.model.calibration import CalibrationHeader
from ovcf_viewer.model.errors import (
    CorruptHeaderError,
    CorruptPixelDataError,
    FrameOutOfRangeError,
    ImageLoadError,
    NoPixelDataError,
    NotDicomError,
    UnreadableFileError,
    UnsupportedCompressionError,
    UnsupportedImageError,
)
from ovcf_viewer.model.image import (
    ModalityLut,
    PatientInfo,
    RadiographImage,
    VoiLutTable,
    VoiWindow,
)

__all__ = [
    "HeaderSummary",
    "PHOTO_SUFFIXES",
    "image_from_dataset",
    "image_from_decoded",
    "load_image",
    "pseudo_uid",
    "read_header",
    "sniff_file_kind",
]

log = logging.getLogger(__name__)

#: Suffixes of the photograph/scan formats opened through Pillow (content decides, not these).
PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})

#: Which package decodes each compressed transfer syntax (for "install …" messages).
_DECODER_PACKAGES: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "pylibjpeg-libjpeg (or Pillow)",
    "1.2.840.10008.1.2.4.51": "pylibjpeg-libjpeg (or Pillow)",
    "1.2.840.10008.1.2.4.57": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.80": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.81": "pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.91": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.201": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.202": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.203": "pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.5": "pylibjpeg-rle",
}

_GREY_PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2")

#: Native transfer syntaxes whose Pixel Data bytes are the little-endian pixel values themselves:
#: Implicit and Explicit VR Little Endian (PS3.5 §A.1, §A.2). Not deflated, big endian or
#: encapsulated (including Encapsulated Uncompressed, 1.2.840.10008.1.2.1.98).
_NATIVE_LITTLE_ENDIAN = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})

#: Pixel Data longer than this (bytes) is not read with the header but memory-mapped
#: (:func:`_map_native_frame`); shorter pixel data is read as before: mapping a small image
#: saves nothing and holds a file descriptor while the image lives.
_MAP_MIN_BYTES = 256 * 1024

_PIXEL_DATA_TAG = 0x7FE00010


# --------------------------------------------------------------------------- sniffing


def _unreadable(path: Path, exc: OSError) -> UnreadableFileError:
    """The file system's refusal in the user's words."""
    if isinstance(exc, IsADirectoryError):
        return UnreadableFileError(path, "is a folder, not a file")
    if isinstance(exc, FileNotFoundError):
        return UnreadableFileError(path, "file not found")
    if isinstance(exc, PermissionError):
        return UnreadableFileError(path, "permission denied: cannot read the file")
    return UnreadableFileError(path, f"cannot read the file ({exc.strerror or exc})")


def _read_head(path: Path, size: int = 132) -> bytes:
    try:  # a FIFO would block the open for ever, a device never ends: regular files only
        safe_read.require_regular_file(path)
    except safe_read.InputFileError as exc:
        if isinstance(exc.__context__, PermissionError):
            raise UnreadableFileError(path, "permission denied: cannot read the file") from exc
        raise UnreadableFileError(path, exc.reason) from exc
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def sniff_file_kind(head: bytes) -> str:
    """What the first 132 bytes of a file say it is: ``"dicom"`` (128-byte preamble then
    ``DICM``, PS3.10 §7.1), ``"dicom-raw"`` (no preamble but starting with a group 0002 or 0008
    element, as old CD exports do), ``"png"``, ``"jpeg"``, ``"tiff"``, ``"empty"`` or
    ``"unknown"``."""
    if not head:
        return "empty"
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if len(head) >= 8:
        group_le = int.from_bytes(head[0:2], "little")
        element_le = int.from_bytes(head[2:4], "little")
        if group_le in (0x0002, 0x0008) and element_le < 0x0100:
            return "dicom-raw"
        if head[0:2] in (b"\x00\x02", b"\x00\x08") and head[2] == 0:
            return "dicom-raw"  # big endian without preamble
    return "unknown"


def pseudo_uid(data: bytes) -> str:
    """A stable UID for a non-DICOM file: ``2.25.`` + the first 128 bits of the SHA-1 of its
    bytes as a decimal integer (PS3.5 §B.2 UUID-derived form), so annotations can be keyed by
    content and survive renaming the file."""
    digest = hashlib.sha1(data, usedforsecurity=False).digest()[:16]
    return "2.25." + str(int.from_bytes(digest, "big"))


# --------------------------------------------------------------------------- reading


def _dcmread(
    path: Path, kind: str, *, stop_before_pixels: bool, defer_size: int | None = None
) -> Dataset:
    """pydicom.dcmread with every failure mapped to a typed error. ``force=True`` is used only
    for files whose first bytes already look like a preamble-less data set. ``defer_size``
    (bytes): top-level values longer than this are skipped, left for a deferred read."""
    try:
        with limits.BoundedFile(path) as handle:  # no read past the end (damaged lengths)
            return pydicom.dcmread(
                handle,
                stop_before_pixels=stop_before_pixels,
                force=(kind == "dicom-raw"),
                defer_size=defer_size,
            )
    except InvalidDicomError as exc:
        raise NotDicomError(path, "not a DICOM file") from exc
    except OSError as exc:
        if exc.errno is None:  # pydicom's own "no tag to read": the file system is fine
            raise CorruptHeaderError(path, f"damaged DICOM header ({_short(exc)})") from exc
        raise _unreadable(path, exc) from exc
    except Exception as exc:  # pydicom raises many types on damaged headers
        raise CorruptHeaderError(path, f"damaged DICOM header ({_short(exc)})") from exc


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_image(path: str | os.PathLike[str], frame: int = 0) -> RadiographImage:
    """Open one frame of an image file.

    DICOM is recognised by content (preamble + ``DICM``, or a preamble-less data set);
    PNG, JPEG and TIFF by their signatures and opened uncalibrated through Pillow.
    ``frame`` is 0-based (multi-frame DICOM, multi-page TIFF).

    Large native little-endian grey-scale pixel data is memory-mapped rather than read
    (:func:`_map_native_frame`); everything else is read whole, as pydicom reads it.

    Raises a subclass of :class:`~ovcf_viewer.model.errors.ImageLoadError`.
    """
    path = Path(path)
    kind = sniff_file_kind(_read_head(path))
    if kind in ("png", "jpeg", "tiff"):
        with limits.decoder_failures(path, "image data"):
            return _load_photo(path, frame)
    if kind == "empty":
        raise NotDicomError(path, "empty file")
    if kind == "unknown":
        raise NotDicomError(path, "not a DICOM file, nor a PNG, JPEG or TIFF image")
    with warnings.catch_warnings(), limits.header_failures(path):
        # pydicom warns about many harmless header oddities; they are not the user's concern.
        # Anything untyped escaping (a deferred element converted late) is a damaged header.
        warnings.simplefilter("ignore")
        ds = _dcmread(path, kind, stop_before_pixels=False, defer_size=_MAP_MIN_BYTES)
        mapped = _map_native_frame(ds, path, frame)
        if mapped is None and _has_deferred_value(ds):
            # not a mappable film: read the whole file exactly as for any other image
            ds = _dcmread(path, kind, stop_before_pixels=False)
        try:
            return _image_from_dataset(ds, frame, path, mapped)
        except NoPixelDataError as exc:
            if _has_pixel_data_tag(path):
                # pydicom drops a data set whose Pixel Data is cut short by the end of file
                raise CorruptPixelDataError(
                    path, "file truncated: the pixel data ends before the image is complete"
                ) from exc
            raise


def _has_deferred_value(ds: Dataset) -> bool:
    """Whether any top-level value of ``ds`` was skipped by ``defer_size`` (not yet read)."""
    return any(
        isinstance(elem, RawDataElement) and elem.value is None and elem.length
        for elem in ds.elements()
    )


#: File systems where a mapped file cannot vanish under us. Reading a mapped page of a file
#: whose device or share went away (a USB stick pulled, a network share dropped) kills the
#: process with SIGBUS, which no handler can turn into a message: such films are read.
_LOCAL_FILESYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "zfs", "tmpfs", "overlay"}
)


_MOUNT_TABLE = Path("/proc/self/mounts")


def _on_local_disk(path: Path) -> bool:
    """Whether ``path`` lies on one of :data:`_LOCAL_FILESYSTEMS` (Linux; elsewhere, and
    whenever the mount table cannot be read, ``False``: the film is read, not mapped)."""
    if sys.platform != "linux":
        return False
    try:
        real = os.path.realpath(path)
        mounts = _MOUNT_TABLE.read_text()
    except OSError:
        return False
    best, fstype = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > len(best):
            best, fstype = mount_point, fields[2]
    return fstype in _LOCAL_FILESYSTEMS


def _map_native_frame(ds: Dataset, path: Path, frame: int) -> np.ndarray | None:
    """Frame ``frame`` (0-based) as a read-only memory map of the file's Pixel Data, or
    ``None`` when the film does not qualify (the caller then reads the whole file as before).

    Qualifies: a data set read with its Pixel Data (7FE0,0010) deferred (longer than
    :data:`_MAP_MIN_BYTES`), in Implicit or Explicit VR Little Endian (PS3.5 §A.1-A.2), one
    sample per pixel, MONOCHROME1/2, Bits Allocated 8 or 16, Pixel Representation 0 or 1, and
    an element length of exactly rows × columns × frames × bytes (plus the one padding byte
    of an odd 8-bit total, PS3.5 §7.1.1). Only the bytes the caller touches are read from
    disk: a fitted first paint reads a screen's worth of rows, not the whole film.

    The values are those pydicom returns, bit for bit. pydicom clears the unused high bits
    when Bits Stored < Bits Allocated (unsigned: ``v & (2**bits_stored - 1)``; signed: sign
    extension from bit ``bits_stored - 1``; PS3.5 §8.1.1). That is the identity exactly when
    every value already lies in the Bits Stored range, so such a film qualifies only after a
    min/max scan of the frame shows it does (one pass over the mapped frame, no copy); a film
    with garbage in its high bits is read and corrected as before.

    Only films on a local disk are mapped (:func:`_on_local_disk`): on removable media and
    network shares a vanished file would kill the viewer. A file cut short inside its Pixel
    Data raises :class:`CorruptPixelDataError` (its size
    is checked before mapping). The mapping is read-only (writing raises ``ValueError``) and
    owns no Python file object: ``np.memmap`` closes the file it opened and the mapping is
    released when the array (the image's ``stored``) is garbage-collected; on Linux the map
    keeps one duplicated descriptor until then, and the file may be renamed, replaced or
    deleted meanwhile (the map keeps the old contents). Rewriting the file *in place* while
    it is shown changes or, if it is shortened, invalidates the mapped pixels; the viewer's
    own writes go through :mod:`ovcf_viewer.util.atomic` (replace, never in place). On
    Windows an open mapping locks the file: it cannot be deleted or replaced until the image
    is released.
    """
    elem = ds.get_item(_PIXEL_DATA_TAG, keep_deferred=True)
    if not isinstance(elem, RawDataElement) or elem.value is not None or not elem.length:
        return None
    if not elem.is_little_endian or elem.length == 0xFFFFFFFF:
        return None
    meta = getattr(ds, "file_meta", None)
    if str(_get(meta, "TransferSyntaxUID", "") if meta is not None else "") not in (
        _NATIVE_LITTLE_ENDIAN
    ):
        return None
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        bits_allocated, bits_stored = int(ds.BitsAllocated), int(ds.BitsStored)
        pixel_representation = int(ds.PixelRepresentation)
        samples = int(ds.SamplesPerPixel)
        photometric = str(ds.PhotometricInterpretation).strip().upper()
        frames_value = _get(ds, "NumberOfFrames", 1)
        frames = int(frames_value)
        if frames != _float(frames_value):
            return None
    except Exception:  # absent or unparsable: the full read reports it as it always has
        return None
    if (
        samples != 1
        or photometric not in _GREY_PHOTOMETRICS
        or bits_allocated not in (8, 16)
        or not 1 <= bits_stored <= bits_allocated
        or pixel_representation not in (0, 1)
        or rows < 1
        or columns < 1
        or not 0 <= frame < frames
    ):
        return None
    frame_bytes = rows * columns * (bits_allocated // 8)
    expected = frame_bytes * frames
    if elem.length not in (expected, expected + expected % 2):
        return None
    if not _on_local_disk(path):
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    timestamp = getattr(ds, "timestamp", None)
    if timestamp is not None and timestamp != status.st_mtime:
        return None  # changed since its header was read
    available = status.st_size - elem.value_tell
    if available < expected:
        raise CorruptPixelDataError(
            path, "file truncated: the pixel data ends before the image is complete "
            f"({max(0, available)} of {expected} bytes present)"
        )
    signed = pixel_representation == 1
    dtype = np.dtype(("<i" if signed else "<u") + str(bits_allocated // 8))
    try:
        mapped = np.memmap(
            path, dtype=dtype, mode="r", offset=elem.value_tell + frame * frame_bytes,
            shape=(rows, columns),
        )
    except (OSError, ValueError):
        return None
    pixels = mapped.view(np.ndarray)  # a plain array; its base keeps the mapping alive
    if bits_stored < bits_allocated:
        if signed:
            limit = 1 << (bits_stored - 1)
            in_range = int(pixels.min()) >= -limit and int(pixels.max()) < limit
        else:
            in_range = int(pixels.max()) < 1 << bits_stored
        if not in_range:
            return None  # high bits in use: pydicom's correction is needed
    return pixels


def _has_pixel_data_tag(path: Path) -> bool:
    """Whether the file's bytes contain a Pixel Data (7FE0,0010) tag in either byte order."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return b"\xe0\x7f\x10\x00" in data or b"\x7f\xe0\x00\x10" in data


# --------------------------------------------------------------------------- header values


def _get(ds: Dataset, keyword: str, default: Any = None) -> Any:
    """An element's value, or ``default`` when absent, empty or unparsable."""
    try:
        value = ds.get(keyword, None)
    except Exception:
        return default
    if value is None or value == "":
        return default
    return value


def _text(ds: Dataset, keyword: str) -> str:
    value = _get(ds, keyword, "")
    if isinstance(value, pydicom.multival.MultiValue):
        value = "\\".join(str(v) for v in value)
    return str(value).strip()


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if np.isfinite(result) else None


def _floats(value: Any) -> list[float]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple | pydicom.multival.MultiValue) else [value]
    result = []
    for item in items:
        number = _float(item)
        if number is not None:
            result.append(number)
    return result


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        return [str(v).strip() for v in value]
    return [str(value).strip()]


def _spacing(value: Any) -> tuple[float, float] | None:
    """A ``row\\column`` spacing pair in mm; ``None`` when absent or not two positive numbers."""
    numbers = _floats(value)
    if len(numbers) == 1:
        numbers = numbers * 2  # some writers store one value for square pixels
    if len(numbers) < 2 or numbers[0] <= 0 or numbers[1] <= 0:
        return None
    return numbers[0], numbers[1]


def _da(value: Any) -> date | None:
    text = str(value or "").strip().replace(".", "").replace("-", "")
    if len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _functional_item(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The item of functional-group macro ``sequence`` for ``frame`` in an enhanced
    multi-frame object (per-frame first, then shared; PS3.3 C.7.6.16)."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame),
                          ("SharedFunctionalGroupsSequence", 0)):
        seq = _get(ds, groups)
        if not seq or index >= len(seq):
            continue
        inner = _get(seq[index], sequence)
        if inner:
            return inner[0]
    return None


def _calibration_header(ds: Dataset, frame: int) -> CalibrationHeader:
    """Header values for docs/clinical-reference.md §1, from the top level or, for enhanced
    multi-frame objects, the Pixel Measures functional group."""
    pixel_spacing = _spacing(_get(ds, "PixelSpacing"))
    if pixel_spacing is None:
        measures = _functional_item(ds, frame, "PixelMeasuresSequence")
        if measures is not None:
            pixel_spacing = _spacing(_get(measures, "PixelSpacing"))
    extra: dict[str, str] = {}
    nominal = _spacing(_get(ds, "NominalScannedPixelSpacing"))
    if nominal is not None:
        extra["nominal_scanned_pixel_spacing"] = f"{nominal[0]:g}\\{nominal[1]:g}"
    aspect = _strings(_get(ds, "PixelAspectRatio"))
    if aspect:
        extra["pixel_aspect_ratio"] = "\\".join(aspect)
    ermf = _float(_get(ds, "EstimatedRadiographicMagnificationFactor"))
    sid = _float(_get(ds, "DistanceSourceToDetector"))
    sod = _float(_get(ds, "DistanceSourceToPatient"))
    return CalibrationHeader(
        modality=_text(ds, "Modality").upper(),
        pixel_spacing=pixel_spacing,
        imager_pixel_spacing=_spacing(_get(ds, "ImagerPixelSpacing")),
        magnification_factor=ermf if ermf and ermf > 0 else None,
        distance_source_to_detector=sid if sid and sid > 0 else None,
        distance_source_to_patient=sod if sod and sod > 0 else None,
        pixel_spacing_calibration_type=_text(ds, "PixelSpacingCalibrationType").upper(),
        pixel_spacing_calibration_description=_text(ds, "PixelSpacingCalibrationDescription"),
        extra=extra,
    )


def _patient_info(ds: Dataset) -> PatientInfo:
    acquisition = _text(ds, "AcquisitionDateTime") or (
        _text(ds, "AcquisitionDate") + _text(ds, "AcquisitionTime")
    )
    return PatientInfo(
        name=str(_get(ds, "PatientName", "") or "").replace("^", " ").strip(),
        patient_id=_text(ds, "PatientID"),
        birth_date=_da(_get(ds, "PatientBirthDate")),
        sex=_text(ds, "PatientSex"),
        study_date=_da(_get(ds, "StudyDate")) or _da(_get(ds, "SeriesDate")),
        study_description=_text(ds, "StudyDescription"),
        series_description=_text(ds, "SeriesDescription"),
        view_position=_text(ds, "ViewPosition"),
        body_part=_text(ds, "BodyPartExamined"),
        institution=_text(ds, "InstitutionName"),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        series_instance_uid=_text(ds, "SeriesInstanceUID"),
        acquisition_datetime=acquisition,
    )


def _lut_data(ds: Dataset, item: Dataset, entries: int) -> np.ndarray:
    """LUT Data (0028,3006), US list or OW bytes, as an integer array of ``entries`` values."""
    elem = item["LUTData"]
    value = elem.value
    if isinstance(value, bytes | bytearray | memoryview):
        little = True
        encoding = getattr(ds, "original_encoding", (None, True))
        if encoding and encoding[1] is False:
            little = False
        data = np.frombuffer(bytes(value), dtype="<u2" if little else ">u2")
    elif isinstance(value, int):
        data = np.asarray([value], dtype=np.int64)
    else:
        data = np.asarray(list(value), dtype=np.int64)
    if data.size < 1:
        raise ValueError("empty LUT Data")
    return np.ascontiguousarray(data[:entries]).astype(np.int64)


def _descriptor(item: Dataset, signed_input: bool) -> tuple[int, int, int]:
    """LUT Descriptor (0028,3002): entries (0 means 65536), first mapped value (signed when
    the input is signed, PS3.3 C.11.1.1.1), bits per entry."""
    values = [int(v) for v in item.LUTDescriptor]
    entries = values[0] or 65536
    first = values[1]
    if signed_input and first >= 32768:
        first -= 65536
    return entries, first, values[2]


def _modality_lut(ds: Dataset, frame: int, signed: bool, notes: list[str]) -> ModalityLut:
    """Modality LUT Sequence (0028,3000) or Rescale Slope/Intercept (PS3.3 C.11.1), with the
    enhanced Pixel Value Transformation functional group first."""
    transform = _functional_item(ds, frame, "PixelValueTransformationSequence")
    if transform is not None:
        slope = _float(_get(transform, "RescaleSlope"))
        intercept = _float(_get(transform, "RescaleIntercept"))
        if slope is not None and intercept is not None and slope != 0:
            return ModalityLut(slope=slope, intercept=intercept)
    seq = _get(ds, "ModalityLUTSequence")
    if seq:
        try:
            entries, first, _bits = _descriptor(seq[0], signed)
            table = _lut_data(ds, seq[0], entries)
            return ModalityLut(table=table, first_mapped=first)
        except Exception as exc:
            notes.append(f"Modality LUT Sequence ignored ({_short(exc, 80)})")
    slope = _float(_get(ds, "RescaleSlope"))
    intercept = _float(_get(ds, "RescaleIntercept"))
    if slope is None or slope == 0:
        slope = 1.0
    return ModalityLut(slope=slope, intercept=intercept or 0.0)


def _windows(source: Dataset, notes: list[str]) -> tuple[VoiWindow, ...]:
    """Window Center/Width pairs (0028,1050/1051) with explanations (0028,1055) and VOI LUT
    Function (0028,1056), PS3.3 C.11.2.1.2. Invalid widths are dropped with a note."""
    centers = _floats(_get(source, "WindowCenter"))
    widths = _floats(_get(source, "WindowWidth"))
    explanations = _strings(_get(source, "WindowCenterWidthExplanation"))
    function = _text(source, "VOILUTFunction").upper() or "LINEAR"
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        notes.append(f"unknown VOI LUT Function {function!r}: using LINEAR")
        function = "LINEAR"
    windows = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        valid = width >= 1.0 if function == "LINEAR" else width > 0.0  # C.11.2.1.2/3
        if not valid:
            notes.append(f"window {i + 1} ignored: width {width:g} is not valid for {function}")
            continue
        explanation = explanations[i] if i < len(explanations) else ""
        windows.append(VoiWindow(center, width, function, explanation))
    return tuple(windows)


def _voi_luts(ds: Dataset, signed_input: bool, notes: list[str]) -> tuple[VoiLutTable, ...]:
    tables = []
    for i, item in enumerate(_get(ds, "VOILUTSequence") or ()):
        try:
            entries, first, bits = _descriptor(item, signed_input)
            data = _lut_data(ds, item, entries)
            top = int(data.max())
            if bits < 1 or bits > 16 or top >= 2**bits:
                bits = max(8, top.bit_length())  # descriptors that misstate the depth
            tables.append(
                VoiLutTable(first, bits, data, _text(item, "LUTExplanation") or f"VOI LUT {i + 1}")
            )
        except Exception as exc:
            notes.append(f"VOI LUT {i + 1} ignored ({_short(exc, 80)})")
    return tuple(tables)


# --------------------------------------------------------------------------- pixel data


def _unsupported_compression(path: Path | None, ts: UID, missing: list[str]) -> ImageLoadError:
    name = ts.name if ts.is_valid else str(ts)
    package = _DECODER_PACKAGES.get(str(ts))
    if package:
        hint = f"install {package}"
        if missing:
            hint += f" ({'; '.join(missing)})"
        message = f"pixel data compressed as {name} ({ts}): no decoder installed; {hint}"
        needed: tuple[str, ...] = (package,)
    else:
        message = f"pixel data compressed as {name} ({ts}): no Python decoder exists for it"
        needed = ()
    return UnsupportedCompressionError(path, message, transfer_syntax_uid=str(ts), missing=needed)


def _transfer_syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    ts = _get(meta, "TransferSyntaxUID") if meta is not None else None
    if ts:
        return UID(str(ts))
    # A preamble-less data set read with force: pydicom knows how it was encoded.
    implicit, little = getattr(ds, "original_encoding", (True, True))
    if little is False:
        ts = UID("1.2.840.10008.1.2.2")
    else:
        ts = UID("1.2.840.10008.1.2" if implicit in (True, None) else "1.2.840.10008.1.2.1")
    if not hasattr(ds, "file_meta"):
        ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    return ts


def _decode_frame(
    ds: Dataset, ts: UID, frame: int, path: Path | None, bits_allocated: int, bits_stored: int
) -> tuple[np.ndarray, str]:
    """Decode one frame exactly once: ``(array, photometric after decoding)``."""
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(ts)
    except NotImplementedError as exc:
        raise _unsupported_compression(path, ts, []) from exc
    if not decoder.is_available:
        raise _unsupported_compression(path, ts, list(decoder.missing_dependencies))
    options: dict[str, Any] = {"index": frame, "raw": False}
    if ts.is_transfer_syntax and not ts.is_compressed and bits_allocated == bits_stored:
        options["view_only"] = True  # a read-only view on the file's bytes: no copy
    try:
        arr, meta = decoder.as_array(ds, **options)
    except ValueError as exc:
        text = str(exc)
        if "less than expected" in text or "insufficient pixel data" in text:
            raise CorruptPixelDataError(
                path, f"pixel data truncated or incomplete ({_short(exc, 120)})"
            ) from exc
        raise CorruptPixelDataError(path, f"pixel data cannot be decoded ({_short(exc)})") from exc
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        # Damaged data, or one of the rare streams only GDCM decodes (pydicom's JPEG-lossy).
        raise CorruptPixelDataError(
            path, f"{ts.name} pixel data cannot be decoded: damaged, or needs another decoder "
            f"such as python-gdcm ({_short(exc, 120)})"
        ) from exc
    return arr, str(meta.get("photometric_interpretation", ""))


def _grey_from_rgb(rgb: np.ndarray) -> np.ndarray | None:
    """Luminance (Rec. 601, as JPEG's Y) as uint8 when an RGB frame is grey in content (a
    radiograph saved in colour); ``None`` when it has real colour. Judged on a subsample."""
    sample = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].astype(np.int16)
    spread = np.ptp(sample, axis=2)
    if sample.size == 0 or np.count_nonzero(spread > 6) > 0.001 * spread.size:
        return None
    weights = np.array([77, 150, 29], dtype=np.uint32)  # 0.299, 0.587, 0.114 in 1/256
    grey = (rgb.astype(np.uint32) @ weights + 128) >> 8
    return np.ascontiguousarray(grey.astype(np.uint8))


def _to_rgb8(arr: np.ndarray, bits: int) -> np.ndarray:
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    shift = max(0, bits - 8)
    return np.ascontiguousarray((arr.astype(np.uint32) >> shift).clip(0, 255).astype(np.uint8))


def image_from_dataset(
    ds: Dataset, frame: int = 0, path: str | os.PathLike[str] | None = None
) -> RadiographImage:
    """Build a :class:`RadiographImage` from a data set read with its pixel data."""
    path = Path(path) if path is not None else None
    with limits.header_failures(path):
        return _image_from_dataset(ds, frame, path, None)


def image_from_decoded(
    ds: Dataset, frame: int, path: str | os.PathLike[str] | None, pixels: np.ndarray
) -> RadiographImage:
    """Build a :class:`RadiographImage` from a data set whose frame ``frame`` was decoded
    elsewhere (:mod:`ovcf_viewer.io.progressive`): ``pixels`` (rows × columns, grey) stand
    for what pydicom's decode returns and become ``stored`` as they are; every header value
    is read here as for :func:`load_image`."""
    return _image_from_dataset(ds, frame, Path(path) if path is not None else None, pixels)


def _image_from_dataset(
    ds: Dataset, frame: int, path: Path | None, mapped: np.ndarray | None
) -> RadiographImage:
    """:func:`image_from_dataset`, with ``mapped`` the frame from :func:`_map_native_frame`
    when :func:`load_image` mapped it (then nothing is decoded)."""
    notes: list[str] = []
    meta = getattr(ds, "file_meta", None)
    sop_class_uid = _text(ds, "SOPClassUID") or (
        _text(meta, "MediaStorageSOPClassUID") if meta is not None else ""
    )
    sop_class_name = UID(sop_class_uid).name if sop_class_uid else ""
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise UnsupportedImageError(
                path, f"floating-point pixel data ({sop_class_name or 'unknown SOP class'}) "
                "is not a radiograph the viewer displays"
            )
        raise NoPixelDataError(
            path, _no_pixel_message(ds, sop_class_name),
            sop_class_uid=sop_class_uid, sop_class_name=sop_class_name,
        )

    missing = [k for k in ("Rows", "Columns", "BitsAllocated") if _get(ds, k) is None]
    if missing:
        raise CorruptHeaderError(path, f"image description incomplete: no {', '.join(missing)}")
    # One integer each, in range, before anything is sized from them (ovcf_viewer.io.limits).
    rows, columns = limits.header_int(ds, "Rows", path), limits.header_int(ds, "Columns", path)
    bits_allocated = limits.header_int(ds, "BitsAllocated", path)
    bits_stored = limits.header_int(ds, "BitsStored", path, default=bits_allocated)
    if not 1 <= bits_stored <= bits_allocated:
        notes.append(f"Bits Stored {bits_stored} invalid: using Bits Allocated")
        bits_stored = bits_allocated
        ds.BitsStored = bits_stored
    pixel_representation = limits.header_int(ds, "PixelRepresentation", path, default=0)
    samples = limits.header_int(ds, "SamplesPerPixel", path, default=1)
    photometric = _text(ds, "PhotometricInterpretation").upper()
    if not photometric:
        photometric = "MONOCHROME2" if samples == 1 else "RGB"
        notes.append(f"no Photometric Interpretation: assumed {photometric}")
        ds.PhotometricInterpretation = photometric
    if rows < 1 or columns < 1:
        raise UnsupportedImageError(path, f"empty image ({rows} × {columns} pixels)")
    if bits_allocated > 16:
        raise UnsupportedImageError(
            path, f"{bits_allocated}-bit pixel data ({sop_class_name or 'unknown SOP class'}) "
            "is not a radiograph the viewer displays (8-16 bit only)"
        )
    if samples not in (1, 3):
        raise UnsupportedImageError(path, f"{samples} samples per pixel are not supported")
    try:
        number_of_frames = int(_float(_get(ds, "NumberOfFrames", 1)) or 1)
    except (TypeError, ValueError):
        number_of_frames = 1
    number_of_frames = max(1, number_of_frames)
    if not 0 <= frame < number_of_frames:
        raise FrameOutOfRangeError(
            path, f"frame {frame} asked for, the image has {number_of_frames} frame(s) "
            f"(0-{number_of_frames - 1})"
        )

    ts = _transfer_syntax(ds)
    limits.check_pixel_budget(
        path, rows, columns, samples, bits_allocated,
        compressed=mapped is None and ts.is_transfer_syntax and ts.is_compressed,
    )
    if mapped is not None:
        arr, decoded_photometric = mapped, photometric
    else:
        with limits.decoder_failures(path, f"{ts.name} pixel data"):
            if ts in JPEG2000TransferSyntaxes:
                limits.check_jp2_boxes(generate_fragments(ds.PixelData), path)
            arr, decoded_photometric = _decode_frame(
                ds, ts, frame, path, bits_allocated, bits_stored
            )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or arr.shape[:2] != (rows, columns):
        raise CorruptPixelDataError(
            path, f"decoded frame is {arr.shape}, the header says {rows} × {columns}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise UnsupportedImageError(path, f"{arr.dtype} pixel values are not supported")
    if not arr.dtype.isnative:  # big endian data: one byte swap, so LUT indexing is direct
        arr = arr.astype(arr.dtype.newbyteorder("="))

    if samples == 1 and arr.ndim == 3:
        notes.append("one sample per pixel in the header, colour in the pixel data")
        samples = 3
    if samples == 1 and photometric in _GREY_PHOTOMETRICS:
        stored = arr
        out_photometric = photometric
    elif samples == 1 and photometric == "PALETTE COLOR":
        from pydicom.pixels.processing import apply_color_lut

        try:
            rgb = apply_color_lut(arr, ds)
        except Exception as exc:
            raise CorruptHeaderError(path, f"palette colour LUT unusable ({_short(exc)})") from exc
        top = int(rgb.max()) if rgb.size else 0
        stored = _to_rgb8(rgb, 16 if top > 255 else 8)
        out_photometric = "RGB"
    elif samples == 1:
        notes.append(f"Photometric Interpretation {photometric} shown as MONOCHROME2")
        stored, out_photometric = arr, "MONOCHROME2"
    else:
        if arr.ndim != 3:
            raise CorruptPixelDataError(path, "colour image decoded without colour samples")
        if decoded_photometric.startswith("YBR") and not decoded_photometric.startswith("YBR_FULL"):
            notes.append(f"{decoded_photometric} colour shown as decoded")
        stored = _to_rgb8(arr, bits_stored)
        out_photometric = "RGB"
        grey = _grey_from_rgb(stored)
        if grey is not None:
            stored, out_photometric = grey, "MONOCHROME2"
            notes.append("colour image with grey content: shown as greyscale luminance")
    if stored.ndim == 3 or out_photometric == "RGB":
        bits_stored, pixel_representation = 8, 0
    elif stored.dtype == np.uint8 and out_photometric == "MONOCHROME2" and samples == 3:
        bits_stored, pixel_representation = 8, 0
    elif bits_allocated == 1:
        bits_stored = 1

    signed = pixel_representation == 1
    voi_source = _functional_item(ds, frame, "FrameVOILUTSequence") or ds
    windows = _windows(voi_source, notes) if stored.ndim == 2 else ()
    if not windows and voi_source is not ds and stored.ndim == 2:
        windows = _windows(ds, notes)
    modality_lut = _modality_lut(ds, frame, signed, notes) if stored.ndim == 2 else ModalityLut()
    voi_input_signed = signed or modality_lut.intercept < 0
    voi_luts = _voi_luts(ds, voi_input_signed, notes) if stored.ndim == 2 else ()

    shape = _text(ds, "PresentationLUTShape").upper()
    if shape not in ("", "IDENTITY", "INVERSE"):
        notes.append(f"Presentation LUT Shape {shape!r} not understood: ignored")
        shape = ""
    uid = _text(ds, "SOPInstanceUID") or (
        _text(meta, "MediaStorageSOPInstanceUID") if meta is not None else ""
    )
    if not uid:
        uid = pseudo_uid(
            ds.PixelData[:1_000_000] if isinstance(ds.PixelData, bytes) else b""
        )
        notes.append("no SOP Instance UID: a content-derived one is used")
    for note in notes:
        log.info("%s: %s", path.name if path else "<dataset>", note)
    return RadiographImage(
        stored=stored,
        photometric=out_photometric,
        calibration_header=_calibration_header(ds, frame),
        sop_instance_uid=uid,
        path=path,
        frame_index=frame,
        number_of_frames=number_of_frames,
        modality=_text(ds, "Modality").upper(),
        transfer_syntax=str(ts),
        transfer_syntax_name=ts.name,
        bits_stored=bits_stored,
        pixel_representation=pixel_representation,
        modality_lut=modality_lut,
        windows=windows,
        voi_luts=voi_luts,
        presentation_lut_shape=shape,
        patient=_patient_info(ds),
        sop_class_uid=sop_class_uid,
        is_dicom=True,
        warnings=tuple(notes),
    )


def _no_pixel_message(ds: Dataset, sop_class_name: str) -> str:
    if "DirectoryRecordSequence" in ds or sop_class_name == "Media Storage Directory Storage":
        return "no image: this is a DICOMDIR (a CD's index); open its folder instead"
    if sop_class_name.endswith("Image Storage"):
        return f"no image: this {sop_class_name} file has no Pixel Data element"
    if sop_class_name:
        return f"no image in this DICOM file: it is a {sop_class_name} object"
    return "no image in this DICOM file (no Pixel Data, unknown SOP class)"


# --------------------------------------------------------------------------- photographs


def _load_photo(path: Path, frame: int) -> RadiographImage:
    """A PNG/JPEG/TIFF photograph or scan of a film, uncalibrated (docs/clinical-reference.md §1:
    lengths in px). Greyscale stays 2-D (uint8, or uint16 for 16-bit PNG/TIFF); colour becomes
    rows × columns × 3 uint8 RGB unless its content is grey. EXIF orientation is applied."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    notes: list[str] = []
    try:
        with Image.open(io.BytesIO(data)) as opened:
            frames = int(getattr(opened, "n_frames", 1) or 1)
            if not 0 <= frame < frames:
                raise FrameOutOfRangeError(
                    path, f"frame {frame} asked for, the image has {frames} page(s)"
                )
            if frame:
                opened.seek(frame)
            fmt = opened.format or path.suffix.lstrip(".").upper()
            picture = ImageOps.exif_transpose(opened) if fmt in ("JPEG", "TIFF", "PNG") else opened
            stored, photometric, bits = _photo_array(picture, notes)
    except ImageLoadError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise CorruptPixelDataError(path, f"image data cannot be decoded ({_short(exc)})") from exc
    if stored.size == 0:
        raise UnsupportedImageError(path, "empty image")
    info = PatientInfo(series_description=path.name)
    return RadiographImage(
        stored=stored,
        photometric=photometric,
        calibration_header=CalibrationHeader(modality="OT", extra={"format": str(fmt)}),
        sop_instance_uid=pseudo_uid(data),
        path=path,
        frame_index=frame,
        number_of_frames=frames,
        modality="OT",
        bits_stored=bits,
        pixel_representation=0,
        patient=info,
        is_dicom=False,
        warnings=tuple(notes),
    )


def _photo_array(picture: Any, notes: list[str]) -> tuple[np.ndarray, str, int]:
    mode = picture.mode
    if mode in ("L", "1"):
        return np.ascontiguousarray(np.asarray(picture.convert("L"))), "MONOCHROME2", 8
    if mode.startswith("I;16"):
        arr = np.asarray(picture).astype(np.uint16)
        return np.ascontiguousarray(arr), "MONOCHROME2", 16
    if mode in ("I", "F"):
        arr = np.asarray(picture)
        low, high = float(arr.min()), float(arr.max())
        if mode == "I" and low >= 0 and high <= 65535:
            return np.ascontiguousarray(arr.astype(np.uint16)), "MONOCHROME2", 16
        notes.append(f"{mode} image values {low:g}..{high:g} rescaled to 16 bits")
        scale = 65535.0 / (high - low) if high > low else 0.0
        arr = ((arr.astype(np.float64) - low) * scale).round().astype(np.uint16)
        return np.ascontiguousarray(arr), "MONOCHROME2", 16
    if mode in ("LA", "La"):
        return np.ascontiguousarray(np.asarray(picture.convert("L"))), "MONOCHROME2", 8
    if mode == "P" and picture.palette is not None and picture.palette.mode == "L":
        return np.ascontiguousarray(np.asarray(picture.convert("L"))), "MONOCHROME2", 8
    rgb = np.ascontiguousarray(np.asarray(picture.convert("RGB")))
    grey = _grey_from_rgb(rgb)
    if grey is not None:
        notes.append("colour image with grey content: shown as greyscale luminance")
        return grey, "MONOCHROME2", 8
    return rgb, "RGB", 8


# --------------------------------------------------------------------------- header only


@dataclass(frozen=True)
class HeaderSummary:
    """What a folder scan needs from one file, read without its pixel data.

    ``is_image`` is ``False`` for DICOM objects without pixel data (SR, RT plan, presentation
    state…); ``sop_class_name`` then says what it is.
    """

    path: Path
    is_dicom: bool
    is_image: bool
    sop_class_uid: str = ""
    sop_class_name: str = ""
    sop_instance_uid: str = ""
    #: Patient, study and series as the image loader reads them (one record, one reader).
    patient: PatientInfo = field(default_factory=PatientInfo)
    accession_number: str = ""
    series_number: int | None = None
    instance_number: int | None = None
    modality: str = ""
    rows: int = 0
    columns: int = 0
    number_of_frames: int = 1
    photometric: str = ""
    transfer_syntax: str = ""

    # The folder scan's names for the patient record's fields.
    @property
    def patient_name(self) -> str:
        return self.patient.name

    @property
    def patient_id(self) -> str:
        return self.patient.patient_id

    @property
    def patient_birth_date(self) -> date | None:
        return self.patient.birth_date

    @property
    def patient_sex(self) -> str:
        return self.patient.sex

    @property
    def study_instance_uid(self) -> str:
        return self.patient.study_instance_uid

    @property
    def study_date(self) -> date | None:
        return self.patient.study_date

    @property
    def study_description(self) -> str:
        return self.patient.study_description

    @property
    def series_instance_uid(self) -> str:
        return self.patient.series_instance_uid

    @property
    def series_description(self) -> str:
        return self.patient.series_description

    @property
    def view_position(self) -> str:
        return self.patient.view_position

    @property
    def body_part(self) -> str:
        return self.patient.body_part


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def read_header(path: str | os.PathLike[str]) -> HeaderSummary:
    """Read a file's header only (DICOM with ``stop_before_pixels``; PNG/JPEG/TIFF through
    Pillow's lazy open). Raises :class:`~ovcf_viewer.model.errors.ImageLoadError` subclasses for
    unreadable, non-image-format or damaged files; a DICOM object without pixel data is
    returned with ``is_image=False``."""
    path = Path(path)
    kind = sniff_file_kind(_read_head(path))
    if kind in ("png", "jpeg", "tiff"):
        return _photo_header(path)
    if kind == "empty":
        raise NotDicomError(path, "empty file")
    if kind == "unknown":
        raise NotDicomError(path, "not a DICOM file, nor a PNG, JPEG or TIFF image")
    with warnings.catch_warnings(), limits.header_failures(path):
        warnings.simplefilter("ignore")
        ds = _dcmread(path, kind, stop_before_pixels=True)
        return _dicom_header(path, ds)


def _dicom_header(path: Path, ds: Dataset) -> HeaderSummary:
    meta = getattr(ds, "file_meta", None)
    sop_class_uid = _text(ds, "SOPClassUID") or (
        _text(meta, "MediaStorageSOPClassUID") if meta is not None else ""
    )
    rows, columns = _int(_get(ds, "Rows")) or 0, _int(_get(ds, "Columns")) or 0
    is_image = rows > 0 and columns > 0 and _get(ds, "BitsAllocated") is not None
    if "DirectoryRecordSequence" in ds:
        is_image = False
    return HeaderSummary(
        path=path,
        is_dicom=True,
        is_image=is_image,
        sop_class_uid=sop_class_uid,
        sop_class_name=UID(sop_class_uid).name if sop_class_uid else "",
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        patient=_patient_info(ds),
        accession_number=_text(ds, "AccessionNumber"),
        series_number=_int(_get(ds, "SeriesNumber")),
        instance_number=_int(_get(ds, "InstanceNumber")),
        modality=_text(ds, "Modality").upper(),
        rows=rows,
        columns=columns,
        number_of_frames=max(1, _int(_get(ds, "NumberOfFrames")) or 1),
        photometric=_text(ds, "PhotometricInterpretation").upper(),
        transfer_syntax=_text(meta, "TransferSyntaxUID") if meta is not None else "",
    )


def _photo_header(path: Path) -> HeaderSummary:
    from PIL import Image, UnidentifiedImageError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            frames = int(getattr(opened, "n_frames", 1) or 1)
            mode = opened.mode
            orientation = opened.getexif().get(0x0112, 1) if hasattr(opened, "getexif") else 1
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise CorruptPixelDataError(path, f"image cannot be read ({_short(exc)})") from exc
    if orientation in (5, 6, 7, 8):  # EXIF transposes: displayed rotated by 90°
        width, height = height, width
    return HeaderSummary(
        path=path,
        is_dicom=False,
        is_image=True,
        sop_instance_uid=pseudo_uid(data),
        patient=PatientInfo(series_description=path.name),
        modality="OT",
        rows=height,
        columns=width,
        number_of_frames=frames,
        photometric="RGB" if mode in ("RGB", "RGBA", "CMYK", "YCbCr", "P") else "MONOCHROME2",
    )
