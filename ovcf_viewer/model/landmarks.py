"""Landmarks and tools placed on one image, and the annotation exchange format (version 1).

Six-point quantitative morphometry per vertebral body (docs/clinical-reference.md §2): ``sa``,
``sm``,
``sp`` on the superior endplate (anterior, middle, posterior), then ``ia``, ``im``, ``ip`` on
the inferior endplate, placed in that order. Points are image coordinates ``(x, y) =
(column, row)``, ``(0, 0)`` at the centre of the top-left pixel (docs/clinical-reference.md §1).
"Anterior" is whichever side the user marks as anterior; nothing here assumes a facing.

:class:`ImageAnnotations` is the model: plain data plus one ``changed`` event (psygnal), so the
Qt layer subscribes to it and the command line uses it without a display. Every edit goes
through :meth:`ImageAnnotations.edit`, which records an undoable :class:`EditCommand`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from psygnal import Signal

from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.util.safe_read import describe_type, expect, expect_number

__all__ = [
    "AnnotationFormatError",
    "EditCommand",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "CORNER_NAMES",
    "ImageAnnotations",
    "LANDMARK_MODES",
    "LEVELS",
    "POINT_LABELS",
    "POINT_NAMES",
    "TIMEPOINT_KINDS",
    "Timepoint",
    "Tool",
    "TOOL_KINDS",
    "Vertebra",
    "level_index",
    "load_annotations",
    "neighbour_levels",
    "save_annotations",
]

FORMAT_NAME = "ovcf-annotations"
FORMAT_VERSION = 1

#: Levels in cranio-caudal order, C7 to S1 (docs/clinical-reference.md §2).
LEVELS: tuple[str, ...] = (
    ("C7",) + tuple(f"T{i}" for i in range(1, 13)) + tuple(f"L{i}" for i in range(1, 6)) + ("S1",)
)
#: Placement order (docs/clinical-reference.md §2).
POINT_NAMES: tuple[str, ...] = ("sa", "sm", "sp", "ia", "im", "ip")
POINT_LABELS: dict[str, str] = {
    "sa": "superior-anterior corner",
    "sm": "superior endplate, middle (deepest point)",
    "sp": "superior-posterior corner",
    "ia": "inferior-anterior corner",
    "im": "inferior endplate, middle (deepest point)",
    "ip": "inferior-posterior corner",
}
#: The four body corners, in the order four-corner placement asks for them.
CORNER_NAMES: tuple[str, ...] = ("sa", "sp", "ia", "ip")
#: How a vertebra was placed: all six points, or the four corners only (no middle points,
#: so Hm, the biconcavity ratio and the biconcave Genant type are unavailable for it).
LANDMARK_MODES: tuple[str, ...] = ("six_point", "four_corner")
TIMEPOINT_KINDS = ("preop", "postop", "followup")
#: The longest follow-up interval accepted (days): a century.
MAX_INTERVAL_DAYS = 36_500
#: General tools and how many points each takes.
TOOL_KINDS: dict[str, int] = {"ruler": 2, "angle": 3, "cobb": 4, "calibration": 2}

Point = tuple[float, float]


class AnnotationFormatError(ValueError):
    """An annotation document that does not follow the exchange format; the message is one
    line naming the problem."""


def level_index(level: str) -> int:
    """Position of ``level`` in :data:`LEVELS` (cranial first)."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise AnnotationFormatError(
            f"unknown level {level!r}: expected one of {LEVELS[0]}–{LEVELS[-1]}"
        ) from None


def neighbour_levels(level: str) -> tuple[str | None, str | None]:
    """The level directly above (cranial) and below (caudal), ``None`` past C7 or S1."""
    i = level_index(level)
    above = LEVELS[i - 1] if i > 0 else None
    below = LEVELS[i + 1] if i + 1 < len(LEVELS) else None
    return above, below


@dataclass
class Vertebra:
    """One vertebral body's landmarks; ``points`` may be partial while the user places them.

    ``mode`` is ``six_point`` or ``four_corner`` (:data:`LANDMARK_MODES`). ``proposed`` names
    the points the program proposed (carried forward from another film, or completed from two
    clicks) that the reader has not accepted yet: a vertebra with any is not complete, so it
    is neither measured nor exported until accepted (or adjusted by dragging, which accepts).
    """

    level: str
    points: dict[str, Point] = field(default_factory=dict)
    mode: str = "six_point"
    proposed: set[str] = field(default_factory=set)
    #: Why the program asks the reader to check this proposal ("" when it does not).
    check_reason: str = ""

    def __post_init__(self) -> None:
        if self.mode not in LANDMARK_MODES:
            raise AnnotationFormatError(
                f"{self.level}: unknown landmark mode {self.mode!r}: expected one of "
                f"{', '.join(LANDMARK_MODES)}"
            )

    @property
    def required_points(self) -> tuple[str, ...]:
        """The points this vertebra's mode needs, in placement order."""
        return CORNER_NAMES if self.mode == "four_corner" else POINT_NAMES

    @property
    def is_complete(self) -> bool:
        return not self.proposed and all(name in self.points for name in self.required_points)

    @property
    def has_proposal(self) -> bool:
        return bool(self.proposed)

    def next_point(self) -> str | None:
        """The next landmark to place in the order of docs/clinical-reference.md §2 (corners
        only in four-corner mode), or ``None``."""
        return next((name for name in self.required_points if name not in self.points), None)

    def copy(self) -> Vertebra:
        return Vertebra(self.level, dict(self.points), self.mode, set(self.proposed),
                        self.check_reason)


@dataclass
class Tool:
    """A general measuring tool: ruler (2 points), angle (vertex second, 3 points), two-line
    Cobb (4 points: line 1 then line 2), calibration line (2 points + ``true_length_mm``)."""

    kind: str
    points: list[Point]
    true_length_mm: float | None = None
    tool_id: int = 0

    def copy(self) -> Tool:
        return Tool(self.kind, list(self.points), self.true_length_mm, self.tool_id)


@dataclass(frozen=True)
class Timepoint:
    """When a film was taken relative to the procedure (docs/clinical-reference.md §5)."""

    kind: str
    date: date | None = None
    interval_days: int | None = None  # for follow-up: days after the procedure

    def __post_init__(self) -> None:
        if self.kind not in TIMEPOINT_KINDS:
            raise AnnotationFormatError(
                f"timepoint kind {self.kind!r}: expected one of {', '.join(TIMEPOINT_KINDS)}"
            )

    @property
    def label(self) -> str:
        names = {"preop": "Pre-operative", "postop": "Post-operative", "followup": "Follow-up"}
        text = names[self.kind]
        if self.kind == "followup" and self.interval_days is not None:
            text += f" ({_interval_text(self.interval_days)})"
        return text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.date is not None:
            out["date"] = self.date.isoformat()
        if self.interval_days is not None:
            out["interval_days"] = self.interval_days
        return out


def _interval_text(days: int) -> str:
    if days >= 56:
        return f"{round(days / 30.44)} months"
    if days >= 14:
        return f"{round(days / 7)} weeks"
    return f"{days} days"


@dataclass
class EditCommand:
    """One undoable edit: the annotation state before and after (a memento). ``apply`` and
    ``revert`` restore one or the other; the Qt undo stack wraps these one to one."""

    description: str
    before: dict[str, Any]
    after: dict[str, Any]

    def apply(self, model: ImageAnnotations) -> None:
        model.restore(self.after)

    def revert(self, model: ImageAnnotations) -> None:
        model.restore(self.before)


class ImageAnnotations:
    """Everything a user placed or typed on one image, keyed by its SOP Instance UID.

    Events: ``changed()`` after every change; ``command_recorded(EditCommand)`` after each
    completed edit made with :meth:`edit` (the undo stack listens to this).
    """

    changed = Signal()
    command_recorded = Signal(object)

    def __init__(
        self,
        sop_instance_uid: str,
        file: str = "",
        *,
        rows: int | None = None,
        columns: int | None = None,
    ) -> None:
        self.sop_instance_uid = sop_instance_uid
        self.file = file
        self.rows = rows
        self.columns = columns
        self.timepoint: Timepoint | None = None
        self.manual_calibration: Calibration | None = None
        self.vertebrae: dict[str, Vertebra] = {}
        self.index_levels: list[str] = []
        self.tools: list[Tool] = []
        self._edit_depth = 0
        self._preview_origin: dict[str, Any] | None = None

    # -- reading ---------------------------------------------------------------------------
    def ordered_vertebrae(self) -> list[Vertebra]:
        """Vertebrae cranial to caudal."""
        return sorted(self.vertebrae.values(), key=lambda v: level_index(v.level))

    def complete_vertebrae(self) -> dict[str, Vertebra]:
        return {v.level: v for v in self.ordered_vertebrae() if v.is_complete}

    def is_empty(self) -> bool:
        return not (self.vertebrae or self.tools or self.manual_calibration or self.index_levels)

    # -- editing ---------------------------------------------------------------------------
    @contextmanager
    def edit(self, description: str) -> Iterator[None]:
        """Group changes into one undoable command; emits ``changed`` and, if anything
        changed, ``command_recorded`` once at the end. Nested edits join the outer one."""
        if self._edit_depth:
            self._edit_depth += 1
            try:
                yield
            finally:
                self._edit_depth -= 1
            return
        before = self._preview_origin or self.to_json(partial=True)
        self._preview_origin = None
        self._edit_depth = 1
        try:
            yield
        except BaseException:
            self._edit_depth = 0
            self.restore(before)
            raise
        self._edit_depth = 0
        after = self.to_json(partial=True)
        if after != before:
            self.changed.emit()
            self.command_recorded.emit(EditCommand(description, before, after))

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the whole state (used by undo/redo); emits ``changed``."""
        other = ImageAnnotations.from_json(state, partial=True)
        self.timepoint = other.timepoint
        self.manual_calibration = other.manual_calibration
        self.vertebrae = other.vertebrae
        self.index_levels = other.index_levels
        self.tools = other.tools
        self.changed.emit()

    def preview_point(self, level: str, name: str, xy: Point) -> None:
        """Move a landmark live during a drag without recording an undo step; the next
        :meth:`edit` (the drag's end) records one command from the pre-drag state, and
        :meth:`cancel_preview` (Esc, right click) puts the pre-drag state back."""
        if self._preview_origin is None:
            self._preview_origin = self.to_json(partial=True)
        vertebra = self.vertebrae.setdefault(level, Vertebra(level))
        vertebra.points[name] = self._check_point(xy)
        self.changed.emit()

    def preview_tool_point(self, tool_id: int, index: int, xy: Point) -> None:
        """Like :meth:`preview_point` for a tool's handle."""
        if self._preview_origin is None:
            self._preview_origin = self.to_json(partial=True)
        self.tool(tool_id).points[index] = self._check_point(xy)
        self.changed.emit()

    @property
    def in_preview(self) -> bool:
        return self._preview_origin is not None

    def cancel_preview(self) -> None:
        if self._preview_origin is not None:
            origin, self._preview_origin = self._preview_origin, None
            self.restore(origin)

    def _check_point(self, xy: Point) -> Point:
        x, y = float(xy[0]), float(xy[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"point ({x}, {y}) is not finite")
        if self.rows is not None and self.columns is not None:
            if not (-0.5 <= x <= self.columns - 0.5 and -0.5 <= y <= self.rows - 0.5):
                raise ValueError(
                    f"point ({x:.1f}, {y:.1f}) lies outside the {self.columns}×{self.rows} image"
                )
        return (x, y)

    def is_inside(self, xy: Point) -> bool:
        """Whether ``xy`` is a finite point on this image (always, when its size is unknown)."""
        try:
            self._check_point(xy)
        except ValueError:
            return False
        return True

    def set_point(self, level: str, name: str, xy: Point) -> None:
        if name not in POINT_NAMES:
            raise ValueError(f"unknown landmark {name!r}")
        level_index(level)
        with self.edit(f"Place {level} {name}"):
            vertebra = self.vertebrae.setdefault(level, Vertebra(level))
            if vertebra.mode == "four_corner" and name not in CORNER_NAMES:
                raise ValueError(f"{level} is placed in four-corner mode: no {name}")
            vertebra.points[name] = self._check_point(xy)
            # Adjusting a proposed point accepts the vertebra's proposal.
            vertebra.proposed.clear()
            vertebra.check_reason = ""

    def set_vertebra(
        self,
        level: str,
        points: Mapping[str, Point],
        *,
        mode: str | None = None,
        proposed: bool = False,
        check_reason: str = "",
        description: str = "",
    ) -> None:
        """Replace ``level``'s points in one undoable edit (a carried-forward or completed
        proposal when ``proposed``; the points are then drawn as proposals until accepted)."""
        level_index(level)
        unknown = set(points) - set(POINT_NAMES)
        if unknown:
            raise ValueError(f"unknown landmark(s) {', '.join(sorted(unknown))}")
        with self.edit(description or f"Set {level}"):
            old = self.vertebrae.get(level)
            vertebra = Vertebra(level, mode=mode or (old.mode if old else "six_point"))
            for name, xy in points.items():
                if vertebra.mode == "four_corner" and name not in CORNER_NAMES:
                    continue
                vertebra.points[name] = self._check_point(xy)
            vertebra.proposed = set(vertebra.points) if proposed else set()
            vertebra.check_reason = check_reason if proposed else ""
            self.vertebrae[level] = vertebra

    def accept_proposal(self, level: str) -> None:
        """The reader accepts ``level``'s proposed points as they stand."""
        with self.edit(f"Accept {level}"):
            vertebra = self.vertebrae.get(level)
            if vertebra is not None:
                vertebra.proposed.clear()
                vertebra.check_reason = ""

    def set_vertebra_mode(self, level: str, mode: str) -> None:
        """Switch ``level`` between six-point and four-corner placement; four-corner drops the
        middle points (they are not part of that mode's measurements)."""
        if mode not in LANDMARK_MODES:
            raise ValueError(f"unknown landmark mode {mode!r}")
        with self.edit(f"{level}: {mode.replace('_', '-')} placement"):
            vertebra = self.vertebrae.setdefault(level, Vertebra(level))
            vertebra.mode = mode
            if mode == "four_corner":
                for name in ("sm", "im"):
                    vertebra.points.pop(name, None)
                    vertebra.proposed.discard(name)

    def remove_point(self, level: str, name: str) -> None:
        with self.edit(f"Delete {level} {name}"):
            vertebra = self.vertebrae.get(level)
            if vertebra is not None:
                vertebra.points.pop(name, None)
                if not vertebra.points:
                    self._drop_vertebra(level)

    def remove_vertebra(self, level: str) -> None:
        with self.edit(f"Delete {level}"):
            self._drop_vertebra(level)

    def _drop_vertebra(self, level: str) -> None:
        self.vertebrae.pop(level, None)
        if level in self.index_levels:
            self.index_levels.remove(level)

    def relabel(self, old: str, new: str) -> None:
        level_index(new)
        if old == new:
            return
        if new in self.vertebrae:
            raise ValueError(f"{new} is already placed on this image")
        with self.edit(f"Relabel {old} as {new}"):
            vertebra = self.vertebrae.pop(old)
            vertebra.level = new
            self.vertebrae[new] = vertebra
            if old in self.index_levels:
                self.index_levels.remove(old)
                self.index_levels.append(new)
                self.index_levels.sort(key=level_index)

    def set_index_level(self, level: str, is_index: bool) -> None:
        level_index(level)
        with self.edit(f"{'Mark' if is_index else 'Unmark'} {level} as index level"):
            if is_index and level not in self.index_levels:
                self.index_levels.append(level)
                self.index_levels.sort(key=level_index)
            elif not is_index and level in self.index_levels:
                self.index_levels.remove(level)

    def set_manual_calibration(self, calibration: Calibration | None) -> None:
        if calibration is not None and calibration.source is not CalibrationSource.MANUAL:
            raise ValueError("only a manual calibration is stored with the annotations")
        with self.edit("Set calibration" if calibration else "Remove manual calibration"):
            self.manual_calibration = calibration

    def set_timepoint(self, timepoint: Timepoint | None) -> None:
        with self.edit("Set timepoint"):
            self.timepoint = timepoint

    def add_tool(self, tool: Tool) -> Tool:
        expected = TOOL_KINDS.get(tool.kind)
        if expected is None:
            raise ValueError(f"unknown tool {tool.kind!r}")
        if len(tool.points) != expected:
            raise ValueError(f"a {tool.kind} takes {expected} points, got {len(tool.points)}")
        with self.edit(f"Add {tool.kind}"):
            tool = tool.copy()
            tool.points = [self._check_point(p) for p in tool.points]
            tool.tool_id = max((t.tool_id for t in self.tools), default=0) + 1
            self.tools.append(tool)
        return tool

    def move_tool_point(self, tool_id: int, index: int, xy: Point) -> None:
        with self.edit("Move tool point"):
            tool = self.tool(tool_id)
            tool.points[index] = self._check_point(xy)

    def remove_tool(self, tool_id: int) -> None:
        with self.edit("Delete tool"):
            self.tools = [t for t in self.tools if t.tool_id != tool_id]

    def tool(self, tool_id: int) -> Tool:
        for tool in self.tools:
            if tool.tool_id == tool_id:
                return tool
        raise KeyError(tool_id)

    # -- exchange format -------------------------------------------------------------------
    def to_json(self, *, partial: bool = False) -> dict[str, Any]:
        """The exchange-format document (version 1). With ``partial`` incomplete vertebrae
        are kept (the autosave store); without, only complete ones are written."""
        doc: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "image": {"sop_instance_uid": self.sop_instance_uid, "file": self.file},
        }
        if self.rows is not None and self.columns is not None:
            doc["image"]["rows"] = self.rows
            doc["image"]["columns"] = self.columns
        if self.timepoint is not None:
            doc["timepoint"] = self.timepoint.to_json()
        if self.manual_calibration is not None:
            doc["calibration"] = self.manual_calibration.to_json()
        vertebrae = [v for v in self.ordered_vertebrae() if partial or v.is_complete]
        levels = {v.level for v in vertebrae}
        doc["index_levels"] = [lv for lv in self.index_levels if lv in levels]
        doc["vertebrae"] = [_vertebra_to_json(v) for v in vertebrae]
        if self.tools:
            doc["tools"] = [
                {"id": t.tool_id, "kind": t.kind, "points": [list(p) for p in t.points]}
                | ({"true_length_mm": t.true_length_mm} if t.true_length_mm is not None else {})
                for t in self.tools
            ]
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], *, partial: bool = False) -> ImageAnnotations:
        """Parse an exchange-format document; raise :class:`AnnotationFormatError` with one
        line naming the problem. ``partial`` accepts incomplete vertebrae (autosave)."""
        check_document_header(doc, FORMAT_NAME, FORMAT_VERSION, "annotation",
                              "an annotation file", AnnotationFormatError)
        image = doc.get("image")
        if image is not None:
            expect(image, dict, "image", AnnotationFormatError)
        if not isinstance(image, Mapping) or not isinstance(image.get("sop_instance_uid"), str):
            raise AnnotationFormatError('"image.sop_instance_uid" is missing')
        file = image.get("file", "")
        expect(file if file is not None else "", str, "image.file", AnnotationFormatError)
        model = cls(
            image["sop_instance_uid"],
            file or "",
            rows=_optional_int(image, "rows"),
            columns=_optional_int(image, "columns"),
        )
        if "timepoint" in doc and doc["timepoint"] is not None:
            model.timepoint = _timepoint_from_json(doc["timepoint"])
        if "calibration" in doc and doc["calibration"] is not None:
            model.manual_calibration = _calibration_from_json(doc["calibration"])
        vertebrae = doc.get("vertebrae", [])
        if not isinstance(vertebrae, list):
            raise AnnotationFormatError('"vertebrae" must be a list')
        for i, entry in enumerate(vertebrae):
            vertebra = _vertebra_from_json(entry, i, partial=partial)
            if vertebra.level in model.vertebrae:
                raise AnnotationFormatError(f"level {vertebra.level} appears twice")
            model.vertebrae[vertebra.level] = vertebra
        index_levels = doc.get("index_levels", [])
        if not isinstance(index_levels, list):
            raise AnnotationFormatError(
                f"index_levels must be a list of levels, not {describe_type(index_levels)}")
        for i, level in enumerate(index_levels):
            expect(level, str, f"index_levels[{i}]", AnnotationFormatError)
            level_index(level)
            if level not in model.vertebrae:
                raise AnnotationFormatError(f"index level {level} has no landmarks")
        model.index_levels = sorted(set(index_levels), key=level_index)
        tools = doc.get("tools") or []
        expect(tools, list, "tools", AnnotationFormatError)
        for i, entry in enumerate(tools):
            model.tools.append(_tool_from_json(entry, i))
        return model

    def validate_inside(self, rows: int, columns: int) -> None:
        """Raise :class:`AnnotationFormatError` for the first point outside the image."""
        for vertebra in self.ordered_vertebrae():
            for name, (x, y) in vertebra.points.items():
                if not (-0.5 <= x <= columns - 0.5 and -0.5 <= y <= rows - 0.5):
                    raise AnnotationFormatError(
                        f"{vertebra.level} {name} at ({x:g}, {y:g}) lies outside the "
                        f"{columns}×{rows} image"
                    )


def check_document_header(
    doc: Any, format_name: str, version: int, what: str, a_what: str, error: type[ValueError]
) -> None:
    """The ``format``/``version`` check every versioned document of ours starts with
    (annotations, cases): raise ``error`` with one line naming what is wrong. ``what`` is
    the kind ("case"), ``a_what`` the thing with its article ("a case document")."""
    if not isinstance(doc, Mapping):
        raise error(f"{what} document is not a JSON object")
    if doc.get("format") != format_name:
        raise error(f'not {a_what}: "format" is {doc.get("format")!r}, expected {format_name!r}')
    if doc.get("version") != version:
        raise error(
            f"unsupported {what} version {doc.get('version')!r}: this program reads "
            f"version {version}"
        )


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return int(value) if isinstance(value, int) and value > 0 else None


def _parse_point(value: Any, where: str) -> Point:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value)
        or not all(math.isfinite(c) for c in value)
    ):
        raise AnnotationFormatError(f"{where} must be [x, y] with two finite numbers")
    return (float(value[0]), float(value[1]))


def _vertebra_to_json(v: Vertebra) -> dict[str, Any]:
    entry: dict[str, Any] = {"level": v.level}
    if v.mode != "six_point":
        entry["mode"] = v.mode  # absent means six-point (files written before modes)
    entry["points"] = {n: [v.points[n][0], v.points[n][1]] for n in POINT_NAMES if n in v.points}
    if v.proposed:
        entry["proposed"] = [n for n in POINT_NAMES if n in v.proposed]
        if v.check_reason:
            entry["check"] = v.check_reason
    return entry


def _vertebra_from_json(entry: Any, i: int, *, partial: bool) -> Vertebra:
    expect(entry, dict, f"vertebrae[{i}]", AnnotationFormatError)
    level = entry.get("level")
    if level is None:
        raise AnnotationFormatError(f'vertebrae[{i}] has no "level"')
    expect(level, str, f"vertebrae[{i}].level", AnnotationFormatError)
    level_index(level)
    points_in = entry.get("points")
    if not isinstance(points_in, Mapping):
        raise AnnotationFormatError(
            f'vertebrae[{i}].points ({level}) must be an object, not {describe_type(points_in)}')
    unknown = set(points_in) - set(POINT_NAMES)
    if unknown:
        raise AnnotationFormatError(
            f"{level} has unknown landmark(s) {', '.join(sorted(unknown))}: "
            f"expected {', '.join(POINT_NAMES)}"
        )
    mode = entry.get("mode", "six_point")
    if mode not in LANDMARK_MODES:
        raise AnnotationFormatError(
            f"{level} has unknown mode {mode!r}: expected one of {', '.join(LANDMARK_MODES)}"
        )
    required = CORNER_NAMES if mode == "four_corner" else POINT_NAMES
    extra = [n for n in points_in if n not in required]
    if extra:
        raise AnnotationFormatError(
            f"{level} is placed in four-corner mode but has {', '.join(sorted(extra))}"
        )
    missing = [n for n in required if n not in points_in]
    if missing and not partial:
        raise AnnotationFormatError(f"{level} is missing landmark(s) {', '.join(missing)}")
    points = {
        n: _parse_point(points_in[n], f"vertebrae[{i}].points.{n}: {level} {n}")
        for n in POINT_NAMES if n in points_in
    }
    proposed = entry.get("proposed", [])
    if not isinstance(proposed, list) or not set(proposed) <= set(points):
        raise AnnotationFormatError(f'{level}: "proposed" must list some of its points')
    if proposed and not partial:
        raise AnnotationFormatError(f"{level} has proposed points nobody accepted")
    check = entry.get("check", "")
    return Vertebra(level, points, mode, set(proposed), str(check) if proposed else "")


def _timepoint_from_json(value: Any) -> Timepoint:
    if not isinstance(value, Mapping):
        raise AnnotationFormatError('"timepoint" must be an object')
    when = value.get("date")
    parsed: date | None = None
    if when not in (None, ""):
        if not isinstance(when, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
            raise AnnotationFormatError(f"timepoint date {when!r} is not YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(when)
        except ValueError:
            raise AnnotationFormatError(f"timepoint date {when!r} is not a valid date") from None
    interval = value.get("interval_days")
    if interval is not None and (
        not isinstance(interval, int) or isinstance(interval, bool)
        or not -MAX_INTERVAL_DAYS <= interval <= MAX_INTERVAL_DAYS
    ):
        raise AnnotationFormatError(
            f"timepoint.interval_days must be a whole number of days within "
            f"±{MAX_INTERVAL_DAYS}, not {interval!r}"[:160]
        )
    kind = value.get("kind")
    if kind is not None:
        expect(kind, str, "timepoint.kind", AnnotationFormatError)
    return Timepoint(str(value.get("kind")), parsed, interval)


def _calibration_from_json(value: Any) -> Calibration:
    if not isinstance(value, Mapping):
        raise AnnotationFormatError('"calibration" must be an object')
    source = value.get("source")
    if source != CalibrationSource.MANUAL.value:
        raise AnnotationFormatError(
            f'calibration source {source!r}: only "manual" is stored with annotations'
        )
    try:
        return Calibration(
            CalibrationSource.MANUAL,
            float(value["row_mm"]),
            float(value["col_mm"]),
            str(value.get("detail", "")),
        )
    except (KeyError, TypeError) as exc:
        raise AnnotationFormatError(
            f"calibration needs positive row_mm and col_mm ({exc})"
        ) from None
    except ValueError as exc:  # not finite, not positive, or not a plausible spacing
        raise AnnotationFormatError(f'"calibration": {exc}') from None


def _tool_from_json(entry: Any, i: int) -> Tool:
    expect(entry, dict, f"tools[{i}]", AnnotationFormatError)
    kind = entry.get("kind")
    if not isinstance(kind, str) or kind not in TOOL_KINDS:
        raise AnnotationFormatError(f"tools[{i}].kind {kind!r} is not one of "
                                    f"{', '.join(TOOL_KINDS)}"[:200])
    points_in = entry.get("points", [])
    expect(points_in, list, f"tools[{i}].points", AnnotationFormatError)
    points = [_parse_point(p, f"tools[{i}].points[{j}]") for j, p in enumerate(points_in)]
    if len(points) != TOOL_KINDS[kind]:
        raise AnnotationFormatError(f"tools[{i}] ({kind}) needs {TOOL_KINDS[kind]} points")
    length = entry.get("true_length_mm")
    if length is not None:
        length = expect_number(length, f"tools[{i}].true_length_mm", AnnotationFormatError,
                               low=0.0, high=10_000.0)
    tool_id = entry.get("id")
    tool_id = tool_id if isinstance(tool_id, int) and tool_id > 0 else i + 1
    return Tool(kind, points, float(length) if length is not None else None, tool_id)


def load_annotations(path: str | Path, *, partial: bool = False) -> ImageAnnotations:
    """Read an exchange-format file; errors are :class:`AnnotationFormatError` naming the
    file and the problem in one line."""
    from ovcf_viewer.util.safe_read import InputFileError, read_json

    path = Path(path)
    try:
        doc = read_json(path)
    except InputFileError as exc:
        raise AnnotationFormatError(str(exc)) from None
    try:
        return ImageAnnotations.from_json(doc, partial=partial)
    except AnnotationFormatError as exc:
        raise AnnotationFormatError(f"{path.name}: {exc}") from None


def save_annotations(model: ImageAnnotations, path: str | Path) -> None:
    """Write the exchange-format document atomically."""
    from ovcf_viewer.util.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(model.to_json(), indent=2) + "\n")
