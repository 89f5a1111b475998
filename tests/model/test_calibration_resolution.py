"""resolve_calibration fed from real headers (docs/clinical-reference.md §1), and the magnification
factor's validity: a projection magnifies (SID ≥ SOD), so a factor below 1 is header noise."""

from __future__ import annotations

import numpy as np
import pytest

from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.model.calibration import CalibrationHeader, CalibrationSource, resolve_calibration
from tests.dicom_builders import SECONDARY_CAPTURE, make_file


def test_magnification_factor_below_one_is_ignored():
    header = CalibrationHeader(modality="DX", imager_pixel_spacing=(0.15, 0.15),
                               magnification_factor=0.8)
    assert header.effective_magnification() is None
    calibration = resolve_calibration(header, use_magnification=True)
    assert calibration.source is CalibrationSource.DETECTOR  # never enlarged to 0.1875 mm


def test_invalid_ermf_falls_back_to_sid_sod():
    header = CalibrationHeader(modality="DX", imager_pixel_spacing=(0.15, 0.15),
                               magnification_factor=0.5, distance_source_to_detector=1800.0,
                               distance_source_to_patient=1500.0)
    factor, origin = header.effective_magnification()
    assert factor == pytest.approx(1.2) and origin == "SID/SOD"


def test_sod_beyond_sid_gives_no_factor():
    header = CalibrationHeader(modality="DX", imager_pixel_spacing=(0.15, 0.15),
                               distance_source_to_detector=1000.0,
                               distance_source_to_patient=1200.0)
    assert header.effective_magnification() is None


def test_factor_exactly_one_is_valid():
    header = CalibrationHeader(modality="DX", imager_pixel_spacing=(0.15, 0.15),
                               magnification_factor=1.0)
    assert header.effective_magnification() == (1.0, "Estimated Radiographic Magnification Factor")


@pytest.mark.parametrize(
    ("elements", "source", "row_mm", "col_mm"),
    [
        # DX with Imager Pixel Spacing only: detector plane, row and column apart
        ({"ImagerPixelSpacing": ["0.150", "0.160"]}, CalibrationSource.DETECTOR, 0.15, 0.16),
        # Pixel Spacing equal to Imager Pixel Spacing: no correction was made (PS3.3 §10.7)
        ({"ImagerPixelSpacing": ["0.15", "0.15"], "PixelSpacing": ["0.15", "0.15"]},
         CalibrationSource.DETECTOR, 0.15, 0.15),
        # Pixel Spacing corrected by the modality: in the patient, never divided again
        ({"ImagerPixelSpacing": ["0.15", "0.15"], "PixelSpacing": ["0.125", "0.125"],
          "EstimatedRadiographicMagnificationFactor": "1.2"},
         CalibrationSource.PIXEL_SPACING, 0.125, 0.125),
        # CR with Pixel Spacing alone: plane unstated -> detector
        ({"PixelSpacing": ["0.1", "0.1"]}, CalibrationSource.DETECTOR, 0.1, 0.1),
        # nothing
        ({}, CalibrationSource.NONE, 1.0, 1.0),
    ],
)
def test_loader_feeds_resolve_calibration(tmp_path, elements, source, row_mm, col_mm):
    path = make_file(tmp_path / "c.dcm", np.zeros((4, 4), dtype=np.uint16), **elements)
    calibration = load_image(path).calibration()
    assert calibration.source is source
    assert (calibration.row_mm, calibration.col_mm) == pytest.approx((row_mm, col_mm))


def test_secondary_capture_pixel_spacing_is_in_the_patient(tmp_path):
    path = make_file(tmp_path / "sc.dcm", np.zeros((4, 4), dtype=np.uint8),
                     sop_class=SECONDARY_CAPTURE, modality="OT", PixelSpacing=["0.2", "0.3"])
    calibration = load_image(path).calibration()
    assert calibration.source is CalibrationSource.PIXEL_SPACING
    assert (calibration.row_mm, calibration.col_mm) == (0.2, 0.3)


def test_enabled_magnification_divides_detector_spacing_only(tmp_path):
    path = make_file(tmp_path / "m.dcm", np.zeros((4, 4), dtype=np.uint16),
                     ImagerPixelSpacing=["0.15", "0.18"], DistanceSourceToDetector="1800",
                     DistanceSourceToPatient="1500")
    image = load_image(path)
    assert image.calibration().source is CalibrationSource.DETECTOR  # setting off by default
    corrected = image.calibration(use_magnification=True)
    assert corrected.source is CalibrationSource.MAGNIFICATION
    assert (corrected.row_mm, corrected.col_mm) == pytest.approx((0.125, 0.15))
