"""A mutational fuzz target for the DICOM loader, seeded with the sample films (their headers
over small pixel data), small films built here in every encoding, and pydicom's test files.

Each input is one seed mutated at the byte level (flips, interesting integers over length
and value fields, insertions, deletions, truncation) or the element level (the elements that
size an image set to hostile values, removed, or multi-valued; the transfer syntax swapped).
The property: :func:`ovcf_viewer.io.dicom.load_image` returns an image that renders, or
raises a typed :class:`~ovcf_viewer.model.errors.ImageLoadError` with a one-line message that
did not come from running out of memory; each input within :data:`PER_INPUT_SECONDS`.

``python -m tests.io.loader_fuzz --examples N --seconds S --rlimit-mb M`` runs it in its own
process (the test does so, under an address-space limit, so a runaway allocation fails the
run instead of the machine); ``scripts/fuzz_loader_atheris.py`` drives the same check
with atheris' coverage guidance for long runs.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.uid import (
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
)

from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.model.errors import ImageLoadError
from tests.dicom_builders import make_dataset

__all__ = ["PER_INPUT_SECONDS", "check_input", "seeds"]

PER_INPUT_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[2]


def _to_bytes(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _small_films() -> list[bytes]:
    """One small film per encoding and pixel layout the loader handles."""
    grey16 = (np.arange(48 * 40, dtype=np.uint16).reshape(48, 40) * 5) & 0x0FFF
    grey8 = (np.arange(48 * 40) % 256).astype(np.uint8).reshape(48, 40)
    rgb = np.stack([grey8, grey8[::-1], grey8 // 2], axis=-1)
    films = [
        make_dataset(grey16, bits_stored=12, WindowCenter=2048, WindowWidth=4096,
                     RescaleSlope=1, RescaleIntercept=-1024),
        make_dataset(grey8, photometric="MONOCHROME1"),
        make_dataset(grey16.astype(np.int16) - 2048, bits_stored=12),
        make_dataset(rgb),
        make_dataset(np.stack([grey16] * 3), frames=3),
        make_dataset(grey16, transfer_syntax=ExplicitVRBigEndian),
        make_dataset(grey16, transfer_syntax=ImplicitVRLittleEndian),
    ]
    for syntax, pixels in ((RLELossless, grey16), (RLELossless, rgb),
                           (JPEG2000Lossless, grey16), (JPEG2000Lossless, grey8)):
        ds = make_dataset(pixels)
        ds.compress(syntax)
        films.append(ds)
    from PIL import Image
    from pydicom.encaps import encapsulate

    jpeg = io.BytesIO()
    Image.fromarray(grey8).save(jpeg, format="JPEG", quality=90)
    ds = make_dataset(grey8, transfer_syntax=JPEGBaseline8Bit)
    ds.PixelData = encapsulate([jpeg.getvalue()])
    ds["PixelData"].VR = "OB"
    films.append(ds)
    return [_to_bytes(ds) for ds in films]


def _sample_headers() -> list[bytes]:
    """The bundled sample films' own headers (calibration, windows, patient) over 48 × 40
    pixels, natively and, for the JPEG 2000 variant, compressed as the original is."""
    out = []
    pixels = (np.arange(48 * 40, dtype=np.uint16).reshape(48, 40) * 3) & 0x0FFF
    for path in sorted((ROOT / "sample_dicom").rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        compressed = ds.file_meta.TransferSyntaxUID.is_compressed
        if compressed:
            ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.Rows, ds.Columns = pixels.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelRepresentation, ds.SamplesPerPixel = 0, 1
        ds.PixelData = pixels.tobytes()
        ds["PixelData"].VR = "OW"
        if compressed:
            ds.compress(JPEG2000Lossless)
        out.append(_to_bytes(ds))
    return out


def _pydicom_files(limit_bytes: int = 64_000) -> list[bytes]:
    from pydicom.data import get_testdata_files

    out = []
    for name in sorted(get_testdata_files()):
        path = Path(name)
        if (path.is_file() and path.stat().st_size <= limit_bytes
                and path.suffix in ("", ".dcm")):
            out.append(path.read_bytes())
    return out


@cache
def seeds() -> tuple[bytes, ...]:
    """Every seed, small first (the shrinker prefers low indices)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(_small_films() + _sample_headers() + _pydicom_files())


# ------------------------------------------------------------------ mutations

INTERESTING_INTS = (0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                    0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)

#: Elements that size or interpret the pixel data, with values a hostile file may hold.
HOSTILE_ELEMENTS: dict[str, tuple[object, ...]] = {
    "Rows": (0, 1, 65535, [8, 8], 4096),
    "Columns": (0, 1, 65535, [8, 8], 4096),
    "BitsAllocated": (0, 1, 7, 12, 32, 64, 255, [16, 16]),
    "BitsStored": (0, 1, 17, 64, [12, 12]),
    "HighBit": (0, 31, 255),
    "SamplesPerPixel": (0, 2, 3, 4, 255, [1, 1]),
    "PixelRepresentation": (1, 2, [0, 1]),
    "PlanarConfiguration": (1, 2),
    "NumberOfFrames": ("0", "-1", "2147483647", "1.5", "abc", ["2", "3"]),
    "PhotometricInterpretation": ("PALETTE COLOR", "YBR_FULL_422", "RGB", "ZZZ", ""),
    "WindowCenter": ("nan", "1e309", ["1", "2", "3"]),
    "WindowWidth": ("0", "-5", "inf"),
    "RescaleSlope": ("0", "nan", "1e308"),
    "RescaleIntercept": ("1e308", "-inf"),
    "PixelSpacing": (["0", "0"], ["-1", "1"], ["1e-320", "1e-320"], ["nan"]),
    "ImagerPixelSpacing": (["1e308", "1e308"], ["0"]),
    "EstimatedRadiographicMagnificationFactor": ("1e300", "0", "-1", "nan"),
    "PixelAspectRatio": (["0", "1"], ["1", "0"], ["1e308", "1"]),
    "VOILUTFunction": ("SIGMOID", "?"),
    "PresentationLUTShape": ("INVERSE", "??"),
}

TRANSFER_SYNTAXES = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                     "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.50",
                     "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.1.99", "1.2.3.4")


def mutate_bytes(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Apply byte-level operations ``(kind, position, value)`` (position modulo the length)."""
    buffer = bytearray(data)
    for kind, position, value in ops:
        if not buffer:
            break
        at = position % len(buffer)
        if kind == 0:  # flip one bit
            buffer[at] ^= 1 << (value % 8)
        elif kind == 1:  # one byte
            buffer[at] = value & 0xFF
        elif kind == 2:  # an interesting 32-bit integer over a length or value field
            number = INTERESTING_INTS[value % len(INTERESTING_INTS)]
            buffer[at : at + 4] = number.to_bytes(4, "little" if value % 2 == 0 else "big")
        elif kind == 3:  # insert
            buffer[at:at] = bytes([value & 0xFF]) * (1 + value % 16)
        elif kind == 4:  # delete
            del buffer[at : at + 1 + value % 64]
        else:  # truncate
            del buffer[max(132, at):]
    return bytes(buffer)


def mutate_elements(data: bytes, edits: list[tuple[int, int]]) -> bytes | None:
    """Set image-sizing elements to hostile values, delete them, or swap the transfer syntax
    (``edits`` are ``(which, choice)`` index pairs); ``None`` when the seed or the edited
    data set cannot be written."""
    keywords = sorted(HOSTILE_ELEMENTS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            for which, choice in edits:
                if which % (len(keywords) + 2) == len(keywords):
                    if not hasattr(ds, "file_meta"):
                        ds.file_meta = pydicom.dataset.FileMetaDataset()
                    ds.file_meta.TransferSyntaxUID = TRANSFER_SYNTAXES[
                        choice % len(TRANSFER_SYNTAXES)]
                    continue
                keyword = keywords[which % len(keywords)]
                if which % (len(keywords) + 2) == len(keywords) + 1 or choice % 7 == 6:
                    if keyword in ds:
                        del ds[keyword]
                    continue
                values = HOSTILE_ELEMENTS[keyword]
                value = values[choice % len(values)]
                tag = pydicom.datadict.tag_for_keyword(keyword)
                vr = pydicom.datadict.dictionary_VR(tag)
                ds[tag] = DataElement(tag, vr, value)
            buffer = io.BytesIO()
            ds.save_as(buffer, implicit_vr=ds.original_encoding[0] is True
                       if getattr(ds, "original_encoding", None) else None)
            return buffer.getvalue()
    except Exception:
        return None


# ------------------------------------------------------------------ the property


def check_input(data: bytes, folder: Path) -> str:
    """Open ``data`` as a file; the outcome (``"opened"`` or the error class name). Fails with
    ``AssertionError`` on anything but a rendered image or a typed one-line error."""
    from ovcf_viewer.render.display import default_window, render

    path = folder / "input.dcm"
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        image = load_image(path)
        outcome = "opened"
        step = max(1, max(image.stored.shape[:2]) // 128)
        shown = render(image, default_window(image), step=step)
        assert shown.dtype == np.uint8
        image.calibration()
        image.calibration(use_magnification=True)
    except ImageLoadError as exc:
        assert exc.message and "\n" not in exc.message, repr(exc.message)
        assert not isinstance(exc.__cause__, MemoryError), f"ran out of memory: {exc}"
        outcome = type(exc).__name__
    elapsed = time.perf_counter() - start
    assert elapsed < PER_INPUT_SECONDS, f"{elapsed:.1f} s for one input"
    return outcome


def run(examples: int, seconds: float, crash_folder: Path | None) -> int:
    """Run the hypothesis-driven target; 0 when every input behaved."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    all_seeds = seeds()
    deadline = time.monotonic() + seconds
    counts: dict[str, int] = {}
    folder = Path(tempfile.mkdtemp(prefix="ovcf-fuzz-"))

    byte_ops = st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 1 << 20), st.integers(0, 255)),
        min_size=1, max_size=8,
    )
    element_edits = st.lists(st.tuples(st.integers(0, 64), st.integers(0, 64)),
                             min_size=1, max_size=4)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(st.integers(0, len(all_seeds) - 1), byte_ops, element_edits, st.booleans(),
           st.booleans())
    def target(seed_index, ops, edits, use_elements, use_bytes):
        if time.monotonic() > deadline:
            return  # time is up: the remaining examples pass without running
        data = all_seeds[seed_index]
        if use_elements:
            data = mutate_elements(data, edits) or data
        if use_bytes or not use_elements:
            data = mutate_bytes(data, ops)
        try:
            outcome = check_input(data, folder)
        except BaseException:
            if crash_folder is not None:
                crash_folder.mkdir(parents=True, exist_ok=True)
                (crash_folder / f"crash-{len(data)}-{hash(data) & 0xFFFFFF:06x}.dcm").write_bytes(
                    data)
            raise
        counts[outcome] = counts.get(outcome, 0) + 1

    target()
    print(f"seeds {len(all_seeds)}; outcomes {dict(sorted(counts.items()))}")
    return 0


def _limit_address_space(megabytes: int) -> None:
    """Cap this process's address space at its current size plus ``megabytes``: a runaway
    allocation then fails here, not on the machine."""
    with open("/proc/self/status") as status:
        vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = vm * 1024 + megabytes * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--rlimit-mb", type=int, default=1024)
    parser.add_argument("--crashes", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("OVCF_VIEWER_MEMORY_BUDGET_MB", "256")
    seeds()  # built before the limit: pydicom's encoders are not under test
    if args.rlimit_mb and sys.platform == "linux":
        _limit_address_space(args.rlimit_mb)
    return run(args.examples, args.seconds, args.crashes)


if __name__ == "__main__":
    sys.exit(main())
