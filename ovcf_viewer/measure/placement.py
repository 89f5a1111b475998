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
(docs/clinical-reference.md §2). Two quicker modes (:data:`PLACEMENT_MODES`):

* ``four_corner`` asks for ``sa, sp, ia, ip`` only; the vertebra is stored in four-corner mode
  and measured without its middle points (Hm, biconcavity and the biconcave type unavailable).
* ``two_click`` asks for ``sa`` and ``ip`` and then proposes the other four points
  (:func:`propose_from_two_clicks`) from the shape of the same level on the previous film, or
  of the vertebrae already placed on this film, or a typical body; the proposal is shown to be
  accepted or adjusted like a carried-forward one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ovcf_viewer.model.landmarks import (
    CORNER_NAMES,
    LEVELS,
    POINT_LABELS,
    POINT_NAMES,
    TOOL_KINDS,
    ImageAnnotations,
    level_index,
)

__all__ = [
    "CORNER_NAMES",
    "DEFAULT_HIT_TOLERANCE_PX",
    "DIRECTIONS",
    "DRAG_THRESHOLD_PX",
    "SNAPPING_TOOLS",
    "SNAP_TOLERANCE_PX",
    "HandleKey",
    "Hit",
    "PLACEMENT_MODES",
    "PlacementState",
    "PointerEvent",
    "ToolDraft",
    "handle_name",
    "hit_test",
    "nearest_corner",
    "next_level",
    "nudge_step",
    "placement_prompt",
    "propose_from_two_clicks",
    "screen_to_image_tolerance",
    "shape_source",
]

#: How close (screen pixels) the pointer must be to a handle to grab it.
DEFAULT_HIT_TOLERANCE_PX = 8.0
#: After a vertebra is complete, the next level offered is the one below (caudal, "down")
#: or above (cranial, "up").
DIRECTIONS = ("down", "up")
#: How a vertebra is placed: six points, the four corners, or two corners plus a proposal.
PLACEMENT_MODES = ("six_point", "four_corner", "two_click")
MODE_LABELS = {
    "six_point": "Six points",
    "four_corner": "Four corners (no Hm, biconcavity or biconcave type)",
    "two_click": "Two clicks (sa and ip, the rest proposed)",
}
TWO_CLICK_ORDER = ("sa", "ip")
#: Screen pixels the pointer must travel between press and release for a drag.
DRAG_THRESHOLD_PX = 3.0
#: How close (screen pixels) a tool point must be clicked to a landmark corner to snap to it,
#: and to the tool's last point for a press there to continue the line from it.
SNAP_TOLERANCE_PX = 8.0
#: Tools whose points snap to landmark corners (endplate lines for Cobb, arms for an angle).
SNAPPING_TOOLS = ("angle", "cobb")

Point = tuple[float, float]


ToScreen = Callable[[Point], Point]


@dataclass(frozen=True)
class PointerEvent:
    """A mouse event reduced to what the logic needs: ``kind`` is ``press``, ``move`` or
    ``release``; ``x``, ``y`` image coordinates; ``buttons_down`` whether the left button
    is held (a drag) during a move; ``screen`` where the pointer really was, in viewport
    pixels (``x``, ``y`` may have been snapped), when the caller knows it."""

    kind: str
    x: float
    y: float
    buttons_down: bool = False
    screen: Point | None = None

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
        if vertebra is None or not (vertebra.is_complete or vertebra.has_proposal):
            return candidate
        i += step
    return None


def _order(mode: str) -> tuple[str, ...]:
    return {"six_point": POINT_NAMES, "four_corner": CORNER_NAMES,
            "two_click": TWO_CLICK_ORDER}[mode]


def placement_prompt(annotations: ImageAnnotations, level: str, mode: str = "six_point") -> str:
    """What the view tells the user, e.g. ``"L1: click the superior-posterior corner
    (3/6)"``, that a proposal waits to be accepted, or that the level is complete."""
    vertebra = annotations.vertebrae.get(level)
    if vertebra is not None and vertebra.has_proposal:
        check = f" (check: {vertebra.check_reason})" if vertebra.check_reason else ""
        return (f"{level}: proposed{check}: drag a point to adjust, Enter to accept, "
                "Delete to reject")
    if vertebra is not None and vertebra.is_complete:
        count = {6: "six", 4: "four"}[len(vertebra.required_points)]
        return f"{level}: all {count} landmarks placed"
    order = _order(mode)
    if vertebra is not None and vertebra.mode == "four_corner":
        order = CORNER_NAMES
    name = next((n for n in order if vertebra is None or n not in vertebra.points), None)
    if name is None:
        return f"{level}: all {len(order)} landmarks clicked"
    number = order.index(name) + 1
    return f"{level}: click the {POINT_LABELS[name]} ({number}/{len(order)})"


@dataclass
class PlacementState:
    """The landmark-placement mode: the level being placed and where to go next.

    :meth:`target` names the landmark the next click places; :meth:`after_placement` moves
    to the next level once the current one is complete (the offer of docs/clinical-reference.md §2's
    next level below, or above when ``direction == "up"``).
    """

    level: str = "L1"
    direction: str = "down"
    mode: str = "six_point"

    def __post_init__(self) -> None:
        level_index(self.level)
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        if self.mode not in PLACEMENT_MODES:
            raise ValueError(f"placement mode must be one of {', '.join(PLACEMENT_MODES)}")

    def target(self, annotations: ImageAnnotations) -> tuple[str, str] | None:
        """``(level, landmark)`` the next click places; ``None`` when the level is complete
        or waits for its proposal to be accepted (and, in two-click mode, once ``sa`` and
        ``ip`` are placed: then :meth:`wants_proposal` is true)."""
        vertebra = annotations.vertebrae.get(self.level)
        if vertebra is not None and (vertebra.has_proposal or vertebra.is_complete):
            return None
        order = _order(self.mode)
        if vertebra is not None and vertebra.mode == "four_corner":
            order = CORNER_NAMES
        name = next((n for n in order if vertebra is None or n not in vertebra.points), None)
        return (self.level, name) if name is not None else None

    def landmark_mode(self) -> str:
        """The mode a vertebra started in this placement mode is stored with."""
        return "four_corner" if self.mode == "four_corner" else "six_point"

    def wants_proposal(self, annotations: ImageAnnotations) -> bool:
        """Two-click mode, ``sa`` and ``ip`` placed, the rest not: time to propose."""
        vertebra = annotations.vertebrae.get(self.level)
        return (
            self.mode == "two_click"
            and vertebra is not None
            and not vertebra.has_proposal
            and all(n in vertebra.points for n in TWO_CLICK_ORDER)
            and not vertebra.is_complete
            and any(n not in vertebra.points for n in vertebra.required_points)
        )

    def prompt(self, annotations: ImageAnnotations) -> str:
        return placement_prompt(annotations, self.level, self.mode)

    def after_placement(self, annotations: ImageAnnotations) -> str | None:
        """If the current level is complete (or proposed, in two-click mode: its proposal is
        checked later), switch to the next level offered and return it; otherwise (or past the
        end of the spine) return ``None`` and stay."""
        vertebra = annotations.vertebrae.get(self.level)
        if vertebra is None or not (vertebra.is_complete or vertebra.has_proposal):
            return None
        following = next_level(annotations, self.level, self.direction)
        if following is not None:
            self.level = following
        return following


# -- two clicks a vertebra ---------------------------------------------------------------------

#: A typical lumbar body in its sa→ip frame when nothing better is known: corners and middle
#: points as fractions, from the synthetic patient's L2 (depth 40, heights 28.5/28 mm,
#: concavities 1.3/1.1 mm), facing right (anterior +x), image y downwards.
_TYPICAL_BODY: dict[str, Point] = {
    "sa": (40.0, -28.5), "sm": (20.0, -26.95), "sp": (0.0, -28.0),
    "ia": (40.0, 0.0), "im": (20.0, -1.1), "ip": (0.0, 0.0),
}


def shape_source(
    annotations: ImageAnnotations,
    level: str,
    previous: ImageAnnotations | None = None,
) -> tuple[str, dict[str, Point]]:
    """Where the shape for a two-click proposal comes from, and its points: the same level
    on the ``previous`` film if placed there, else the nearest placed vertebra on this film
    (above or below; index levels only when nothing else is placed, a fractured body is a poor
    template), else a typical body. Returns ``(description, points)``."""
    if previous is not None:
        vertebra = previous.vertebrae.get(level)
        if vertebra is not None and all(n in vertebra.points for n in CORNER_NAMES):
            return f"{level} on the previous film", dict(vertebra.points)
    i = level_index(level)
    placed = [
        v for v in annotations.ordered_vertebrae()
        if v.level != level and not v.has_proposal
        and all(n in v.points for n in CORNER_NAMES)
    ]
    if placed:
        nearest = min(placed, key=lambda v: (v.level in annotations.index_levels,
                                             abs(level_index(v.level) - i), level_index(v.level)))
        return f"the shape of {nearest.level}", dict(nearest.points)
    return "a typical body", dict(_TYPICAL_BODY)


def _handedness(points: dict[str, Point]) -> float:
    """Sign of the turn sa → ip → sp: which way the body faces on its film."""
    (ax, ay), (bx, by), (cx, cy) = points["sa"], points["ip"], points["sp"]
    return math.copysign(1.0, (bx - ax) * (cy - ay) - (by - ay) * (cx - ax))


def propose_from_two_clicks(
    sa: Point,
    ip: Point,
    shape: dict[str, Point],
    *,
    facing_like: dict[str, Point] | None = None,
    col_mm: float = 1.0,
    row_mm: float = 1.0,
    shape_spacing: tuple[float, float] | None = None,
) -> dict[str, Point]:
    """The six points of a body whose ``sa`` and ``ip`` corners were clicked, with the other
    points placed where ``shape`` (any vertebra's points, at least the four corners) has them
    relative to its own ``sa``–``ip`` diagonal: the similarity transform (rotation, scale,
    translation, in mm so non-square pixels keep the shape) taking the shape's ``sa``/``ip``
    onto the clicks. ``col_mm``/``row_mm`` are this film's spacing, ``shape_spacing``
    ``(row_mm, col_mm)`` the shape's film's (default: the same film). ``facing_like``: a
    vertebra on *this* film; when it faces the other way from ``shape`` the shape is mirrored
    first. Middle points are proposed only when ``shape`` has them."""
    shape_row, shape_col = shape_spacing or (row_mm, col_mm)
    src = {n: (x * shape_col, y * shape_row) for n, (x, y) in shape.items()}
    if facing_like is not None and all(n in facing_like for n in ("sa", "ip", "sp")):
        mirror = _handedness(facing_like) != _handedness(shape)
    else:
        # Without a body on this film: sa is anterior, ip posterior, so the clicks say which
        # way the patient faces (for spines tilted less than 45°, cranial up).
        mirror = (sa[0] - ip[0]) * (shape["sa"][0] - shape["ip"][0]) < 0
    if mirror:
        src = {n: (-x, y) for n, (x, y) in src.items()}
    a0 = complex(*src["sa"])
    b0 = complex(*src["ip"])
    a1 = complex(sa[0] * col_mm, sa[1] * row_mm)
    b1 = complex(ip[0] * col_mm, ip[1] * row_mm)
    if abs(b0 - a0) == 0 or abs(b1 - a1) == 0:
        raise ValueError("the two clicks (or the shape's sa and ip) coincide")
    factor = (b1 - a1) / (b0 - a0)  # rotation and scale as one complex number
    out: dict[str, Point] = {}
    for name in POINT_NAMES:
        if name not in src:
            continue
        z = a1 + factor * (complex(*src[name]) - a0)
        out[name] = (z.real / col_mm, z.imag / row_mm)
    out["sa"], out["ip"] = (float(sa[0]), float(sa[1])), (float(ip[0]), float(ip[1]))
    return out


def complete_two_clicks(
    annotations: ImageAnnotations,
    level: str,
    previous: ImageAnnotations | None = None,
    *,
    col_mm: float = 1.0,
    row_mm: float = 1.0,
    previous_spacing: tuple[float, float] | None = None,
) -> str:
    """Propose the rest of ``level`` from its placed ``sa`` and ``ip`` (one undoable edit);
    returns where the shape came from, for the status line. ``previous_spacing`` is the
    previous film's ``(row_mm, col_mm)``."""
    vertebra = annotations.vertebrae[level]
    description, shape = shape_source(annotations, level, previous)
    from_previous = description.endswith("previous film")
    facing = next((v.points for v in annotations.ordered_vertebrae()
                   if v.level != level and all(n in v.points for n in ("sa", "ip", "sp"))),
                  None)
    points = propose_from_two_clicks(
        vertebra.points["sa"], vertebra.points["ip"], shape, facing_like=facing,
        col_mm=col_mm, row_mm=row_mm,
        shape_spacing=previous_spacing if from_previous else None,
    )
    if vertebra.mode == "four_corner":
        points = {n: p for n, p in points.items() if n in CORNER_NAMES}
    annotations.set_vertebra(level, points, proposed=True,
                             description=f"Propose {level} from two clicks")
    return description


def apply_proposals(
    annotations: ImageAnnotations,
    proposals: dict[str, tuple[dict[str, Point], str]],
    *,
    replace_placed: bool = False,
) -> list[str]:
    """Put carried-forward proposals (level → ``(points, check_reason)``) on the film in one
    undoable edit; levels the reader already placed are kept unless ``replace_placed``, and
    a level with a point off this film is left out (it is not on the film, or the proposal
    is wrong). Returns the levels proposed."""
    done: list[str] = []
    with annotations.edit("Carry landmarks forward"):
        for level, (points, reason) in proposals.items():
            existing = annotations.vertebrae.get(level)
            if existing is not None and existing.points and not existing.has_proposal \
                    and not replace_placed:
                continue
            if not all(annotations.is_inside(xy) for xy in points.values()):
                continue
            mode = "six_point" if all(n in points for n in POINT_NAMES) else "four_corner"
            annotations.set_vertebra(level, points, mode=mode, proposed=True,
                                     check_reason=reason)
            done.append(level)
    return done


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

    def landmark(self) -> tuple[str, str] | None:
        """``(level, name)`` of a landmark handle; ``None`` for a tool point."""
        if self.level is None or self.name is None:
            return None
        return self.level, self.name

    def tool_point(self) -> tuple[int, int] | None:
        """``(tool_id, index)`` of a tool point's handle; ``None`` for a landmark."""
        if self.tool_id is None or self.index is None:
            return None
        return self.tool_id, self.index


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


def handle_name(key: HandleKey, annotations: ImageAnnotations | None = None) -> str:
    """What the status bar calls a handle: ``"L1 sa — superior-anterior corner"`` for a
    landmark, ``"cobb point 3 of 4"`` for a tool point (``"tool point 3"`` when the tool is
    not in ``annotations``)."""
    if key.is_landmark and key.name is not None:
        return f"{key.level} {key.name} — {POINT_LABELS[key.name]}"
    number = (key.index or 0) + 1
    tool = next((t for t in annotations.tools if t.tool_id == key.tool_id), None) \
        if annotations is not None else None
    if tool is None:
        return f"tool point {number}"
    return f"{tool.kind} point {number} of {TOOL_KINDS[tool.kind]}"


def nearest_corner(
    annotations: ImageAnnotations,
    screen_xy: Point,
    to_screen: ToScreen,
    tolerance_px: float = SNAP_TOLERANCE_PX,
) -> tuple[str, str, Point] | None:
    """The landmark corner (``CORNER_NAMES``) nearest the pointer at ``screen_xy`` (viewport
    pixels) within ``tolerance_px`` *screen* pixels, as ``(level, name, image point)``;
    ``to_screen`` maps an image point to viewport pixels (zoom, rotation, flip and the pixel
    aspect all included, so the tolerance is the same on screen on any film)."""
    best: tuple[float, tuple[str, str, Point]] | None = None
    for vertebra in annotations.ordered_vertebrae():
        for name in CORNER_NAMES:
            xy = vertebra.points.get(name)
            if xy is None:
                continue
            sx, sy = to_screen(xy)
            d = math.hypot(sx - screen_xy[0], sy - screen_xy[1])
            if d <= tolerance_px and (best is None or d < best[0]):
                best = (d, (vertebra.level, name, xy))
    return best[1] if best is not None else None


# -- tool drawing ------------------------------------------------------------------------------


@dataclass
class ToolDraft:
    """Drawing state machine for a ruler (2 points), angle (3, vertex second), two-line Cobb
    (4: line one, then line two) or calibration line (2).

    Click-click and press-drag-release both work, and mix:

    * a press adds a point where it is (the caller has already snapped it);
    * a release after a drag (farther than ``DRAG_THRESHOLD_PX`` on screen, or
      ``drag_tolerance`` image pixels when no screen position is known) adds the release
      point, so one drag draws a line; a release without a drag adds nothing (a click);
    * a press on the last point placed (within ``SNAP_TOLERANCE_PX`` on screen) adds nothing
      and continues from it, so an angle's second arm can be dragged out of its vertex and a
      click there does not make a zero-length arm — except where a new line starts (a
      Cobb's third point may sit on the end of the first line).

    ``floating`` is the pointer position shown as a rubber band to the next point.
    """

    kind: str
    points: list[Point] = field(default_factory=list)
    floating: Point | None = None
    _press: PointerEvent | None = None

    def __post_init__(self) -> None:
        if self.kind not in TOOL_KINDS:
            raise ValueError(f"unknown tool {self.kind!r}: expected one of {', '.join(TOOL_KINDS)}")

    @property
    def needed(self) -> int:
        return TOOL_KINDS[self.kind]

    @property
    def is_complete(self) -> bool:
        return len(self.points) >= self.needed

    @property
    def in_progress(self) -> bool:
        """Some points are placed (or a press is held) and the tool is not complete."""
        return (bool(self.points) or self._press is not None) and not self.is_complete

    def starts_new_line(self) -> bool:
        """Whether the next point starts a line of its own (a Cobb's second line)."""
        return self.kind == "cobb" and len(self.points) == 2

    def preview_points(self) -> list[Point]:
        """Placed points plus the floating one (what the rubber band draws)."""
        if self.floating is not None and not self.is_complete and self.points:
            if self.starts_new_line() and self._press is None:
                return list(self.points)  # no band from line one's end to the pointer
            return [*self.points, self.floating]
        return list(self.points)

    def handle(self, event: PointerEvent, drag_tolerance: float = 0.5,
               to_screen: ToScreen | None = None) -> bool:
        """Feed one pointer event; return ``True`` when the tool has all its points.
        ``to_screen`` (image point → viewport pixels) lets the tolerances be measured on
        screen when the events carry ``screen`` positions."""
        if self.is_complete:
            return True
        if event.kind == "press":
            self._press = event
            self.floating = event.xy
            if self.points and not self.starts_new_line() and self._near(
                    self.points[-1], event, drag_tolerance, to_screen):
                self._press = replace(event, kind="continue")
                self.floating = self.points[-1]
            else:
                self.points.append(event.xy)
        elif event.kind == "move":
            self.floating = event.xy
        elif event.kind == "release":
            press, self._press = self._press, None
            if press is not None and self._dragged(press, event, drag_tolerance):
                self.points.append(event.xy)
            self.floating = event.xy
        else:
            raise ValueError(f"unknown pointer event {event.kind!r}")
        return self.is_complete

    @staticmethod
    def _near(point: Point, event: PointerEvent, tolerance: float,
              to_screen: ToScreen | None) -> bool:
        if to_screen is not None and event.screen is not None:
            sx, sy = to_screen(point)
            return math.hypot(sx - event.screen[0], sy - event.screen[1]) <= SNAP_TOLERANCE_PX
        return math.hypot(point[0] - event.x, point[1] - event.y) <= tolerance

    @staticmethod
    def _dragged(press: PointerEvent, release: PointerEvent, tolerance: float) -> bool:
        if press.screen is not None and release.screen is not None:
            return math.hypot(release.screen[0] - press.screen[0],
                              release.screen[1] - press.screen[1]) > DRAG_THRESHOLD_PX
        return math.hypot(release.x - press.x, release.y - press.y) > tolerance

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
