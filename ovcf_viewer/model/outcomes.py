"""Follow-up outcomes a case records besides the films (docs/clinical-reference.md §5a).

- :class:`PainScore`: pain on the visual analogue scale 0–10 (Huskisson 1974) and, optionally,
  the Oswestry Disability Index 0–100 % (Fairbank & Pynsent 2000), at one timepoint.
- :class:`LevelProcedure`: the procedure record of one treated level: technique, approach,
  cement viscosity, injected cement volume (mL), and the transverse body width (mm) the
  clinician read on an AP film or CT (the lateral film cannot show it; §5a volume).
- :class:`CementFinding`: on one post-operative film, at one level: cement leakage yes/no/
  unknown, where (the locations of §5a, after Yeom 2003), each leak optionally drawn as a
  :class:`LeakRegion` (a polygon in image coordinates: ``(x, y) = (column, row)``, ``(0, 0)``
  at the centre of the top-left pixel, see :mod:`ovcf_viewer.model.calibration`), and whether
  the cement touches both endplates.

Unknown stays unknown: every value is ``None`` until entered, never 0. Values out of range
raise :class:`OutcomeValueError` with one line naming the field; the case document reader
adds the file and key path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APPROACHES",
    "APPROACH_LABELS",
    "CEMENT_ML_MAX",
    "CementFinding",
    "LEAK_LOCATIONS",
    "LEAK_LOCATION_LABELS",
    "LeakRegion",
    "LevelProcedure",
    "ODI_MAX",
    "OutcomeValueError",
    "PainScore",
    "PolygonDraft",
    "TECHNIQUES",
    "TECHNIQUE_LABELS",
    "VAS_MAX",
    "VISCOSITIES",
    "WIDTH_MM_RANGE",
    "tristate_text",
]

#: Techniques of a treated level (§5a): vertebroplasty, kyphoplasty, expandable augmentation.
TECHNIQUES = ("PVP", "PKP", "expandable")
TECHNIQUE_LABELS = {"PVP": "PVP", "PKP": "PKP", "expandable": "Expandable augmentation"}
APPROACHES = ("unilateral", "bilateral")
APPROACH_LABELS = {"unilateral": "Unilateral", "bilateral": "Bilateral"}
#: Cement viscosity as the operator records it (§5a).
VISCOSITIES = ("low", "medium", "high")
#: Where cement leaked (§5a; routes after Yeom 2003). Keys are stored in the case document.
LEAK_LOCATIONS = ("disc", "paravertebral", "foraminal_epidural", "venous")
LEAK_LOCATION_LABELS = {
    "disc": "Intervertebral disc",
    "paravertebral": "Paravertebral soft tissue",
    "foraminal_epidural": "Foraminal/epidural",
    "venous": "Venous",
}
VAS_MAX = 10.0
ODI_MAX = 100.0
#: Largest injected volume accepted for one level, mL: a typing guard (a body holds a few tens
#: of mL; reported volumes per level are a few mL), not a clinical limit (§5a).
CEMENT_ML_MAX = 30.0
#: Accepted transverse body width, mm (§5a): a typing guard like the §6 plausibility range.
WIDTH_MM_RANGE = (15.0, 80.0)


class OutcomeValueError(ValueError):
    """An outcome value out of range or of the wrong kind; one line naming the field."""


def _number(value: Any, name: str, low: float, high: float, *, low_open: bool = False,
            unit: str = "") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OutcomeValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or value > high:
        bound = f"more than {low:g}" if low_open else f"{low:g}"
        raise OutcomeValueError(
            f"{name} {value:g}{unit} is out of range: expected {bound} to {high:g}{unit}"
        )
    return value


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in choices:
        raise OutcomeValueError(f"{name} {value!r}: expected one of {', '.join(choices)}")
    return str(value)


def _tristate(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise OutcomeValueError(f"{name} must be true, false or null (unknown), got {value!r}")


def tristate_text(value: bool | None) -> str:
    """``yes``, ``no`` or ``unknown``."""
    return "unknown" if value is None else ("yes" if value else "no")


@dataclass(frozen=True)
class PainScore:
    """Pain and disability at one timepoint (§5a). ``vas`` 0–10, ``odi`` 0–100 %, each
    ``None`` when not recorded."""

    vas: float | None = None
    odi: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "vas", _number(self.vas, "pain VAS", 0.0, VAS_MAX))
        object.__setattr__(self, "odi", _number(self.odi, "ODI", 0.0, ODI_MAX, unit=" %"))

    @property
    def is_empty(self) -> bool:
        return self.vas is None and self.odi is None

    def to_json(self) -> dict[str, Any]:
        return {"vas": self.vas, "odi_pct": self.odi}

    @classmethod
    def from_json(cls, doc: Any) -> PainScore:
        doc = _mapping(doc, "pain")
        _only_keys(doc, ("vas", "odi_pct"))
        return cls(vas=doc.get("vas"), odi=doc.get("odi_pct"))


@dataclass(frozen=True)
class LevelProcedure:
    """The procedure record of one treated level (§5a). Every field but ``level`` may be
    ``None`` (not recorded). ``cement_ml`` is the injected volume in mL; ``width_mm`` the
    transverse body width in mm read on an AP film or CT, used only for the volume estimate."""

    level: str
    technique: str | None = None
    approach: str | None = None
    viscosity: str | None = None
    cement_ml: float | None = None
    width_mm: float | None = None

    def __post_init__(self) -> None:
        from ovcf_viewer.model.landmarks import AnnotationFormatError, level_index

        try:
            level_index(self.level)
        except AnnotationFormatError as exc:
            raise OutcomeValueError(f"level: {exc}") from None
        object.__setattr__(self, "technique",
                           _choice(self.technique, "technique", TECHNIQUES))
        object.__setattr__(self, "approach", _choice(self.approach, "approach", APPROACHES))
        object.__setattr__(self, "viscosity",
                           _choice(self.viscosity, "cement viscosity", VISCOSITIES))
        object.__setattr__(self, "cement_ml", _number(
            self.cement_ml, f"{self.level} cement volume", 0.0, CEMENT_ML_MAX, low_open=True,
            unit=" mL"))
        object.__setattr__(self, "width_mm", _number(
            self.width_mm, f"{self.level} transverse width", *WIDTH_MM_RANGE, unit=" mm"))

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "technique": self.technique, "approach": self.approach,
                "viscosity": self.viscosity, "cement_ml": self.cement_ml,
                "width_mm": self.width_mm}

    @classmethod
    def from_json(cls, doc: Any) -> LevelProcedure:
        doc = _mapping(doc, "level record")
        _only_keys(doc, ("level", "technique", "approach", "viscosity", "cement_ml",
                         "width_mm"))
        level = doc.get("level")
        if not isinstance(level, str):
            raise OutcomeValueError("level: must be a level name such as \"L1\"")
        return cls(level=level, technique=doc.get("technique"), approach=doc.get("approach"),
                   viscosity=doc.get("viscosity"), cement_ml=doc.get("cement_ml"),
                   width_mm=doc.get("width_mm"))


@dataclass(frozen=True)
class LeakRegion:
    """One leak drawn on a film: its location (:data:`LEAK_LOCATIONS`) and a closed polygon of
    at least three points in image coordinates (column, row)."""

    location: str
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        _choice(self.location, "leak location", LEAK_LOCATIONS)
        if self.location is None:
            raise OutcomeValueError("a leak region needs a location")
        pts = []
        for p in self.points:
            if (not isinstance(p, list | tuple) or len(p) != 2
                    or not all(isinstance(c, int | float) and not isinstance(c, bool)
                               and math.isfinite(c) for c in p)):
                raise OutcomeValueError("a leak region's points must be [x, y] finite numbers")
            pts.append((float(p[0]), float(p[1])))
        if len(pts) < 3:
            raise OutcomeValueError(
                f"a leak region needs at least 3 points, got {len(pts)}")
        object.__setattr__(self, "points", tuple(pts))

    def area_px(self) -> float:
        """The polygon's area in square pixels (shoelace formula)."""
        pts = self.points
        twice = sum(pts[i][0] * pts[(i + 1) % len(pts)][1]
                    - pts[(i + 1) % len(pts)][0] * pts[i][1] for i in range(len(pts)))
        return abs(twice) / 2.0

    def to_json(self) -> dict[str, Any]:
        return {"location": self.location, "points": [list(p) for p in self.points]}

    @classmethod
    def from_json(cls, doc: Any) -> LeakRegion:
        doc = _mapping(doc, "leak region")
        _only_keys(doc, ("location", "points"))
        points = doc.get("points")
        if not isinstance(points, list):
            raise OutcomeValueError("points: must be a list of [x, y]")
        return cls(location=doc.get("location"), points=tuple(points))


@dataclass(frozen=True)
class CementFinding:
    """What one post-operative film shows of the cement at one level (§5a).

    ``leakage`` True/False/None (unknown); ``locations`` where it leaked (only with leakage
    True; a drawn region's location is added); ``regions`` the drawn leaks;
    ``endplate_contact`` whether the cement touches both endplates, True/False/None.
    "No leakage" means none seen on this film (plain films miss venous leaks CT shows, §5a).
    """

    level: str
    leakage: bool | None = None
    locations: tuple[str, ...] = ()
    regions: tuple[LeakRegion, ...] = ()
    endplate_contact: bool | None = None

    def __post_init__(self) -> None:
        from ovcf_viewer.model.landmarks import AnnotationFormatError, level_index

        try:
            level_index(self.level)
        except AnnotationFormatError as exc:
            raise OutcomeValueError(f"level: {exc}") from None
        _tristate(self.leakage, "leakage")
        _tristate(self.endplate_contact, "endplate contact")
        regions = tuple(self.regions)
        locs = [_choice(loc, "leak location", LEAK_LOCATIONS) for loc in self.locations]
        locs += [r.location for r in regions]
        if locs and self.leakage is not True:
            raise OutcomeValueError(
                f"{self.level}: leak locations or regions given but leakage is "
                f"{tristate_text(self.leakage)}")
        ordered = tuple(loc for loc in LEAK_LOCATIONS if loc in locs)
        object.__setattr__(self, "locations", ordered)
        object.__setattr__(self, "regions", regions)

    @property
    def is_empty(self) -> bool:
        return self.leakage is None and self.endplate_contact is None

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "leakage": self.leakage,
                "locations": list(self.locations),
                "regions": [r.to_json() for r in self.regions],
                "endplate_contact": self.endplate_contact}

    @classmethod
    def from_json(cls, doc: Any) -> CementFinding:
        doc = _mapping(doc, "cement finding")
        _only_keys(doc, ("level", "leakage", "locations", "regions", "endplate_contact"))
        level = doc.get("level")
        if not isinstance(level, str):
            raise OutcomeValueError("level: must be a level name such as \"L1\"")
        locations = doc.get("locations") or []
        regions = doc.get("regions") or []
        if not isinstance(locations, list) or not isinstance(regions, list):
            raise OutcomeValueError("locations and regions must be lists")
        parsed = []
        for i, region in enumerate(regions):
            try:
                parsed.append(LeakRegion.from_json(region))
            except OutcomeValueError as exc:
                raise OutcomeValueError(f"regions[{i}].{exc}") from None
        return cls(level=level, leakage=doc.get("leakage"), locations=tuple(locations),
                   regions=tuple(parsed), endplate_contact=doc.get("endplate_contact"))


def _mapping(doc: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise OutcomeValueError(f"{what} must be an object")
    return doc


def _only_keys(doc: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    extra = sorted(set(doc) - set(keys))
    if extra:
        raise OutcomeValueError(f"{extra[0]}: unknown key (expected {', '.join(keys)})")


class PolygonDraft:
    """The leak region being drawn click by click (no Qt): :meth:`add` a point per click (a
    click on the last point again, as the second click of a double-click, adds nothing),
    :meth:`close` makes the :class:`LeakRegion` once there are three points."""

    #: Two clicks closer than this (image pixels) are the same point.
    SAME_POINT_PX = 0.75

    def __init__(self, location: str) -> None:
        _choice(location, "leak location", LEAK_LOCATIONS)
        self.location = location
        self.points: list[tuple[float, float]] = []

    def add(self, x: float, y: float) -> bool:
        """Add a clicked point; False when it repeats the last one."""
        if self.points and math.hypot(x - self.points[-1][0],
                                      y - self.points[-1][1]) < self.SAME_POINT_PX:
            return False
        self.points.append((float(x), float(y)))
        return True

    @property
    def can_close(self) -> bool:
        return len(self.points) >= 3

    def close(self) -> LeakRegion:
        """The region; :class:`OutcomeValueError` with fewer than three points."""
        return LeakRegion(self.location, tuple(self.points))
