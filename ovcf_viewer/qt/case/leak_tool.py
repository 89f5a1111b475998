"""Drawing cement leaks on a film (docs/clinical-reference.md §5a) and showing the drawn ones.

:class:`LeakDrawTool` is an :class:`~ovcf_viewer.qt.viewer.image_view.InteractionHandler`:
each left click adds a point (image coordinates, :class:`~ovcf_viewer.model.outcomes.
PolygonDraft` keeps them), hovering shows the edge to the cursor, a double click or Enter
closes the region (three points at least), Esc cancels. Closing calls ``on_finished`` with the
:class:`~ovcf_viewer.model.outcomes.LeakRegion`; the case window records it through the case
session (undoable, autosaved). :class:`LeakOverlay` draws the regions recorded on a film.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPolygonItem, QGraphicsScene

from ovcf_viewer.model.outcomes import (
    LEAK_LOCATION_LABELS,
    LeakRegion,
    OutcomeValueError,
    PolygonDraft,
)
from ovcf_viewer.qt.viewer.image_view import ImageView

__all__ = ["LeakDrawTool", "LeakOverlay"]

_LEAK_COLOUR = QColor("#ff7f0e")


def _pen(style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(_LEAK_COLOUR, 2.0, style)
    pen.setCosmetic(True)  # the same width on screen at any zoom
    return pen


class LeakDrawTool(QObject):
    """Click-click drawing of one leak region on ``view`` (see the module docstring).

    ``on_finished(region)`` after a double click or Enter with three points or more;
    ``on_cancelled()`` after Esc; ``on_message(text)`` when the region cannot close yet.
    The tool removes itself from the view when it ends."""

    def __init__(self, view: ImageView, location: str,
                 on_finished: Callable[[LeakRegion], None],
                 on_cancelled: Callable[[], None] | None = None,
                 on_message: Callable[[str], None] | None = None) -> None:
        super().__init__(view)
        self.active = True  # before the event filters: they see events at once
        self.view = view
        self.draft = PolygonDraft(location)
        self.on_finished = on_finished
        self.on_cancelled = on_cancelled
        self.on_message = on_message
        self._cursor: QPointF | None = None
        self.preview = QGraphicsPathItem()
        self.preview.setPen(_pen(Qt.PenStyle.DashLine))
        self.preview.setZValue(50)
        self.preview.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks go to the tool
        view.scene().addItem(self.preview)
        self._previous = view.interaction_handler()
        view.set_interaction_handler(self)
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)
        view.viewport().setCursor(Qt.CursorShape.CrossCursor)
        view.setFocus()

    # -- InteractionHandler ---------------------------------------------------------------
    def press(self, view: ImageView, event: QMouseEvent, image_pos: QPointF) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self.draft.add(image_pos.x(), image_pos.y())
        self._update_preview()
        return True

    def move(self, view: ImageView, event: QMouseEvent, image_pos: QPointF) -> bool:
        self._cursor = QPointF(image_pos)
        self._update_preview()
        return bool(event.buttons() & Qt.MouseButton.LeftButton)

    def release(self, view: ImageView, event: QMouseEvent, image_pos: QPointF) -> bool:
        return event.button() == Qt.MouseButton.LeftButton

    # -- double click, Enter, Esc ---------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if not self.active:
            return False
        if (event.type() == QEvent.Type.MouseButtonDblClick
                and isinstance(event, QMouseEvent)
                and event.button() == Qt.MouseButton.LeftButton):
            p = self.view.view_to_image(event.position())
            self.draft.add(p.x(), p.y())  # the same point as the first click: nothing added
            self.finish()
            return True
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.finish()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.cancel()
                return True
        return False

    def finish(self) -> bool:
        """Close the region and hand it over; False (and a message) below three points."""
        try:
            region = self.draft.close()
        except OutcomeValueError as exc:
            if self.on_message is not None:
                self.on_message(f"Leak region: {exc}; keep clicking, or Esc to cancel")
            return False
        self._end()
        self.on_finished(region)
        return True

    def cancel(self) -> None:
        self._end()
        if self.on_cancelled is not None:
            self.on_cancelled()

    def _end(self) -> None:
        self.active = False
        self.view.viewport().removeEventFilter(self)
        self.view.removeEventFilter(self)
        if self.view.interaction_handler() is self:
            self.view.set_interaction_handler(self._previous)
        self.view.viewport().unsetCursor()
        scene = self.preview.scene()
        if scene is not None:
            scene.removeItem(self.preview)

    def _update_preview(self) -> None:
        path = QPainterPath()
        points = [QPointF(x, y) for x, y in self.draft.points]
        if points:
            path.moveTo(points[0])
            for p in points[1:]:
                path.lineTo(p)
            if self._cursor is not None:
                path.lineTo(self._cursor)
        self.preview.setPath(path)


class LeakOverlay:
    """The leak regions recorded on the film a view shows, as outlined polygons with their
    location in the tooltip."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.items: list[QGraphicsPolygonItem] = []

    def sync(self, regions: list[tuple[str, LeakRegion]]) -> None:
        """Show ``(level, region)`` pairs, replacing what was shown."""
        for item in self.items:
            if item.scene() is not None:
                self.scene.removeItem(item)
        self.items = []
        for level, region in regions:
            item = QGraphicsPolygonItem(QPolygonF([QPointF(x, y) for x, y in region.points]))
            item.setPen(_pen())
            fill = QColor(_LEAK_COLOUR)
            fill.setAlpha(60)
            item.setBrush(fill)
            item.setZValue(40)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # never steals a click
            item.setToolTip(f"{level}: cement leakage, {LEAK_LOCATION_LABELS[region.location]}")
            self.scene.addItem(item)
            self.items.append(item)
