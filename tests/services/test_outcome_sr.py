"""The measurement SR of the issue's case (tests.outcome_case) carries the outcomes
(docs/clinical-reference.md §5a): the post-operative film's SR holds the drawn leak as a
closed SCOORD POLYLINE (a polygon) with the cement-leakage finding and its location, and
the cement and estimated body volumes; valid per dciodvfy and read back with highdicom."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest
from pydicom import dcmread

from ovcf_viewer.io import sr_codes
from ovcf_viewer.model.case import save_case
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.services.sr import export_sr, import_sr
from tests.dciodvfy import assert_valid_dicom
from tests.outcome_case import CEMENT_ML, LEAK_POINTS, outcome_case
from tests.services.test_outcome_outputs import expected_l1_volume_ml


def _code(value):
    return hd.sr.CodedConcept(*value)


def test_case_sr_carries_leak_polygon_and_volumes(tmp_path):
    case = outcome_case(tmp_path)
    save_case(case, tmp_path / "case.json")
    result = export_sr([tmp_path / "case.json"], tmp_path / "sr", Settings())
    assert len(result.written) == 3
    by_film = {dcmread(p).CurrentRequestedProcedureEvidenceSequence[0]
               .ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
               .ReferencedSOPInstanceUID: p for p in result.written}
    post_path = by_film[case.postop_film().sop_instance_uid]
    for path in result.written:
        assert_valid_dicom(path)
    sr = hd.sr.srread(post_path)
    # the leak: a planar ROI group with a closed polygon at the drawn points (+0.5 px corner)
    rois = sr.content.get_planar_roi_measurement_groups(
        finding_type=_code(sr_codes.CEMENT_LEAKAGE))
    assert len(rois) == 1
    roi = rois[0]
    assert roi.tracking_identifier == "L1 leak 1"
    region = roi.roi
    assert region.graphic_type == hd.sr.GraphicTypeValues.POLYLINE
    expected = np.array([*LEAK_POINTS, LEAK_POINTS[0]]) + 0.5
    np.testing.assert_allclose(region.value, expected, atol=1e-3)
    assert roi.finding_sites[0].value.value == sr_codes.LEAK_LOCATIONS["paravertebral"][0]
    area = roi.get_measurements(name=_code(sr_codes.AREA))[0]
    row_mm, col_mm = (float(v) for v in dcmread(case.postop_film().path).ImagerPixelSpacing)
    assert area.value == pytest.approx(40 * col_mm * 60 * row_mm, rel=1e-6)  # 40 × 60 px
    assert area.unit.value == "mm2"
    # the cement group: volumes in mL, leakage and endplate contact yes
    cement = _cement_group(sr)
    values = {m.name.value: (m.value, m.unit.value) for m in cement.get_measurements()}
    assert values[sr_codes.CEMENT_VOLUME[0]] == (pytest.approx(CEMENT_ML), "mL")
    volume = expected_l1_volume_ml(case)
    assert values[sr_codes.BODY_VOLUME_ESTIMATE[0]][0] == pytest.approx(volume, rel=1e-6)
    assert values[sr_codes.CEMENT_FILL[0]][0] == pytest.approx(CEMENT_ML / volume * 100,
                                                              rel=1e-6)
    ours = {sr_codes.CEMENT_LEAKAGE[0], sr_codes.ENDPLATE_CONTACT[0]}
    evaluations = {e.name.value: e.value.value for e in cement.get_qualitative_evaluations()
                   if e.name.value in ours}  # (the timepoint's type is one too)
    assert evaluations == {sr_codes.CEMENT_LEAKAGE[0]: sr_codes.YES[0],
                           sr_codes.ENDPLATE_CONTACT[0]: sr_codes.YES[0]}
    # the pre-operative film's SR carries no outcome group; the import still reads landmarks
    pre = hd.sr.srread(by_film[case.preop_film().sop_instance_uid])
    assert not pre.content.get_planar_roi_measurement_groups()
    read = import_sr(post_path)
    assert "L1" in read.values


def _cement_group(sr):
    """The TID 1501 group whose Tracking Identifier is "L1 cement"."""
    from highdicom.sr import MeasurementsAndQualitativeEvaluations

    for container in sr.ContentSequence:  # Imaging Measurements
        for item in getattr(container, "ContentSequence", []):
            for child in getattr(item, "ContentSequence", []):
                if (child.ConceptNameCodeSequence[0].CodeValue == "112039"
                        and getattr(child, "TextValue", "") == "L1 cement"):
                    return MeasurementsAndQualitativeEvaluations.from_sequence([item])
    raise AssertionError("no L1 cement group")
