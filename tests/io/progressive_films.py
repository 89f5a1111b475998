"""Small compressed films for the progressive-open tests (built with pydicom's and
imagecodecs' encoders; every value known)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

from ovcf_viewer.devtools.compressed_films import compress_film
from ovcf_viewer.devtools.synthetic import write_dicom

ROWS, COLS = 640, 520


def pattern(rows: int = ROWS, cols: int = COLS, bits: int = 12, seed: int = 0) -> np.ndarray:
    """Smooth gradients, noise and a bright block at rows 128..191, columns 256..319 (the
    block's position is what the preview geometry test checks)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    top = (1 << bits) - 1
    values = (yy * 0.4 + xx * 0.3 + rng.integers(0, 64, (rows, cols))) % (top // 2)
    values[128:192, 256:320] = top - rng.integers(0, 8, (64, 64))
    return values.astype(np.uint16)


def native_film(folder: Path, name: str = "native.dcm", pixels: np.ndarray | None = None,
                **meta) -> Path:
    pixels = pattern() if pixels is None else pixels
    meta.setdefault("windows", [(2048.0, 4096.0, "FULL")])
    return write_dicom(folder / name, pixels, spacing=(0.16, 0.10), **meta)


def film(folder: Path, kind: str, name: str | None = None, pixels: np.ndarray | None = None,
         **meta) -> Path:
    """``pattern()`` (or ``pixels``) written natively, then compressed as ``kind``."""
    source = native_film(folder, f"source-{kind}-{name or ''}.dcm", pixels, **meta)
    return compress_film(source, folder / (name or f"{kind}.dcm"), kind)


def signed_j2k_film(folder: Path) -> Path:
    """A 16-bit signed (Pixel Representation 1) JPEG 2000 lossless film with negative
    values."""
    source = native_film(folder, "signed-source.dcm")
    ds = pydicom.dcmread(source)
    values = pattern(bits=16).astype(np.int32) - 30000
    ds.PixelRepresentation = 1
    ds.BitsStored, ds.HighBit = 16, 15
    ds.WindowCenter, ds.WindowWidth = 0.0, 60000.0
    ds.PixelData = values.astype("<i2").tobytes()
    signed = folder / "signed-native.dcm"
    ds.save_as(signed, enforce_file_format=True)
    return compress_film(signed, folder / "signed-j2k.dcm", "jpeg2000")


def pydicom_pixels(path: Path) -> np.ndarray:
    return pydicom.dcmread(path).pixel_array


def require_system_openjpeg() -> None:
    """Progressive opening decodes reduced JPEG 2000 levels through the system's OpenJPEG
    (Debian ``libopenjp2-7``, which ``.ci/run`` installs). Under CI its absence fails the
    run; on a developer's machine without it the progressive tests are skipped, saying why
    (the app itself then opens such films whole)."""
    import os

    import pytest

    from ovcf_viewer.io import openjpeg_reduced

    try:
        openjpeg_reduced._load()
    except openjpeg_reduced.ReducedDecodeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{exc}: install the system package libopenjp2-7", allow_module_level=True)
