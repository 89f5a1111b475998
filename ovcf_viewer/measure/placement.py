"""Interaction logic for placing landmarks and drawing measuring tools, without Qt.

The Qt layer (:mod:`ovcf_viewer.qt.annotate.annotation_controller`) only translates mouse and key
events into the small records below and calls these functions, so "which landmark comes
next", hit-testing and the tools' drawing state machines are tested without a display (the
napari pattern: plain functions fed with event records).

Coordinates are image coordinates ``(x, y) = (column, row)``, ``(0, 0)`` at the centre of the
top-left pixel (docs/clinical-reference.md §1). The view shows image pixels with one uniform zoom
(screen pixels per image pixel) and a rotation/flip, so a tolerance of ``n`` screen pixels is
``n / zoom`` image pixels in every direction.

Landmarks are placed six per vertebral body in the order ``sa, sm, sp, ia, im, ip``
(docs/clinical-reference.md §2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ovcf_viewer.model.landmarks import (
    LEVELS,
    POINT_LABELS,
    POINT_NAMES,
    TOOL_KINDS,
    ImageAnnotations,
    level_index,
)

__all__ = [
    "DEFAULT_HIT_TOLERANCE_PX",
    "DIRECTIONS",
    "HandleKey",
    "Hit",
    "PlacementState",
    "PointerEvent",
    "ToolDraft",
    "hit_test",
    "next_level",
    "nudge_step",
    "placement_prompt",
    "screen_to_image_tolerance",
]

#: How close (screen pixels) the pointer must be to a handle to grab it.
DEFAULT_HIT_TOLERANCE_PX = 8.0
#: After a vertebra is complete, the next level offered is the one below (caudal, "down")
#: or above (cranial, "up").
DIRECTIONS = ("down", "up")

Point = tuple[float, float]


@dataclass(frozen=True)
class PointerEvent:
    """A mouse event reduced to what the logic needs: ``kind`` is ``press``, ``move`` or
    ``release``; ``x``, ``y`` image coordinates; ``buttons_down`` whether the left button
    is held (a drag) during a move."""

    kind: str
    x: float
    y: float
    buttons_down: bool = False

    @property
    def xy(self) -> Point:
        return (self.x, self.y)


def screen_to_image_tolerance(tolerance_px: float, zoom: float) -> float:
    """A distance of ``tolerance_px`` screen pixels in image pixels at ``zoom`` (screen
    pixels per image pixel)."""
    if not (zoom > 0 and math.isfinite(zoom)):
        raise ValueError(f"zoom must be a positive number, got {zoom!r}")
    return tolerance_px / zoom


def nudge_step(zoom: float) -> float:
    """Arrow-key nudge: one screen pixel in image pixels, so sub-pixel above 1:1 zoom."""
    return screen_to_image_tolerance(1.0, zoom)


# -- which landmark / level comes next ---------------------------------------------------------


def next_level(annotations: ImageAnnotations, level: str, direction: str = "down") -> str | None:
    """The level offered after ``level`` is complete: the nearest level below (``down``,
    caudal) or above (``up``, cranial) that is not complete yet; ``None`` past S1 / C7."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    step = 1 if direction == "down" else -1
    i = level_index(level) + step
    while 0 <= i < len(LEVELS):
        candidate = LEVELS[i]
        vertebra = annotations.vertebrae.get(candidate)
        if vertebra is None or not vertebra.is_complete:
            return candidate
        i += step
    return None


def placement_prompt(annotations: ImageAnnotations, level: str) -> str:
    """What the view tells the user, e.g. ``"L1: click the superior-posterior corner
    (3/6)"``, or that the level is complete."""
    vertebra = annotations.vertebrae.get(level)
    name = vertebra.next_point() if vertebra is not None else POINT_NAMES[0]
    if name is None:
        return f"{level}: all six landmarks placed"
    number = POINT_NAMES.index(name) + 1
    return f"{level}: click the {POINT_LABELS[name]} ({number}/6)"


@dataclass
class PlacementState:
    """The landmark-placement mode: the level being placed and where to go next.

    :meth:`target` names the landmark the next click places; :meth:`after_placement` moves
    to the next level once the current one is complete (the offer of docs/clinical-reference.md §2's
    next level below, or above when ``direction == "up"``).
    """

    level: str = "L1"
    direction: str = "down"

    def __post_init__(self) -> None:
        level_index(self.level)
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")

    def target(self, annotations: ImageAnnotations) -> tuple[str, str] | None:
        """``(level, landmark)`` the next click places, ``None`` when the level is complete."""
        vertebra = annotations.vertebrae.get(self.level)
        name = POINT_NAMES[0] if vertebra is None else vertebra.next_point()
        return (self.level, name) if name is not None else None

    def prompt(self, annotations: ImageAnnotations) -> str:
        return placement_prompt(annotations, self.level)

    def after_placement(self, annotations: ImageAnnotations) -> str | None:
        """If the current level is complete, switch to the next level offered and return it;
        otherwise (or past the end of the spine) return ``None`` and stay."""
        vertebra = annotations.vertebrae.get(self.level)
        if vertebra is None or not vertebra.is_complete:
            return None
        following = next_level(annotations, self.level, self.direction)
        if following is not None:
            self.level = following
        return following


# -- hit testing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandleKey:
    """Which point a handle stands for: a landmark (``level``, ``name``) or a tool point
    (``tool_id``, ``index``). The scene's handle items are keyed by it too."""

    level: str | None = None
    name: str | None = None
    tool_id: int | None = None
    index: int | None = None

    @property
    def is_landmark(self) -> bool:
        return self.level is not None


@dataclass(frozen=True)
class Hit(HandleKey):
    """A handle under the pointer, ``distance`` image pixels away."""

    distance: float = 0.0


def hit_test(
    annotations: ImageAnnotations,
    xy: Point,
    zoom: float,
    tolerance_px: float = DEFAULT_HIT_TOLERANCE_PX,
) -> Hit | None:
    """The nearest handle within ``tolerance_px`` screen pixels of image point ``xy`` at
    ``zoom``; landmarks win ties over tools. ``None`` when nothing is that close."""
    tolerance = screen_to_image_tolerance(tolerance_px, zoom)
    best: Hit | None = None
    for vertebra in annotations.ordered_vertebrae():
        for name, (px, py) in vertebra.points.items():
            d = math.hypot(px - xy[0], py - xy[1])
            if d <= tolerance and (best is None or d < best.distance):
                best = Hit(level=vertebra.level, name=name, distance=d)
    for tool in annotations.tools:
        for i, (px, py) in enumerate(tool.points):
            d = math.hypot(px - xy[0], py - xy[1])
            if d <= tolerance and (best is None or d < best.distance):
                best = Hit(tool_id=tool.tool_id, index=i, distance=d)
    return best


# -- tool drawing ------------------------------------------------------------------------------


@dataclass
class ToolDraft:
    """Drawing state machine for a ruler (2 points), angle (3, vertex second), two-line Cobb
    (4: line one, then line two) or calibration line (2).

    Each click adds a point; a press-drag-release adds the press point and the release
    point (so a line can be drawn with one drag). ``floating`` is the pointer position shown
    as a rubber band to the next point. ``drag_tolerance`` (image pixels) separates a click
    from a drag; the Qt layer passes ``screen_to_image_tolerance(3, zoom)``.
    """

    kind: str
    points: list[Point] = field(default_factory=list)
    floating: Point | None = None
    _press: Point | None = None

    def __post_init__(self) -> None:
        if self.kind not in TOOL_KINDS:
            raise ValueError(f"unknown tool {self.kind!r}: expected one of {', '.join(TOOL_KINDS)}")

    @property
    def needed(self) -> int:
        return TOOL_KINDS[self.kind]

    @property
    def is_complete(self) -> bool:
        return len(self.points) >= self.needed

    def preview_points(self) -> list[Point]:
        """Placed points plus the floating one (what the rubber band draws)."""
        if self.floating is not None and not self.is_complete and self.points:
            return [*self.points, self.floating]
        return list(self.points)

    def handle(self, event: PointerEvent, drag_tolerance: float = 0.5) -> bool:
        """Feed one pointer event; return ``True`` when the tool has all its points."""
        if self.is_complete:
            return True
        if event.kind == "press":
            self.points.append(event.xy)
            self._press = event.xy
            self.floating = event.xy
        elif event.kind == "move":
            self.floating = event.xy
        elif event.kind == "release":
            press, self._press = self._press, None
            if press is not None and math.hypot(event.x - press[0], event.y - press[1]) > (
                drag_tolerance
            ):
                self.points.append(event.xy)
            self.floating = event.xy
        else:
            raise ValueError(f"unknown pointer event {event.kind!r}")
        return self.is_complete

    def prompt(self) -> str:
        """What to click next, for the status line."""
        n = len(self.points)
        steps: tuple[str, ...]
        if self.kind == "ruler":
            steps = ("click the start of the distance", "click its end")
        elif self.kind == "calibration":
            steps = (
                "click one end of an object of known length",
                "click its other end (you will enter the true length)",
            )
        elif self.kind == "angle":
            steps = ("click a point on the first arm", "click the vertex", "click the second arm")
        else:
            steps = (
                "Cobb: click the start of the first line",
                "Cobb: click the end of the first line",
                "Cobb: click the start of the second line",
                "Cobb: click the end of the second line",
            )
        if n >= len(steps):
            return f"{self.kind}: complete"
        return f"{steps[n]} ({n + 1}/{len(steps)})"
