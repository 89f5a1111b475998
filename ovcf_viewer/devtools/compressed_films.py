"""Compressed copies of a film in the lossless DICOM transfer syntaxes, for benchmarks and
decoder tests: JPEG 2000 lossless and RLE through pydicom's own encoders, JPEG-LS lossless
and JPEG lossless (process 14, selection value 1) through imagecodecs (CharLS and
libjpeg-turbo), whose codestreams pydicom's decoders read.

``imagecodecs`` is imported on use (it is a runtime dependency for the full-resolution
JPEG 2000 decode, never on the start-up path).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LOSSLESS_SYNTAXES", "compress_film"]

#: Name → transfer syntax UID of what :func:`compress_film` writes.
LOSSLESS_SYNTAXES = {
    "jpeg2000": "1.2.840.10008.1.2.4.90",
    "jpegls": "1.2.840.10008.1.2.4.80",
    "jpeg_lossless": "1.2.840.10008.1.2.4.70",
    "rle": "1.2.840.10008.1.2.5",
}


def compress_film(source: str | Path, target: str | Path, kind: str) -> Path:
    """Write ``source`` (a native single-frame grey DICOM film) to ``target`` with its Pixel
    Data losslessly compressed as ``kind`` (a key of :data:`LOSSLESS_SYNTAXES`); every
    other element is kept. Returns ``target``."""
    import numpy as np
    import pydicom
    from pydicom.encaps import encapsulate
    from pydicom.uid import UID

    if kind not in LOSSLESS_SYNTAXES:
        raise ValueError(f"kind must be one of {', '.join(LOSSLESS_SYNTAXES)}, not {kind!r}")
    ds = pydicom.dcmread(source)
    pixels = np.ascontiguousarray(ds.pixel_array)
    syntax = UID(LOSSLESS_SYNTAXES[kind])
    if kind in ("jpeg2000", "rle"):
        plugin = "pylibjpeg" if kind == "jpeg2000" else "pydicom"
        ds.compress(syntax, pixels, encoding_plugin=plugin, generate_instance_uid=False)
    else:
        import imagecodecs

        bits = int(ds.BitsStored)
        if kind == "jpegls":
            stream = imagecodecs.jpegls_encode(pixels, level=0)
        else:
            stream = imagecodecs.jpeg8_encode(pixels, lossless=True, predictor=1,
                                              bitspersample=bits)
        ds.PixelData = encapsulate([bytes(stream)])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = syntax
        ds["PixelData"].is_undefined_length = True
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target
