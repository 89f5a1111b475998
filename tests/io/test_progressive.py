"""Progressive JPEG 2000 opening: the preview's level and geometry, full resolution equal to
pydicom's decode for every lossless syntax, the pending state, and every fall-back."""

from __future__ import annotations

import threading

import numpy as np
import pydicom
import pytest

from ovcf_viewer.io import openjpeg_reduced, progressive
from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.io.progressive import open_progressive, preview_level, wait_all
from ovcf_viewer.model.errors import CorruptPixelDataError
from ovcf_viewer.render import display

from .progressive_films import (
    COLS,
    ROWS,
    film,
    pattern,
    pydicom_pixels,
    require_system_openjpeg,
    signed_j2k_film,
)

require_system_openjpeg()

#: A viewport small enough that the 640 × 520 test films get a reduced level.
SMALL_VIEW = (130, 100)


@pytest.fixture
def gate(monkeypatch):
    """Hold every full-resolution decode until ``gate.set()`` (the preview state made
    deterministic); released at teardown so no worker is left waiting."""
    event = threading.Event()
    original = progressive._decode_full

    def held(*args):
        event.wait(30)
        return original(*args)

    monkeypatch.setattr(progressive, "_decode_full", held)
    yield event
    event.set()


# -- the level -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "cols", "viewport", "aspect", "level"),
    [
        (3000, 3000, (1600, 1000), 1.0, 1),  # 3 image px per screen px: 2 fits, 4 does not
        (3000, 3000, (750, 750), 1.0, 2),  # exactly 4 per screen px
        (3000, 3000, (740, 750), 1.0, 2),  # 4.05
        (3000, 3000, (760, 760), 1.0, 1),  # 3.95: level 2 would be below screen resolution
        (3000, 2000, (100, 100), 1.0, 4),  # 30 per screen px: 16 fits, 32 does not
        (8000, 8000, (100, 100), 1.0, 5),  # 80: 64 would fit, capped at MAX_LEVEL
        (500, 400, (1600, 1000), 1.0, 0),  # magnified: full resolution needed
        # rows drawn twice as high: zoom = min(1000/3000, 1000/6000) = 1/6; a screen pixel
        # is 6 columns but only 3 rows, the finer axis decides
        (3000, 3000, (1000, 1000), 2.0, 1),
    ],
)
def test_preview_level_gives_at_least_screen_resolution(rows, cols, viewport, aspect, level):
    assert preview_level(rows, cols, viewport, aspect) == level


def test_preview_level_of_nothing_is_zero():
    assert preview_level(0, 100, (100, 100)) == 0
    assert preview_level(100, 100, (0, 100)) == 0


# -- full resolution equals pydicom ------------------------------------------------------------


def _open_and_wait(path, viewport=SMALL_VIEW):
    opened = open_progressive(path, viewport)
    assert opened is not None, "expected a progressive open"
    image, preview = opened
    wait_all([image], timeout=60)
    image.wait_for_pixels()
    return image, preview


@pytest.mark.parametrize("route", ["imagecodecs", "pydicom"])
@pytest.mark.parametrize("variant", ["12-bit", "16-bit", "MONOCHROME1", "signed"])
def test_full_resolution_is_pydicoms_decode(tmp_path, monkeypatch, route, variant):
    if route == "pydicom":  # the route for lossy, mismatched or imagecodecs-less films
        monkeypatch.setattr(progressive, "_imagecodecs_lossless", lambda ds, cs: None)
    if variant == "12-bit":
        path = film(tmp_path, "jpeg2000")
    elif variant == "16-bit":
        path = film(tmp_path, "jpeg2000", pixels=pattern(bits=16), bits_stored=16)
    elif variant == "MONOCHROME1":
        path = film(tmp_path, "jpeg2000", photometric="MONOCHROME1")
    else:
        path = signed_j2k_film(tmp_path)
    expected = pydicom_pixels(path)
    image, preview = _open_and_wait(path)
    assert image.stored.dtype == expected.dtype
    np.testing.assert_array_equal(image.stored, expected)
    assert image.pixels_ready() and not image.pixels_failed()
    # Every header value as the normal loader reads it.
    normal = load_image(path)
    assert (image.rows, image.columns) == (normal.rows, normal.columns) == (ROWS, COLS)
    assert image.windows == normal.windows
    assert image.photometric == normal.photometric
    assert image.calibration() == normal.calibration()
    assert image.sop_instance_uid == normal.sop_instance_uid
    assert preview.pixels.dtype == expected.dtype


@pytest.mark.parametrize("kind", ["jpeg2000", "jpegls", "jpeg_lossless", "rle"])
def test_every_lossless_syntax_opens_to_pydicoms_pixels(tmp_path, kind):
    path = film(tmp_path, kind)
    ds = pydicom.dcmread(path)
    assert str(ds.file_meta.TransferSyntaxUID) == {
        "jpeg2000": "1.2.840.10008.1.2.4.90", "jpegls": "1.2.840.10008.1.2.4.80",
        "jpeg_lossless": "1.2.840.10008.1.2.4.70", "rle": "1.2.840.10008.1.2.5"}[kind]
    expected = pydicom_pixels(path)
    np.testing.assert_array_equal(expected, pattern())  # the encoders were lossless
    np.testing.assert_array_equal(load_image(path).stored, expected)
    opened = open_progressive(path, SMALL_VIEW)
    if kind == "jpeg2000":
        image, _ = opened
        wait_all([image], timeout=60)
        np.testing.assert_array_equal(image.stored, expected)
    else:
        assert opened is None  # only JPEG 2000 carries resolution levels


# -- the preview -----------------------------------------------------------------------------


def test_preview_samples_cover_their_blocks_of_image_pixels(tmp_path):
    """Sample (i, j) of a level-L preview stands for image pixels (i·2^L.., j·2^L..): the
    bright block at rows 128..191, columns 256..319 is bright exactly at preview rows
    128/f..191/f and columns 256/f..319/f."""
    path = film(tmp_path, "jpeg2000")
    image, preview = _open_and_wait(path, (130, 160))
    f = preview.factor
    assert preview.level == 2 and f == 4
    assert preview.pixels.shape == (-(-ROWS // f), -(-COLS // f))
    bright = preview.pixels > 3500
    rows = np.flatnonzero(bright.any(axis=1))
    cols = np.flatnonzero(bright.any(axis=0))
    assert (rows.min(), rows.max()) == (128 // f, 191 // f)
    assert (cols.min(), cols.max()) == (256 // f, 319 // f)
    # And the block mean of the full-resolution pixels is what the preview approximates.
    block = image.stored[:ROWS - ROWS % f, :COLS - COLS % f].astype(float)
    means = block.reshape(ROWS // f, f, COLS // f, f).mean(axis=(1, 3))
    inner = preview.pixels[34:46, 66:78].astype(float)  # inside the bright block
    assert np.abs(inner - means[34:46, 66:78]).max() < 64


def test_while_pending_the_image_is_final_but_has_no_pixel_values(tmp_path, gate):
    path = film(tmp_path, "jpeg2000")
    image, preview = open_progressive(path, SMALL_VIEW)
    assert not image.pixels_ready() and not image.pixels_failed()
    assert (image.rows, image.columns) == (ROWS, COLS)
    assert image.stored.shape == (ROWS, COLS) and image.stored.dtype == np.uint16
    assert not image.stored.flags.writeable and not image.stored.any()
    assert image.calibration().row_mm == pytest.approx(0.16)
    assert image.contains(COLS - 0.5, ROWS - 0.5)
    # Values under the cursor never come from the placeholder or the preview.
    assert display.stored_value(image, 300.0, 150.0) is None
    assert display.modality_value(image, 300.0, 150.0) is None
    with pytest.raises(TimeoutError):
        image.wait_for_pixels(timeout=0.05)
    gate.set()
    image.wait_for_pixels(timeout=60)
    assert image.pixels_ready()
    assert display.stored_value(image, 300.0, 150.0) == int(pydicom_pixels(path)[150, 300])


# -- fall-backs --------------------------------------------------------------------------------


def _rewrite_codestream(path, codestream: bytes):
    from pydicom.encaps import encapsulate

    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([codestream])
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_codestream_without_the_level_opens_normally(tmp_path):
    """No wavelet decomposition (one resolution): the reduced decode fails, the film is
    opened whole without any message."""
    import imagecodecs

    path = film(tmp_path, "jpeg2000")
    stream = imagecodecs.jpeg2k_encode(pattern(), level=0, codecformat="J2K", resolutions=1,
                                       reversible=True)
    _rewrite_codestream(path, bytes(stream))
    assert open_progressive(path, SMALL_VIEW) is None
    np.testing.assert_array_equal(load_image(path).stored, pattern())


def test_without_the_openjpeg_library_films_open_normally(tmp_path, monkeypatch):
    def missing():
        raise openjpeg_reduced.ReducedDecodeError("OpenJPEG library (libopenjp2) not found")

    monkeypatch.setattr(openjpeg_reduced, "_load", missing)
    path = film(tmp_path, "jpeg2000")
    assert open_progressive(path, SMALL_VIEW) is None


def test_damaged_and_foreign_files_are_left_to_the_loader(tmp_path):
    path = film(tmp_path, "jpeg2000")
    data = path.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) // 2])
    assert open_progressive(cut, SMALL_VIEW) is None
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert open_progressive(text, SMALL_VIEW) is None
    assert open_progressive(tmp_path / "missing.dcm", SMALL_VIEW) is None
    assert open_progressive(film(tmp_path, "jpegls"), SMALL_VIEW) is None


def test_a_background_decode_failure_is_the_loaders_typed_error(tmp_path, monkeypatch):
    def fails(ds, codestream):
        raise CorruptPixelDataError(None, "JPEG 2000 pixel data cannot be decoded: damaged")

    monkeypatch.setattr(progressive, "_imagecodecs_lossless", fails)
    path = film(tmp_path, "jpeg2000")
    image, _ = open_progressive(path, SMALL_VIEW)
    wait_all([image], timeout=60)
    assert image.pixels_ready() and image.pixels_failed()
    with pytest.raises(CorruptPixelDataError, match="cannot be decoded"):
        image.wait_for_pixels()
    assert display.stored_value(image, 10.0, 10.0) is None


def test_the_reduced_decoder_reads_levels_of_a_plain_codestream():
    import imagecodecs

    values = pattern()
    stream = imagecodecs.jpeg2k_encode(values, level=0, codecformat="J2K", reversible=True)
    full = openjpeg_reduced.decode_reduced(bytes(stream), 0)
    np.testing.assert_array_equal(full, values)
    half = openjpeg_reduced.decode_reduced(bytes(stream), 1, threads=2)
    assert half.shape == (ROWS // 2, COLS // 2) and half.dtype == np.uint16
    with pytest.raises(openjpeg_reduced.ReducedDecodeError):
        openjpeg_reduced.decode_reduced(bytes(stream)[:200], 1)
    with pytest.raises(openjpeg_reduced.ReducedDecodeError):
        openjpeg_reduced.decode_reduced(b"", 1)


# -- several films at once (a case) -------------------------------------------------------------


def _record_decodes(monkeypatch, slow_preview_of=None):
    """Record when each preview ends and each full-resolution decode really starts (after
    its hold); the preview of the film with ``slow_preview_of`` rows ends last."""
    import time

    events: dict[str, list[float]] = {"preview_end": [], "full_start": []}
    reduced, full = openjpeg_reduced.decode_reduced, progressive._imagecodecs_lossless

    def preview(codestream, level, threads=0):
        pixels = reduced(codestream, level, threads)
        if slow_preview_of is not None and pixels.shape[0] * (1 << level) >= slow_preview_of:
            time.sleep(0.4)  # this film's preview is the last to finish
        events["preview_end"].append(time.perf_counter())
        return pixels

    def full_decode(ds, codestream):
        events["full_start"].append(time.perf_counter())
        return full(ds, codestream)

    monkeypatch.setattr(openjpeg_reduced, "decode_reduced", preview)
    monkeypatch.setattr(progressive, "_imagecodecs_lossless", full_decode)
    return events


def test_open_films_paints_every_preview_before_any_full_decode(tmp_path, monkeypatch):
    """A full decode is ~10× a preview's work: none may start while another film still
    waits for its preview (the last one here is made slow on purpose)."""
    paths = [film(tmp_path, "jpeg2000", name=f"f{i}.dcm", pixels=pattern(seed=i))
             for i in range(2)]
    paths.append(film(tmp_path, "jpeg2000", name="tall.dcm", pixels=pattern(rows=700)))
    events = _record_decodes(monkeypatch, slow_preview_of=700)
    opened = progressive.open_films(paths, SMALL_VIEW)
    images = [item[0] for item in opened]
    wait_all(images, timeout=60)
    assert len(events["preview_end"]) == 3 and len(events["full_start"]) == 3
    assert min(events["full_start"]) >= max(events["preview_end"])
    for path, (image, preview) in zip(paths, opened, strict=True):
        assert preview is not None and preview.level >= 1
        np.testing.assert_array_equal(image.stored, pydicom_pixels(path))


def test_open_films_with_a_hold_waits_for_the_caller(tmp_path, monkeypatch):
    """Full resolution starts when the caller says the previews are painted."""
    import time

    paths = [film(tmp_path, "jpeg2000", name=f"f{i}.dcm", pixels=pattern(seed=i))
             for i in range(2)]
    events = _record_decodes(monkeypatch)
    monkeypatch.setattr(progressive, "HOLD_LIMIT_S", 60.0)  # a slow machine cannot time out
    hold = threading.Event()
    opened = progressive.open_films(paths, SMALL_VIEW, hold=hold)
    assert all(not item[0].pixels_ready() for item in opened)
    released = time.perf_counter()
    hold.set()
    wait_all([item[0] for item in opened], timeout=60)
    assert min(events["full_start"]) >= released
    for path, (image, _preview) in zip(paths, opened, strict=True):
        np.testing.assert_array_equal(image.stored, pydicom_pixels(path))


def test_a_hold_never_released_only_delays_full_resolution(tmp_path, monkeypatch):
    monkeypatch.setattr(progressive, "HOLD_LIMIT_S", 0.2)
    path = film(tmp_path, "jpeg2000")
    [(image, preview)] = progressive.open_films([path], SMALL_VIEW, hold=threading.Event())
    assert preview is not None
    image.wait_for_pixels(timeout=60)
    np.testing.assert_array_equal(image.stored, pydicom_pixels(path))


def test_open_films_picks_each_level_for_the_pane_and_opens_the_rest_whole(tmp_path):
    """Panes a third as wide get a coarser level, still one sample per screen pixel or
    finer; a native film is loaded whole, a damaged file reports the loader's error in its
    place, a film too small for a preview opens whole."""
    from ovcf_viewer.model.errors import ImageLoadError

    from .progressive_films import native_film

    j2k = film(tmp_path, "jpeg2000")  # 640 rows × 520 columns, rows 1.6 columns high
    native = native_film(tmp_path, "plain.dcm")
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    wide, narrow = (160, 2000), (53, 2000)  # one pane, and a third of it
    [(whole, whole_preview)] = progressive.open_films([j2k], wide)
    opened = progressive.open_films([j2k, native, damaged], narrow)
    wait_all([whole] + [item[0] for item in opened[:2]], timeout=60)
    (image, preview), (plain, no_preview), error = opened
    assert whole_preview is not None and preview is not None
    assert preview.level > whole_preview.level
    aspect = 0.16 / 0.10
    for (width, height), level in ((wide, whole_preview.level), (narrow, preview.level)):
        zoom = min(width / COLS, height / (ROWS * aspect))  # screen px per image column
        # Preview samples per screen pixel across (columns) and down (rows drawn taller):
        assert (1 / zoom) / (1 << level) >= 1 - 1e-9
        assert (1 / (zoom * aspect)) / (1 << level) >= 1 - 1e-9
        assert preview_level(ROWS, COLS, (width, height), aspect) == level
    np.testing.assert_array_equal(image.stored, pydicom_pixels(j2k))
    assert no_preview is None and plain.pending is None
    np.testing.assert_array_equal(plain.stored, pydicom_pixels(native))
    assert isinstance(error, ImageLoadError)
    assert progressive.open_films([j2k], None)[0][1] is None  # no viewport: whole
