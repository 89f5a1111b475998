"""The codes our DICOM SR measurement reports use (docs/sr-codes.md lists them with sources).

Standard codes (SNOMED CT ``SCT``, DICOM ``DCM``, ``UCUM``, ``UMLS``) wherever PS3.16 or
SNOMED CT has a concept; private codes under the coding scheme designator
:data:`PRIVATE_SCHEME` only where none exists. Plain ``(value, scheme, meaning)`` tuples, so
this module imports nothing heavy; :mod:`ovcf_viewer.io.sr` turns them into highdicom codes.
"""

from __future__ import annotations

__all__ = [
    "CALIBRATION_METHOD",
    "GENANT_GRADE",
    "GENANT_GRADE_VALUES",
    "GENANT_TYPE",
    "GENANT_TYPE_VALUES",
    "HEIGHT",
    "HEIGHT_MODIFIERS",
    "INDEX_LEVEL",
    "PRIVATE_SCHEME",
    "PROCEDURE_REPORTED",
    "TIMEPOINT_TYPES",
    "UNITS",
    "VERTEBRA_CODES",
    "ValueCode",
]

ValueCode = tuple[str, str, str]  # (code value, coding scheme designator, code meaning)

#: Coding scheme designator of our private codes (PS3.3 §8.2: "99" prefix = private).
PRIVATE_SCHEME = "99OVCF"

#: SNOMED CT body structures of the vertebrae we measure (C7–S1).
VERTEBRA_CODES: dict[str, ValueCode] = {
    "C7": ("87391001", "SCT", "C7 vertebra"),
    "T1": ("64864005", "SCT", "T1 vertebra"),
    "T2": ("53733008", "SCT", "T2 vertebra"),
    "T3": ("1626008", "SCT", "T3 vertebra"),
    "T4": ("73071006", "SCT", "T4 vertebra"),
    "T5": ("56401006", "SCT", "T5 vertebra"),
    "T6": ("45296009", "SCT", "T6 vertebra"),
    "T7": ("62487009", "SCT", "T7 vertebra"),
    "T8": ("11068009", "SCT", "T8 vertebra"),
    "T9": ("82687006", "SCT", "T9 vertebra"),
    "T10": ("7610001", "SCT", "T10 vertebra"),
    "T11": ("12989004", "SCT", "T11 vertebra"),
    "T12": ("23215003", "SCT", "T12 vertebra"),
    "L1": ("66794005", "SCT", "L1 vertebra"),
    "L2": ("14293000", "SCT", "L2 vertebra"),
    "L3": ("36470004", "SCT", "L3 vertebra"),
    "L4": ("11994002", "SCT", "L4 vertebra"),
    "L5": ("49668003", "SCT", "L5 vertebra"),
    "S1": ("65985001", "SCT", "Structure of first sacral vertebra"),
}

#: Quantitative diagnostic imaging procedure (CID 100 has none for radiographic morphometry).
PROCEDURE_REPORTED: ValueCode = (
    "VMORPH", PRIVATE_SCHEME, "Radiographic vertebral morphometry"
)

#: Vertebral body heights: DCM "Height", told apart by the finding site's topographical
#: modifier (CID 2): anterior (Ha), central (Hm, the middle), posterior (Hp).
HEIGHT: ValueCode = ("121207", "DCM", "Height")
HEIGHT_MODIFIERS: dict[str, ValueCode] = {
    "a": ("255549009", "SCT", "Anterior"),
    "m": ("26216008", "SCT", "Central"),
    "p": ("255551008", "SCT", "Posterior"),
}

#: Measurements without a standard code.
WEDGE_RATIO: ValueCode = ("HA-HP", PRIVATE_SCHEME, "Wedge ratio Ha/Hp")
BICONCAVITY_RATIO: ValueCode = ("HM-HP", PRIVATE_SCHEME, "Biconcavity ratio Hm/Hp")
CRUSH_RATIO: ValueCode = ("HP-HPADJ", PRIVATE_SCHEME, "Crush ratio Hp/mean adjacent Hp")
WEDGE_ANGLE: ValueCode = ("WEDGEANG", PRIVATE_SCHEME, "Vertebral wedge angle")
HEIGHT_REDUCTION: ValueCode = ("HTRED", PRIVATE_SCHEME, "Genant height reduction")
SEGMENTAL_KYPHOSIS: ValueCode = ("SEGKYPH", PRIVATE_SCHEME, "Segmental kyphosis angle")
LOVBH: ValueCode = ("LOVBH", PRIVATE_SCHEME, "Loss of vertebral body height")

#: Qualitative evaluations.
GENANT_GRADE: ValueCode = ("GENANTGR", PRIVATE_SCHEME, "Genant semiquantitative grade")
GENANT_GRADE_VALUES: dict[int, ValueCode] = {
    0: ("GENANT0", PRIVATE_SCHEME, "Genant grade 0 (normal)"),
    1: ("GENANT1", PRIVATE_SCHEME, "Genant grade 1 (mild)"),
    2: ("GENANT2", PRIVATE_SCHEME, "Genant grade 2 (moderate)"),
    3: ("GENANT3", PRIVATE_SCHEME, "Genant grade 3 (severe)"),
}
GENANT_TYPE: ValueCode = ("GENANTTY", PRIVATE_SCHEME, "Vertebral deformity type")
GENANT_TYPE_VALUES: dict[str, ValueCode] = {
    "none": ("DEFNONE", PRIVATE_SCHEME, "No deformity"),
    "wedge": ("DEFWEDGE", PRIVATE_SCHEME, "Wedge deformity"),
    "biconcave": ("DEFBICON", PRIVATE_SCHEME, "Biconcave deformity"),
    "crush": ("DEFCRUSH", PRIVATE_SCHEME, "Crush deformity"),
}
INDEX_LEVEL: ValueCode = ("INDEXLVL", PRIVATE_SCHEME, "Index level")
YES: ValueCode = ("373066001", "SCT", "Yes")
NO: ValueCode = ("373067005", "SCT", "No")

#: How lengths were calibrated (docs/clinical-reference.md §1), recorded as each length's
#: Measurement Method (SCT 370129005). Keyed by CalibrationSource value.
CALIBRATION_METHOD: dict[str, ValueCode] = {
    "manual": ("CALMAN", PRIVATE_SCHEME, "Manual calibration on the image"),
    "pixel_spacing": ("CALPS", PRIVATE_SCHEME, "Pixel Spacing, corrected to the patient"),
    "magnification": ("CALMAG", PRIVATE_SCHEME, "Imager Pixel Spacing / magnification"),
    "detector": ("CALDET", PRIVATE_SCHEME, "Imager Pixel Spacing, detector plane"),
    "none": ("CALNONE", PRIVATE_SCHEME, "Uncalibrated, lengths in pixels"),
}

#: The general measuring tools (ruler, angle, two-line Cobb), each in its own group.
TOOL_MEASUREMENTS: dict[str, ValueCode] = {
    "ruler": ("410668003", "SCT", "Length"),
    "angle": ("110859", "DCM", "Angle"),
    "cobb": ("285285000", "SCT", "Cobb angle"),
}

#: A manual calibration's spacing (mm per pixel), in its own measurement group.
HORIZONTAL_PIXEL_SPACING: ValueCode = ("111026", "DCM", "Horizontal Pixel Spacing")
VERTICAL_PIXEL_SPACING: ValueCode = ("111066", "DCM", "Vertical Pixel Spacing")
CALIBRATION_GROUP = "Manual calibration"  # its Tracking Identifier

#: Units (UCUM). Uncalibrated lengths are in pixel (column) widths: UCUM has no pixel unit,
#: so the unity annotation ``{pixels}`` (valid UCUM syntax, a dimensionless count).
UNITS: dict[str, ValueCode] = {
    "mm": ("mm", "UCUM", "millimeter"),
    "px": ("{pixels}", "UCUM", "pixels"),
    "deg": ("deg", "UCUM", "degree"),
    "ratio": ("{ratio}", "UCUM", "ratio"),
    "%": ("%", "UCUM", "percent"),
    "d": ("d", "UCUM", "day"),
}

#: TID 1502 Time Point Type (CID 6146) of our timepoints.
TIMEPOINT_TYPES: dict[str, ValueCode] = {
    "preop": ("262068006", "SCT", "Pre-operative"),
    "postop": ("262061000", "SCT", "Post-operative"),
    "followup": ("126074", "DCM", "Posttreatment"),
}
#: The event a follow-up's interval counts from (TID 1502 Longitudinal Temporal Event Type).
PROCEDURE_EVENT: ValueCode = ("PROCEDURE", PRIVATE_SCHEME, "Vertebral augmentation procedure")

#: Follow-up outcomes (docs/clinical-reference.md §5a): one group per treated level
#: ("L1 cement") and one planar ROI group per drawn leak (SCOORD POLYGON).
CEMENT_VOLUME: ValueCode = ("CEMVOL", PRIVATE_SCHEME, "Injected bone cement volume")
BODY_VOLUME_ESTIMATE: ValueCode = (
    "BODYVOLEST", PRIVATE_SCHEME, "Estimated vertebral body volume (elliptic cylinder)")
CEMENT_FILL: ValueCode = (
    "CEMFILL", PRIVATE_SCHEME, "Cement volume as % of estimated body volume")
CEMENT_LEAKAGE: ValueCode = ("CEMLEAK", PRIVATE_SCHEME, "Bone cement leakage")
ENDPLATE_CONTACT: ValueCode = (
    "CEMEPCON", PRIVATE_SCHEME, "Cement in contact with both endplates")
LEAK_LOCATIONS: dict[str, ValueCode] = {
    "disc": ("LEAKDISC", PRIVATE_SCHEME, "Cement leakage into the intervertebral disc"),
    "paravertebral": ("LEAKPARA", PRIVATE_SCHEME,
                      "Cement leakage into the paravertebral soft tissue"),
    "foraminal_epidural": ("LEAKCANAL", PRIVATE_SCHEME,
                           "Cement leakage into the foramen or epidural space"),
    "venous": ("LEAKVEIN", PRIVATE_SCHEME, "Cement leakage into a vein"),
}
AREA: ValueCode = ("42798000", "SCT", "Area")
UNITS.update({
    "mL": ("mL", "UCUM", "milliliter"),
    "mm2": ("mm2", "UCUM", "square millimeter"),
    "px2": ("{pixels}", "UCUM", "pixels"),
})
