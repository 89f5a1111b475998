"""Reading TID 1500 reports written by other programs (built here with highdicom the way
OHIF and 3D Slicer write them), the SCOORD pixel convention, and files that are not
measurement reports."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom import dcmread
from pydicom.sr.codedict import codes

from ovcf_viewer.io.sr import SrFormatError, parse_measurement_sr
from tests.cli.dicom_factory import write_dx
from tests.dciodvfy import assert_valid_dicom


def _film(tmp_path: Path):
    path = tmp_path / "film.dcm"
    write_dx(path)
    film = dcmread(path)
    film.StudyInstanceUID = "2.25.55"
    film.SeriesInstanceUID = "2.25.56"
    for keyword in ("PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                    "ReferringPhysicianName", "StudyID", "AccessionNumber"):
        setattr(film, keyword, None)
    film.save_as(path, enforce_file_format=True)
    return path, film


def _foreign_sr(film, groups, path: Path) -> Path:
    """A TID 1500 report by "another program": a device observer, given groups."""
    context = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name="Other viewer"),
    ))
    report = hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[film], content=report[0], series_instance_uid=hd.UID(), series_number=5,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Other",
    )
    sr.save_as(path, enforce_file_format=True)
    assert_valid_dicom(path)
    return path


def _source(film):
    return hd.sr.SourceImageForRegion(film.SOPClassUID, film.SOPInstanceUID)


def test_ohif_style_length_becomes_a_ruler(tmp_path):
    """OHIF writes a length as a TID 1501 group: tracking identifier, a Length NUM inferred
    from a two-point POLYLINE on the image."""
    path, film = _film(tmp_path)
    line = np.array([[100.5, 200.5], [160.5, 280.5]], dtype=np.float32)
    length = hd.sr.Measurement(
        name=codes.SCT.Length, value=100.0, unit=codes.UCUM.Millimeter,
        referenced_coordinates=[hd.sr.CoordinatesForMeasurement("POLYLINE", line,
                                                                _source(film))],
    )
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(identifier="Length 1"),
        measurements=[length],
    )
    sr = _foreign_sr(film, [group], tmp_path / "ohif.dcm")
    result = parse_measurement_sr(dcmread(sr))
    model = result.annotations
    assert model.sop_instance_uid == film.SOPInstanceUID
    assert result.skipped == [] and model.vertebrae == {}
    assert [t.kind for t in model.tools] == ["ruler"]
    # SCOORD (0, 0) is the pixel's corner, ours its centre: 100.5 → 100.
    assert model.tools[0].points == [(100.0, 200.0), (160.0, 280.0)]


def test_slicer_style_planar_roi_is_skipped_and_named(tmp_path):
    path, film = _film(tmp_path)
    polygon = np.array([[10, 10], [50, 10], [50, 40], [10, 40], [10, 10]], dtype=np.float32)
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(identifier="Region 7"),
        referenced_region=hd.sr.ImageRegion("POLYLINE", polygon, _source(film)),
        finding_type=codes.SCT.Lesion,
        measurements=[hd.sr.Measurement(name=codes.SCT.Area, value=120.0,
                                        unit=codes.UCUM.SquareMillimeter)],
    )
    sr = _foreign_sr(film, [group], tmp_path / "slicer.dcm")
    result = parse_measurement_sr(dcmread(sr))
    assert result.annotations.vertebrae == {} and result.annotations.tools == []
    text = " | ".join(result.skipped)
    assert "Region 7" in text and "planar region (POLYLINE)" in text
    assert "Area 120 mm2" in text


def test_a_vertebra_group_without_all_landmarks_is_skipped_with_its_level(tmp_path):
    path, film = _film(tmp_path)
    line = np.array([[300.5, 100.5], [305.5, 180.5]], dtype=np.float32)
    height = hd.sr.Measurement(
        name=codes.DCM.Height, value=24.0, unit=codes.UCUM.Millimeter,
        referenced_coordinates=[hd.sr.CoordinatesForMeasurement("POLYLINE", line,
                                                                _source(film))],
        finding_sites=[hd.sr.FindingSite(codes.SCT.T12Vertebra,
                                         topographical_modifier=codes.SCT.Anterior)],
    )
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(identifier="T12"),
        finding_sites=[hd.sr.FindingSite(codes.SCT.T12Vertebra)],
        measurements=[height],
    )
    result = parse_measurement_sr(dcmread(_foreign_sr(film, [group], tmp_path / "t12.dcm")))
    assert result.annotations.vertebrae == {}
    assert result.skipped == [
        "measurement group 1 (T12): T12 has 2 of the 6 landmarks; its measurements are not "
        "imported"
    ]


def test_an_sr_that_is_not_tid_1500_is_refused(tmp_path):
    path, film = _film(tmp_path)
    root = hd.sr.ContainerContentItem(name=codes.DCM.Findings, template_id=None)
    root.ContentSequence = [hd.sr.TextContentItem(
        name=codes.DCM.Finding, value="free text",
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)]
    sr = hd.sr.ComprehensiveSR(
        evidence=[film], content=root, series_instance_uid=hd.UID(), series_number=1,
        sop_instance_uid=hd.UID(), instance_number=1,
    )
    with pytest.raises(SrFormatError, match="not a TID 1500 measurement report"):
        parse_measurement_sr(sr, where="notes.dcm")


def test_an_image_is_not_a_measurement_sr(tmp_path):
    path, film = _film(tmp_path)
    with pytest.raises(SrFormatError) as info:
        parse_measurement_sr(film, where="film.dcm")
    assert str(info.value) == "film.dcm: not a measurement SR (Digital X-Ray Image Storage " \
        "- For Presentation)"


def test_landmarks_on_an_8k_film_come_back_within_a_thousandth_of_a_pixel(tmp_path):
    """SCOORD values are 32-bit floats; at 8192 px their step is 0.00049 px."""
    from ovcf_viewer.io.sr import SrMeasurements, VertebraValues, build_measurement_sr
    from ovcf_viewer.model.calibration import Calibration
    from ovcf_viewer.model.landmarks import POINT_NAMES, ImageAnnotations, Vertebra

    path, film = _film(tmp_path)
    film.Rows = film.Columns = 8192
    model = ImageAnnotations(film.SOPInstanceUID)
    corners = [(8191.2345, 8190.9876), (8000.0001, 8100.4999), (7999.9999, 8003.3333),
               (8150.6789, 8180.1234), (8100.2468, 8170.1357), (8050.9753, 8160.8642)]
    model.vertebrae["L5"] = Vertebra("L5", dict(zip(POINT_NAMES, corners, strict=True)))
    values = VertebraValues("L5", 1.0, 1.0, 1.0, 1.0, 1.0, None, 0.0, 0, "none", 0.0)
    sr = build_measurement_sr(film, SrMeasurements(model, Calibration.none(), (values,)))
    back = parse_measurement_sr(sr).annotations.vertebrae["L5"].points
    for name, (x, y) in zip(POINT_NAMES, corners, strict=True):
        assert abs(back[name][0] - x) <= 0.001 and abs(back[name][1] - y) <= 0.001, name
    # Written in the SCOORD convention: the pixel's corner is 0, so x + 0.5.
    graphic = [item for item in _all_items(sr) if item.get("ValueType") == "SCOORD"]
    assert graphic[0].GraphicData[0] == pytest.approx(corners[0][0] + 0.5, abs=0.0005)


def _all_items(ds):
    for item in ds.get("ContentSequence", []):
        yield item
        yield from _all_items(item)
