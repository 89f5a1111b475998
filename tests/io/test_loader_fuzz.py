"""The loader fuzz target (tests/io/loader_fuzz.py) runs for a bounded time in every test
run, in its own process under an address-space limit; the crashers it found are kept below as
regression tests, their files built here with pydicom."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.io.limits import BoundedFile
from ovcf_viewer.model.errors import CorruptHeaderError, ImageLoadError
from tests.dicom_builders import make_dataset, save

ROOT = Path(__file__).resolve().parents[2]


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, RUST_BACKTRACE="0", PYTHONPATH=str(ROOT), **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@pytest.mark.slow
def test_loader_fuzz_target_bounded_run(tmp_path):
    """3000 mutated inputs (or 40 s, whichever ends first) under a 1 GiB address-space
    allowance: every one opens and renders or fails typed, each under 5 s."""
    pytest.importorskip("hypothesis")
    crashes = tmp_path / "crashes"
    result = subprocess.run(
        [sys.executable, "-m", "tests.io.loader_fuzz", "--examples", "3000", "--seconds", "40",
         "--rlimit-mb", "1024", "--crashes", str(crashes)],
        cwd=ROOT, env=_child_env(), capture_output=True, text=True, timeout=180,
    )
    kept = sorted(p.name for p in crashes.glob("*")) if crashes.exists() else []
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-6000:], kept)
    assert "outcomes" in result.stdout and "'opened'" in result.stdout


def _under_address_limit(code: str, megabytes: int = 512) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose address space may grow by ``megabytes``."""
    prologue = textwrap.dedent(f"""
        import resource
        from ovcf_viewer.io.dicom import load_image
        from ovcf_viewer.model.errors import ImageLoadError
        vm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmSize'))
        limit = vm * 1024 + {megabytes} * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    """)
    return subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(code)], cwd=ROOT,
                          env=_child_env(), capture_output=True, text=True, timeout=60)


def _with_element_length(tmp_path: Path, keyword_value: bytes, length: int) -> Path:
    """A native film whose element holding ``keyword_value`` claims ``length`` bytes."""
    ds = make_dataset(np.zeros((8, 8), np.uint16), PatientComments="MARKER-VALUE")
    path = save(ds, tmp_path / "len.dcm")
    data = bytearray(path.read_bytes())
    at = data.index(keyword_value)
    # Explicit VR LT: tag(4) VR(2) length(2); make it a 4-byte-length VR (UT) with huge length
    assert data[at - 4 : at - 2] == b"LT"
    data[at - 4 : at] = b"UN" + b"\x00\x00"
    data[at : at] = length.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.skipif(sys.platform != "linux", reason="address-space limit: Linux only")
def test_crasher_element_length_near_4gib_is_not_allocated(tmp_path):
    """Found by the fuzz target: an element claiming 0xFFFFFFF0 bytes made pydicom call
    read(4 GiB), a MemoryError under a 512 MiB allowance; the read is capped at the file."""
    path = _with_element_length(tmp_path, b"MARKER-VALUE", 0xFFFFFFF0)
    result = _under_address_limit(f"""
        try:
            load_image({str(path)!r})
            print("opened")
        except ImageLoadError as exc:
            assert not isinstance(exc.__cause__, MemoryError), exc
            print(type(exc).__name__, exc.message)
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0] in ("CorruptHeaderError", "CorruptPixelDataError",
                                        "NoPixelDataError"), result.stdout


def test_bounded_file_never_reads_past_the_end(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with BoundedFile(path) as handle:
        handle.seek(4)
        assert handle.read(1 << 40) == b"456789"
        assert handle.read(5) == b""
        handle.seek(0)
        assert handle.read() == b"0123456789" and handle.tell() == 10
    assert handle.closed
    with pytest.raises(ValueError):
        BoundedFile(path, "wb")


def test_crasher_no_tag_to_read_is_a_damaged_header_not_a_file_system_error(tmp_path):
    """Found by the fuzz target: pydicom's bare OSError for an element cut mid-tag read as
    "cannot read the file", as if the disk had failed."""
    path = save(make_dataset(np.zeros((8, 8), np.uint16)), tmp_path / "cut.dcm")
    data = path.read_bytes()
    at = data.index(b"\x10\x00\x10\x00")  # (0010,0010) Patient Name
    path.write_bytes(data[: at + 3])
    with pytest.raises(ImageLoadError) as caught:
        load_image(path)
    assert not caught.value.message.startswith("cannot read the file")


def test_crasher_bits_allocated_zero_is_typed(tmp_path):
    ds = make_dataset(np.zeros((8, 8), np.uint16))
    ds.BitsAllocated = 0
    with pytest.raises(ImageLoadError):
        load_image(save(ds, tmp_path / "ba0.dcm"))


def test_mapping_of_deferred_pixel_data_still_used_through_the_bounded_reader(tmp_path):
    """The bounded reader must not defeat the memory map of large native films."""
    pixels = (np.arange(600 * 600, dtype=np.uint32) % 4096).astype(np.uint16).reshape(600, 600)
    path = save(make_dataset(pixels, bits_stored=12), tmp_path / "big.dcm")
    image = load_image(path)
    np.testing.assert_array_equal(image.stored, pixels)
    base = image.stored
    while getattr(base, "base", None) is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)


def test_corrupt_header_error_is_raised_for_cut_header(tmp_path):
    path = save(make_dataset(np.zeros((8, 8), np.uint16)), tmp_path / "cut2.dcm")
    data = path.read_bytes()
    path.write_bytes(data[:140])
    with pytest.raises((CorruptHeaderError, ImageLoadError)):
        load_image(path)
