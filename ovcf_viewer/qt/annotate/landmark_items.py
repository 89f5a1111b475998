"""Scene items for landmarks, vertebral outlines, labels and measuring tools.

Scene coordinates are image coordinates (docs/clinical-reference.md §1, see
:mod:`ovcf_viewer.qt.viewer.image_view`). Handles and labels ignore the view transform
(``ItemIgnoresTransformations``), so they keep a constant size on screen at any zoom, rotation
or flip; lines use cosmetic pens for the same reason.

Vertebra labels are laid out in *screen* space
(:func:`ovcf_viewer.render.label_layout.plan_label_layout`, a plain function over viewport
pixels that needs no Qt): each is anchored at its vertebra's anterior or posterior wall midpoint
mapped through the view's transform, stacked along the screen axis the spine runs along,
kept inside the viewport and off the corner overlays and each other, and joined to its wall
by a leader line when it had to move far. The layer lays them out again whenever the owner
reports a view change (:meth:`AnnotationLayer.set_view_transform`) and on every model sync.

Handles behave like pyqtgraph's ``TargetItem``: a drag reports *moving*
(``preview``, no undo step) and *finished* (one undo step) separately, a drag that ends where
it started changes nothing, and Esc or a right click during a drag cancels it. Items never
touch the model themselves; they call the :class:`AnnotationLayer`'s owner callbacks, and the
layer mirrors the model in :meth:`AnnotationLayer.sync`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from PySide6.QtCore import QObject, QPointF, QRectF, QSizeF, Qt, Signal
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
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ovcf_viewer.measure.endplates import segmental_endplate_lines
from ovcf_viewer.measure.geometry import angle_at_vertex_deg, line_angle_deg
from ovcf_viewer.measure.measurements import ImageMeasurements
from ovcf_viewer.measure.placement import HandleKey
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import POINT_NAMES, ImageAnnotations, Tool, Vertebra
from ovcf_viewer.model.settings import LABEL_MODES
from ovcf_viewer.qt.viewer.loupe import LOUPE_RENDERING
from ovcf_viewer.render import format as fmt
from ovcf_viewer.render.label_layout import (
    HANDLE_RADIUS_PX,
    LABEL_GAP_PX,
    VIEWPORT_MARGIN_PX,
    LabelPlacement,
    LabelRequest,
    ScreenRect,
    _wall_midpoints,
    labels_over_handles,
    plan_label_layout,
)

__all__ = [
    "AnnotationLayer",
    "HandleItem",
    "HandleKey",
    "LabelItem",
    "LabelPlacement",
    "LabelRequest",
    "format_length",
    "plan_label_layout",
    "tool_label",
    "vertebra_label",
]

#: Label text size (points, constant on screen): the corner overlays' size, so a label of
#: seven vertebrae fits beside the spine of a fitted film in a narrow view.
LABEL_FONT_PT = 9.0
#: Compact labels (one line per vertebra) in a smaller size.
COMPACT_LABEL_FONT_PT = 8.0
GRAB_RADIUS_PX = 8.0

SUPERIOR_COLOUR = QColor(0, 220, 255)
INFERIOR_COLOUR = QColor(255, 170, 0)
SELECTED_COLOUR = QColor(255, 255, 0)
TOOL_COLOUR = QColor(120, 255, 120)
INDEX_COLOUR = QColor(255, 90, 90)
OUTLINE_COLOUR = QColor(0, 220, 255, 200)
#: Proposals (carried forward or completed from two clicks) are drawn hollow and dashed;
#: a proposal the program asks the reader to check is drawn in this colour.
PROPOSAL_COLOUR = QColor(200, 200, 255)
CHECK_COLOUR = QColor(255, 60, 220)
#: The segmental-kyphosis endplate lines, the colour the PDF figure draws them in.
ENDPLATE_COLOUR = QColor(255, 235, 77)


def format_length(value: float, calibration: Calibration) -> str:
    """A length with its unit tag (docs/clinical-reference.md §1): ``"34.2 mm at detector"``."""
    return fmt.length(value, calibration.unit_tag)


def vertebra_label(
    vertebra: Vertebra, measurements: ImageMeasurements | None, is_index: bool,
    cobb_definition: str = "segmental", compact: bool = False,
) -> str:
    """The text shown beside a vertebral body: level, heights with unit tag, Genant grade
    and type, and for an index level the kyphosis with its endplates (§3, §4). ``compact``:
    the level and Genant grade on one line (and an index level's kyphosis), warnings kept."""
    if vertebra.has_proposal:
        lines = [f"{vertebra.level}  ·  proposed: Enter accepts"]
        if vertebra.check_reason:
            lines += ["CHECK: " + reason for reason in vertebra.check_reason.split("; ")]
        return "\n".join(lines)
    if not vertebra.is_complete:
        needed = len(vertebra.required_points)
        return (vertebra.level + ("  (index)" if is_index else "")
                + f"  {len(vertebra.points)}/{needed}")
    m = measurements.vertebrae.get(vertebra.level) if measurements else None
    if measurements is None or m is None:
        return vertebra.level + ("  (index)" if is_index else "")
    unit = measurements.calibration.unit_tag
    if m.treated:  # cemented: a Genant grade would read as "no fracture" or a new one (§5)
        genant = "treated"
    else:
        genant = f"Genant {m.genant.grade}"
        if m.genant.grade:
            genant += f" {m.genant.type}"
    index = measurements.index_levels.get(vertebra.level) if is_index else None
    if compact:
        line = f"{vertebra.level} · {genant}"
        if index is not None and index.segmental_kyphosis_deg is not None:
            line += f" · kyph. {fmt.signed_angle(index.segmental_kyphosis_deg)}"
        return "\n".join([line, *(f"⚠ {w.short}" for w in
                                   measurements.warnings_for(vertebra.level))])
    # Short lines (the widest is about 165 screen pixels at 9 pt): the label has to fit
    # beside the spine in a narrow, fitted view without covering the handles.
    lines = [
        f"{vertebra.level}  ·  {genant}",
        f"Ha {fmt.length(m.anterior_height_mm)}  "
        + (f"Hm {fmt.length(m.middle_height_mm)}  " if m.middle_height_mm is not None
           else "4-corner  ")
        + f"Hp {fmt.length(m.posterior_height_mm)}",
        unit,
    ]
    if is_index:
        if index is not None and index.segmental_kyphosis_deg is not None:
            lines.append(f"Index: kyphosis {fmt.signed_angle(index.segmental_kyphosis_deg)}")
            lines.append(f"({index.upper_level} sup.–{index.lower_level} inf.)")
        else:
            lines.append("Index: kyphosis needs")
            lines.append("the levels above and below")
        lines.append(f"Wedge angle {fmt.signed_angle(m.wedge_angle_deg)}")
    # Plausibility warnings on the film, beside the numbers they put in doubt (§6a).
    lines += [f"⚠ {w.short}" for w in measurements.warnings_for(vertebra.level)]
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
        return fmt.angle(angle_at_vertex_deg(p[0], p[1], p[2], calibration))
    if tool.kind == "cobb":
        return f"Cobb {fmt.angle(line_angle_deg(p[0], p[1], p[2], p[3], calibration))}"
    if tool.true_length_mm is not None:
        return f"Calibration {tool.true_length_mm:g} mm (manual)"
    return "Calibration " + format_length(calibration.distance(p[0], p[1]), calibration)


def _in_loupe(item: QGraphicsItem) -> bool:
    """Whether the scene is being drawn into the loupe (text there is cut and magnified into
    fragments; the loupe shows the film, the handles and the lines)."""
    scene = item.scene()
    return scene is not None and bool(scene.property(LOUPE_RENDERING))


class _LeaderItem(QGraphicsLineItem):
    """A label's leader line (not drawn in the loupe, like the label)."""

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if not _in_loupe(self):
            super().paint(painter, option, widget)


_ItemT = TypeVar("_ItemT", bound=QGraphicsItem)

def _passive(item: _ItemT) -> _ItemT:
    """A drawn line that takes no mouse button: a click on an outline, a tool's line or the
    rubber band under the cursor goes on to the tool or the view instead of being swallowed
    by the scene (only handles take clicks)."""
    item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
    return item


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
        #: "" for a placed point, "proposed" or "check" (a proposal to check) otherwise.
        self.proposal = ""
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
        if self.proposal:
            return CHECK_COLOUR if self.proposal == "check" else PROPOSAL_COLOUR
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
        if self.proposal:
            # Hollow and dashed: a proposal, not a point the reader placed.
            painter.setPen(QPen(self.colour(), 1.5, Qt.PenStyle.DashLine))
            painter.drawEllipse(QPointF(0.0, 0.0), r + 1.0, r + 1.0)
            painter.setPen(QPen(self.colour(), 1.0))
        else:
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
    """Multi-line text on a dark box, constant size on screen.

    The item sits at its anchor (scene = image coordinates) and ignores the view transform,
    so its local coordinates are screen pixels measured from the anchor. The box is either
    placed beside the anchor in the screen direction ``direction`` (:meth:`set_direction`,
    used for the measuring tools) or put exactly where the layer's screen-space layout wants
    it (:meth:`set_box`); a box far from its anchor gets a leader line to it."""

    def __init__(self, parent: QGraphicsItem, colour: QColor = SUPERIOR_COLOUR) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(15.0)
        self._text = ""
        self._colour = colour
        self._direction = (1.0, 0.0)
        self._font = QFont()
        self._font.setPointSizeF(LABEL_FONT_PT)
        self._font.setStyleHint(QFont.StyleHint.SansSerif)
        self._rect = QRectF()
        self._placed: QRectF | None = None
        # The leader is a child drawn behind the box, in the same screen-pixel coordinates.
        self.leader = _passive(_LeaderItem(self))
        self.leader.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)
        self.leader.setPen(_cosmetic_pen(colour, 1.2))
        self.leader.setVisible(False)

    def text(self) -> str:
        return self._text

    def set_point_size(self, points: float) -> None:
        if self._font.pointSizeF() != points:
            self.prepareGeometryChange()
            self._font.setPointSizeF(points)
            self._layout()

    def set_content(self, text: str, colour: QColor) -> None:
        if text == self._text and colour == self._colour:
            return
        self.prepareGeometryChange()
        self._text = text
        self._colour = colour
        self.leader.setPen(_cosmetic_pen(colour, 1.2))
        self._layout()

    def box_size(self, text: str | None = None, points: float | None = None
                 ) -> tuple[float, float]:
        """Width and height of the text box in screen pixels: of its own text, or of
        ``text`` at ``points`` (to lay a label out before choosing what it shows)."""
        font = self._font
        if points is not None and points != font.pointSizeF():
            font = QFont(font)
            font.setPointSizeF(points)
        text = self._text if text is None else text
        metrics = QFontMetricsF(font)
        lines = text.split("\n") if text else []
        width = max((metrics.horizontalAdvance(line) for line in lines), default=0.0) + 8.0
        height = metrics.lineSpacing() * len(lines) + 6.0
        return math.ceil(width), math.ceil(height)

    def set_direction(self, dx: float, dy: float) -> None:
        norm = math.hypot(dx, dy)
        direction = (dx / norm, dy / norm) if norm > 0 else (1.0, 0.0)
        if direction != self._direction or self._placed is not None:
            self.prepareGeometryChange()
            self._direction = direction
            self._placed = None
            self.leader.setVisible(False)
            self._layout()

    def set_box(self, box: QRectF, leader: bool) -> None:
        """Put the text box at ``box`` (screen pixels relative to the anchor, from the
        layer's layout) and draw a leader line from the anchor to the box's nearest point
        when ``leader``."""
        if self._placed is None or box != self._placed:
            self.prepareGeometryChange()
            self._placed = QRectF(box)
            self._rect = QRectF(box)
        if leader:
            end = QPointF(min(max(0.0, box.left()), box.right()),
                          min(max(0.0, box.top()), box.bottom()))
            self.leader.setLine(0.0, 0.0, end.x(), end.y())
        self.leader.setVisible(leader)

    def has_leader(self) -> bool:
        return self.leader.isVisible()

    def _layout(self) -> None:
        width, height = self.box_size()
        if self._placed is not None:  # new text, same layout slot: keep the top-left corner
            self._placed = QRectF(self._placed.topLeft(), QSizeF(width, height))
            self._rect = QRectF(self._placed)
            return
        dx, dy = self._direction
        gap = LABEL_GAP_PX
        # Beside the anchor along the dominant screen axis of the direction, centred on the
        # anchor across it.
        if abs(dx) >= abs(dy):
            cx, cy = math.copysign(width / 2 + gap, dx), 0.0
        else:
            cx, cy = 0.0, math.copysign(height / 2 + gap, dy)
        self._rect = QRectF(cx - width / 2, cy - height / 2, width, height)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if not self._text or _in_loupe(self):
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(self._colour.red(), self._colour.green(),
                                   self._colour.blue(), 200), 1.0))
        # Nearly opaque: the text must read the same on white bone and black background.
        painter.setBrush(QBrush(QColor(0, 0, 0, 215)))
        painter.drawRoundedRect(self._rect, 3.0, 3.0)
        painter.setFont(self._font)
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
        self._points: dict[str, dict[str, tuple[float, float]]] = {}
        self.draft_path = _passive(QGraphicsPathItem(self.root))
        self.draft_path.setPen(_cosmetic_pen(TOOL_COLOUR, 1.5, Qt.PenStyle.DashLine))
        self.draft_path.setZValue(12.0)
        self.draft_label = LabelItem(self.root, TOOL_COLOUR)
        #: The segmental-kyphosis endplate lines of the index levels (shown with the labels).
        self.endplate_lines: list[QGraphicsLineItem] = []
        #: The selected handle's name ("L1 sa") in a small tag beside it.
        self.selection_tag = LabelItem(self.root, SELECTED_COLOUR)
        self.selection_tag.setZValue(25.0)
        self.selection_tag.set_point_size(COMPACT_LABEL_FONT_PT)
        self.selection_tag.setVisible(False)
        self.label_mode = "all"
        self.compact_labels = False
        #: Whether the labels were shortened to one line because at full size they would
        #: cover landmark handles (a narrow pane, a small zoom); see _place_labels.
        self.auto_compact = False
        #: level → (label text at the chosen size, its one-line form, colour)
        self._label_texts: dict[str, tuple[str, str, QColor]] = {}
        self._index_levels: set[str] = set()
        self._last_sync: tuple | None = None
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
        self._place_selection_tag()
        self.selectionChanged.emit(key)

    def _place_selection_tag(self) -> None:
        """The tag beside the selected handle: ``"L1 sa"``, or the tool point's number."""
        key = self.selected
        handle = self.handles.get(key) if key is not None else None
        if key is None or handle is None:
            self.selection_tag.setVisible(False)
            return
        landmark, tool_point = key.landmark(), key.tool_point()
        if landmark is not None:
            text = f"{landmark[0]} {landmark[1]}"
        elif tool_point is not None:
            text = f"point {tool_point[1] + 1}"
        else:
            text = ""
        self.selection_tag.set_content(text, SELECTED_COLOUR)
        self.selection_tag.setPos(handle.pos())
        self.selection_tag.set_direction(1.0, 1.0)  # below-right of the handle on screen
        self.selection_tag.setVisible(True)

    def set_label_options(self, mode: str, compact: bool) -> None:
        """Which vertebra labels show (``all``, ``index`` levels only, ``off``: handles and
        outlines stay) and whether they are compact (one line, smaller type). The
        segmental-kyphosis endplate lines show whenever labels do."""
        if mode not in LABEL_MODES:
            raise ValueError(f"label mode must be one of {LABEL_MODES}, got {mode!r}")
        self.label_mode, self.compact_labels = mode, bool(compact)
        if self._last_sync is not None:
            self.sync(*self._last_sync)

    def shown_labels(self) -> dict[str, LabelItem]:
        """The vertebra labels currently visible, by level."""
        return {level: label for level, label in self.labels.items() if label.isVisible()}

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
        self._last_sync = (model, measurements, calibration, cobb_definition)
        wanted: dict[HandleKey, tuple[float, float]] = {}
        proposals: dict[HandleKey, str] = {}
        vertebrae = model.ordered_vertebrae() if model is not None else []
        for vertebra in vertebrae:
            for name in POINT_NAMES:
                if name in vertebra.points:
                    key = HandleKey(level=vertebra.level, name=name)
                    wanted[key] = vertebra.points[name]
                    if name in vertebra.proposed:
                        proposals[key] = "check" if vertebra.check_reason else "proposed"
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
            proposal = proposals.get(key, "")
            if handle.proposal != proposal:
                handle.proposal = proposal
                handle.update()
        if self.selected is not None and self.selected not in wanted:
            self.select(None)

        levels = {v.level for v in vertebrae}
        index_levels = set(model.index_levels) if model is not None else set()
        for level in list(self.outlines):
            if level not in levels:
                self._remove(self.outlines.pop(level))
                self._remove(self.labels.pop(level))
                self._points.pop(level, None)
                self._label_texts.pop(level, None)
        for vertebra in vertebrae:
            level = vertebra.level
            outline = self.outlines.get(level)
            if outline is None:
                outline = self.outlines[level] = _passive(QGraphicsPathItem(self.root))
                outline.setZValue(11.0)
                self.labels[level] = LabelItem(self.root)
            is_index = level in index_levels
            if vertebra.has_proposal:
                colour = CHECK_COLOUR if vertebra.check_reason else PROPOSAL_COLOUR
                outline.setPen(_cosmetic_pen(colour, 2.0 if vertebra.check_reason else 1.2,
                                             Qt.PenStyle.DashLine))
            else:
                colour = INDEX_COLOUR if is_index else SUPERIOR_COLOUR
                outline.setPen(_cosmetic_pen(INDEX_COLOUR if is_index else OUTLINE_COLOUR,
                                             2.0 if is_index else 1.2))
            outline.setPath(_outline_path(vertebra.points))
            self._label_texts[level] = (
                vertebra_label(vertebra, measurements, is_index, cobb_definition,
                               compact=self.compact_labels),
                vertebra_label(vertebra, measurements, is_index, cobb_definition,
                               compact=True),
                colour)
            self._set_label_size(level, compact=self.compact_labels or self.auto_compact)
            self._points[level] = dict(vertebra.points)
        self._index_levels = index_levels
        self._sync_endplate_lines(model, measurements)
        self._place_selection_tag()


        ids = {t.tool_id for t in tools}
        for tool_id in list(self.tool_paths):
            if tool_id not in ids:
                self._remove(self.tool_paths.pop(tool_id))
                self._remove(self.tool_labels.pop(tool_id))
        for tool in tools:
            path = self.tool_paths.get(tool.tool_id)
            if path is None:
                path = self.tool_paths[tool.tool_id] = _passive(QGraphicsPathItem(self.root))
                path.setPen(_cosmetic_pen(TOOL_COLOUR))
                path.setZValue(11.0)
                self.tool_labels[tool.tool_id] = LabelItem(self.root, TOOL_COLOUR)
            path.setPath(_tool_path(tool.points, tool.kind))
            label = self.tool_labels[tool.tool_id]
            label.set_content(tool_label(tool, calibration), TOOL_COLOUR)
            label.setPos(QPointF(*_tool_anchor(tool)))
            label.set_direction(0.0, -1.0)

        self._place_labels()  # after the tools: vertebra labels keep off the tools' labels

    def _sync_endplate_lines(self, model: ImageAnnotations | None,
                             measurements: ImageMeasurements | None) -> None:
        """The endplates each index level's segmental kyphosis is measured between (the
        superior endplate of the vertebra above, the inferior endplate of the one below,
        docs/clinical-reference.md §3), dashed and extended as in the PDF figure."""
        lines = segmental_endplate_lines(model, measurements) if model is not None else []
        while len(self.endplate_lines) > len(lines):
            self._remove(self.endplate_lines.pop())
        while len(self.endplate_lines) < len(lines):
            item = _passive(QGraphicsLineItem(self.root))
            item.setPen(_cosmetic_pen(ENDPLATE_COLOUR, 1.5, Qt.PenStyle.DashLine))
            item.setZValue(11.5)
            self.endplate_lines.append(item)
        for item, line in zip(self.endplate_lines, lines, strict=True):
            item.setLine(line.start[0], line.start[1], line.end[0], line.end[1])
            item.setData(0, f"{line.level} {line.endplate}")
            item.setVisible(self.label_mode != "off")

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
        """Lay the vertebra labels out again for the view's current zoom, pan, rotation, flip
        and size (call on the view's ``viewChanged`` and ``orientationChanged``).

        When the scene is shown in a view, the layout reads that view's own
        ``viewportTransform()``, viewport rectangle and corner overlays, whatever the caller
        passes (a caller handing over ``transform()`` without the scroll, or no viewport,
        must not push labels off screen). ``transform`` (scene → viewport) and ``viewport``
        are used only for a scene without a view."""
        self._view_transform = QTransform(transform)
        self._viewport = QRectF(viewport) if viewport is not None else None
        self._place_labels()

    def _screen_geometry(self) -> tuple[QTransform, QRectF | None, list[ScreenRect]]:
        """Scene → viewport transform, viewport rectangle and the corner overlays' boxes."""
        for view in self._scene.views():
            viewport = QRectF(view.viewport().rect())
            if viewport.isEmpty():
                continue
            return view.viewportTransform(), viewport, _overlay_boxes(view)
        return self._view_transform, self._viewport, []

    def _place_labels(self) -> None:
        """Lay out every vertebra label in screen space (:func:`plan_label_layout`): beside
        the anterior (else posterior) walls, stacked along the spine as it runs on screen,
        inside the viewport, clear of the corner overlays, the measuring tools' labels and of
        each other. Labels of vertebrae with no point on screen are hidden. Where full labels
        would cover landmark handles (no room off the bone: a narrow pane, a small zoom),
        every label shows on one line (:attr:`auto_compact`) until there is room again."""
        if not self._points:
            return
        transform, viewport, overlays = self._screen_geometry()
        if viewport is None or viewport.isEmpty():
            self._place_labels_without_viewport(transform)
            return

        def screen(xy: tuple[float, float]) -> tuple[float, float]:
            p = transform.map(QPointF(*xy))
            return (p.x(), p.y())

        inside = viewport.adjusted(-2.0, -2.0, 2.0, 2.0)
        keep_out = list(overlays)
        for value_label in self.tool_labels.values():
            box = value_label.deviceTransform(transform).mapRect(value_label.boundingRect())
            keep_out.append((box.left(), box.top(), box.right(), box.bottom()))
        handles = []
        requests = []
        for level, points in self._points.items():
            on_screen = [screen(xy) for xy in points.values()]
            handles.extend(on_screen)
            if not self._label_wanted(level):
                continue
            if not any(inside.contains(QPointF(*xy)) for xy in on_screen):
                continue
            anterior, posterior = _wall_midpoints(points)
            requests.append(LabelRequest(  # sized below, for the text it will show
                level, (0.0, 0.0), screen(anterior),
                screen(posterior) if posterior is not None else None))
        origin, down = transform.map(QPointF(0.0, 0.0)), transform.map(QPointF(0.0, 1.0))
        bounds = (viewport.left() + VIEWPORT_MARGIN_PX, viewport.top() + VIEWPORT_MARGIN_PX,
                  viewport.right() - VIEWPORT_MARGIN_PX, viewport.bottom() - VIEWPORT_MARGIN_PX)
        spine = (down.x() - origin.x(), down.y() - origin.y())

        def sized(compact: bool) -> list[LabelRequest]:
            """The requests with each box as big as its text at that size (the items are
            changed once, to what the layout chose)."""
            points = COMPACT_LABEL_FONT_PT if compact else LABEL_FONT_PT
            out = []
            for r in requests:
                text, one_line, _colour = self._label_texts[r.level]
                size = self.labels[r.level].box_size(one_line if compact else text, points)
                out.append(replace(r, size=size))
            return out

        # Labels at the chosen size first; where full ones have no room off the landmarks
        # (a narrow pane, a small zoom), one-line labels, which usually find it.
        compact = self.compact_labels
        plan = plan_label_layout(sized(compact), bounds, keep_out, handles, spine)
        if not compact and labels_over_handles(plan, handles):
            compact = True
            plan = plan_label_layout(sized(compact), bounds, keep_out, handles, spine)
        self.auto_compact = compact and not self.compact_labels
        self._set_label_sizes(compact=compact)
        inverse, _ = transform.inverted()
        for level, label in self.labels.items():
            placement = plan.get(level)
            if placement is None:
                label.setVisible(False)
                continue
            ax, ay = placement.anchor
            label.setPos(inverse.map(QPointF(ax, ay)))
            left, top, right, bottom = placement.box
            label.set_box(QRectF(left - ax, top - ay, right - left, bottom - top),
                          placement.leader)
            label.setVisible(True)

    def _set_label_size(self, level: str, *, compact: bool) -> None:
        text, one_line, colour = self._label_texts[level]
        label = self.labels[level]
        label.set_point_size(COMPACT_LABEL_FONT_PT if compact else LABEL_FONT_PT)
        label.set_content(one_line if compact else text, colour)

    def _set_label_sizes(self, *, compact: bool) -> None:
        for level in self._label_texts:
            self._set_label_size(level, compact=compact)

    def _place_labels_without_viewport(self, transform: QTransform) -> None:
        """No view to lay out in (a scene rendered on its own): each label beside its
        anterior wall, pointing anteriorly on screen."""
        for level, points in self._points.items():
            if not self._label_wanted(level):
                self.labels[level].setVisible(False)
                continue
            anterior, posterior = _wall_midpoints(points)
            if posterior is None:
                direction = (1.0, 0.0)
            else:
                direction = (anterior[0] - posterior[0], anterior[1] - posterior[1])
            dx = transform.m11() * direction[0] + transform.m21() * direction[1]
            dy = transform.m12() * direction[0] + transform.m22() * direction[1]
            label = self.labels[level]
            label.setPos(QPointF(*anterior))
            label.set_direction(dx, dy)
            label.setVisible(True)

    def _label_wanted(self, level: str) -> bool:
        if self.label_mode == "off":
            return False
        return self.label_mode == "all" or level in self._index_levels

    def _remove(self, item: QGraphicsItem) -> None:
        if item.scene() is not None:
            item.scene().removeItem(item)

    def clear(self) -> None:
        self.sync(None, None, Calibration.none())
        self.show_draft(None, [])


def _overlay_boxes(view: object) -> list[ScreenRect]:
    """The corner overlays' text boxes of an :class:`~ovcf_viewer.qt.viewer.image_view.ImageView`
    in viewport pixels, measured as :func:`~ovcf_viewer.qt.viewer.overlays.paint_overlays` lays
    them out (8 px from the edges, font at least 9 pt), with a few pixels to spare."""
    corners_of = getattr(view, "overlay_corners", None)
    if corners_of is None:
        return []
    corners = corners_of()
    viewport = view.viewport()  # type: ignore[attr-defined]
    rect = QRectF(viewport.rect())
    font = QFont(viewport.font())
    if font.pointSizeF() < 9.0:
        font.setPointSizeF(9.0)
    metrics = QFontMetricsF(font)
    margin, spare = 8.0, 4.0
    boxes = []
    for lines, right, bottom in ((corners.top_left, False, False),
                                 (corners.top_right, True, False),
                                 (corners.bottom_left, False, True),
                                 (corners.bottom_right, True, True)):
        if not lines:
            continue
        width = max(metrics.horizontalAdvance(line) for line in lines) + 2.0
        height = metrics.lineSpacing() * len(lines) + 2.0
        left = rect.right() - margin - width if right else rect.left() + margin
        top = rect.bottom() - margin - height if bottom else rect.top() + margin
        boxes.append((left - spare, top - spare, left + width + spare, top + height + spare))
    return boxes

def _tool_anchor(tool: Tool) -> tuple[float, float]:
    p = tool.points
    if tool.kind == "angle":
        return p[1]
    if tool.kind == "cobb":
        return (sum(x for x, _ in p) / 4, sum(y for _, y in p) / 4)
    return ((p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2)
