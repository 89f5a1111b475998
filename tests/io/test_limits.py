"""The loader checks a file's claims before it decodes or allocates (ovcf_viewer.io.limits):
each hostile file below used to hang the viewer, exhaust memory, or escape as an untyped
exception; now each ends in one typed ImageLoadError, quickly."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ovcf_viewer.io import limits
from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.model.calibration import CalibrationSource, resolve_calibration
from ovcf_viewer.model.errors import (
    CorruptHeaderError,
    CorruptPixelDataError,
    ImageLoadError,
    ImageTooLargeError,
)
from tests.dicom_builders import make_file
from tests.io import hostile_dicom


def _load_fails(path, error: type[ImageLoadError]) -> ImageLoadError:
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        load_image(path)
    assert time.perf_counter() - start < 5.0
    assert caught.value.message and "\n" not in caught.value.message
    return caught.value


def test_jp2_box_of_length_zero_fails_instead_of_looping(tmp_path):
    path = hostile_dicom.jp2_zero_length_box(tmp_path / "jp2.dcm")
    assert path.stat().st_size < 2500
    error = _load_fails(path, CorruptPixelDataError)
    assert "JP2 box 'jp2h' has length 0" in error.message


def test_jp2_walk_accepts_a_well_formed_header_and_rejects_short_boxes():
    codestream = b"\xff\x4f\xff\x51" + bytes(60)
    good = hostile_dicom.JP2_SIGNATURE + hostile_dicom.JP2_FTYP
    good += (8 + 4).to_bytes(4, "big") + b"jp2h" + bytes(4)
    good += (0).to_bytes(4, "big") + b"jp2c" + codestream  # length 0 is legal for the last box
    limits.check_jp2_boxes([good], None)
    xl = hostile_dicom.JP2_SIGNATURE + (1).to_bytes(4, "big") + b"uuid" + (20).to_bytes(8, "big")
    limits.check_jp2_boxes([xl + bytes(4) + (8 + 64).to_bytes(4, "big") + b"jp2c" + codestream],
                           None)
    for bad_length in (0, 3, 7):
        bad = hostile_dicom.JP2_SIGNATURE + bad_length.to_bytes(4, "big") + b"ftyp" + bytes(40)
        with pytest.raises(CorruptPixelDataError):
            limits.check_jp2_boxes([bad], None)
    bad_xl = hostile_dicom.JP2_SIGNATURE + (1).to_bytes(4, "big") + b"uuid" + (9).to_bytes(8, "big")
    with pytest.raises(CorruptPixelDataError):
        limits.check_jp2_boxes([bad_xl + bytes(20)], None)
    with pytest.raises(CorruptPixelDataError, match="end before the codestream"):
        limits.check_jp2_boxes([hostile_dicom.JP2_SIGNATURE + hostile_dicom.JP2_FTYP], None)
    # a fragment without the JP2 signature is a raw codestream: nothing to walk
    limits.check_jp2_boxes([codestream], None)


@pytest.mark.parametrize("rgb", [True, False], ids=["rgb", "grey"])
def test_tiny_rle_claiming_65535_squared_is_refused_before_decoding(tmp_path, rgb):
    path = hostile_dicom.rle_claiming(tmp_path / "rle.dcm", 65535, 65535, rgb=rgb)
    assert path.stat().st_size < 2000
    error = _load_fails(path, ImageTooLargeError)
    assert "65535 × 65535" in error.message and "memory_budget_mb" in error.message


def test_budget_follows_the_setting_and_the_environment(tmp_path, monkeypatch):
    path = make_file(tmp_path / "f.dcm", np.zeros((600, 600), np.uint16))  # 720 000 bytes
    assert load_image(path).stored.shape == (600, 600)
    monkeypatch.setenv(limits.MEMORY_BUDGET_ENV, "0.5")
    _load_fails(path, ImageTooLargeError)
    monkeypatch.setenv(limits.MEMORY_BUDGET_ENV, "1")
    assert load_image(path).stored.shape == (600, 600)
    monkeypatch.delenv(limits.MEMORY_BUDGET_ENV)
    from ovcf_viewer.model.settings import Settings, save_settings

    save_settings(Settings(memory_budget_mb=64))
    assert limits.memory_budget_bytes() == 64 << 20
    with pytest.raises(ValueError):
        Settings(memory_budget_mb=0)


def test_peak_estimate_counts_colour_conversions():
    grey = limits.estimated_peak_bytes(100, 100, 1, 16, compressed=False)
    assert grey == 100 * 100 * 2
    assert limits.estimated_peak_bytes(100, 100, 1, 16, compressed=True) == 2 * grey
    rgb = limits.estimated_peak_bytes(100, 100, 3, 8, compressed=True)
    assert rgb == 2 * 30_000 + 120_000 + 40_000


def test_huge_frame_count_and_dimensions_refused_without_allocating(tmp_path):
    path = hostile_dicom.huge_frame_count(tmp_path / "frames.dcm")
    _load_fails(path, ImageTooLargeError)


@pytest.mark.parametrize(
    "keyword", ["Rows", "Columns", "BitsAllocated", "BitsStored", "SamplesPerPixel",
                "PixelRepresentation"]
)
def test_multivalued_sizing_element_is_a_typed_header_error(tmp_path, keyword):
    path = hostile_dicom.multivalued(tmp_path / "mv.dcm", keyword, [8, 8])
    error = _load_fails(path, CorruptHeaderError)
    assert f"{keyword} holds 2 values" in error.message


@pytest.mark.parametrize(
    ("value", "text"),
    [("8.5", "not a whole number"), ("x", "not a number"), (70000, "outside 0..65535"),
     ("nan", "not a whole number")],
)
def test_header_int_rejects_what_cannot_size_an_image(value, text):
    header = {"Rows": value}  # header_int reads with .get, as from a pydicom Dataset
    with pytest.raises(CorruptHeaderError, match=text):
        limits.header_int(header, "Rows", None)
    assert limits.header_int({"Rows": "12"}, "Rows", None) == 12
    assert limits.header_int(header, "Columns", None, default=3) == 3
    with pytest.raises(CorruptHeaderError, match="no Columns"):
        limits.header_int(header, "Columns", None)


def _native_panic() -> BaseException:
    """A real panic from the Rust RLE decoder (pyo3_runtime.PanicException, a BaseException
    subclass): its segment decoder indexes an empty input."""
    from rle.rle import decode_segment

    try:
        decode_segment(b"")
    except Exception as exc:  # pragma: no cover - the decoder became an ordinary raiser
        return exc
    except BaseException as exc:  # noqa: B036
        return exc
    raise AssertionError("decode_segment(b'') returned")


def test_a_native_decoder_panic_becomes_cannot_be_decoded(tmp_path, monkeypatch):
    panic = _native_panic()
    assert not isinstance(panic, Exception), "the decoder's panic should be a BaseException"
    path = hostile_dicom.rle_damaged_segments(tmp_path / "rle.dcm")
    import ovcf_viewer.io.dicom as dicom_io

    def decode(*args, **kwargs):  # the decoder panics as the Rust RLE decoder does
        from rle.rle import decode_segment

        decode_segment(b"")

    monkeypatch.setattr(dicom_io, "_decode_frame", decode)
    error = _load_fails(path, CorruptPixelDataError)
    assert "cannot be decoded" in error.message and "PanicException" in error.message


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_stop_requests_pass_through_the_decoder_guard(stop):
    with pytest.raises(stop), limits.decoder_failures(None, "x"):
        raise stop()


def test_memory_error_in_a_decoder_is_typed():
    with pytest.raises(ImageTooLargeError), limits.decoder_failures(None, "RLE pixel data"):
        raise MemoryError


def test_damaged_rle_segments_fail_typed(tmp_path):
    _load_fails(hostile_dicom.rle_damaged_segments(tmp_path / "rle.dcm"), CorruptPixelDataError)


def test_deferred_element_failure_inside_the_error_mapping(tmp_path, monkeypatch):
    """A deferred value that fails to convert when read late ends typed, not as a bare
    pydicom exception (the header is read with large values deferred)."""
    path = make_file(tmp_path / "big.dcm", np.zeros((600, 600), np.uint16))
    import ovcf_viewer.io.dicom as dicom_io

    def broken(ds):
        raise NotImplementedError("a converter pydicom lacks")

    monkeypatch.setattr(dicom_io, "_has_deferred_value", broken)
    monkeypatch.setattr(dicom_io, "_on_local_disk", lambda path: False)
    error = _load_fails(path, CorruptHeaderError)
    assert "NotImplementedError" in error.message


def test_ermf_underflowing_to_zero_spacing_keeps_the_detector_plane(tmp_path):
    image = load_image(hostile_dicom.ermf_underflow(tmp_path / "ermf.dcm"))
    calibration = resolve_calibration(image.calibration_header, use_magnification=True)
    assert calibration.source is CalibrationSource.DETECTOR
    assert calibration.row_mm == pytest.approx(0.14)
    assert "magnification correction not applied" in calibration.statement()
    assert image.calibration(use_magnification=True).source is CalibrationSource.DETECTOR


def test_samples_still_open(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "sample_dicom"
    for path in sorted(root.rglob("*.dcm")):
        assert load_image(path).stored.size > 0


def test_progressive_opening_applies_the_same_checks(tmp_path):
    """The case window opens JPEG 2000 films progressively before the loader: a hostile file
    must not hang or allocate there either; it is left to the loader, which refuses it."""
    import os

    from ovcf_viewer.io.progressive import open_progressive

    jp2 = hostile_dicom.jp2_zero_length_box(tmp_path / "jp2.dcm")
    start = time.perf_counter()
    assert open_progressive(jp2, (800, 600)) is None
    assert time.perf_counter() - start < 5.0
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    assert open_progressive(fifo, (800, 600)) is None  # not opened: it would block
    big = make_file(tmp_path / "big.dcm", np.zeros((64, 64), np.uint16))
    import pydicom
    from pydicom.uid import JPEG2000Lossless

    ds = pydicom.dcmread(big)
    ds.compress(JPEG2000Lossless)
    ds.Rows = ds.Columns = 65535
    ds.save_as(big)
    assert open_progressive(big, (800, 600)) is None
    with pytest.raises(ImageTooLargeError):
        load_image(big)
