"""Small DICOM files built in tests with pydicom (no binary fixtures to trust)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

DX_FOR_PRESENTATION = UID("1.2.840.10008.5.1.4.1.1.1.1")
CR_IMAGE = UID("1.2.840.10008.5.1.4.1.1.1")
SECONDARY_CAPTURE = UID("1.2.840.10008.5.1.4.1.1.7")
COMPREHENSIVE_SR = UID("1.2.840.10008.5.1.4.1.1.88.33")


def make_dataset(
    pixels: np.ndarray,
    *,
    photometric: str | None = None,
    bits_stored: int | None = None,
    transfer_syntax: UID = ExplicitVRLittleEndian,
    sop_class: UID = DX_FOR_PRESENTATION,
    modality: str = "DX",
    frames: int | None = None,
    **elements: object,
) -> Dataset:
    """A data set holding ``pixels`` natively encoded (rows × cols, frames × rows × cols, or
    rows × cols × 3 uint8 RGB). ``elements`` are set as keyword=value afterwards."""
    pixels = np.ascontiguousarray(pixels)
    color = pixels.ndim == 3 and pixels.shape[-1] == 3 and frames is None
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.PatientName = "Test^Patient"
    ds.PatientID = "T1"
    if frames is not None:
        ds.NumberOfFrames = frames
        rows, cols = pixels.shape[1:3]
    else:
        rows, cols = pixels.shape[:2]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 3 if color else 1
    if color:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric or ("RGB" if color else "MONOCHROME2")
    bits_allocated = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored or bits_allocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    if transfer_syntax == UID("1.2.840.10008.1.2.2"):
        ds.PixelData = pixels.astype(pixels.dtype.newbyteorder(">")).tobytes()
    else:
        ds.PixelData = pixels.tobytes()
    ds["PixelData"].VR = "OW" if bits_allocated > 8 else "OB"
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return ds


def save(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def make_file(path: Path, pixels: np.ndarray, **kwargs: object) -> Path:
    return save(make_dataset(pixels, **kwargs), path)
