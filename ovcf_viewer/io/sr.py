"""Vertebral measurements as a DICOM SR Measurement Report (PS3.16 TID 1500), written and read.

Writing (:func:`build_measurement_sr`) uses highdicom's templates: one Comprehensive SR per
film, in the film's study (Patient and Study modules copied from the film by highdicom), whose
TID 1500 report holds one TID 1501 measurement group per measured vertebra:

* Tracking Identifier = the level ("T12") with a Tracking UID; Finding Site = the vertebra
  (SNOMED CT); TID 1502 Time Point Context (pre-op, post-op, follow-up, with date and the
  interval from the procedure);
* TID 300 measurements: Ha, Hm, Hp as DCM "Height" with the finding site's topographical
  modifier anterior/central/posterior, in mm (UCUM ``mm``) or pixels (``{pixels}``) when
  uncalibrated, the calibration source as the Measurement Method; each height is inferred from
  a two-point SCOORD POLYLINE (superior landmark, inferior landmark) on the film, so the six
  landmarks travel with the heights; the ratios, the wedge angle, the Genant height reduction;
  for an index level the segmental kyphosis and LOVBH;
* qualitative evaluations: Genant grade, deformity type, whether the level is an index level.

Rulers, angles and two-line Cobb angles go in groups of their own, each measurement inferred
from a POLYLINE through the tool's points (as OHIF writes them); a manual calibration in one
more group (Horizontal/Vertical Pixel Spacing), so an import measures the same.

Codes: :mod:`ovcf_viewer.io.sr_codes` (listed in docs/sr-codes.md). Coordinates: ours are
``(x, y) = (column, row)`` with ``(0, 0)`` at the centre of the top-left pixel
(docs/clinical-reference.md §1); an SR's SCOORD has ``(0, 0)`` at the top-left *corner* of
that pixel (PS3.3 C.18.6.1.2),
so we write ``x + 0.5, y + 0.5`` and read ``x − 0.5, y − 0.5``.
SCOORD values are 32-bit floats: on films up to 8192 pixels a landmark comes back within
0.0005 px.

Reading (:func:`parse_measurement_sr`) walks the content tree with pydicom, so an SR written by
another program (OHIF, 3D Slicer, highdicom's examples) is read as far as it follows TID 1500:
our vertebra groups become landmarks (a group with Ha and Hp only, no Hm, is a vertebra placed
in four-corner mode and comes back as one); a length, angle or Cobb measurement drawn on the image
becomes a ruler, angle or Cobb tool; everything else is listed in :attr:`SrImport.skipped`.

Nothing here imports Qt; highdicom is imported inside the functions (it is heavy).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydicom.dataset import Dataset

from ovcf_viewer.io import sr_codes
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import (
    LEVELS,
    AnnotationFormatError,
    ImageAnnotations,
    Timepoint,
    Tool,
    Vertebra,
    level_index,
)

__all__ = [
    "MEASUREMENT_SR_CLASSES",
    "SrFormatError",
    "SrImport",
    "SrMeasurements",
    "ToolValue",
    "VertebraValues",
    "LevelOutcomeValues",
    "build_measurement_sr",
    "check_annotations",
    "parse_measurement_sr",
]

#: SR storage SOP classes a TID 1500 report may come in (PS3.4 B.5).
MEASUREMENT_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
    "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR",
    "1.2.840.10008.5.1.4.1.1.88.35": "Extensible SR",
}

_MEASUREMENT_GROUP = ("125007", "DCM")
_TRACKING_IDENTIFIER = ("112039", "DCM")
_FINDING_SITE = ("363698007", "SCT")
_TOPOGRAPHICAL_MODIFIER = ("106233006", "SCT")
_MEASUREMENT_METHOD = ("370129005", "SCT")
_IMAGE_REGION = ("111030", "DCM")
_TIME_POINT = ("C2348792", "UMLS")
_SUBJECT_TIME_POINT_ID = ("126070", "DCM")
_TEMPORAL_OFFSET = ("128740", "DCM")

# Superior/inferior landmark pairs of the three heights.
_HEIGHT_POINTS = {"a": ("sa", "ia"), "m": ("sm", "im"), "p": ("sp", "ip")}
_PIXEL_CORNER = 0.5  # SCOORD origin (pixel corner) minus ours (pixel centre), in pixels


class SrFormatError(ValueError):
    """A file that is not a measurement SR we can read; the message is one line."""


@dataclass(frozen=True)
class VertebraValues:
    """One vertebra's numbers as the measurements panel shows them (lengths in the
    calibration's unit: mm, or pixels when uncalibrated)."""

    level: str
    anterior_height: float
    middle_height: float | None  # None: placed in four-corner mode (no middle points)
    posterior_height: float
    wedge_ratio: float
    biconcavity_ratio: float | None
    crush_ratio: float | None
    wedge_angle_deg: float
    genant_grade: int
    genant_type: str
    height_reduction_pct: float
    is_index: bool = False
    segmental_kyphosis_deg: float | None = None
    lovbh_pct: float | None = None


@dataclass(frozen=True)
class ToolValue:
    """A ruler (length in the calibration's unit), angle or Cobb tool (degrees) as shown."""

    kind: str
    points: tuple[tuple[float, float], ...]
    value: float


@dataclass(frozen=True)
class LevelOutcomeValues:
    """A treated level's follow-up outcomes on one film (docs/clinical-reference.md §5a):
    injected cement and estimated body volume in mL, the fill in %, leakage and endplate
    contact (True/False, ``None`` = not recorded: left out), and the drawn leaks as
    ``(location, polygon points)`` in image coordinates."""

    level: str
    cement_ml: float | None = None
    body_volume_ml: float | None = None
    fill_pct: float | None = None
    leakage: bool | None = None
    endplate_contact: bool | None = None
    leaks: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()


@dataclass(frozen=True)
class SrMeasurements:
    """What one film's SR reports: its landmarks (with timepoint and index levels), the
    calibration the lengths used, the values, who observed them (``""``: the program), and
    the general tools with their values."""

    annotations: ImageAnnotations
    calibration: Calibration
    vertebrae: tuple[VertebraValues, ...]
    observer_name: str = ""
    tools: tuple[ToolValue, ...] = ()
    outcomes: tuple[LevelOutcomeValues, ...] = ()


@dataclass
class SrImport:
    """An SR read back: exchange-format annotations for the referenced film, the numbers read
    per level (``values[level][name]``: ``ha``, ``hm``, ``hp`` in the SR's length unit, and
    ``wedge_ratio``, ``biconcavity_ratio``, ``crush_ratio``, ``wedge_angle_deg``,
    ``height_reduction_pct``, ``segmental_kyphosis_deg``, ``lovbh_pct``), the Genant grade and
    type (``qualitative[level]``), and one line per thing that could not be used."""

    annotations: ImageAnnotations
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    qualitative: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    observer_name: str = ""
    calibration_method: str = ""


# --------------------------------------------------------------------------------- writing


def _code(value: sr_codes.ValueCode) -> Any:
    from highdicom.sr import CodedConcept

    return CodedConcept(value=value[0], scheme_designator=value[1], meaning=value[2])


def _name_uid(name: str) -> str:
    """``2.25`` + a name-based UUID (RFC 4122 version 5) of ``name`` (PS3.5 B.2)."""
    namespace = uuid.UUID(hex=hashlib.sha256(b"ovcf-viewer tracking").hexdigest()[:32])
    return f"2.25.{uuid.uuid5(namespace, name).int}"


def _tracking_uid(film: Dataset, level: str) -> str:
    """The same vertebra of the same patient gets the same Tracking UID on every film, so a
    reader can follow it over time (TID 4108)."""
    patient = str(film.get("PatientID", "") or "") or str(film.get("StudyInstanceUID", ""))
    return _name_uid(f"{patient}/{level}")


def _time_point_context(timepoint: Timepoint | None) -> Any:
    from highdicom.sr import LongitudinalTemporalOffsetFromEvent, TimePointContext

    if timepoint is None:
        return None
    offset = None
    if timepoint.interval_days is not None:
        offset = LongitudinalTemporalOffsetFromEvent(
            value=timepoint.interval_days,
            unit=_code(sr_codes.UNITS["d"]),
            event_type=_code(sr_codes.PROCEDURE_EVENT),
        )
    return TimePointContext(
        time_point=timepoint.date.isoformat() if timepoint.date else timepoint.label,
        time_point_type=_code(sr_codes.TIMEPOINT_TYPES[timepoint.kind]),
        subject_time_point_identifier=timepoint.kind,
        temporal_offset_from_event=offset,
    )


def _group(
    film: Dataset, content: SrMeasurements, values: VertebraValues, source: Any
) -> Any:
    import numpy as np
    from highdicom.sr import (
        CoordinatesForMeasurement,
        FindingSite,
        Measurement,
        MeasurementsAndQualitativeEvaluations,
        QualitativeEvaluation,
        TrackingIdentifier,
    )

    level = values.level
    vertebra = content.annotations.vertebrae[level]
    site = _code(sr_codes.VERTEBRA_CODES[level])
    calibration = content.calibration
    length_unit = _code(sr_codes.UNITS[calibration.unit])
    method = _code(sr_codes.CALIBRATION_METHOD[calibration.source.value])
    measurements = []
    for key, height in (("a", values.anterior_height), ("m", values.middle_height),
                        ("p", values.posterior_height)):
        if height is None:
            continue  # four-corner placement: no Hm to report
        top, bottom = (vertebra.points[n] for n in _HEIGHT_POINTS[key])
        line = np.array([top, bottom], dtype=np.float64) + _PIXEL_CORNER
        measurements.append(Measurement(
            name=_code(sr_codes.HEIGHT),
            value=height,
            unit=length_unit,
            method=method,
            finding_sites=[FindingSite(site, topographical_modifier=_code(
                sr_codes.HEIGHT_MODIFIERS[key]))],
            referenced_coordinates=[
                CoordinatesForMeasurement("POLYLINE", line.astype(np.float32), source)
            ],
        ))
    ratio = _code(sr_codes.UNITS["ratio"])
    degree = _code(sr_codes.UNITS["deg"])
    percent = _code(sr_codes.UNITS["%"])
    plain = [
        (sr_codes.WEDGE_RATIO, values.wedge_ratio, ratio),
        (sr_codes.BICONCAVITY_RATIO, values.biconcavity_ratio, ratio),
        (sr_codes.CRUSH_RATIO, values.crush_ratio, ratio),
        (sr_codes.WEDGE_ANGLE, values.wedge_angle_deg, degree),
        (sr_codes.HEIGHT_REDUCTION, values.height_reduction_pct, percent),
    ]
    if values.is_index:
        plain += [
            (sr_codes.SEGMENTAL_KYPHOSIS, values.segmental_kyphosis_deg, degree),
            (sr_codes.LOVBH, values.lovbh_pct, percent),
        ]
    measurements += [
        Measurement(name=_code(name), value=value, unit=unit)
        for name, value, unit in plain
        if value is not None
    ]
    evaluations = [
        QualitativeEvaluation(_code(name), _code(value))
        for name, value in (
            (sr_codes.GENANT_GRADE, sr_codes.GENANT_GRADE_VALUES[values.genant_grade]),
            (sr_codes.GENANT_TYPE, sr_codes.GENANT_TYPE_VALUES[values.genant_type]),
            (sr_codes.INDEX_LEVEL, sr_codes.YES if values.is_index else sr_codes.NO),
        )
    ]
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=_tracking_uid(film, level), identifier=level),
        time_point_context=_time_point_context(content.annotations.timepoint),
        finding_sites=[FindingSite(site)],
        measurements=measurements,
        qualitative_evaluations=evaluations,
    )


#: Patient and General Study attributes of type 2 (PS3.3 C.7.1.1, C.7.2.1): present, maybe
#: empty. Films in the wild leave some out; the SR must carry them all.
_TYPE2_PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                        "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                        "AccessionNumber")


def _with_type2_patient_study(film: Dataset) -> Dataset:
    missing = [k for k in _TYPE2_PATIENT_STUDY if k not in film]
    if not missing:
        return film
    copy = Dataset(film)  # shallow: the film's own header is left as it was
    for keyword in missing:
        setattr(copy, keyword, None)
    return copy


def _tool_group(calibration: Calibration, tool: ToolValue, number: int, source: Any) -> Any:
    """A ruler, angle or Cobb tool as OHIF writes one: a group whose measurement is inferred
    from a POLYLINE through the tool's points (ruler 2, angle 3 with the vertex second, Cobb 4:
    line 1 then line 2)."""
    import numpy as np
    from highdicom.sr import (
        CoordinatesForMeasurement,
        Measurement,
        MeasurementsAndQualitativeEvaluations,
        TrackingIdentifier,
    )

    length = tool.kind == "ruler"
    line = np.array(tool.points, dtype=np.float64) + _PIXEL_CORNER
    measurement = Measurement(
        name=_code(sr_codes.TOOL_MEASUREMENTS[tool.kind]),
        value=tool.value,
        unit=_code(sr_codes.UNITS[calibration.unit if length else "deg"]),
        method=_code(sr_codes.CALIBRATION_METHOD[calibration.source.value]) if length else None,
        referenced_coordinates=[
            CoordinatesForMeasurement("POLYLINE", line.astype(np.float32), source)
        ],
    )
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(identifier=f"{tool.kind.capitalize()} {number}"),
        measurements=[measurement],
    )


def _outcome_groups(film: Dataset, content: SrMeasurements, values: LevelOutcomeValues,
                    source: Any) -> list[Any]:
    """A level's outcomes (§5a): one TID 1501 group "L1 cement" with the volumes and the
    leakage / endplate-contact evaluations, and one TID 1410 planar ROI group per drawn leak
    (a polygon on the film: SCOORD has no POLYGON type, a closed POLYLINE whose first and
    last points coincide is one, PS3.3 C.18.6.1.1; finding type cement leakage, finding site
    its location, its area)."""
    import numpy as np
    from highdicom.sr import (
        FindingSite,
        ImageRegion,
        Measurement,
        MeasurementsAndQualitativeEvaluations,
        PlanarROIMeasurementsAndQualitativeEvaluations,
        QualitativeEvaluation,
        TrackingIdentifier,
    )

    level = values.level
    site = FindingSite(_code(sr_codes.VERTEBRA_CODES[level]))
    timepoint = _time_point_context(content.annotations.timepoint)
    ml = _code(sr_codes.UNITS["mL"])
    measurements = [
        Measurement(name=_code(name), value=value, unit=unit)
        for name, value, unit in (
            (sr_codes.CEMENT_VOLUME, values.cement_ml, ml),
            (sr_codes.BODY_VOLUME_ESTIMATE, values.body_volume_ml, ml),
            (sr_codes.CEMENT_FILL, values.fill_pct, _code(sr_codes.UNITS["%"])),
        )
        if value is not None
    ]
    evaluations = [
        QualitativeEvaluation(_code(name), _code(sr_codes.YES if value else sr_codes.NO))
        for name, value in ((sr_codes.CEMENT_LEAKAGE, values.leakage),
                            (sr_codes.ENDPLATE_CONTACT, values.endplate_contact))
        if value is not None
    ]
    groups: list[Any] = []
    if measurements or evaluations:
        groups.append(MeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=_tracking_uid(film, f"{level} cement"),
                                                   identifier=f"{level} cement"),
            time_point_context=timepoint,
            finding_sites=[site],
            measurements=measurements or None,
            qualitative_evaluations=evaluations or None,
        ))
    calibration = content.calibration
    area_unit = "mm2" if calibration.is_calibrated else "px2"
    for number, (location, points) in enumerate(values.leaks, start=1):
        closed = np.array([*points, points[0]], dtype=np.float64) + _PIXEL_CORNER
        mm = calibration.to_mm(points)
        area = abs(sum(mm[i][0] * mm[(i + 1) % len(mm)][1] - mm[(i + 1) % len(mm)][0]
                       * mm[i][1] for i in range(len(mm)))) / 2.0
        groups.append(PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(
                uid=_tracking_uid(film, f"{level} leak {number}"),
                identifier=f"{level} leak {number}"),
            referenced_region=ImageRegion("POLYLINE", closed.astype(np.float32), source),
            time_point_context=timepoint,
            finding_type=_code(sr_codes.CEMENT_LEAKAGE),
            finding_sites=[FindingSite(_code(sr_codes.LEAK_LOCATIONS[location]))],
            measurements=[Measurement(name=_code(sr_codes.AREA), value=area,
                                      unit=_code(sr_codes.UNITS[area_unit]))],
        ))
    return groups


def _calibration_group(film: Dataset, calibration: Calibration) -> Any:
    """The manual calibration (row and column spacing), so an import measures the same."""
    from highdicom.sr import Measurement, MeasurementsAndQualitativeEvaluations, TrackingIdentifier

    mm = _code(sr_codes.UNITS["mm"])
    method = _code(sr_codes.CALIBRATION_METHOD["manual"])
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=_tracking_uid(film, "calibration"),
                                               identifier=sr_codes.CALIBRATION_GROUP),
        measurements=[
            Measurement(name=_code(sr_codes.HORIZONTAL_PIXEL_SPACING), value=calibration.col_mm,
                        unit=mm, method=method),
            Measurement(name=_code(sr_codes.VERTICAL_PIXEL_SPACING), value=calibration.row_mm,
                        unit=mm, method=method),
        ],
    )


def build_measurement_sr(
    film: Dataset,
    content: SrMeasurements,
    *,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 900,
    instance_number: int = 1,
    manufacturer: str = "OVCF Viewer",
) -> Dataset:
    """The Comprehensive SR (TID 1500) of one film. ``film`` is the film's header (pixel data
    not needed); its Patient and Study modules are copied and its SOP instance is what every
    coordinate refers to. Vertebrae without values (incomplete) are left out."""
    from highdicom import UID
    from highdicom.sr import (
        ComprehensiveSR,
        DeviceObserverIdentifyingAttributes,
        MeasurementReport,
        ObservationContext,
        ObserverContext,
        PersonObserverIdentifyingAttributes,
        SourceImageForRegion,
    )
    from pydicom.sr.codedict import codes

    from ovcf_viewer import __version__

    if str(film.SOPInstanceUID) != content.annotations.sop_instance_uid:
        raise ValueError(
            f"the landmarks belong to {content.annotations.sop_instance_uid}, "
            f"not to this film ({film.SOPInstanceUID})"
        )
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID"):
        if not str(film.get(keyword, "") or ""):
            raise ValueError(f"the film has no {keyword}: an SR cannot refer to it")
    film = _with_type2_patient_study(film)
    source = SourceImageForRegion(str(film.SOPClassUID), str(film.SOPInstanceUID))
    if content.observer_name:
        context = ObservationContext(observer_person_context=ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=PersonObserverIdentifyingAttributes(
                name=content.observer_name),
        ))
    else:
        context = ObservationContext(observer_device_context=ObserverContext(
            observer_type=codes.DCM.Device,
            observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
                uid=_name_uid("device/OVCF Viewer"), name="OVCF Viewer",
                manufacturer_name=manufacturer, model_name=f"OVCF Viewer {__version__}"),
        ))
    groups = [_group(film, content, values, source) for values in content.vertebrae]
    groups += [_tool_group(content.calibration, tool, number, source)
               for number, tool in enumerate(content.tools, start=1)]
    for values in content.outcomes:
        groups += _outcome_groups(film, content, values, source)
    if content.calibration.source is CalibrationSource.MANUAL:
        groups.append(_calibration_group(film, content.calibration))
    report = MeasurementReport(
        observation_context=context,
        procedure_reported=_code(sr_codes.PROCEDURE_REPORTED),
        imaging_measurements=groups,
    )
    sr = ComprehensiveSR(
        evidence=[film],
        content=report[0],
        series_instance_uid=series_instance_uid or UID(),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or UID(),
        instance_number=instance_number,
        manufacturer=manufacturer,
        is_complete=True,
        series_description="Vertebral morphometry (SR)",
    )
    # Private codes are declared where a reader looks them up (PS3.3 C.12.1.1.2).
    scheme = Dataset()
    scheme.CodingSchemeDesignator = sr_codes.PRIVATE_SCHEME
    scheme.CodingSchemeName = "OVCF Viewer private codes"
    scheme.CodingSchemeResponsibleOrganization = "OVCF Viewer project"
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr


# --------------------------------------------------------------------------------- reading


def _concept(item: Dataset) -> tuple[str, str]:
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        return ("", "")
    return (str(seq[0].get("CodeValue", "")), str(seq[0].get("CodingSchemeDesignator", "")))


def _meaning(item: Dataset) -> str:
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].get("CodeMeaning", "")) if seq else ""


def _code_value(item: Dataset) -> tuple[str, str]:
    seq = item.get("ConceptCodeSequence")
    if not seq:
        return ("", "")
    return (str(seq[0].get("CodeValue", "")), str(seq[0].get("CodingSchemeDesignator", "")))


def _children(item: Dataset) -> list[Dataset]:
    return list(item.get("ContentSequence", []) or [])


def _walk(item: Dataset) -> Iterator[Dataset]:
    for child in _children(item):
        yield child
        yield from _walk(child)


def _is_tid1500(ds: Dataset) -> bool:
    templates = ds.get("ContentTemplateSequence")
    if templates and str(templates[0].get("TemplateIdentifier", "")) == "1500":
        return True
    return _concept(ds) == ("126000", "DCM")  # Imaging Measurement Report


def _num_value(item: Dataset) -> tuple[float, str] | None:
    seq = item.get("MeasuredValueSequence")
    if not seq:
        return None
    mv = seq[0]
    if "FloatingPointValue" in mv:
        value = float(mv.FloatingPointValue)
    else:
        value = float(mv.NumericValue)
    units = mv.get("MeasurementUnitsCodeSequence")
    unit = str(units[0].CodeValue) if units else ""
    return value, unit


def _scoord_on(item: Dataset) -> tuple[str, list[tuple[float, float]], str] | None:
    """``(graphic type, points in our convention, referenced SOP Instance UID)`` of a SCOORD
    content item, ``None`` for anything else."""
    if str(item.get("ValueType", "")) != "SCOORD":
        return None
    data = [float(v) for v in item.get("GraphicData", [])]
    # 32-bit values carry no more than 4 decimals of a pixel on a film (float32 noise off).
    points = [(round(data[i] - _PIXEL_CORNER, 4), round(data[i + 1] - _PIXEL_CORNER, 4))
              for i in range(0, len(data) - 1, 2)]
    uid = ""
    for child in _children(item):
        refs = child.get("ReferencedSOPSequence")
        if str(child.get("ValueType", "")) == "IMAGE" and refs:
            uid = str(refs[0].ReferencedSOPInstanceUID)
    return str(item.get("GraphicType", "")), points, uid


def _level_of(group: Dataset) -> str | None:
    by_code = {(v[0], v[1]): level for level, v in sr_codes.VERTEBRA_CODES.items()}
    for child in _children(group):
        if _concept(child) == _FINDING_SITE:
            level = by_code.get(_code_value(child))
            if level:
                return level
    for child in _children(group):
        if _concept(child) == _TRACKING_IDENTIFIER:
            text = str(child.get("TextValue", "")).strip().upper()
            if text in LEVELS:
                return text
    return None


def _group_label(group: Dataset, index: int) -> str:
    for child in _children(group):
        if _concept(child) == _TRACKING_IDENTIFIER and child.get("TextValue"):
            return f"measurement group {index} ({child.TextValue})"
    return f"measurement group {index}"


def _timepoint_of(group: Dataset) -> Timepoint | None:
    kind = when = None
    interval = None
    for child in _children(group):
        concept = _concept(child)
        if concept == _SUBJECT_TIME_POINT_ID:
            kind = str(child.get("TextValue", ""))
        elif concept == _TIME_POINT:
            when = str(child.get("TextValue", ""))
        elif concept == _TEMPORAL_OFFSET:
            value = _num_value(child)
            if value is not None:
                interval = int(round(value[0]))
    if kind not in ("preop", "postop", "followup"):
        return None
    try:
        parsed = date.fromisoformat(when) if when else None
    except ValueError:
        parsed = None
    return Timepoint(kind, parsed, interval)


_VALUE_NAMES = {
    (sr_codes.WEDGE_RATIO[0], sr_codes.WEDGE_RATIO[1]): "wedge_ratio",
    (sr_codes.BICONCAVITY_RATIO[0], sr_codes.BICONCAVITY_RATIO[1]): "biconcavity_ratio",
    (sr_codes.CRUSH_RATIO[0], sr_codes.CRUSH_RATIO[1]): "crush_ratio",
    (sr_codes.WEDGE_ANGLE[0], sr_codes.WEDGE_ANGLE[1]): "wedge_angle_deg",
    (sr_codes.HEIGHT_REDUCTION[0], sr_codes.HEIGHT_REDUCTION[1]): "height_reduction_pct",
    (sr_codes.SEGMENTAL_KYPHOSIS[0], sr_codes.SEGMENTAL_KYPHOSIS[1]): "segmental_kyphosis_deg",
    (sr_codes.LOVBH[0], sr_codes.LOVBH[1]): "lovbh_pct",
}
_SPACING = {
    sr_codes.HORIZONTAL_PIXEL_SPACING[:2]: "col",
    sr_codes.VERTICAL_PIXEL_SPACING[:2]: "row",
}
_HEIGHT_BY_MODIFIER = {(v[0], v[1]): k for k, v in sr_codes.HEIGHT_MODIFIERS.items()}
_CALIBRATION_BY_CODE = {(v[0], v[1]): k for k, v in sr_codes.CALIBRATION_METHOD.items()}


def _height_key(num: Dataset) -> str | None:
    for child in _children(num):
        if _concept(child) == _FINDING_SITE:
            for modifier in _children(child):
                if _concept(modifier) == _TOPOGRAPHICAL_MODIFIER:
                    return _HEIGHT_BY_MODIFIER.get(_code_value(modifier))
    return None


def _method_of(num: Dataset) -> str:
    for child in _children(num):
        if _concept(child) == _MEASUREMENT_METHOD:
            return _CALIBRATION_BY_CODE.get(_code_value(child), "")
    return ""


def _tool_from(num: Dataset, unit: str, film_uid: str) -> tuple[Tool | None, str]:
    """A foreign length/angle drawn on the film as one of our tools; the reason otherwise."""
    for child in _children(num):
        scoord = _scoord_on(child)
        if scoord is None:
            continue
        graphic, points, uid = scoord
        if uid and film_uid and uid != film_uid:
            return None, "drawn on another image"
        if graphic == "POLYLINE" and len(points) == 2:
            return Tool("ruler", points), ""
        if graphic == "POLYLINE" and len(points) == 3 and unit == "deg":
            return Tool("angle", points), ""
        if graphic == "POLYLINE" and len(points) == 4 and unit == "deg":
            return Tool("cobb", points), ""
        return None, f"a {graphic} of {len(points)} point(s) has no matching tool"
    return None, "no coordinates on the image"


def _film_reference(ds: Dataset) -> tuple[str, list[str]]:
    """The film the SR's coordinates refer to: the most referenced SOP instance."""
    counts: dict[str, int] = {}
    for item in _walk(ds):
        scoord = _scoord_on(item)
        if scoord is not None and scoord[2]:
            counts[scoord[2]] = counts.get(scoord[2], 0) + 1
    if not counts:
        for ref in ds.get("CurrentRequestedProcedureEvidenceSequence", []) or []:
            for series in ref.get("ReferencedSeriesSequence", []) or []:
                for sop in series.get("ReferencedSOPSequence", []) or []:
                    counts.setdefault(str(sop.ReferencedSOPInstanceUID), 0)
    ordered = sorted(counts, key=lambda uid: -counts[uid])
    return (ordered[0] if ordered else ""), ordered[1:]


def parse_measurement_sr(ds: Dataset, *, where: str = "") -> SrImport:
    """Read a TID 1500 measurement report; raise :class:`SrFormatError` (one line) for a data
    set that is not one. ``where`` prefixes messages (the file name)."""
    prefix = f"{where}: " if where else ""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class not in MEASUREMENT_SR_CLASSES:
        name = getattr(ds.get("SOPClassUID"), "name", "") or sop_class or "no SOP Class UID"
        raise SrFormatError(f"{prefix}not a measurement SR ({name})")
    if not _is_tid1500(ds):
        raise SrFormatError(
            f"{prefix}an SR document, but not a TID 1500 measurement report "
            f"(its title is {_meaning(ds) or 'missing'!r})"
        )
    film_uid, others = _film_reference(ds)
    if not film_uid:
        raise SrFormatError(f"{prefix}the measurement report refers to no image")
    result = SrImport(ImageAnnotations(film_uid))
    for uid in others:
        result.skipped.append(f"measurements on another image ({uid}) are not imported")
    result.observer_name = _observer_name(ds)
    groups = [item for item in _walk(ds)
              if str(item.get("ValueType", "")) == "CONTAINER"
              and _concept(item) == _MEASUREMENT_GROUP]
    if not groups:
        result.skipped.append("the report holds no measurement group")
    for number, group in enumerate(groups, start=1):
        _read_group(group, number, film_uid, result)
    annotations = result.annotations
    annotations.index_levels = sorted(
        (lv for lv in annotations.index_levels if lv in annotations.vertebrae), key=level_index
    )
    return result


def _observer_name(ds: Dataset) -> str:
    for item in _children(ds):
        if _concept(item) == ("121008", "DCM") and item.get("PersonName"):  # Person Observer Name
            return str(item.PersonName)
    return ""


def _read_group(group: Dataset, number: int, film_uid: str, result: SrImport) -> None:
    label = _group_label(group, number)
    level = _level_of(group)
    timepoint = _timepoint_of(group)
    if timepoint is not None and result.annotations.timepoint is None:
        result.annotations.timepoint = timepoint
    region = next((c for c in _children(group) if _concept(c) == _IMAGE_REGION), None)
    if region is not None:
        scoord = _scoord_on(region)
        graphic = scoord[0] if scoord else str(region.get("ValueType", ""))
        result.skipped.append(f"{label}: a planar region ({graphic}) has no landmarks to import")
    points: dict[str, tuple[float, float]] = {}
    values: dict[str, float] = {}
    spacing: dict[str, float] = {}
    for child in _children(group):
        value_type = str(child.get("ValueType", ""))
        if value_type == "CODE" and level is not None:
            _read_evaluation(child, level, result)
            continue
        if value_type != "NUM" or str(child.get("RelationshipType", "")) != "CONTAINS":
            continue  # context (time point offset, order) is not a measurement
        read = _num_value(child)
        if read is None:
            result.skipped.append(f"{label}: {_meaning(child)} has no value")
            continue
        value, unit = read
        name = _VALUE_NAMES.get(_concept(child))
        key = _height_key(child) if _concept(child) == sr_codes.HEIGHT[:2] else None
        if level is not None and key is not None:
            lines = [s for s in (_scoord_on(c) for c in _children(child)) if s is not None]
            if lines and lines[0][0] == "POLYLINE" and len(lines[0][1]) == 2:
                top, bottom = _HEIGHT_POINTS[key]
                points[top], points[bottom] = lines[0][1]
            values[f"h{key}"] = value
            result.calibration_method = result.calibration_method or _method_of(child)
            continue
        if level is not None and name is not None:
            values[name] = value
            continue
        if _concept(child) in _SPACING and _method_of(child) == "manual":
            spacing[_SPACING[_concept(child)]] = value
            continue
        tool, why = _tool_from(child, unit, film_uid)
        if tool is not None:
            result.annotations.tools.append(
                Tool(tool.kind, tool.points, None, len(result.annotations.tools) + 1))
        else:
            result.skipped.append(f"{label}: {_meaning(child)} {value:g} {unit} ({why})")
    if len(spacing) == 2 and result.annotations.manual_calibration is None:
        try:
            result.annotations.manual_calibration = Calibration(
                CalibrationSource.MANUAL, spacing["row"], spacing["col"], "from a DICOM SR")
        except ValueError as exc:
            result.skipped.append(f"{label}: manual calibration not used ({exc})")
    if level is None:
        return
    four_corner = len(points) == 4 and set(points) == {"sa", "sp", "ia", "ip"}
    if len(points) == 6 or four_corner:
        if level in result.annotations.vertebrae:
            result.skipped.append(f"{label}: {level} appears twice; the first is kept")
            return
        # Only Ha and Hp written: the vertebra was placed in four-corner mode (no Hm).
        mode = "four_corner" if four_corner else "six_point"
        result.annotations.vertebrae[level] = Vertebra(level, points, mode)
        result.values[level] = values
    elif values or points:
        result.skipped.append(
            f"{label}: {level} has {len(points)} of the 6 landmarks; its measurements are "
            "not imported"
        )


def _read_evaluation(item: Dataset, level: str, result: SrImport) -> None:
    concept = _concept(item)
    value = _code_value(item)
    if concept == sr_codes.INDEX_LEVEL[:2]:
        if value == sr_codes.YES[:2] and level not in result.annotations.index_levels:
            result.annotations.index_levels.append(level)
    elif concept == sr_codes.GENANT_GRADE[:2]:
        for grade, code in sr_codes.GENANT_GRADE_VALUES.items():
            if value == code[:2]:
                result.qualitative.setdefault(level, {})["genant_grade"] = str(grade)
    elif concept == sr_codes.GENANT_TYPE[:2]:
        for kind, code in sr_codes.GENANT_TYPE_VALUES.items():
            if value == code[:2]:
                result.qualitative.setdefault(level, {})["genant_type"] = kind


def check_annotations(result: SrImport) -> None:
    """Validate the imported landmarks as the exchange format does (raises
    :class:`SrFormatError` with one line)."""
    try:
        ImageAnnotations.from_json(result.annotations.to_json())
    except AnnotationFormatError as exc:
        raise SrFormatError(str(exc)) from None
