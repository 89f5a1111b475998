"""Loading DICOM and photographs into RadiographImage: stored values, pipeline parameters,
calibration header, transfer syntaxes, frames and typed errors."""

from __future__ import annotations

import io
import time

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
)

from ovcf_viewer.io import dicom as dicom_io
from ovcf_viewer.io.dicom import load_image, pseudo_uid, read_header, sniff_file_kind
from ovcf_viewer.model.calibration import CalibrationSource
from ovcf_viewer.model.errors import (
    CorruptPixelDataError,
    FrameOutOfRangeError,
    ImageLoadError,
    NoPixelDataError,
    NotDicomError,
    UnreadableFileError,
    UnsupportedCompressionError,
    UnsupportedImageError,
)
from tests.dicom_builders import (
    COMPREHENSIVE_SR,
    CR_IMAGE,
    SECONDARY_CAPTURE,
    make_dataset,
    make_file,
    save,
)


def ramp(rows: int = 32, cols: int = 48, dtype: str = "uint16", low: int = 0, step: int = 7):
    values = low + step * np.arange(rows * cols, dtype=np.int64)
    info = np.iinfo(dtype)
    return np.clip(values, info.min, info.max).astype(dtype).reshape(rows, cols)


# --------------------------------------------------------------------------- native data


def test_unsigned_16bit_kept_as_stored_view_without_copy(tmp_path):
    pixels = ramp()
    path = make_file(tmp_path / "dx.dcm", pixels, ImagerPixelSpacing=[0.15, 0.14])
    image = load_image(path)
    assert image.stored.dtype == np.uint16
    np.testing.assert_array_equal(image.stored, pixels)
    assert not image.stored.flags.writeable  # a view on the file's bytes, never a copy
    assert image.rows == 32 and image.columns == 48
    assert image.photometric == "MONOCHROME2"
    assert image.bits_stored == 16 and image.pixel_representation == 0
    assert image.transfer_syntax == "1.2.840.10008.1.2.1"
    assert image.transfer_syntax_name == "Explicit VR Little Endian"
    assert image.modality == "DX" and image.is_dicom
    assert image.number_of_frames == 1 and image.frame_index == 0


def test_signed_16bit_with_rescale(tmp_path):
    pixels = ramp(dtype="int16", low=-2000, step=3)
    path = make_file(
        tmp_path / "s.dcm", pixels, bits_stored=16, RescaleSlope="2", RescaleIntercept="-1024"
    )
    image = load_image(path)
    assert image.stored.dtype == np.int16
    np.testing.assert_array_equal(image.stored, pixels)  # never rescaled
    assert image.pixel_representation == 1
    assert image.modality_lut.slope == 2.0 and image.modality_lut.intercept == -1024.0
    assert image.modality_lut.apply(np.array([-2000]))[0] == pytest.approx(-5024.0)


def test_bits_stored_12_masks_unused_high_bits(tmp_path):
    pixels = np.array([[0x0ABC, 0xF123], [0x0FFF, 0x1000]], dtype=np.uint16)
    path = make_file(tmp_path / "b12.dcm", pixels, bits_stored=12)
    image = load_image(path)
    np.testing.assert_array_equal(image.stored, [[0x0ABC, 0x0123], [0x0FFF, 0x0000]])
    assert image.bits_stored == 12


def test_signed_12bit_sign_extended(tmp_path):
    raw = np.array([[0x0800, 0x0FFF, 0x07FF, 0x0001]], dtype=np.uint16).view(np.int16)
    path = make_file(tmp_path / "s12.dcm", raw, bits_stored=12)
    image = load_image(path)
    np.testing.assert_array_equal(image.stored, [[-2048, -1, 2047, 1]])


def test_8bit_unsigned_and_signed(tmp_path):
    u8 = ramp(8, 8, "uint8", step=3)
    i8 = ramp(8, 8, "int8", low=-100, step=3)
    image_u = load_image(make_file(tmp_path / "u8.dcm", u8))
    image_i = load_image(make_file(tmp_path / "i8.dcm", i8))
    assert image_u.stored.dtype == np.uint8 and image_i.stored.dtype == np.int8
    np.testing.assert_array_equal(image_u.stored, u8)
    np.testing.assert_array_equal(image_i.stored, i8)


@pytest.mark.parametrize(
    "syntax", [ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian]
)
def test_native_transfer_syntaxes_decode_identically(tmp_path, syntax):
    pixels = ramp(dtype="int16", low=-3000, step=11)
    path = make_file(tmp_path / "ts.dcm", pixels, transfer_syntax=syntax)
    image = load_image(path)
    assert image.transfer_syntax == syntax
    assert image.stored.dtype.isnative  # big endian swapped once at load
    np.testing.assert_array_equal(image.stored, pixels)


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless])
def test_lossless_compression_round_trip(tmp_path, syntax):
    pixels = ramp(64, 40, "uint16", step=5) % 4096
    ds = make_dataset(pixels.astype(np.uint16), bits_stored=12)
    ds.compress(syntax)
    image = load_image(save(ds, tmp_path / "c.dcm"))
    assert image.transfer_syntax == syntax
    np.testing.assert_array_equal(image.stored, pixels)


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_padded.dcm",
    ],
)
def test_pydicom_lossless_variants_equal_the_uncompressed_original(name):
    reference = load_image(get_testdata_file("MR_small.dcm")).stored
    image = load_image(get_testdata_file(name))
    assert image.stored.dtype == np.int16
    np.testing.assert_array_equal(image.stored, reference)


def test_jpeg_lossless_decodes_like_pydicom():
    path = get_testdata_file("JPEG-LL.dcm")
    image = load_image(path)
    assert image.transfer_syntax == "1.2.840.10008.1.2.4.70"
    np.testing.assert_array_equal(image.stored, pydicom.dcmread(path).pixel_array)


def test_radiograph_j2k_lossless_equals_uncompressed_monochrome1():
    compressed = load_image(get_testdata_file("RG1_J2KR.dcm"))
    original = load_image(get_testdata_file("RG1_UNCR.dcm"))
    assert compressed.photometric == original.photometric == "MONOCHROME1"
    np.testing.assert_array_equal(compressed.stored, original.stored)


def _jpeg_bytes(array: np.ndarray, **save_options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95, **save_options)
    return buffer.getvalue()


def test_jpeg_baseline_monochrome(tmp_path):
    y, x = np.mgrid[0:64, 0:80]
    pixels = (x * 2 + y).astype(np.uint8)  # smooth: little JPEG error
    ds = make_dataset(pixels, transfer_syntax=JPEGBaseline8Bit, sop_class=SECONDARY_CAPTURE)
    ds.PixelData = encapsulate([_jpeg_bytes(pixels)])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    image = load_image(save(ds, tmp_path / "jpg.dcm"))
    assert image.stored.shape == (64, 80) and image.photometric == "MONOCHROME2"
    assert np.abs(image.stored.astype(int) - pixels).max() <= 3


def _ybr_jpeg_dataset(rgb: np.ndarray):
    ds = make_dataset(rgb, transfer_syntax=JPEGBaseline8Bit, sop_class=SECONDARY_CAPTURE)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = encapsulate([_jpeg_bytes(rgb, subsampling=1)])  # 4:2:2
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def test_jpeg_baseline_ybr_colour_converted_to_rgb(tmp_path):
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[:, :16] = (200, 30, 30)
    rgb[:, 16:] = (30, 30, 200)
    image = load_image(save(_ybr_jpeg_dataset(rgb), tmp_path / "ybr.dcm"))
    assert image.photometric == "RGB" and image.stored.shape == (32, 32, 3)
    assert image.stored.dtype == np.uint8
    assert np.abs(image.stored[8, 4].astype(int) - (200, 30, 30)).max() <= 12
    assert np.abs(image.stored[8, 28].astype(int) - (30, 30, 200)).max() <= 12


def test_jpeg_baseline_ybr_with_grey_content_becomes_greyscale(tmp_path):
    y, x = np.mgrid[0:32, 0:48]
    grey = (x * 4 + y).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    image = load_image(save(_ybr_jpeg_dataset(rgb), tmp_path / "grey.dcm"))
    assert image.photometric == "MONOCHROME2" and image.stored.ndim == 2
    assert np.abs(image.stored.astype(int) - grey).max() <= 4


def test_native_rgb(tmp_path):
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 250
    rgb[..., 2] = np.arange(5)
    image = load_image(make_file(tmp_path / "rgb.dcm", rgb, sop_class=SECONDARY_CAPTURE))
    assert image.photometric == "RGB" and image.is_color
    np.testing.assert_array_equal(image.stored, rgb)


# --------------------------------------------------------------------------- frames


def test_multiframe_selects_the_asked_frame(tmp_path):
    frames = np.stack([np.full((6, 7), 100 * (i + 1), dtype=np.uint16) for i in range(3)])
    path = make_file(tmp_path / "mf.dcm", frames, frames=3)
    for index in range(3):
        image = load_image(path, frame=index)
        assert image.number_of_frames == 3 and image.frame_index == index
        assert image.stored.shape == (6, 7)
        assert np.all(image.stored == 100 * (index + 1))
    with pytest.raises(FrameOutOfRangeError, match="3 frame"):
        load_image(path, frame=3)
    with pytest.raises(FrameOutOfRangeError):
        load_image(path, frame=-1)


def test_multiframe_rle_frame_selection(tmp_path):
    frames = np.stack([np.full((5, 4), 7 * (i + 1), dtype=np.uint16) for i in range(4)])
    ds = make_dataset(frames, frames=4)
    ds.compress(RLELossless)
    image = load_image(save(ds, tmp_path / "mf_rle.dcm"), frame=2)
    assert np.all(image.stored == 21)


# --------------------------------------------------------------------------- pipeline parameters


def test_multiple_windows_with_explanations_and_function(tmp_path):
    path = make_file(
        tmp_path / "w.dcm",
        ramp(),
        WindowCenter=["1000", "2000.5"],
        WindowWidth=["400", "3000"],
        WindowCenterWidthExplanation=["SOFT", "BONE"],
        VOILUTFunction="SIGMOID",
    )
    windows = load_image(path).windows
    assert [(w.center, w.width, w.explanation) for w in windows] == [
        (1000.0, 400.0, "SOFT"),
        (2000.5, 3000.0, "BONE"),
    ]
    assert {w.function for w in windows} == {"SIGMOID"}


def test_invalid_window_width_is_dropped(tmp_path):
    path = make_file(tmp_path / "w0.dcm", ramp(), WindowCenter=["100", "50"],
                     WindowWidth=["0", "20"])
    image = load_image(path)
    assert [(w.center, w.width) for w in image.windows] == [(50.0, 20.0)]
    assert any("width 0" in note for note in image.warnings)


def _lut_item(descriptor, data, explanation="", descriptor_vr=None):
    item = pydicom.Dataset()
    item.LUTDescriptor = descriptor
    if descriptor_vr:
        item["LUTDescriptor"].VR = descriptor_vr
    item.LUTData = data
    item["LUTData"].VR = "US"  # written as a US list; the OW form is tested separately
    if explanation:
        item.LUTExplanation = explanation
    return item


def test_voi_lut_sequence_tables(tmp_path):
    ds = make_dataset(ramp(dtype="int16", low=-100, step=1))
    ds.VOILUTSequence = Sequence(
        [
            # first mapped -2 on a signed image, written as US 65534 by some devices
            _lut_item([4, 65536 - 2, 12], [0, 1000, 3000, 4095], "custom", "US"),
            _lut_item([3, 10, 8], [5, 6, 7]),
            _lut_item([2, -5, 8], [1, 2]),
        ]
    )
    image = load_image(save(ds, tmp_path / "voi.dcm"))
    first, second, third = image.voi_luts
    assert third.first_mapped == -5
    assert first.first_mapped == -2
    assert first.bits == 12 and list(first.data) == [0, 1000, 3000, 4095]
    assert first.explanation == "custom"
    assert second.first_mapped == 10 and second.bits == 8
    assert second.explanation == "VOI LUT 2"


def test_modality_lut_sequence(tmp_path):
    ds = make_dataset(ramp(4, 4, "uint16", step=1))
    ds.ModalityLUTSequence = Sequence([_lut_item([4, 2, 16], [10, 20, 30, 40])])
    lut = load_image(save(ds, tmp_path / "mlut.dcm")).modality_lut
    assert lut.table is not None and lut.first_mapped == 2
    np.testing.assert_array_equal(lut.apply(np.array([0, 2, 3, 5, 99])), [10, 10, 20, 40, 40])


def test_monochrome1_and_presentation_lut_shape(tmp_path):
    image = load_image(
        make_file(tmp_path / "m1.dcm", ramp(), photometric="MONOCHROME1", modality="CR",
                  sop_class=CR_IMAGE, PresentationLUTShape="INVERSE")
    )
    assert image.photometric == "MONOCHROME1"
    assert image.presentation_lut_shape == "INVERSE"


def test_enhanced_functional_groups_feed_window_rescale_and_spacing(tmp_path):
    frames = np.stack([np.full((4, 4), i, dtype=np.uint16) for i in range(2)])
    ds = make_dataset(frames, frames=2, modality="DX")
    shared = pydicom.Dataset()
    measures = pydicom.Dataset()
    measures.PixelSpacing = ["0.2", "0.25"]
    shared.PixelMeasuresSequence = Sequence([measures])
    per_frame = []
    for i in range(2):
        item = pydicom.Dataset()
        voi = pydicom.Dataset()
        voi.WindowCenter, voi.WindowWidth = str(100 + i), "50"
        item.FrameVOILUTSequence = Sequence([voi])
        transform = pydicom.Dataset()
        transform.RescaleSlope, transform.RescaleIntercept = "1", str(-10 * i)
        item.PixelValueTransformationSequence = Sequence([transform])
        per_frame.append(item)
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    image = load_image(save(ds, tmp_path / "enh.dcm"), frame=1)
    assert image.windows[0].center == 101.0
    assert image.modality_lut.intercept == -10.0
    assert image.calibration_header.pixel_spacing == (0.2, 0.25)


# --------------------------------------------------------------------------- calibration header


def test_calibration_header_from_dx_tags(tmp_path):
    path = make_file(
        tmp_path / "cal.dcm",
        ramp(),
        ImagerPixelSpacing=["0.143", "0.139"],
        PixelSpacing=["0.13", "0.12636"],
        EstimatedRadiographicMagnificationFactor="1.1",
        DistanceSourceToDetector="1800",
        DistanceSourceToPatient="1500",
        PixelSpacingCalibrationType="GEOMETRY",
        PixelSpacingCalibrationDescription="ERMF applied",
    )
    image = load_image(path)
    header = image.calibration_header
    assert header.modality == "DX"
    assert header.imager_pixel_spacing == (0.143, 0.139)  # row, column kept apart
    assert header.pixel_spacing == (0.13, 0.12636)
    assert header.magnification_factor == 1.1
    assert header.distance_source_to_detector == 1800.0
    assert header.distance_source_to_patient == 1500.0
    assert header.pixel_spacing_calibration_type == "GEOMETRY"
    assert header.pixel_spacing_calibration_description == "ERMF applied"
    calibration = image.calibration()
    assert calibration.source is CalibrationSource.PIXEL_SPACING
    assert (calibration.row_mm, calibration.col_mm) == (0.13, 0.12636)
    assert "GEOMETRY" in calibration.detail


def test_detector_plane_and_magnification_from_header(tmp_path):
    path = make_file(
        tmp_path / "det.dcm", ramp(), ImagerPixelSpacing=["0.15", "0.15"],
        PixelSpacing=["0.15", "0.15"], EstimatedRadiographicMagnificationFactor="1.25",
    )
    image = load_image(path)
    assert image.calibration().source is CalibrationSource.DETECTOR
    corrected = image.calibration(use_magnification=True)
    assert corrected.source is CalibrationSource.MAGNIFICATION
    assert corrected.row_mm == pytest.approx(0.12)


def test_missing_or_bad_spacing_is_uncalibrated(tmp_path):
    path = make_file(tmp_path / "bad.dcm", ramp(), ImagerPixelSpacing=["0", "0.1"])
    image = load_image(path)
    assert image.calibration_header.imager_pixel_spacing is None
    assert image.calibration().source is CalibrationSource.NONE


def test_patient_info(tmp_path):
    path = make_file(
        tmp_path / "p.dcm", ramp(), PatientName="Doe^Jane", PatientBirthDate="19400102",
        StudyDate="20240315", ViewPosition="LL", BodyPartExamined="LSPINE",
    )
    info = load_image(path).patient
    assert info.name == "Doe Jane" and info.patient_id == "T1"
    assert info.birth_date.isoformat() == "1940-01-02"
    assert info.study_date.isoformat() == "2024-03-15"
    assert info.view_position == "LL" and info.body_part == "LSPINE"


# --------------------------------------------------------------------------- errors


def test_truncated_native_pixel_data(tmp_path):
    path = make_file(tmp_path / "t.dcm", ramp(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3000])
    with pytest.raises(CorruptPixelDataError, match="truncated"):
        load_image(path)


def test_truncated_encapsulated_pixel_data(tmp_path):
    ds = make_dataset(np.random.default_rng(1).integers(0, 4000, (64, 64)).astype(np.uint16))
    ds.compress(RLELossless)
    path = save(ds, tmp_path / "t_rle.dcm")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 2000])
    with pytest.raises(CorruptPixelDataError):
        load_image(path)


def test_corrupt_compressed_stream(tmp_path):
    ds = make_dataset(ramp(), transfer_syntax=JPEG2000Lossless)
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x00" * 200])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    with pytest.raises(CorruptPixelDataError, match="cannot be decoded"):
        load_image(save(ds, tmp_path / "bad_j2k.dcm"))


def test_structured_report_has_no_pixel_data(tmp_path):
    ds = make_dataset(ramp(), sop_class=COMPREHENSIVE_SR, modality="SR")
    for keyword in ("PixelData", "Rows", "Columns", "BitsAllocated"):
        del ds[keyword]
    path = save(ds, tmp_path / "sr.dcm")
    with pytest.raises(NoPixelDataError, match="Comprehensive SR") as info:
        load_image(path)
    assert info.value.sop_class_uid == COMPREHENSIVE_SR
    assert read_header(path).is_image is False


def test_text_file_is_not_dicom(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Patient notes, not an image\n" * 20)
    with pytest.raises(NotDicomError) as info:
        load_image(path)
    assert info.value.path == path and "\n" not in info.value.message
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(NotDicomError, match="empty"):
        load_image(empty)


def test_folder_and_missing_file_are_unreadable(tmp_path):
    with pytest.raises(UnreadableFileError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(UnreadableFileError, match="not found"):
        load_image(tmp_path / "nope.dcm")


def test_permission_denied_is_unreadable(tmp_path, monkeypatch):
    path = make_file(tmp_path / "p.dcm", ramp())

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(dicom_io, "open", refuse, raising=False)  # tests run as root
    with pytest.raises(UnreadableFileError, match="permission"):
        load_image(path)


def test_undecodable_compression_names_the_transfer_syntax(tmp_path):
    mpeg2 = UID("1.2.840.10008.1.2.4.100")
    ds = make_dataset(ramp(), transfer_syntax=mpeg2)
    ds.PixelData = encapsulate([b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    path = save(ds, tmp_path / "mpeg2.dcm")
    with pytest.raises(UnsupportedCompressionError, match="MPEG2") as info:
        load_image(path)
    assert info.value.transfer_syntax_uid == mpeg2
    assert "1.2.840.10008.1.2.4.100" in info.value.message
    # A transfer syntax pydicom does not know at all (JPEG XL, same UID length).
    jxl = tmp_path / "jxl.dcm"
    data = path.read_bytes()
    jxl.write_bytes(data.replace(b"1.2.840.10008.1.2.4.100", b"1.2.840.10008.1.2.4.110"))
    with pytest.raises(UnsupportedCompressionError, match="1.2.840.10008.1.2.4.110"):
        load_image(jxl)


def test_modality_lut_data_as_ow_bytes(tmp_path):
    ds = make_dataset(ramp(4, 4, "uint16", step=1))
    item = _lut_item([3, 0, 16], [0])
    item.LUTData = np.array([100, 200, 300], dtype="<u2").tobytes()
    item["LUTData"].VR = "OW"
    ds.ModalityLUTSequence = Sequence([item])
    lut = load_image(save(ds, tmp_path / "ow.dcm")).modality_lut
    np.testing.assert_array_equal(lut.apply(np.array([0, 1, 2, 9])), [100, 200, 300, 300])


def test_missing_plugin_says_what_to_install(tmp_path, monkeypatch):
    from pydicom.pixels import get_decoder

    ds = make_dataset(ramp(64, 64) % 4096, bits_stored=12)
    ds.compress(JPEG2000Lossless)
    path = save(ds, tmp_path / "j2k.dcm")
    decoder = type(get_decoder(JPEG2000Lossless))
    monkeypatch.setattr(decoder, "is_available", property(lambda self: False))
    monkeypatch.setattr(
        decoder, "missing_dependencies", property(lambda self: ["pylibjpeg - requires openjpeg"])
    )
    with pytest.raises(UnsupportedCompressionError, match="install pylibjpeg-openjpeg") as info:
        load_image(path)
    assert "JPEG 2000" in info.value.message
    assert info.value.missing == ("pylibjpeg-openjpeg",)


def test_32bit_image_is_unsupported(tmp_path):
    pixels = np.arange(16, dtype=np.uint32).reshape(4, 4)
    path = make_file(tmp_path / "u32.dcm", pixels, sop_class=SECONDARY_CAPTURE)
    with pytest.raises(UnsupportedImageError, match="32-bit"):
        load_image(path)


def test_errors_are_one_line_and_carry_path(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x01\x02garbage" * 50)
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert info.value.path == path
    assert str(info.value).startswith("x.bin: ")


def test_preamble_less_dataset_is_read(tmp_path):
    ds = make_dataset(ramp(8, 8), transfer_syntax=ImplicitVRLittleEndian)
    path = tmp_path / "raw.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=True, little_endian=True)  # no preamble, no meta
    assert sniff_file_kind(path.read_bytes()[:132]) == "dicom-raw"
    image = load_image(path)
    np.testing.assert_array_equal(image.stored, ramp(8, 8))


# --------------------------------------------------------------------------- photographs


def _png(path, array):
    Image.fromarray(array).save(path)
    return path


def test_grey_png_8_and_16_bit_kept_2d_uncalibrated(tmp_path):
    grey8 = ramp(10, 12, "uint8", step=2)
    grey16 = ramp(10, 12, "uint16", step=500)
    image8 = load_image(_png(tmp_path / "g8.png", grey8))
    image16 = load_image(_png(tmp_path / "g16.png", grey16))
    assert image8.stored.dtype == np.uint8 and image8.bits_stored == 8
    np.testing.assert_array_equal(image8.stored, grey8)
    assert image16.stored.dtype == np.uint16 and image16.bits_stored == 16
    np.testing.assert_array_equal(image16.stored, grey16)
    for image in (image8, image16):
        assert not image.is_dicom and image.photometric == "MONOCHROME2"
        assert image.calibration().source is CalibrationSource.NONE
        assert image.calibration_header.pixel_spacing is None
        assert image.calibration_header.imager_pixel_spacing is None


def test_colour_png_becomes_rgb_uint8(tmp_path):
    rgb = np.zeros((6, 9, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    rgb[2:, :, 1] = 120
    image = load_image(_png(tmp_path / "c.png", rgb))
    assert image.photometric == "RGB" and image.stored.shape == (6, 9, 3)
    np.testing.assert_array_equal(image.stored, rgb)


def test_rgba_and_grey_content_jpeg(tmp_path):
    grey = np.tile(np.arange(0, 240, 4, dtype=np.uint8), (20, 1))
    Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2)).save(tmp_path / "g.jpg", quality=98)
    image = load_image(tmp_path / "g.jpg")
    assert image.stored.ndim == 2 and image.photometric == "MONOCHROME2"
    assert np.abs(image.stored.astype(int) - grey).max() <= 4
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 2] = 200
    rgba[..., 3] = 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png").stored.shape == (4, 4, 3)


def test_multipage_tiff_frame_and_exif_orientation(tmp_path):
    pages = [Image.fromarray(np.full((5, 8), 10 * (i + 1), dtype=np.uint8)) for i in range(3)]
    pages[0].save(tmp_path / "m.tif", save_all=True, append_images=pages[1:])
    image = load_image(tmp_path / "m.tif", frame=2)
    assert image.number_of_frames == 3 and np.all(image.stored == 30)
    with pytest.raises(FrameOutOfRangeError):
        load_image(tmp_path / "m.tif", frame=3)

    upright = np.zeros((4, 6), dtype=np.uint8)
    upright[0, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(upright).save(tmp_path / "o.jpg", exif=exif, quality=100)
    rotated = load_image(tmp_path / "o.jpg")
    assert rotated.stored.shape == (6, 4)
    assert read_header(tmp_path / "o.jpg").rows == 6


def test_pseudo_uid_is_stable_and_content_derived(tmp_path):
    a = _png(tmp_path / "a.png", ramp(4, 4, "uint8"))
    b = tmp_path / "renamed.png"
    b.write_bytes(a.read_bytes())
    c = _png(tmp_path / "c.png", ramp(4, 4, "uint8", step=3))
    uid_a, uid_b, uid_c = (load_image(p).sop_instance_uid for p in (a, b, c))
    assert uid_a == uid_b != uid_c
    assert uid_a.startswith("2.25.") and len(uid_a) <= 64
    assert uid_a == pseudo_uid(a.read_bytes())
    assert read_header(a).sop_instance_uid == uid_a


def test_corrupt_png(tmp_path):
    path = _png(tmp_path / "x.png", ramp(50, 50, "uint8"))
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(CorruptPixelDataError):
        load_image(path)


# --------------------------------------------------------------------------- headers, speed


def test_read_header_summary(tmp_path):
    frames = np.zeros((2, 6, 5), dtype=np.uint16)
    path = make_file(
        tmp_path / "h.dcm", frames, frames=2, PatientName="Roe^Ann", StudyDate="20230101",
        StudyDescription="L-spine", SeriesDescription="lateral", SeriesNumber="3",
        InstanceNumber="7", ViewPosition="LL",
    )
    summary = read_header(path)
    assert summary.is_dicom and summary.is_image
    assert (summary.rows, summary.columns, summary.number_of_frames) == (6, 5, 2)
    assert summary.patient_name == "Roe Ann" and summary.study_date.isoformat() == "2023-01-01"
    assert summary.series_number == 3 and summary.instance_number == 7
    assert summary.view_position == "LL" and summary.modality == "DX"


def test_load_is_not_slower_than_bare_pydicom(tmp_path):
    """Open ≤ 1.5 × bare ``dcmread(p).pixel_array`` on a 3000 × 3000 16-bit film."""
    pixels = np.random.default_rng(0).integers(0, 4096, (3000, 3000), dtype=np.uint16)
    path = make_file(tmp_path / "big.dcm", pixels, WindowCenter="2000", WindowWidth="4000")

    def best(func, repeats=5):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
        return min(times)

    bare = best(lambda: pydicom.dcmread(path).pixel_array)
    ours = best(lambda: load_image(path))
    assert ours <= 1.5 * bare, f"load {ours * 1e3:.1f} ms vs bare {bare * 1e3:.1f} ms"
