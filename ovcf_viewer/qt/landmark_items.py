"""Scene items for landmarks, vertebral outlines, labels and measuring tools.

Scene coordinates are image coordinates (clinical-reference §1, see
:mod:`ovcf_viewer.qt.image_view`). Handles and labels ignore the view transform
(``ItemIgnoresTransformations``), so they keep a constant size on screen at any zoom, rotation
or flip; lines use cosmetic pens for the same reason.

Handles behave like pyqtgraph's ``TargetItem`` (../shared/style.md): a drag reports *moving*
(``preview``, no undo step) and *finished* (one undo step) separately, a drag that ends where
it started changes nothing, and Esc or a right click during a drag cancels it. Items never
touch the model themselves; they call the :class:`AnnotationLayer`'s owner callbacks, and the
layer mirrors the model in :meth:`AnnotationLayer.sync`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPen,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ovcf_viewer.core.calibration import Calibration
from ovcf_viewer.core.geometry import angle_at_vertex_deg, line_angle_deg
from ovcf_viewer.core.landmarks import POINT_NAMES, ImageAnnotations, Tool, Vertebra
from ovcf_viewer.core.measurements import ImageMeasurements

__all__ = [
    "AnnotationLayer",
    "HandleItem",
    "HandleKey",
    "LabelItem",
    "format_length",
    "tool_label",
    "vertebra_label",
]

#: Labels nudged into the viewport stay this far from its top and bottom edges, where the
#: view's corner overlays write (screen pixels).
OVERLAY_MARGIN_PX = 62.0
#: A label that must be nudged less than this (screen pixels) to stay in the viewport still
#: counts as fitting beside its wall (the gap beside the wall is 10 px).
LABEL_FIT_SLACK_PX = 8.0
#: Handle radius and grab radius in screen pixels.
HANDLE_RADIUS_PX = 5.0
GRAB_RADIUS_PX = 8.0

SUPERIOR_COLOUR = QColor(0, 220, 255)
INFERIOR_COLOUR = QColor(255, 170, 0)
SELECTED_COLOUR = QColor(255, 255, 0)
TOOL_COLOUR = QColor(120, 255, 120)
INDEX_COLOUR = QColor(255, 90, 90)
OUTLINE_COLOUR = QColor(0, 220, 255, 200)


@dataclass(frozen=True)
class HandleKey:
    """Which point a handle stands for: a landmark (``level``, ``name``) or a tool point
    (``tool_id``, ``index``)."""

    level: str | None = None
    name: str | None = None
    tool_id: int | None = None
    index: int | None = None

    @property
    def is_landmark(self) -> bool:
        return self.level is not None


def format_length(value: float, calibration: Calibration) -> str:
    """A length with its unit tag (clinical-reference §1): ``"34.2 mm at detector"``."""
    return f"{value:.1f} {calibration.unit_tag}"


def vertebra_label(
    vertebra: Vertebra, measurements: ImageMeasurements | None, is_index: bool,
    cobb_definition: str = "segmental",
) -> str:
    """The text shown beside a vertebral body: level, heights with unit tag, Genant grade
    and type, and for an index level the kyphosis with its endplates (§3, §4)."""
    title = vertebra.level + ("  (index)" if is_index else "")
    if not vertebra.is_complete:
        return f"{title}  {len(vertebra.points)}/6"
    m = measurements.vertebrae.get(vertebra.level) if measurements else None
    if m is None:
        return title
    unit = measurements.calibration.unit_tag
    genant = f"Genant {m.genant.grade}"
    if m.genant.grade:
        genant += f" {m.genant.type}"
    lines = [
        f"{title}  ·  {genant}",
        f"Ha {m.anterior_height_mm:.1f}  Hm {m.middle_height_mm:.1f}  "
        f"Hp {m.posterior_height_mm:.1f} {unit}",
    ]
    index = measurements.index_levels.get(vertebra.level) if is_index else None
    if index is not None:
        if index.segmental_kyphosis_deg is not None:
            lines.append(
                f"Kyphosis {index.segmental_kyphosis_deg:+.1f}° "
                f"({index.upper_level} sup.–{index.lower_level} inf.)"
            )
        else:
            lines.append("Kyphosis: place the levels above and below")
        lines.append(f"Wedge angle {m.wedge_angle_deg:+.1f}°")
    return "\n".join(lines)


def tool_label(tool: Tool, calibration: Calibration) -> str:
    """The value a measuring tool shows: length with unit tag, or an angle (``—`` while
    two points of a line coincide)."""
    try:
        return _tool_value(tool, calibration)
    except ValueError:
        return f"{tool.kind}: —"


def _tool_value(tool: Tool, calibration: Calibration) -> str:
    p = tool.points
    if tool.kind == "ruler":
        return format_length(calibration.distance(p[0], p[1]), calibration)
    if tool.kind == "angle":
        return f"{angle_at_vertex_deg(p[0], p[1], p[2], calibration):.1f}°"
    if tool.kind == "cobb":
        return f"Cobb {line_angle_deg(p[0], p[1], p[2], p[3], calibration):.1f}°"
    if tool.true_length_mm is not None:
        return f"Calibration {tool.true_length_mm:g} mm (manual)"
    return "Calibration " + format_length(calibration.distance(p[0], p[1]), calibration)


class _Root(QGraphicsItem):
    """Invisible parent of every annotation item (hide/show all at once)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        return


class HandleItem(QGraphicsItem):
    """A draggable point with a constant on-screen size."""

    def __init__(self, key: HandleKey, layer: AnnotationLayer, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.key = key
        self._layer = layer
        self._dragging = False
        self._press_scene = QPointF()
        self._origin = QPointF()
        self._moved = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsFocusable, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(20.0)

    @property
    def is_dragging(self) -> bool:
        return self._dragging

    def colour(self) -> QColor:
        if self._layer.selected == self.key:
            return SELECTED_COLOUR
        if not self.key.is_landmark:
            return TOOL_COLOUR
        return SUPERIOR_COLOUR if self.key.name in ("sa", "sm", "sp") else INFERIOR_COLOUR

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        r = GRAB_RADIUS_PX + 1.0
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0.0, 0.0), GRAB_RADIUS_PX, GRAB_RADIUS_PX)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = HANDLE_RADIUS_PX
        painter.setPen(QPen(QColor(0, 0, 0, 200), 3.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(0.0, 0.0), r, r)
        painter.setPen(QPen(self.colour(), 1.5))
        painter.drawEllipse(QPointF(0.0, 0.0), r, r)
        # A one-pixel centre mark: the exact position, visible at any zoom.
        painter.drawLine(QPointF(-1.5, 0.0), QPointF(1.5, 0.0))
        painter.drawLine(QPointF(0.0, -1.5), QPointF(0.0, 1.5))

    # -- drag ------------------------------------------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.RightButton:
            if self._dragging:
                self.cancel_drag()
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._dragging = True
        self._moved = False
        self._press_scene = event.scenePos()
        self._origin = self.pos()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self._layer.handle_pressed(self.key)
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if not self._dragging:
            return
        target = self._origin + (event.scenePos() - self._press_scene)
        if target == self.pos() and not self._moved:
            return
        self._moved = True
        self._layer.handle_moving(self.key, (target.x(), target.y()))

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or not self._dragging:
            event.accept()
            return
        self._dragging = False
        target = self._origin + (event.scenePos() - self._press_scene)
        if self._moved and target != self._origin:
            self._layer.handle_finished(self.key, (target.x(), target.y()))
        else:
            self._layer.handle_cancelled(self.key)  # a click or a drag back: no edit
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self._dragging:
            self.cancel_drag()
            event.accept()
            return
        event.ignore()

    def cancel_drag(self) -> None:
        """Put the point back where the drag started (Esc, right click)."""
        if not self._dragging:
            return
        self._dragging = False
        self._moved = False
        if self.scene() is not None and self.scene().mouseGrabberItem() is self:
            self.ungrabMouse()
        self._layer.handle_cancelled(self.key)


class LabelItem(QGraphicsItem):
    """Multi-line text on a dark box, constant size on screen, placed beside an anchor
    point in the screen direction ``direction`` (a unit vector in viewport pixels), so it
    never covers the structure it describes whatever the rotation or flip."""

    def __init__(self, parent: QGraphicsItem, colour: QColor = SUPERIOR_COLOUR) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(15.0)
        self._text = ""
        self._colour = colour
        self._direction = (1.0, 0.0)
        self._shift = (0.0, 0.0)
        self._font = QFont()
        self._font.setPointSizeF(10.0)
        self._font.setStyleHint(QFont.StyleHint.SansSerif)
        self._rect = QRectF()

    def text(self) -> str:
        return self._text

    def set_content(self, text: str, colour: QColor) -> None:
        if text == self._text and colour == self._colour:
            return
        self.prepareGeometryChange()
        self._text = text
        self._colour = colour
        self._layout()

    def set_direction(self, dx: float, dy: float) -> None:
        norm = math.hypot(dx, dy)
        direction = (dx / norm, dy / norm) if norm > 0 else (1.0, 0.0)
        if direction != self._direction:
            self.prepareGeometryChange()
            self._direction = direction
            self._layout()

    def box_at_anchor(self) -> QRectF:
        """The text box relative to the anchor (screen pixels), before any shift."""
        return self._rect.translated(-self._shift[0], -self._shift[1])

    def set_shift(self, dx: float, dy: float) -> None:
        """Move the box by ``(dx, dy)`` screen pixels (to keep it inside the viewport)."""
        if (dx, dy) != self._shift:
            self.prepareGeometryChange()
            self._rect = self.box_at_anchor().translated(dx, dy)
            self._shift = (dx, dy)

    def _layout(self) -> None:
        metrics = QFontMetricsF(self._font)
        lines = self._text.split("\n") if self._text else []
        width = max((metrics.horizontalAdvance(line) for line in lines), default=0.0) + 8.0
        height = metrics.lineSpacing() * len(lines) + 6.0
        dx, dy = self._direction
        gap = 10.0
        # Beside the anchor along the dominant screen axis of the direction, centred on the
        # anchor across it: a label stays level with its vertebra even when the spine tilts.
        if abs(dx) >= abs(dy):
            cx, cy = math.copysign(width / 2 + gap, dx), 0.0
        else:
            cx, cy = 0.0, math.copysign(height / 2 + gap, dy)
        self._rect = QRectF(cx - width / 2 + self._shift[0], cy - height / 2 + self._shift[1],
                            width, height)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if not self._text:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(self._colour.red(), self._colour.green(),
                                   self._colour.blue(), 160), 1.0))
        painter.setBrush(QBrush(QColor(0, 0, 0, 185)))
        painter.drawRoundedRect(self._rect, 3.0, 3.0)
        painter.setFont(self._font)
        painter.setPen(QColor(255, 255, 255))
        metrics = QFontMetricsF(self._font)
        y = self._rect.top() + 3.0 + metrics.ascent()
        for i, line in enumerate(self._text.split("\n")):
            painter.setPen(self._colour if i == 0 else QColor(240, 240, 240))
            painter.drawText(QPointF(self._rect.left() + 4.0, y), line)
            y += metrics.lineSpacing()


def _cosmetic_pen(colour: QColor, width: float = 1.5, style: Qt.PenStyle = Qt.PenStyle.SolidLine
                  ) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


def _outline_path(points: dict[str, tuple[float, float]]) -> QPainterPath:
    """The body outline as far as it is placed: superior endplate sa–sm–sp, inferior
    endplate ia–im–ip, anterior wall sa–ia and posterior wall sp–ip once both ends exist."""
    path = QPainterPath()

    def polyline(names: tuple[str, ...]) -> None:
        present = [points[n] for n in names if n in points]
        if len(present) >= 2:
            path.moveTo(QPointF(*present[0]))
            for xy in present[1:]:
                path.lineTo(QPointF(*xy))

    polyline(("sa", "sm", "sp"))
    polyline(("ia", "im", "ip"))
    for a, b in (("sa", "ia"), ("sp", "ip")):
        if a in points and b in points:
            path.moveTo(QPointF(*points[a]))
            path.lineTo(QPointF(*points[b]))
    return path


def _tool_path(tool_points: list[tuple[float, float]], kind: str) -> QPainterPath:
    path = QPainterPath()
    if len(tool_points) < 2:
        return path
    if kind == "cobb":
        for i in range(0, len(tool_points) - 1, 2):
            path.moveTo(QPointF(*tool_points[i]))
            path.lineTo(QPointF(*tool_points[i + 1]))
        return path
    path.moveTo(QPointF(*tool_points[0]))
    for xy in tool_points[1:]:
        path.lineTo(QPointF(*xy))
    return path


class AnnotationLayer(QObject):
    """Mirrors an :class:`ImageAnnotations` as scene items and reports handle gestures.

    The owner (the annotation controller) sets the callbacks ``on_moving``, ``on_finished``,
    ``on_cancelled`` and ``on_pressed`` (bound methods), feeds measurements for the labels
    with :meth:`sync`, and the view's transform with :meth:`set_view_transform` (labels are
    placed beside their structure in screen space).
    """

    selectionChanged = Signal(object)  # HandleKey or None

    def __init__(self, scene: QGraphicsScene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._scene = scene
        self.root = _Root()
        self.root.setZValue(10.0)
        scene.addItem(self.root)
        self.handles: dict[HandleKey, HandleItem] = {}
        self.outlines: dict[str, QGraphicsPathItem] = {}
        self.labels: dict[str, LabelItem] = {}
        self.tool_paths: dict[int, QGraphicsPathItem] = {}
        self.tool_labels: dict[int, LabelItem] = {}
        self.selected: HandleKey | None = None
        self._view_transform = QTransform()
        self._viewport: QRectF | None = None
        self._anchors: dict[str, tuple[tuple[float, float], tuple[float, float],
                                       tuple[float, float] | None]] = {}
        self.draft_path = QGraphicsPathItem(self.root)
        self.draft_path.setPen(_cosmetic_pen(TOOL_COLOUR, 1.5, Qt.PenStyle.DashLine))
        self.draft_path.setZValue(12.0)
        self.draft_label = LabelItem(self.root, TOOL_COLOUR)
        self.on_pressed: Callable[[HandleKey], None] | None = None
        self.on_moving: Callable[[HandleKey, tuple[float, float]], None] | None = None
        self.on_finished: Callable[[HandleKey, tuple[float, float]], None] | None = None
        self.on_cancelled: Callable[[HandleKey], None] | None = None

    # -- visibility and selection ---------------------------------------------------------
    def set_visible(self, visible: bool) -> None:
        self.root.setVisible(visible)

    def is_visible(self) -> bool:
        return self.root.isVisible()

    def select(self, key: HandleKey | None) -> None:
        if key == self.selected:
            return
        previous, self.selected = self.selected, key
        for k in (previous, key):
            if k is not None and k in self.handles:
                self.handles[k].update()
        self.selectionChanged.emit(key)

    def dragging_handle(self) -> HandleItem | None:
        return next((h for h in self.handles.values() if h.is_dragging), None)

    # -- handle callbacks (from HandleItem) -----------------------------------------------
    def handle_pressed(self, key: HandleKey) -> None:
        self.select(key)
        if self.on_pressed is not None:
            self.on_pressed(key)

    def handle_moving(self, key: HandleKey, xy: tuple[float, float]) -> None:
        if self.on_moving is not None:
            self.on_moving(key, xy)

    def handle_finished(self, key: HandleKey, xy: tuple[float, float]) -> None:
        if self.on_finished is not None:
            self.on_finished(key, xy)

    def handle_cancelled(self, key: HandleKey) -> None:
        if self.on_cancelled is not None:
            self.on_cancelled(key)

    # -- mirroring the model --------------------------------------------------------------
    def sync(
        self,
        model: ImageAnnotations | None,
        measurements: ImageMeasurements | None,
        calibration: Calibration,
        cobb_definition: str = "segmental",
    ) -> None:
        """Create, move or remove items so the scene shows ``model``; the dragged handle is
        moved, never recreated (it holds the mouse grab)."""
        wanted: dict[HandleKey, tuple[float, float]] = {}
        vertebrae = model.ordered_vertebrae() if model is not None else []
        for vertebra in vertebrae:
            for name in POINT_NAMES:
                if name in vertebra.points:
                    wanted[HandleKey(level=vertebra.level, name=name)] = vertebra.points[name]
        tools = list(model.tools) if model is not None else []
        for tool in tools:
            for i, xy in enumerate(tool.points):
                wanted[HandleKey(tool_id=tool.tool_id, index=i)] = xy
        for key in list(self.handles):
            if key not in wanted:
                self._remove(self.handles.pop(key))
        for key, xy in wanted.items():
            handle = self.handles.get(key)
            if handle is None:
                handle = self.handles[key] = HandleItem(key, self, self.root)
            if handle.pos() != QPointF(*xy):
                handle.setPos(QPointF(*xy))
        if self.selected is not None and self.selected not in wanted:
            self.select(None)

        levels = {v.level for v in vertebrae}
        index_levels = set(model.index_levels) if model is not None else set()
        for level in list(self.outlines):
            if level not in levels:
                self._remove(self.outlines.pop(level))
                self._remove(self.labels.pop(level))
                self._anchors.pop(level, None)
        for vertebra in vertebrae:
            level = vertebra.level
            outline = self.outlines.get(level)
            if outline is None:
                outline = self.outlines[level] = QGraphicsPathItem(self.root)
                outline.setZValue(11.0)
                self.labels[level] = LabelItem(self.root)
            is_index = level in index_levels
            outline.setPen(_cosmetic_pen(INDEX_COLOUR if is_index else OUTLINE_COLOUR,
                                         2.0 if is_index else 1.2))
            outline.setPath(_outline_path(vertebra.points))
            label = self.labels[level]
            label.set_content(
                vertebra_label(vertebra, measurements, is_index, cobb_definition),
                INDEX_COLOUR if is_index else SUPERIOR_COLOUR,
            )
            self._anchors[level] = _label_anchor(vertebra.points)

        self._place_labels()

        ids = {t.tool_id for t in tools}
        for tool_id in list(self.tool_paths):
            if tool_id not in ids:
                self._remove(self.tool_paths.pop(tool_id))
                self._remove(self.tool_labels.pop(tool_id))
        for tool in tools:
            path = self.tool_paths.get(tool.tool_id)
            if path is None:
                path = self.tool_paths[tool.tool_id] = QGraphicsPathItem(self.root)
                path.setPen(_cosmetic_pen(TOOL_COLOUR))
                path.setZValue(11.0)
                self.tool_labels[tool.tool_id] = LabelItem(self.root, TOOL_COLOUR)
            path.setPath(_tool_path(tool.points, tool.kind))
            label = self.tool_labels[tool.tool_id]
            label.set_content(tool_label(tool, calibration), TOOL_COLOUR)
            label.setPos(QPointF(*_tool_anchor(tool)))
            label.set_direction(0.0, -1.0)

    def show_draft(self, kind: str | None, points: list[tuple[float, float]], text: str = ""
                   ) -> None:
        """The tool being drawn (rubber band) and its live value."""
        self.draft_path.setPath(_tool_path(points, kind) if kind else QPainterPath())
        if kind and points and text:
            self.draft_label.set_content(text, TOOL_COLOUR)
            self.draft_label.setPos(QPointF(*points[-1]))
            self.draft_label.set_direction(1.0, -1.0)
            self.draft_label.setVisible(True)
        else:
            self.draft_label.setVisible(False)

    def set_view_transform(self, transform: QTransform, viewport: QRectF | None = None) -> None:
        """Re-place vertebra labels beside their body for the view's current orientation
        (``transform``: scene → viewport, e.g. ``viewportTransform()``), kept inside
        ``viewport`` when given so a label is never cut off at the edge of the view."""
        self._view_transform = QTransform(transform)
        self._viewport = QRectF(viewport) if viewport is not None else None
        self._place_labels()

    def _place_labels(self) -> None:
        """Put every vertebra label beside its body: all on the anterior side (they cover no
        bone there) when they all fit in the viewport without being pushed over their own
        landmarks, else all beside the posterior wall when those fit, else each where it
        needs the smallest nudge to stay inside the viewport. One side for all keeps the
        column of labels easy to read down the spine."""
        options: dict[str, list[tuple[float, tuple, tuple, tuple]]] = {}
        for level, (anchor, direction, alternative) in self._anchors.items():
            label = self.labels[level]
            sides = [(anchor, direction)]
            if alternative is not None:
                sides.append((alternative, (-direction[0], -direction[1])))
            tried = [self._try_side(label, where, towards) for where, towards in sides]
            if any(on for on, _ in tried):  # a side whose wall is off screen hides the label
                tried = [(on, o if on else (1e6, *o[1:])) for on, o in tried]
            options[level] = [o for _, o in tried]
        for side in (0, 1):
            if all(len(o) > side and o[side][0] <= LABEL_FIT_SLACK_PX for o in options.values()):
                for level, o in options.items():
                    self._apply_side(self.labels[level], o[side])
                return
        for level, o in options.items():
            self._apply_side(self.labels[level], min(o, key=lambda option: option[0]))

    def _try_side(self, label: LabelItem, where: tuple[float, float],
                  towards: tuple[float, float]) -> tuple[bool, tuple[float, tuple, tuple, tuple]]:
        """Whether the side's wall is on screen, and ``(nudge needed, anchor, screen
        direction, shift)`` for it."""
        m = self._view_transform
        dx = m.m11() * towards[0] + m.m21() * towards[1]
        dy = m.m12() * towards[0] + m.m22() * towards[1]
        label.set_direction(dx, dy)
        shift, on_screen = self._shift_into_viewport(label, where)
        return on_screen, (abs(shift[0]) + abs(shift[1]), where, (dx, dy), shift)

    @staticmethod
    def _apply_side(label: LabelItem, option: tuple[float, tuple, tuple, tuple]) -> None:
        _, where, screen_direction, shift = option
        label.setPos(QPointF(*where))
        label.set_direction(*screen_direction)
        label.set_shift(*shift)

    def _shift_into_viewport(self, label: LabelItem, anchor: tuple[float, float]
                             ) -> tuple[tuple[float, float], bool]:
        """The shift that brings the label inside the viewport, and whether its anchor is
        on screen at all (a label whose structure is off screen stays off screen)."""
        viewport = self._viewport
        if viewport is None or viewport.isEmpty():
            return (0.0, 0.0), True
        at = self._view_transform.map(QPointF(*anchor))
        if not viewport.adjusted(4.0, 4.0, -4.0, -4.0).contains(at):
            return (0.0, 0.0), False
        # Keep clear of the corner overlays' few lines of text at the top and bottom.
        inner = viewport.adjusted(4.0, OVERLAY_MARGIN_PX, -4.0, -OVERLAY_MARGIN_PX)
        box = label.box_at_anchor().translated(at)
        shift_x = max(inner.left() - box.left(), 0.0) + min(inner.right() - box.right(), 0.0)
        shift_y = max(inner.top() - box.top(), 0.0) + min(inner.bottom() - box.bottom(), 0.0)
        return (shift_x, shift_y), True

    def _remove(self, item: QGraphicsItem) -> None:
        if item.scene() is not None:
            item.scene().removeItem(item)

    def clear(self) -> None:
        self.sync(None, None, Calibration.none())
        self.show_draft(None, [])


def _label_anchor(points: dict[str, tuple[float, float]]
                  ) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None]:
    """Where a vertebra's label sits (image coordinates), which way it points, and the
    alternative place: beside the anterior wall pointing anteriorly (it covers no bone),
    else beside the posterior wall pointing posteriorly."""
    anterior = [points[n] for n in ("sa", "ia") if n in points]
    posterior = [points[n] for n in ("sp", "ip") if n in points]
    everything = list(points.values())
    cx = sum(p[0] for p in everything) / len(everything)
    cy = sum(p[1] for p in everything) / len(everything)
    if anterior and posterior:
        ax = sum(p[0] for p in anterior) / len(anterior)
        ay = sum(p[1] for p in anterior) / len(anterior)
        px = sum(p[0] for p in posterior) / len(posterior)
        py = sum(p[1] for p in posterior) / len(posterior)
        return (ax, ay), (ax - px, ay - py), (px, py)
    if anterior:
        ax, ay = anterior[0]
        return (ax, ay), (ax - cx, ay - cy) if (ax, ay) != (cx, cy) else (1.0, 0.0), None
    return (cx, cy), (1.0, 0.0), None


def _tool_anchor(tool: Tool) -> tuple[float, float]:
    p = tool.points
    if tool.kind == "angle":
        return p[1]
    if tool.kind == "cobb":
        return (sum(x for x, _ in p) / 4, sum(y for _, y in p) / 4)
    return ((p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2)
