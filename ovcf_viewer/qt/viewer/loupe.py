"""The loupe: a small magnified window that follows the cursor, for placing points precisely.

It shows the scene around the cursor at :attr:`Loupe.magnification` times the view's zoom, in
the same orientation (rotation and flips) as the view, with everything in the scene (the
image and any landmark items), and a crosshair on the exact cursor position. Magnified pixels
are drawn as crisp squares so the user sees which pixel the crosshair is on. It ignores the
mouse, so clicks go to the view underneath.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QTransform
from PySide6.QtWidgets import QWidget

from ovcf_viewer.qt.viewer.image_view import MAX_ZOOM, ImageView

__all__ = ["LOUPE_RENDERING", "Loupe"]


#: Scene property set while the loupe draws the scene: text items leave themselves out.
LOUPE_RENDERING = "ovcfLoupeRendering"


class Loupe(QWidget):
    """A child of ``view.viewport()`` shown near the cursor while enabled.

    ``magnification`` multiplies the view's zoom (default 4×), capped at 64 screen pixels
    per image pixel. The loupe sits below-right of the cursor and flips to the other side
    near the viewport edges so it never covers the point being placed.
    """

    OFFSET = 24

    def __init__(self, view: ImageView, size: int = 180, magnification: float = 4.0) -> None:
        super().__init__(view.viewport())
        self._view = view
        self.magnification = magnification
        self._image_pos: QPointF | None = None
        self._enabled = False
        self.setFixedSize(size, size)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.hide()
        view.cursorMoved.connect(self._on_cursor_moved)
        view.cursorLeft.connect(self.hide)
        view.windowChanged.connect(self._on_display_changed)
        view.invertChanged.connect(self._on_display_changed)
        view.imageChanged.connect(self._on_image_changed)
        view.viewChanged.connect(self._on_view_changed)
        view.orientationChanged.connect(self._on_view_changed)

    def is_enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        if not enabled:
            self.hide()
        elif self._image_pos is not None:
            self._place()

    def image_position(self) -> QPointF | None:
        """The image point at the loupe's crosshair (image coordinates)."""
        return QPointF(self._image_pos) if self._image_pos is not None else None

    def loupe_zoom(self) -> float:
        """Screen pixels per image pixel inside the loupe."""
        return min(self._view.zoom() * self.magnification, MAX_ZOOM)

    def _on_cursor_moved(self, x: float, y: float) -> None:
        self._image_pos = QPointF(x, y)
        if self._enabled and self._view.image() is not None:
            self._place()

    def _on_display_changed(self, *_args: object) -> None:
        if self.isVisible():
            self.update()

    def _on_view_changed(self) -> None:
        """Zoom, pan or rotation: the cursor's image point moved on screen; follow it."""
        if self.isVisible() and self._image_pos is not None:
            self._place()

    def _on_image_changed(self, _image: object) -> None:
        self.hide()

    def _place(self) -> None:
        assert self._image_pos is not None
        cursor = self._view.image_to_view(self._image_pos.x(), self._image_pos.y())
        viewport = self._view.viewport().rect()
        x = cursor.x() + self.OFFSET
        y = cursor.y() + self.OFFSET
        if x + self.width() > viewport.width():
            x = cursor.x() - self.OFFSET - self.width()
        if y + self.height() > viewport.height():
            y = cursor.y() - self.OFFSET - self.height()
        self.move(int(max(0, x)), int(max(0, y)))
        self.show()
        self.raise_()
        self.update()

    def scene_to_loupe(self) -> QTransform:
        """Image (scene) coordinates → loupe widget coordinates: the cursor point at the
        centre, the view's pixel aspect and orientation, :meth:`loupe_zoom` screen pixels
        per image column."""
        centre = self._image_pos or QPointF()
        zoom = self.loupe_zoom()
        return (
            QTransform.fromTranslate(-centre.x(), -centre.y())
            * self._view.display_transform()
            * QTransform.fromScale(zoom, zoom)
            * QTransform.fromTranslate(self.width() / 2.0, self.height() / 2.0)
        )

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self._image_pos is not None and self._view.image() is not None:
            transform = self.scene_to_loupe()
            inverse, _ = transform.inverted()
            source = inverse.mapRect(QRectF(self.rect()))
            painter.setTransform(transform)
            # Target equals source: the scene's own mapping is the identity and ours applies.
            # Labels skip painting while LOUPE_RENDERING is set (no magnified text fragments).
            scene = self._view.scene()
            scene.setProperty(LOUPE_RENDERING, True)
            try:
                scene.render(painter, source, source)
            finally:
                scene.setProperty(LOUPE_RENDERING, False)
            painter.resetTransform()
        centre = QPointF(self.width() / 2.0, self.height() / 2.0)
        gap, arm = 4.0, 14.0
        for colour, width in ((QColor(0, 0, 0, 200), 3.0), (QColor(255, 210, 0), 1.0)):
            painter.setPen(QPen(colour, width))
            painter.drawLine(QPointF(centre.x() - arm, centre.y()),
                             QPointF(centre.x() - gap, centre.y()))
            painter.drawLine(QPointF(centre.x() + gap, centre.y()),
                             QPointF(centre.x() + arm, centre.y()))
            painter.drawLine(QPointF(centre.x(), centre.y() - arm),
                             QPointF(centre.x(), centre.y() - gap))
            painter.drawLine(QPointF(centre.x(), centre.y() + gap),
                             QPointF(centre.x(), centre.y() + arm))
        painter.setPen(QPen(QColor(255, 210, 0), 1.0))
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()
