"""``ovcf-viewer info`` and ``ovcf-viewer export-png`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ovcf_viewer.cli import main
from tests.dicom_builders import CR_IMAGE, make_file


@pytest.fixture
def dx_file(tmp_path):
    pixels = np.array([[0, 1000, 2000], [3000, 4000, 4095]], dtype=np.uint16)
    return make_file(
        tmp_path / "dx.dcm", pixels, bits_stored=12,
        ImagerPixelSpacing=["0.15", "0.16"], EstimatedRadiographicMagnificationFactor="1.2",
        WindowCenter=["2048", "1000"], WindowWidth=["4096", "500"],
        WindowCenterWidthExplanation=["FULL", "NARROW"], PresentationLUTShape="IDENTITY",
    )


def test_info_json(dx_file, capsys):
    assert main(["info", str(dx_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["rows"], info["columns"], info["number_of_frames"]) == (2, 3, 1)
    assert info["photometric"] == "MONOCHROME2"
    assert info["bits_stored"] == 12 and info["signed"] is False
    assert info["transfer_syntax_uid"] == "1.2.840.10008.1.2.1"
    assert info["transfer_syntax_name"] == "Explicit VR Little Endian"
    assert info["modality"] == "DX"
    assert info["sop_class_name"] == "Digital X-Ray Image Storage - For Presentation"
    calibration = info["calibration"]
    assert calibration["source"] == "detector"
    assert (calibration["row_mm"], calibration["col_mm"]) == (0.15, 0.16)
    assert calibration["unit_tag"] == "mm at detector"
    assert info["magnification_factor"]["value"] == 1.2
    assert [(w["center"], w["width"], w["explanation"]) for w in info["windows"]] == [
        (2048.0, 4096.0, "FULL"), (1000.0, 500.0, "NARROW")]
    assert info["presentation_lut_shape"] == "IDENTITY"
    assert info["voi_luts"] == []


def test_info_magnification_setting_and_text(dx_file, capsys):
    assert main(["info", str(dx_file), "--json", "--use-magnification"]) == 0
    calibration = json.loads(capsys.readouterr().out)["calibration"]
    assert calibration["source"] == "magnification"
    assert calibration["row_mm"] == pytest.approx(0.125)
    assert main(["info", str(dx_file)]) == 0
    text = capsys.readouterr().out
    assert "3 columns × 2 rows" in text and "mm at detector" in text and "NARROW" in text


def test_info_error_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.dcm"
    bad.write_text("hello")
    assert main(["info", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "bad.dcm" in captured.err
    assert main(["info", str(bad.parent / "absent.dcm")]) == 2
    assert main(["info", "--frame", "4", str(_single_frame(tmp_path))]) == 2


def _single_frame(tmp_path):
    return make_file(tmp_path / "one.dcm", np.zeros((2, 2), dtype=np.uint16))


def _png(path):
    return np.asarray(Image.open(path))


def test_export_png_default_and_explicit_window(dx_file, tmp_path):
    out = tmp_path / "out.png"
    assert main(["export-png", str(dx_file), "-o", str(out)]) == 0
    # default = first DICOM window C 2048 / W 4096: ((x - 2047.5) / 4095 + 0.5) * 255
    expected = np.rint(((np.array([[0, 1000, 2000], [3000, 4000, 4095]]) - 2047.5) / 4095
                        + 0.5) * 255).clip(0, 255)
    np.testing.assert_array_equal(_png(out), expected)
    assert main(["export-png", str(dx_file), "-o", str(out), "--window", "1000", "500"]) == 0
    np.testing.assert_array_equal(_png(out), [[0, 128, 255], [255, 255, 255]])
    assert main(["export-png", str(dx_file), "-o", str(out), "--window", "1000", "500",
                 "--invert"]) == 0
    np.testing.assert_array_equal(_png(out), [[255, 127, 0], [0, 0, 0]])


def test_export_png_monochrome1_shows_dense_dark(tmp_path):
    pixels = np.array([[0, 255]], dtype=np.uint8)
    path = make_file(tmp_path / "cr.dcm", pixels, photometric="MONOCHROME1", modality="CR",
                     sop_class=CR_IMAGE, WindowCenter="128", WindowWidth="256")
    out = tmp_path / "cr.png"
    assert main(["export-png", str(path), "-o", str(out)]) == 0
    np.testing.assert_array_equal(_png(out), [[255, 0]])


def test_export_png_multiframe_and_errors(tmp_path, capsys):
    frames = np.stack([np.full((2, 2), v, dtype=np.uint8) for v in (0, 255)])
    path = make_file(tmp_path / "mf.dcm", frames, frames=2, WindowCenter="128",
                     WindowWidth="256")
    out = tmp_path / "f.png"
    assert main(["export-png", str(path), "-o", str(out), "--frame", "1"]) == 0
    assert np.all(_png(out) == 255)
    assert main(["export-png", str(path), "-o", str(out), "--window", "10", "0"]) == 2
    assert main(["export-png", str(path), "-o", str(tmp_path / "no" / "dir.png")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_export_png_colour_photo(tmp_path):
    rgb = np.zeros((3, 4, 3), dtype=np.uint8)
    rgb[..., 1] = 180
    Image.fromarray(rgb).save(tmp_path / "c.png")
    out = tmp_path / "o.png"
    assert main(["export-png", str(tmp_path / "c.png"), "-o", str(out)]) == 0
    np.testing.assert_array_equal(_png(out), rgb)


@pytest.mark.slow
def test_info_json_for_every_corpus_file(capsys):
    """Every file of pydicom's corpus: a JSON object (exit 0) or one line on stderr (exit 2)."""
    import os

    from pydicom.data import get_testdata_files

    for path in (p for p in get_testdata_files() if os.path.isfile(p)):
        status = main(["info", path, "--json"])
        captured = capsys.readouterr()
        if status == 0:
            assert json.loads(captured.out)["rows"] >= 1
        else:
            assert status == 2 and captured.out == "" and captured.err.count("\n") == 1


NONSQUARE = Path(__file__).resolve().parents[2] / "sample_dicom" / "variants" / "dx_nonsquare.dcm"


def test_export_png_in_physical_aspect_of_the_nonsquare_film(tmp_path):
    """dx_nonsquare: Imager Pixel Spacing 0.16 (rows) × 0.10 (columns) mm, so each row is 1.6
    column widths high: the PNG keeps the columns and has round(1.6 × rows) rows."""
    from ovcf_viewer.io.dicom import load_image

    image = load_image(NONSQUARE)
    out = tmp_path / "film.png"
    assert main(["export-png", str(NONSQUARE), "-o", str(out)]) == 0
    assert _png(out).shape == (round(image.rows * 0.16 / 0.10), image.columns)
    assert main(["export-png", str(NONSQUARE), "-o", str(out), "--no-pixel-aspect"]) == 0
    assert _png(out).shape == (image.rows, image.columns)


@pytest.mark.parametrize("header", [
    {"ImagerPixelSpacing": ["0.16", "0.10"]},
    {"PixelAspectRatio": ["16", "10"]},  # vertical\horizontal, no spacing
])
def test_export_png_stretches_a_known_band_by_the_aspect(tmp_path, header):
    """A 10-row white band starting at row 20 of a 50 × 40 image ends up 16 rows high from
    row 32 when rows are 1.6 columns high; a 10 × 10 stored block becomes 10 wide × 16 high."""
    pixels = np.zeros((50, 40), dtype=np.uint16)
    pixels[20:30, 15:25] = 4095
    path = make_file(tmp_path / "band.dcm", pixels, bits_stored=12,
                     WindowCenter="2048", WindowWidth="4096", **header)
    out = tmp_path / "band.png"
    assert main(["export-png", str(path), "-o", str(out)]) == 0
    png = _png(out).astype(float)
    assert png.shape == (80, 40)
    white = png > 127.5
    rows = np.flatnonzero(white[:, 20])
    columns = np.flatnonzero(white[40, :])
    assert (rows.min(), rows.max()) == (32, 47)
    assert (columns.min(), columns.max()) == (15, 24)
    assert main(["export-png", str(path), "-o", str(out), "--no-pixel-aspect"]) == 0
    np.testing.assert_array_equal(_png(out) > 127, pixels > 0)


def test_export_png_help_documents_the_pixel_aspect_switch(capsys):
    with pytest.raises(SystemExit):
        main(["export-png", "--help"])
    text = capsys.readouterr().out
    assert "--pixel-aspect" in text and "--no-pixel-aspect" in text
