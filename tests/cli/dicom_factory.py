"""Small DICOM files with chosen calibration tags, for command-line tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def write_dx(
    path: Path,
    rows: int = 600,
    cols: int = 500,
    *,
    imager_spacing=(0.16, 0.10),
    pixel_spacing=None,
    ermf=None,
    uid: str | None = None,
) -> str:
    """A uint16 DX image; returns its SOP Instance UID."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = uid or generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PatientName = "TEST^PATIENT"
    ds.PatientID = "T-1"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if imager_spacing is not None:
        ds.ImagerPixelSpacing = list(imager_spacing)
    if pixel_spacing is not None:
        ds.PixelSpacing = list(pixel_spacing)
    if ermf is not None:
        ds.EstimatedRadiographicMagnificationFactor = ermf
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = (np.arange(rows * cols, dtype=np.uint16) % 4096).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds.SOPInstanceUID
