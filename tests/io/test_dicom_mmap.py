"""Memory-mapped native pixel data (dicom_io._map_native_frame): large native little-endian
grey-scale films are mapped instead of read, with exactly the values the full read gives."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_files
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from ovcf_viewer.io import dicom as dicom_io
from ovcf_viewer.model.errors import CorruptPixelDataError
from ovcf_viewer.model.image import VoiWindow
from ovcf_viewer.render.display import auto_window, default_window, render, stored_value
from tests.dicom_builders import make_file

NATIVE_LE = (str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian))


@pytest.fixture
def mapped_paths(monkeypatch):
    """Names of the files whose frame load_image memory-mapped during the test."""
    names: list[str] = []
    original = dicom_io._map_native_frame

    def spy(ds, path, frame):
        result = original(ds, path, frame)
        if result is not None:
            names.append(path.name)
        return result

    monkeypatch.setattr(dicom_io, "_map_native_frame", spy)
    return names


def reference(path, frame=0):
    """The existing read path: the whole file read by pydicom, decoded by its decoder."""
    return dicom_io.image_from_dataset(pydicom.dcmread(path), frame=frame, path=path)


def memmap_base(array: np.ndarray) -> bool:
    base = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return False


def assert_same_image(new, old):
    assert new.stored.dtype == old.stored.dtype
    assert new.stored.shape == old.stored.shape
    np.testing.assert_array_equal(new.stored, old.stored, strict=True)
    for field in ("photometric", "bits_stored", "pixel_representation", "windows",
                  "number_of_frames", "frame_index", "sop_instance_uid", "transfer_syntax",
                  "presentation_lut_shape", "warnings"):
        assert getattr(new, field) == getattr(old, field), field
    assert new.modality_lut.slope == old.modality_lut.slope
    assert new.modality_lut.intercept == old.modality_lut.intercept


def noise(shape, dtype, low, high, seed=0):
    return np.random.default_rng(seed).integers(low, high, size=shape, endpoint=True).astype(dtype)


# --------------------------------------------------------------------------- pydicom corpus


def _mappable_header(path: str) -> bool:
    """Native little-endian grey-scale by its header (the candidates for the new path)."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return False
    meta = getattr(ds, "file_meta", None)
    return (
        meta is not None
        and str(meta.get("TransferSyntaxUID", "")) in NATIVE_LE
        and ds.get("SamplesPerPixel", 0) == 1
        and ds.get("BitsAllocated", 0) in (8, 16)
    )


CANDIDATES = sorted(
    p for p in get_testdata_files() if os.path.isfile(p) and _mappable_header(p)
)


def test_corpus_files_taking_the_mapped_path_are_bit_identical(monkeypatch, mapped_paths):
    monkeypatch.setattr(dicom_io, "_MAP_MIN_BYTES", 1024)  # small corpus films too
    compared = []
    for path in CANDIDATES:
        try:
            old = reference(path)
        except Exception:
            continue  # the corpus test covers files that do not open
        frames = sorted({0, old.number_of_frames - 1})
        for frame in frames:
            before = len(mapped_paths)
            new = dicom_io.load_image(path, frame=frame)
            expected = old if frame == 0 else reference(path, frame)
            assert_same_image(new, expected)
            if len(mapped_paths) > before:
                assert memmap_base(new.stored) and not new.stored.flags.writeable
                compared.append((os.path.basename(path), frame))
    names = {name for name, _ in compared}
    # the native monochrome corpus films (single- and multi-frame, explicit and implicit VR)
    assert {"CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "RG1_UNCR.dcm",
            "RG1_UNCI.dcm", "emri_small.dcm", "MR2_UNCR.dcm"} <= names
    assert ("emri_small.dcm", 9) in compared
    assert len(names) >= 15


def test_default_threshold_maps_large_corpus_films_only(mapped_paths):
    by_name = {os.path.basename(p): p for p in CANDIDATES}
    for name in ("RG1_UNCR.dcm", "CT_small.dcm"):
        dicom_io.load_image(by_name[name])
    assert mapped_paths == ["RG1_UNCR.dcm"]  # 1955 × 1841 × 16 bit; CT_small is 32 KiB


# --------------------------------------------------------------------------- constructed films


@pytest.mark.parametrize(
    ("dtype", "low", "high"),
    [("uint8", 0, 255), ("int8", -128, 127), ("uint16", 0, 65535), ("int16", -32768, 32767)],
)
def test_full_depth_films_are_mapped_exactly(tmp_path, mapped_paths, dtype, low, high):
    pixels = noise((611, 523), dtype, low, high)  # odd rows and columns
    path = make_file(tmp_path / f"{dtype}.dcm", pixels)
    image = dicom_io.load_image(path)
    assert mapped_paths == [path.name]
    assert image.stored.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(image.stored, pixels, strict=True)
    assert_same_image(image, reference(path))


def test_odd_sized_8bit_film_with_padding_byte(tmp_path, mapped_paths):
    pixels = noise((601, 513), "uint8", 0, 255, seed=3)  # 308 313 bytes: one padding byte
    path = make_file(tmp_path / "odd.dcm", pixels, transfer_syntax=ImplicitVRLittleEndian)
    assert pydicom.dcmread(path, defer_size=1024).get_item(
        0x7FE00010, keep_deferred=True).length == pixels.size + 1
    image = dicom_io.load_image(path)
    assert mapped_paths == [path.name]
    np.testing.assert_array_equal(image.stored, pixels, strict=True)


def test_multiframe_maps_only_the_asked_frame(tmp_path, mapped_paths):
    frames = np.stack([noise((300, 500), "uint16", 0, 4095, seed=k) for k in range(4)])
    path = make_file(tmp_path / "mf.dcm", frames, frames=4, bits_stored=12)
    for index in (0, 2, 3):
        image = dicom_io.load_image(path, frame=index)
        np.testing.assert_array_equal(image.stored, frames[index], strict=True)
        assert_same_image(image, reference(path, index))
    assert len(mapped_paths) == 3


def test_bits_stored_12_with_clean_high_bits_is_mapped(tmp_path, mapped_paths):
    pixels = noise((600, 600), "uint16", 0, 4095)
    pixels[0, 0] = 4095  # the top of the 12-bit range still fits
    path = make_file(tmp_path / "b12.dcm", pixels, bits_stored=12)
    image = dicom_io.load_image(path)
    assert mapped_paths == [path.name] and memmap_base(image.stored)
    np.testing.assert_array_equal(image.stored, pixels, strict=True)
    assert image.bits_stored == 12


def test_bits_stored_12_with_garbage_high_bits_is_read_and_masked(tmp_path, mapped_paths):
    values = noise((600, 600), "uint16", 0, 4095)
    garbage = noise((600, 600), "uint16", 0, 15, seed=1) << 12  # unused bits 12-15 set
    garbage[0, 0] = 0xF000  # at least one pixel surely out of range
    path = make_file(tmp_path / "g12.dcm", values | garbage, bits_stored=12)
    image = dicom_io.load_image(path)
    assert mapped_paths == []
    np.testing.assert_array_equal(image.stored, values, strict=True)  # v & 0x0FFF
    assert_same_image(image, reference(path))


def test_signed_12bit_in_range_mapped_out_of_range_sign_extended(tmp_path, mapped_paths):
    clean = noise((600, 600), "int16", -2048, 2047)
    clean[0, :2] = (-2048, 2047)
    path = make_file(tmp_path / "s12.dcm", clean, bits_stored=12)
    np.testing.assert_array_equal(dicom_io.load_image(path).stored, clean, strict=True)
    assert mapped_paths == [path.name]
    # 0x0800 in 12 bits is -2048; stored without sign extension it reads 2048 in 16 bits
    raw = clean.copy()
    raw[5, 5] = 0x0800
    dirty = make_file(tmp_path / "d12.dcm", raw, bits_stored=12)
    image = dicom_io.load_image(dirty)
    assert mapped_paths == [path.name]  # not mapped
    assert image.stored[5, 5] == -2048
    assert_same_image(image, reference(dirty))


@pytest.mark.parametrize(
    ("syntax", "photometric", "shape"),
    [
        (ExplicitVRBigEndian, None, (600, 600)),
        (DeflatedExplicitVRLittleEndian, None, (600, 600)),
        (ExplicitVRLittleEndian, "RGB", (400, 400, 3)),
        (ExplicitVRLittleEndian, "PALETTE COLOR", (600, 600)),
    ],
)
def test_other_films_keep_the_full_read(tmp_path, mapped_paths, syntax, photometric, shape):
    pixels = noise(shape, "uint8" if len(shape) == 3 else "uint16", 0, 255)
    extra = {}
    if photometric == "PALETTE COLOR":
        ramp = np.arange(256, dtype="<u2").tobytes()
        extra = {"RedPaletteColorLookupTableDescriptor": [256, 0, 16],
                 "GreenPaletteColorLookupTableDescriptor": [256, 0, 16],
                 "BluePaletteColorLookupTableDescriptor": [256, 0, 16],
                 "RedPaletteColorLookupTableData": ramp,
                 "GreenPaletteColorLookupTableData": ramp,
                 "BluePaletteColorLookupTableData": ramp}
    path = make_file(tmp_path / "o.dcm", pixels, transfer_syntax=syntax,
                     photometric=photometric, **extra)
    image = dicom_io.load_image(path)
    assert mapped_paths == []
    assert_same_image(image, reference(path))


def test_truncated_large_film_is_corrupt_pixel_data(tmp_path, mapped_paths):
    path = make_file(tmp_path / "t.dcm", noise((700, 700), "uint16", 0, 65535))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10_000])
    with pytest.raises(CorruptPixelDataError, match="truncated.*970000 of 980000 bytes"):
        dicom_io.load_image(path)
    path.write_bytes(data[: len(data) - 700_000])
    with pytest.raises(CorruptPixelDataError, match="truncated"):
        dicom_io.load_image(path)
    assert mapped_paths == []


def test_mapping_is_read_only(tmp_path):
    path = make_file(tmp_path / "r.dcm", noise((600, 600), "uint16", 0, 65535))
    image = dicom_io.load_image(path)
    assert memmap_base(image.stored)
    with pytest.raises(ValueError, match="read-only"):
        image.stored[0, 0] = 1
    with pytest.raises(ValueError):
        image.stored.setflags(write=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/fd is Linux's")
def _descriptors_on(path) -> int:
    """Open file descriptors of this process that point at ``path`` (other tests' servers
    and threads open and close their own meanwhile, so a total count would not do)."""
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:  # closed between listing and reading
            continue
    return count


def test_no_file_descriptor_outlives_the_image(tmp_path):
    path = make_file(tmp_path / "fd.dcm", noise((600, 600), "uint16", 0, 65535))
    gc.collect()
    assert _descriptors_on(path) == 0
    for _ in range(20):
        image = dicom_io.load_image(path)
        assert memmap_base(image.stored)
        assert _descriptors_on(path) <= 1  # the mapping's own, at most
        del image
        gc.collect()
    assert _descriptors_on(path) == 0


@pytest.mark.skipif(sys.platform.startswith("win"), reason="Windows locks a mapped file")
def test_file_replaced_while_shown_keeps_the_mapped_pixels(tmp_path):
    pixels = noise((600, 600), "uint16", 0, 65535)
    path = make_file(tmp_path / "a.dcm", pixels)
    image = dicom_io.load_image(path)
    make_file(tmp_path / "b.dcm", pixels[::-1].copy())
    os.replace(tmp_path / "b.dcm", path)  # how atomic writers replace a file
    np.testing.assert_array_equal(image.stored, pixels, strict=True)


def test_display_pipeline_on_a_mapped_film(tmp_path, mapped_paths):
    pixels = noise((900, 700), "uint16", 100, 3000)
    path = make_file(tmp_path / "d.dcm", pixels, bits_stored=12, WindowCenter="1500",
                     WindowWidth="1000")
    image = dicom_io.load_image(path)
    assert mapped_paths == [path.name]
    old = reference(path)
    window = default_window(image)
    assert window == VoiWindow(1500.0, 1000.0)
    np.testing.assert_array_equal(render(image, window, step=3), render(old, window, step=3))
    assert auto_window(image) == auto_window(old)
    assert stored_value(image, 10.0, 20.0) == int(pixels[20, 10])  # pixel centres at integers


MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
/dev/sdb1 /media/usb\\040stick vfat rw 0 0
//server/films /mnt/pacs cifs rw 0 0
/dev/vdb /mnt/pacs/local xfs rw 0 0
"""


@pytest.mark.parametrize(
    "where,local",
    [
        ("/home/dr/films/a.dcm", True),
        ("/media/usb stick/DICOM/IM0001", False),  # removable (vfat)
        ("/mnt/pacs/export/a.dcm", False),  # network share (cifs)
        ("/mnt/pacs/local/a.dcm", True),  # the longest mount point decides
    ],
)
def test_only_films_on_a_local_disk_are_mapped(tmp_path, monkeypatch, where, local):
    """A mapped page whose file vanished (a USB stick pulled, a share dropped) kills the
    process with SIGBUS: removable media and network shares are read, not mapped."""
    table = tmp_path / "mounts"
    table.write_text(MOUNTS)
    monkeypatch.setattr(dicom_io, "_MOUNT_TABLE", table)
    monkeypatch.setattr(dicom_io.sys, "platform", "linux")
    monkeypatch.setattr(dicom_io.os.path, "realpath", lambda p: where)
    assert dicom_io._on_local_disk(Path(where)) is local


def test_film_on_a_share_is_read_whole_with_the_same_pixels(tmp_path, monkeypatch,
                                                             mapped_paths):
    path = make_file(tmp_path / "share.dcm", noise((600, 600), "uint16", 0, 65535))
    monkeypatch.setattr(dicom_io, "_on_local_disk", lambda p: False)
    image = dicom_io.load_image(path)
    assert mapped_paths == [] and not memmap_base(image.stored)
    np.testing.assert_array_equal(image.stored, reference(path).stored)
