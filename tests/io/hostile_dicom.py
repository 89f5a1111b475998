"""Hostile DICOM files built with pydicom in the test (no binary blobs): each reproduces one
way a damaged or malicious file used to hang, exhaust memory or crash the loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataelem import DataElement
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, RLELossless

from tests.dicom_builders import make_dataset, save

#: The JP2 signature box (ISO/IEC 15444-1 I.5.1) and file-type box that open every JP2 file.
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
JP2_FTYP = b"\x00\x00\x00\x14ftypjp2 \x00\x00\x00\x00jp2 "


def jp2_zero_length_box(path: Path) -> Path:
    """A ~1.4 KB JPEG 2000 film whose codestream is wrapped in a JP2 header with a box of
    length 0 before the codestream box: pydicom's parameter reader never advances past it."""
    ds = make_dataset(np.zeros((8, 8), np.uint8))
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    frame = JP2_SIGNATURE + JP2_FTYP + b"\x00\x00\x00\x00jp2h" + bytes(1300)
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return save(ds, path)


def rle_claiming(path: Path, rows: int, columns: int, *, rgb: bool) -> Path:
    """A tiny RLE file whose header claims ``rows × columns`` (8-bit grey or RGB) while its
    one segment holds a handful of bytes."""
    shape = (4, 4, 3) if rgb else (4, 4)
    ds = make_dataset(np.zeros(shape, np.uint8))
    ds.compress(RLELossless)
    ds.Rows, ds.Columns = rows, columns
    return save(ds, path)


def rle_damaged_segments(path: Path) -> Path:
    """An RLE film whose header says 3 segments where the data holds one, with offsets past
    the end: the Rust decoder panics on such input."""
    ds = make_dataset(np.arange(64, dtype=np.uint8).reshape(8, 8))
    ds.compress(RLELossless)
    header = (3).to_bytes(4, "little") + (64).to_bytes(4, "little")
    header += (10_000).to_bytes(4, "little") + (20).to_bytes(4, "little") + bytes(64 - 16)
    ds.PixelData = encapsulate([header + b"\x81\x00" * 40])
    ds["PixelData"].VR = "OB"
    return save(ds, path)


def multivalued(path: Path, keyword: str, value: list[int]) -> Path:
    """A native film whose ``keyword`` (Rows, Columns, BitsAllocated…) holds several values."""
    ds = make_dataset(np.zeros((8, 8), np.uint16))
    vr = ds[keyword].VR
    ds[keyword] = DataElement(ds[keyword].tag, vr, value)
    return save(ds, path)


def huge_frame_count(path: Path) -> Path:
    """Rows = Columns = 65535 and Number of Frames 2147483647 over 128 bytes of pixel data."""
    ds = make_dataset(np.zeros((8, 8), np.uint16))
    ds.Rows, ds.Columns = 65535, 65535
    ds.NumberOfFrames = 2147483647
    return save(ds, path)


def ermf_underflow(path: Path) -> Path:
    """A DX film whose Estimated Radiographic Magnification Factor (1e300) is so large that
    Imager Pixel Spacing divided by it is no pixel spacing (it underflows towards 0 mm)."""
    ds = make_dataset(
        np.zeros((8, 8), np.uint16),
        ImagerPixelSpacing=[0.14, 0.14],
        EstimatedRadiographicMagnificationFactor="1e300",
    )
    return save(ds, path)
