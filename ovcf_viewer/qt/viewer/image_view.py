"""The image view: one radiograph in a :class:`QGraphicsScene`, navigated like a workstation.

Coordinates (docs/clinical-reference.md §1)
    Scene coordinates *are* image coordinates: ``(x, y) = (column, row)``, the centre of pixel
    ``(0, 0)`` at scene ``(0, 0)``; the image covers ``[-0.5, columns - 0.5] × [-0.5, rows -
    0.5]``. Items placed in :meth:`ImageView.scene` at image coordinates therefore sit on the
    pixels they mean, whatever the zoom, rotation or flip. Rotation and flips are part of the
    *view* transform, never applied to pixel data, so landmarks never move relative to the
    anatomy. Use :meth:`ImageView.image_to_view` and :meth:`ImageView.view_to_image` to
    convert between image and viewport coordinates.

    The view transform (Qt row vectors, applied left to right) is
    ``aspect × orientation × zoom``: first each row is stretched to ``pixel_aspect =
    row_mm / col_mm`` column widths (:func:`ovcf_viewer.render.display.pixel_aspect`), so the
    film is shown in its *physical* proportions as on a workstation (a 10 × 10 mm square is
    square on screen); then the rotation/flip, in screen space, so a rotated non-square film
    still looks right; then ``zoom`` = screen pixels per image *column* (1:1 shows one
    column per screen pixel). Scene coordinates stay image coordinates throughout.

Mouse and keys
    * wheel: zoom about the cursor (the image point under the cursor stays under it);
    * right-drag: window/level — horizontal changes the width, vertical the centre (down =
      higher centre = darker), scaled to the image's modality value range;
    * middle-drag, or Space + left-drag: pan;
    * left button, in this order:
        1. a scene item other than the image under the cursor that accepts the button (a
           landmark handle, say) gets the event through normal ``QGraphicsScene`` dispatch;
        2. otherwise the *interaction handler* set with :meth:`ImageView.set_interaction_handler`
           gets ``press``/``move``/``release`` with the image position; returning ``True``
           consumes the event (a landmark-placement tool returns ``True``);
        3. otherwise left-drag pans.
      While a scene item grabs the mouse (a drag in progress) every event goes to the scene,
      so items can cancel their drag on a right click or Esc themselves.
    * hover moves go to the handler's ``move`` too (button ``NoButton``), and always emit
      :attr:`ImageView.cursorMoved` with the image position.

Rendering
    :class:`RadiographItem` never builds a full-resolution picture. Each ``paint`` maps only
    the visible part of the image, subsampled with an integer step chosen from the on-screen
    scale, through the display pipeline's lookup table
    (:func:`ovcf_viewer.render.display.display_lut`), and draws that screen-sized picture. A
    window/level change only rebuilds the 65 536-entry table and re-maps the on-screen
    samples. A film opened progressively (:mod:`ovcf_viewer.io.progressive`) is painted from
    its reduced-resolution preview, scaled to image coordinates, until full resolution
    arrives; nothing else changes, so whatever was placed on it stays where it was.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.image import RadiographImage, VoiLutTable, VoiWindow
from ovcf_viewer.qt.viewer.overlays import OverlayCorners, overlay_corners, paint_overlays
from ovcf_viewer.render import display
from ovcf_viewer.render.display import DisplayVoi

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from ovcf_viewer.io.progressive import Preview

__all__ = ["ImageView", "InteractionHandler", "RadiographItem", "ReducedImageBuilder",
           "box_reduce"]

log = logging.getLogger(__name__)

ZOOM_STEP = 1.25
MIN_ZOOM = 1.0 / 64.0
MAX_ZOOM = 64.0

# Orientation changes applied in *screen* space (Qt row-vector convention: p' = p · T).
_ROTATE_RIGHT = QTransform(0.0, 1.0, -1.0, 0.0, 0.0, 0.0)  # clockwise on screen
_ROTATE_LEFT = QTransform(0.0, -1.0, 1.0, 0.0, 0.0, 0.0)
_FLIP_HORIZONTAL = QTransform(-1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_FLIP_VERTICAL = QTransform(1.0, 0.0, 0.0, -1.0, 0.0, 0.0)


class InteractionHandler(Protocol):
    """What a tool (landmark placement, calibration line…) implements to receive left-button
    and hover events the view does not use itself. ``image_pos`` is in image coordinates.
    Return ``True`` to consume the event."""

    def press(self, view: ImageView, event: QMouseEvent, image_pos: QPointF) -> bool: ...

    def move(self, view: ImageView, event: QMouseEvent, image_pos: QPointF) -> bool: ...

    def release(self, view: ImageView, event: QMouseEvent, image_pos: QPointF) -> bool: ...

    # Optional: ``takes_press_over_items() -> bool``, the handler gets left presses even on
    # scene items (a measuring tool drawn from a landmark handle). A right press is offered
    # to ``press`` first (a tool cancels a half-drawn line); ``False`` leaves window/level.


def box_reduce(stored: np.ndarray, factor: int | tuple[int, int]) -> np.ndarray:
    """Stored values reduced by integer factors ``(row_factor, col_factor)`` (one ``int`` =
    both): element ``(i, j)`` is the rounded mean of rows ``i*row_factor ..
    i*row_factor+row_factor-1`` × columns ``j*col_factor ..`` (the same dtype). The partial
    blocks at the bottom and right edges take their first pixel. Shape
    ``ceil(rows / row_factor) × ceil(columns / col_factor)``. For display only:
    measurements always use the full-resolution image."""
    fy, fx = (factor, factor) if isinstance(factor, int) else factor
    fy, fx = max(1, int(fy)), max(1, int(fx))
    if fy == 1 and fx == 1:
        return stored
    rows, cols = stored.shape
    full_rows, full_cols = rows // fy, cols // fx
    height, width = full_rows * fy, full_cols * fx
    accumulator: type[np.integer]
    if stored.dtype.itemsize <= 2:
        accumulator = np.int32 if stored.dtype.kind == "i" else np.uint32
    else:
        accumulator = np.int64 if stored.dtype.kind == "i" else np.uint32
    area = fy * fx
    out = np.empty((-(-rows // fy), -(-cols // fx)), stored.dtype)
    # A band of output rows at a time: the 32-bit sums of a whole film would be a transient
    # copy twice its size (and a worker thread's allocator keeps such memory).
    band = max(1, (1 << 16) // max(1, width))
    for first in range(0, full_rows, band):
        last = min(full_rows, first + band)
        row_sums = np.zeros((last - first, width), accumulator)
        for offset in range(fy):
            row_sums += stored[first * fy + offset:last * fy:fy, :width]
        block_sums = np.zeros((last - first, full_cols), accumulator)
        for offset in range(fx):
            block_sums += row_sums[:, offset::fx]
        block_sums += area // 2
        block_sums //= area
        out[first:last, :full_cols] = block_sums
    if out.shape[0] > full_rows:
        out[full_rows, :] = stored[height, ::fx]
    if out.shape[1] > full_cols:
        out[:, full_cols] = stored[::fy, width]
    return out


class ReducedImageBuilder(QObject):
    """Builds :func:`box_reduce` copies in a worker thread, one per ``(image, factors)``
    (``factors`` = ``(row_factor, col_factor)``); ``built(image, factors, array)`` arrives in
    the GUI thread.

    A request made while painting starts only when the event loop is next idle, so the
    worker never competes with the paint that asked for it.
    """

    built = Signal(object, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: set[tuple[int, tuple[int, int]]] = set()
        self._queued: list[tuple[RadiographImage, tuple[int, int]]] = []
        self._lock = threading.Lock()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._start_queued)

    def pending(self) -> bool:
        """Whether a copy is queued or being built."""
        with self._lock:
            return bool(self._pending)

    def request(self, image: RadiographImage, factor: tuple[int, int]) -> None:
        key = (id(image), factor)
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
        self._queued.append((image, factor))
        self._timer.start()

    def _start_queued(self) -> None:
        queued, self._queued = self._queued, []
        for image, factor in queued:
            worker = threading.Thread(
                target=self._build, args=(image, factor, (id(image), factor)),
                name="ovcf-box-reduce", daemon=True,
            )
            worker.start()

    def _build(self, image: RadiographImage, factor: tuple[int, int],
               key: tuple[int, tuple[int, int]]) -> None:
        try:
            reduced: np.ndarray | None = box_reduce(image.stored, factor)
        except Exception:  # display quality only: keep the sampled picture
            log.exception("box filter of the displayed image failed")
            reduced = None
        try:
            if reduced is not None:
                with contextlib.suppress(RuntimeError):  # the view was closed meanwhile
                    self.built.emit(image, factor, reduced)
        finally:
            # Only now: while pending() is true the builder must outlive this thread (a test
            # or a window waiting for it before closing relies on that).
            with self._lock:
                self._pending.discard(key)


class RadiographItem(QGraphicsItem):
    """The image as a scene item, in image coordinates (see module docstring).

    ``paint`` renders only the exposed part at roughly device resolution: an integer
    subsampling step per image axis, ``floor(1 / scale)`` with scale = device pixels per
    image column (for the column step) or per image row (for the row step; they differ when
    pixels are not square), the region aligned to multiples of the steps so panning does
    not make the sampling grid shimmer.

    Speed on large films (a 3000 × 3000 16-bit image must window smoothly):

    * each paint is one gather (``np.take``) through the table, straight from a strided
      view of the visible samples: about one screen of pixels is read, never the whole
      image, and nothing is copied first (a window/level change costs the same);
    * when zoomed out by integer factors ``(fy, fx) != (1, 1)`` the first paint samples
      every ``fy``-th row and ``fx``-th column, and a box-filtered copy (the mean of each
      ``fy × fx`` block, as stored values) is built once in a worker thread, after the
      paint, and used from then on, so the reduced film shows its noise averaged rather than
      aliased (:func:`box_reduce`);
    * the grey-scale pipeline is :func:`ovcf_viewer.render.display.display_lut`'s table (one
      entry per stored value), widened once per window to opaque 32-bit RGB so Qt blits the
      result without a format conversion. Colour images go through
      :func:`ovcf_viewer.render.display.render`.
    """

    _LUT_CACHE = 2
    _REDUCED_CACHE = 2  # box-filtered copies kept (the fitted factor and one more)

    def __init__(
        self, parent: QGraphicsItem | None = None, builder: ReducedImageBuilder | None = None
    ) -> None:
        super().__init__(parent)
        self._image: RadiographImage | None = None
        self._window: DisplayVoi = None
        self._inverted = False
        self._luts: dict[tuple[object, bool], np.ndarray] = {}
        self._reduced: dict[tuple[int, int], np.ndarray] = {}
        self._builder = builder
        #: ``(pixels, factor)`` of a progressive open's reduced level, painted until the
        #: image's full resolution has arrived (:mod:`ovcf_viewer.io.progressive`).
        self._preview: tuple[np.ndarray, int] | None = None
        #: ``((x0, y0, x1, y1), (row_step, col_step), box_filtered)`` of the last picture
        #: painted.
        self.last_render: tuple[tuple[int, int, int, int], tuple[int, int], bool] | None = None
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(-1000.0)

    # -- state -----------------------------------------------------------------------------
    def image(self) -> RadiographImage | None:
        return self._image

    def set_image(self, image: RadiographImage | None, window: DisplayVoi,
                  preview: tuple[np.ndarray, int] | None = None) -> None:
        """Show ``image``; ``preview`` = ``(pixels, factor)`` is painted, scaled by
        ``factor`` to image coordinates, while ``image`` is still decoding."""
        self.prepareGeometryChange()
        self._image = image
        self._window = window
        self._preview = preview if image is not None else None
        self._luts.clear()
        self._reduced.clear()
        self.update()

    def showing_preview(self) -> bool:
        """Whether the picture comes from the reduced-resolution preview (full resolution
        has not arrived, or its decode failed)."""
        image = self._image
        return (self._preview is not None and image is not None
                and (not image.pixels_ready() or image.pixels_failed()))

    def full_resolution_arrived(self) -> None:
        """Drop the preview once full resolution is in the image (GUI thread)."""
        image = self._image
        if image is not None and image.pixels_ready() and not image.pixels_failed():
            self._preview = None
        self.update()

    def set_display(self, window: DisplayVoi, inverted: bool) -> None:
        self._window = window
        self._inverted = inverted
        self.update()

    def reduced_factors(self) -> list[tuple[int, int]]:
        """``(row_factor, col_factor)`` of the box-filtered copies of the current image that
        are ready."""
        return sorted(self._reduced)

    def add_reduced(self, image: object, factor: tuple[int, int], reduced: object) -> None:
        """Use a finished box-filtered copy (GUI thread; ignored if another film is shown)."""
        if image is not self._image or not isinstance(reduced, np.ndarray):
            return  # a film that is no longer shown
        while len(self._reduced) >= self._REDUCED_CACHE:
            self._reduced.pop(next(iter(self._reduced)))
        self._reduced[(int(factor[0]), int(factor[1]))] = reduced
        self.update()

    # -- rendering helpers -----------------------------------------------------------------
    def _stored_region(self, image: RadiographImage, x0: int, y0: int, x1: int, y1: int,
                       steps: tuple[int, int]) -> tuple[np.ndarray, bool]:
        """Stored values for the region at one sample per ``steps = (row_step, col_step)``
        pixels, as a *view* (never a copy) in the unsigned type of the same width (the
        table's index, see :meth:`_rgb32_table`), and whether they are box-filtered (else
        every step-th pixel of the image). The table lookup reads the view directly: one
        pass over the pixels on screen, none over the rest of the image."""
        sy, sx = steps
        reduced = self._reduced.get(steps) if steps != (1, 1) else None
        if reduced is not None:
            # x0, y0 are multiples of the steps: block (i, j) covers rows i*sy ..
            # i*sy+sy-1 and columns j*sx .. j*sx+sx-1.
            view = reduced[y0 // sy:-(-y1 // sy), x0 // sx:-(-x1 // sx)]
        else:
            view = image.stored[y0:y1:sy, x0:x1:sx]
            if steps != (1, 1) and self._builder is not None:
                # Queued: the worker starts when the event loop is next idle, after this
                # paint, so the box filter never delays the first picture.
                self._builder.request(image, steps)
        unsigned = np.uint16 if view.dtype.itemsize == 2 else np.uint8
        return view.view(unsigned), reduced is not None

    def _rgb32_table(self, image: RadiographImage) -> np.ndarray:
        """``display_lut`` for the current window and invert state, re-indexed by the stored
        values' unsigned bit pattern (signed value ``s`` sits at ``s mod 2**n``) and widened
        to opaque grey ``0xFFgggggg``."""
        key = (self._window, self._inverted)
        table = self._luts.pop(key, None)
        if table is None:
            lut, offset = display.display_lut(image, self._window, self._inverted)
            if offset:
                lut = np.roll(lut, offset)
            table = lut.astype(np.uint32) * np.uint32(0x010101) | np.uint32(0xFF000000)
            while len(self._luts) >= self._LUT_CACHE:
                self._luts.pop(next(iter(self._luts)))
        self._luts[key] = table
        return table

    # -- QGraphicsItem ---------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        if self._image is None:
            return QRectF()
        return QRectF(-0.5, -0.5, float(self._image.columns), float(self._image.rows))

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        image = self._image
        if image is None:
            return
        transform = painter.worldTransform()
        inverse, invertible = transform.inverted()
        if not invertible:
            return
        device = painter.device()
        ratio = device.devicePixelRatioF() if device is not None else 1.0
        visible = self.boundingRect()
        if device is not None:
            device_rect = QRectF(0.0, 0.0, device.width() / 1.0, device.height() / 1.0)
            visible &= inverse.mapRect(device_rect)
        if painter.hasClipping():
            visible &= painter.clipBoundingRect()
        visible &= option.exposedRect
        if visible.isEmpty():
            return
        # Device pixels per image column (along image x) and per image row (along image y):
        # they differ when pixels are not square or the view stretches rows.
        scale_x = math.hypot(transform.m11(), transform.m12()) * ratio
        scale_y = math.hypot(transform.m21(), transform.m22()) * ratio
        # One sample per device pixel or finer on each axis. (The epsilon keeps an exact
        # 1/3 zoom at step 3 despite rounding.)
        sx = max(1, int(math.floor(1.0 / scale_x + 1e-6))) if scale_x > 0 else 1
        sy = max(1, int(math.floor(1.0 / scale_y + 1e-6))) if scale_y > 0 else 1
        # Pixel index range covering the visible rectangle, aligned to the steps.
        x0 = max(0, int(math.floor(visible.left() + 0.5)))
        y0 = max(0, int(math.floor(visible.top() + 0.5)))
        x1 = min(image.columns, int(math.ceil(visible.right() + 0.5)))
        y1 = min(image.rows, int(math.ceil(visible.bottom() + 0.5)))
        x0 -= x0 % sx
        y0 -= y0 % sy
        if x1 <= x0 or y1 <= y0:
            return
        filtered = False
        if self.showing_preview():
            self._paint_preview(painter, image, (x0, y0, x1, y1), (sy, sx))
            return
        if image.is_color:
            pixels = display.render(image, self._window, self._inverted,
                                    region=(x0, y0, x1, y1), step=(sy, sx))
        else:
            region, filtered = self._stored_region(image, x0, y0, x1, y1, (sy, sx))
            pixels = lookup(self._rgb32_table(image), region)
        self.last_render = ((x0, y0, x1, y1), (sy, sx), filtered)
        qimage = _as_qimage(pixels)  # borrows the buffer: no copy
        height, width = pixels.shape[:2]
        target = QRectF(x0 - 0.5, y0 - 0.5, min(width * sx, image.columns - x0),
                        min(height * sy, image.rows - y0))
        source = QRectF(0.0, 0.0, target.width() / sx, target.height() / sy)
        # Magnified pixels stay crisp (what the user places landmarks on); a reduced
        # picture is smoothed so the subsampling does not alias.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                              scale_x * sx < 0.999 or scale_y * sy < 0.999)
        painter.drawImage(target, qimage, source)
        del pixels  # the QImage borrowed this buffer; it was alive while drawImage ran

    def _paint_preview(self, painter: QPainter, image: RadiographImage,
                       region: tuple[int, int, int, int], steps: tuple[int, int]) -> None:
        """Paint the reduced-resolution preview: sample ``(i, j)`` covers image pixels
        ``i·f .. i·f+f-1`` × ``j·f ..`` (``f`` its factor), as a box-filtered copy does, so
        it lands where full resolution will. Sampled with steps ``max(1, step // f)`` and
        drawn scaled by ``f``."""
        assert self._preview is not None
        pixels_f, f = self._preview
        x0, y0, x1, y1 = region
        ky, kx = max(1, steps[0] // f), max(1, steps[1] // f)
        ey, ex = f * ky, f * kx  # image pixels per painted sample
        x0 -= x0 % ex
        y0 -= y0 % ey
        view = pixels_f[y0 // f:-(-y1 // f):ky, x0 // f:-(-x1 // f):kx]
        if view.size == 0:
            return
        unsigned = np.uint16 if view.dtype.itemsize == 2 else np.uint8
        pixels = lookup(self._rgb32_table(image), view.view(unsigned))
        self.last_render = ((x0, y0, x1, y1), (ey, ex), True)
        qimage = _as_qimage(pixels)
        height, width = pixels.shape[:2]
        target = QRectF(x0 - 0.5, y0 - 0.5, min(width * ex, image.columns - x0),
                        min(height * ey, image.rows - y0))
        source = QRectF(0.0, 0.0, target.width() / ex, target.height() / ey)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, qimage, source)
        del pixels


# A screen-sized gather is memory-bound; two cores halve it. One helper thread, created on
# first use, takes the bottom half while the GUI thread does the top (numpy releases the GIL).
_PARALLEL_MIN_PIXELS = 1 << 18
_gather_pool: ThreadPoolExecutor | None = None


def lookup(table: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``table[indices]`` as a new C-contiguous array, computed as one gather straight from
    ``indices`` (any strides: a subsampled view of the stored image is read in place, never
    copied first). ``np.take`` is about twice as fast as fancy indexing; a large gather is
    split by rows between the GUI thread and one helper thread when the machine has two
    or more cores. Every index must lie inside ``table`` (the display tables have one entry
    per stored bit pattern)."""
    global _gather_pool
    out = np.empty(indices.shape, table.dtype)
    rows = indices.shape[0]
    if indices.size < _PARALLEL_MIN_PIXELS or rows < 2 or (os.cpu_count() or 1) < 2:
        np.take(table, indices, out=out, mode="wrap")
        return out
    if _gather_pool is None:
        from concurrent.futures import ThreadPoolExecutor  # not on the start-up path

        _gather_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ovcf-gather")
    half = rows // 2
    # mode="wrap" lets numpy write into ``out`` directly (no bounds-checked buffer); with
    # in-range indices it changes nothing.
    bottom = _gather_pool.submit(np.take, table, indices[half:], None, out[half:], "wrap")
    np.take(table, indices[:half], out=out[:half], mode="wrap")
    bottom.result()
    return out


def _as_qimage(pixels: np.ndarray) -> QImage:
    """Wrap a C-contiguous array as a QImage that *borrows* its buffer (keep ``pixels``
    alive while the QImage is used): rows × columns ``uint32`` opaque RGB, rows × columns
    ``uint8`` grey, or rows × columns × 3 ``uint8`` RGB."""
    if not pixels.flags.c_contiguous:
        pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    if pixels.dtype == np.uint32:
        fmt = QImage.Format.Format_RGB32
    elif pixels.ndim == 3:
        fmt = QImage.Format.Format_RGB888
    else:
        fmt = QImage.Format.Format_Grayscale8
    return QImage(pixels.data, width, height, int(pixels.strides[0]), fmt)


class _PixelsArrival(QObject):
    """Carries "full resolution arrived" from the decoding thread to the GUI thread."""

    arrived = Signal(object)

    def notify(self, future: object) -> None:
        """``Future.add_done_callback`` target (any thread): queue the signal."""
        with contextlib.suppress(RuntimeError):  # interpreter shutting down
            self.arrived.emit(future)


class ImageView(QGraphicsView):
    """Shows one :class:`RadiographImage`; see the module docstring for coordinates, mouse
    bindings and the interaction-handler hook.

    Signals
        ``cursorMoved(x, y)`` image coordinates of the cursor (also outside the image);
        ``cursorLeft()`` the cursor left the viewport;
        ``windowChanged(voi)`` the new VOI (a :class:`VoiWindow` in modality units, a VOI LUT
        table, or ``None`` = full range); ``invertChanged(bool)``;
        ``zoomChanged(zoom)`` screen pixels per image pixel; ``orientationChanged()`` after a
        rotation, flip or reset; ``imageChanged(image_or_None)``;
        ``viewChanged()`` after anything that moves the image on screen (for overlays such as
        the loupe); ``fullResolutionArrived(image)`` when a film opened progressively has
        its full-resolution pixels (or its decode failed: ``image.pixels_failed()``).
    """

    cursorMoved = Signal(float, float)
    cursorLeft = Signal()
    windowChanged = Signal(object)
    invertChanged = Signal(bool)
    zoomChanged = Signal(float)
    orientationChanged = Signal()
    imageChanged = Signal(object)
    viewChanged = Signal()
    fullResolutionArrived = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        # No parent on purpose: a worker thread still box-filtering when the view is closed
        # holds the builder, so the builder must not be deleted with the view (emitting on a
        # deleted QObject from another thread crashes the process instead of raising).
        self._builder = ReducedImageBuilder()
        # A slot on this QObject: the worker's signal is queued to the GUI thread.
        self._builder.built.connect(self._on_reduced_built)
        # No parent either, for the same reason: a decoding thread's done-callback holds it.
        self._arrival = _PixelsArrival()
        self._arrival.arrived.connect(self._on_pixels_arrived)
        self._item = RadiographItem(builder=self._builder)
        self.scene().addItem(self._item)
        self._laid_out_viewport = self.viewport().size()  # see resizeEvent
        self._image: RadiographImage | None = None
        self._window: DisplayVoi = None
        self._inverted = False
        self._calibration: Calibration | None = None
        self._zoom = 1.0
        self._aspect = 1.0  # row_mm / col_mm: screen height of a row per column width
        self._orientation = QTransform()
        self._fit_mode = True
        self._handler: InteractionHandler | None = None
        self._drag: str | None = None  # "window", "pan" or None
        self._drag_origin = QPointF()
        self._drag_window: VoiWindow | None = None
        self._space_down = False
        self._value_range: float | None = None
        self._preview_window: DisplayVoi = None  # see set_image
        self._overlays_visible = True
        self.setBackgroundBrush(QColor(0, 0, 0))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # Overlays are drawn in viewport coordinates: scrolling must repaint, not blit.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # the main window takes dropped files

    # -- image and display state -----------------------------------------------------------
    def image(self) -> RadiographImage | None:
        return self._image

    def image_item(self) -> RadiographItem:
        return self._item

    def reduced_pending(self) -> bool:
        """Whether a box-filtered copy is still being built (benchmarks wait for it)."""
        return self._builder.pending()

    def _on_reduced_built(self, image: object, factor: object, reduced: object) -> None:
        if isinstance(factor, tuple) and len(factor) == 2:
            self._item.add_reduced(image, (int(factor[0]), int(factor[1])), reduced)
        self.viewport().update()

    def set_image(
        self,
        image: RadiographImage | None,
        window: DisplayVoi = None,
        calibration: Calibration | None = None,
        preview: Preview | None = None,
    ) -> None:
        """Show ``image`` fitted to the viewport with ``window`` (default: the loader's
        :func:`~ovcf_viewer.render.display.default_window`). A new film is shown as stored:
        not inverted (MONOCHROME1 is still displayed the right way round), no rotation or
        flip.

        ``preview`` (from :func:`~ovcf_viewer.io.progressive.open_progressive`) is painted
        while ``image`` is still decoding; scene coordinates are the image's throughout, so
        items placed meanwhile stay where they are when full resolution is swapped in
        (``fullResolutionArrived``). A default window is then taken from the preview; one
        from its histogram (no DICOM window) is redone on full resolution unless the user
        changed it meanwhile."""
        was_inverted = self._inverted
        self._inverted = False
        self._image = image
        self._value_range = None
        # The preview painted while the full resolution decodes (None once it has arrived).
        pending = (preview if image is not None and preview is not None
                   and not image.pixels_ready() else None)
        self._preview_window = None
        if image is not None and window is None:
            if pending is not None:
                from dataclasses import replace

                window = display.default_window(
                    replace(image, stored=pending.pixels, pending=None))
                if not image.windows and not image.voi_luts:
                    self._preview_window = window  # a histogram of the preview: redone
            else:
                window = display.default_window(image)
        self._window = window
        self._calibration = (
            calibration if calibration is not None or image is None else image.calibration()
        )
        self._aspect = (
            display.pixel_aspect(image, self._calibration) if image is not None else 1.0
        )
        self._item.set_image(
            image, window, (pending.pixels, pending.factor) if pending is not None else None)
        self._item.set_display(window, self._inverted)
        self._orientation = QTransform()
        self._fit_mode = True
        self._update_scene_rect()
        self.fit()
        self.imageChanged.emit(image)
        self.windowChanged.emit(window)
        if was_inverted:
            self.invertChanged.emit(False)
        self.orientationChanged.emit()
        if pending is not None and image is not None and image.pending is not None:
            image.pending.add_done_callback(self._arrival.notify)

    def full_resolution_pending(self) -> bool:
        """Whether the shown film still paints its reduced-resolution preview because full
        resolution is being decoded (benchmarks and tests wait for it)."""
        image = self._image
        return image is not None and not image.pixels_ready()

    def showing_preview(self) -> bool:
        """Whether the picture on screen is the reduced-resolution preview."""
        return self._item.showing_preview()

    def _on_pixels_arrived(self, future: object) -> None:
        image = self._image
        if image is None or image.pending is not future:
            return  # another film is shown now
        self._item.full_resolution_arrived()
        from ovcf_viewer.util.memory import release_freed_memory

        release_freed_memory()  # the preview and its paint buffers
        if (self._preview_window is not None and self._window is self._preview_window
                and not image.pixels_failed()):
            # The automatic window was the preview's histogram and the user kept it: take
            # the full-resolution one, as opening the film whole would have.
            self.set_window(display.default_window(image))
        self._preview_window = None
        self.viewport().update()
        self.fullResolutionArrived.emit(image)

    def calibration(self) -> Calibration | None:
        return self._calibration

    def set_calibration(self, calibration: Calibration | None) -> None:
        """The calibration shown in the overlay (the caller resolves it, clinical-ref §1).
        Its row/column spacing also sets the displayed pixel aspect; a manual calibration
        keeps the header's aspect, so normally nothing moves."""
        self._calibration = calibration
        if self._image is not None:
            aspect = display.pixel_aspect(self._image, calibration)
            if not math.isclose(aspect, self._aspect, rel_tol=1e-9):
                centre = self._viewport_centre()
                image_point = self.view_to_image(centre)
                self._aspect = aspect
                if self._fit_mode:
                    self.fit()
                else:
                    self._apply_view(self._zoom, self._orientation, image_point, centre)
        self.viewport().update()

    def voi_window(self) -> DisplayVoi:
        """The current VOI window (modality units, PS3.3 C.11.2)."""
        return self._window

    def is_inverted(self) -> bool:
        return self._inverted

    def display_state(self) -> tuple[DisplayVoi, bool]:
        """``(window, inverted)`` as currently displayed."""
        return self._window, self._inverted

    def set_window(self, window: DisplayVoi) -> None:
        """Display ``window`` (a :class:`VoiWindow`, a VOI LUT table or ``None`` = full
        range); only the lookup table and a repaint, never a re-decode."""
        if isinstance(window, VoiWindow) and window.width <= 0:
            raise ValueError(f"window width must be positive, got {window.width}")
        if window == self._window:
            return
        self._window = window
        self._item.set_display(window, self._inverted)
        self.viewport().update()
        self.windowChanged.emit(window)

    def set_inverted(self, inverted: bool) -> None:
        if inverted == self._inverted:
            return
        self._inverted = inverted
        self._item.set_display(self._window, inverted)
        self.viewport().update()
        self.invertChanged.emit(inverted)

    def toggle_inverted(self) -> None:
        self.set_inverted(not self._inverted)

    def set_overlays_visible(self, visible: bool) -> None:
        self._overlays_visible = visible
        self.viewport().update()

    def overlay_corners(self) -> OverlayCorners:
        return overlay_corners(
            self._image, self._window, self._inverted, self._zoom, self._calibration
        )

    # -- interaction hook ------------------------------------------------------------------
    def set_interaction_handler(self, handler: InteractionHandler | None) -> None:
        """Route left-button and hover events not taken by scene items to ``handler``
        (``None`` restores left-drag panning). See the module docstring for the order."""
        self._handler = handler

    def interaction_handler(self) -> InteractionHandler | None:
        return self._handler

    # -- coordinates -----------------------------------------------------------------------
    def image_to_view(self, x: float, y: float) -> QPointF:
        """Viewport coordinates (float pixels) of image point ``(x, y)``."""
        return self.viewportTransform().map(QPointF(x, y))

    def view_to_image(self, point: QPointF | QPoint) -> QPointF:
        """Image coordinates of viewport point ``point`` (float precision).

        The view transform is a scale per axis and a quarter-turn rotation/flip, so it is
        inverted axis by axis (``(v - d) / m``), which returns a point given to
        :meth:`image_to_view` as exactly as floating point allows; a general inverse
        matrix would add a rounding error of its own."""
        t = self.viewportTransform()
        p = QPointF(point)
        if t.m12() == 0.0 and t.m21() == 0.0 and t.m11() != 0.0 and t.m22() != 0.0:
            return QPointF((p.x() - t.dx()) / t.m11(), (p.y() - t.dy()) / t.m22())
        if t.m11() == 0.0 and t.m22() == 0.0 and t.m12() != 0.0 and t.m21() != 0.0:
            # x_view = y · m21 + dx, y_view = x · m12 + dy
            return QPointF((p.y() - t.dy()) / t.m12(), (p.x() - t.dx()) / t.m21())
        inverse, _ = t.inverted()
        return inverse.map(p)

    # -- zoom, pan, orientation ------------------------------------------------------------
    def zoom(self) -> float:
        """Screen pixels per image *column* (the on-screen width of one pixel along the
        image's x axis); a row is ``zoom × pixel_aspect()`` screen pixels high. Equal to
        "screen pixels per image pixel" for square pixels."""
        return self._zoom

    def pixel_aspect(self) -> float:
        """``row_mm / col_mm`` as displayed (:func:`ovcf_viewer.render.display.pixel_aspect`):
        rows are drawn this many column widths high so the film has its physical shape."""
        return self._aspect

    def orientation(self) -> QTransform:
        """The rotation/flip part of the view transform (entries 0 or ±1)."""
        return QTransform(self._orientation)

    def display_transform(self) -> QTransform:
        """Image → screen without zoom and pan: the pixel aspect, then the rotation/flip
        (the view transform is ``display_transform() × scale(zoom)`` plus the scroll). Use
        it to draw the scene elsewhere in the same shape (the loupe)."""
        return QTransform.fromScale(1.0, self._aspect) * self._orientation

    def fit_zoom(self) -> float:
        if self._image is None:
            return 1.0
        # Size on screen at zoom 1, in column widths: rows are pixel_aspect high.
        width, height = float(self._image.columns), float(self._image.rows) * self._aspect
        if abs(self._orientation.m11()) < 0.5:  # rotated by 90°: width and height swap
            width, height = height, width
        viewport = self.viewport().rect()
        return max(
            MIN_ZOOM, min(viewport.width() / width, viewport.height() / height, MAX_ZOOM)
        )

    def fit_mode(self) -> bool:
        """Whether the view is fitted and follows resizing (:meth:`fit` until a zoom or a
        pan)."""
        return self._fit_mode

    def fit(self) -> None:
        """Whole image in the viewport, centred; stays fitted on resize until the user zooms
        or pans."""
        self._fit_mode = True
        if self._image is None:
            self._apply_view(1.0, self._orientation, QPointF(0, 0), self._viewport_centre())
            return
        centre = QPointF((self._image.columns - 1) / 2.0, (self._image.rows - 1) / 2.0)
        self._apply_view(self.fit_zoom(), self._orientation, centre, self._viewport_centre())

    def actual_size(self) -> None:
        """1:1, one image column per screen pixel (one pixel per screen pixel when pixels
        are square; rows are ``pixel_aspect()`` screen pixels high), about the viewport
        centre."""
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / ZOOM_STEP)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point at viewport position ``anchor`` (default: the
        viewport centre) where it is."""
        anchor = QPointF(anchor) if anchor is not None else self._viewport_centre()
        self._fit_mode = False
        self._apply_view(zoom, self._orientation, self.view_to_image(anchor), anchor)

    def rotate_right(self) -> None:
        """Rotate 90° clockwise on screen about the viewport centre."""
        self._reorient(_ROTATE_RIGHT)

    def rotate_left(self) -> None:
        self._reorient(_ROTATE_LEFT)

    def flip_horizontal(self) -> None:
        """Mirror left-right as currently seen on screen."""
        self._reorient(_FLIP_HORIZONTAL)

    def flip_vertical(self) -> None:
        self._reorient(_FLIP_VERTICAL)

    def reset_view(self) -> None:
        """As stored: no rotation or flip, fitted."""
        self._orientation = QTransform()
        self.fit()
        self.orientationChanged.emit()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by ``(dx, dy)`` viewport pixels."""
        self._fit_mode = False
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        hbar.setValue(hbar.value() - round(dx))
        vbar.setValue(vbar.value() - round(dy))
        self.viewChanged.emit()

    def _reorient(self, change: QTransform) -> None:
        centre = self._viewport_centre()
        self._apply_view(self._zoom, self._orientation * change, self.view_to_image(centre),
                         centre)
        if self._fit_mode:
            self.fit()
        self.orientationChanged.emit()

    def _viewport_centre(self) -> QPointF:
        rect = self.viewport().rect()
        return QPointF(rect.width() / 2.0, rect.height() / 2.0)

    def _update_scene_rect(self) -> None:
        """A scene rect around the image with room for the viewport on every side at the
        current zoom, so any image point can be brought under the cursor (free panning)."""
        if self._image is None:
            bounds = QRectF(-0.5, -0.5, 1.0, 1.0)
        else:
            bounds = self._item.boundingRect()
        viewport = self.viewport().rect()
        # Image pixels per screen pixel along the shorter pixel side, so even rows or
        # columns, whichever is drawn smaller, have a viewport of room on each side.
        smallest = max(self._zoom, MIN_ZOOM) * min(1.0, self._aspect)
        margin = 2.0 * max(viewport.width(), viewport.height(), 1) / smallest
        self.setSceneRect(bounds.adjusted(-margin, -margin, margin, margin))

    def _apply_view(
        self, zoom: float, orientation: QTransform, image_point: QPointF, view_point: QPointF
    ) -> None:
        """Set zoom and orientation, then scroll so ``image_point`` lands on ``view_point``."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        zoom_changed = not math.isclose(zoom, self._zoom, rel_tol=1e-9)
        self._zoom = zoom
        self._orientation = orientation
        self.setTransform(QTransform.fromScale(1.0, self._aspect) * orientation
                          * QTransform.fromScale(zoom, zoom))
        self._update_scene_rect()
        landed = self.image_to_view(image_point.x(), image_point.y())
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        hbar.setValue(hbar.value() + round(landed.x() - view_point.x()))
        vbar.setValue(vbar.value() + round(landed.y() - view_point.y()))
        if zoom_changed:
            self.zoomChanged.emit(zoom)
        self.viewport().update()
        self.viewChanged.emit()

    # -- window/level helpers --------------------------------------------------------------
    def _window_as_linear(self) -> VoiWindow | None:
        """The current VOI as a centre/width window to drag from (a VOI LUT table becomes
        the window over its input range; ``None`` the full range)."""
        image, window = self._image, self._window
        if image is None or image.is_color:
            return None
        if isinstance(window, VoiWindow):
            return window
        if isinstance(window, VoiLutTable):
            first = float(window.first_mapped)
            return display.window_from_range(first, first + len(window.data) - 1)
        return display.full_range_window(image)

    def _modality_range(self) -> float:
        """Span of modality values the image can hold (for W/L drag sensitivity)."""
        if self._value_range is None:
            image = self._image
            if image is None or image.is_color:
                self._value_range = 256.0
            else:
                bits = max(1, min(image.bits_stored, 16))
                if image.pixel_representation:
                    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
                else:
                    lo, hi = 0, 2**bits - 1
                values = image.modality_lut.apply(np.array([lo, hi]))
                span = float(abs(values[1] - values[0]))
                self._value_range = span if span > 0 else 256.0
        return self._value_range

    # -- events ----------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """A fitted view re-fits; otherwise the image point that was at the centre of the
        viewport *before* the resize stays at the centre. The viewport already has its new
        size here and the scroll position is still the old one, so the old centre comes from
        the viewport size the view last laid itself out for — not ``event.oldSize()``, which
        is the widget's (frame included) and is invalid on the first show, when a view placed
        while hidden must keep its place too."""
        old = self._laid_out_viewport
        if old.width() > 0 and old.height() > 0:
            centre_image = self.view_to_image(QPointF(old.width() / 2.0, old.height() / 2.0))
        else:
            centre_image = self.view_to_image(self._viewport_centre())
        super().resizeEvent(event)
        self._laid_out_viewport = self.viewport().size()
        if self._fit_mode:
            self.fit()
        else:
            self._apply_view(self._zoom, self._orientation, centre_image,
                             self._viewport_centre())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta == 0:
            event.ignore()
            return
        factor = ZOOM_STEP ** (delta / 120.0)
        self.set_zoom(self._zoom * factor, anchor=event.position())
        event.accept()

    def _scene_item_wants(self, event: QMouseEvent) -> bool:
        """Whether a scene item (not the image) under the cursor accepts this button."""
        for item in self.items(event.position().toPoint()):
            if item is self._item:
                continue
            if item.acceptedMouseButtons() & event.button():
                return True
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.scene().mouseGrabberItem() is not None:
            super().mousePressEvent(event)
            return
        button = event.button()
        pos = event.position()
        if (button == Qt.MouseButton.RightButton and self._handler is not None
                and self._handler.press(self, event, self.view_to_image(pos))):
            self._drag = "handled"  # its release is taken too
            event.accept()
            return
        if button == Qt.MouseButton.RightButton and self._image is not None:
            self._start_drag("window", pos)
            event.accept()
            return
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_down
        ):
            self._start_drag("pan", pos)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton:
            takes_all = getattr(self._handler, "takes_press_over_items", None)
            if not (takes_all is not None and takes_all()) and self._scene_item_wants(event):
                super().mousePressEvent(event)
                return
            if self._handler is not None and self._handler.press(
                self, event, self.view_to_image(pos)
            ):
                event.accept()
                return
            self._start_drag("pan", pos)
            event.accept()
            return
        super().mousePressEvent(event)

    def _start_drag(self, kind: str, pos: QPointF) -> None:
        self._drag = kind
        self._drag_origin = QPointF(pos)
        self._drag_window = self._window_as_linear()
        cursor = (
            Qt.CursorShape.ClosedHandCursor if kind == "pan" else Qt.CursorShape.SizeAllCursor
        )
        self.viewport().setCursor(cursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        image_pos = self.view_to_image(pos)
        self.cursorMoved.emit(image_pos.x(), image_pos.y())
        if self._drag == "pan":
            delta = pos - self._drag_origin
            self._drag_origin = QPointF(pos)
            self.pan_by(delta.x(), delta.y())
            event.accept()
            return
        if self._drag == "window":
            self._drag_window_level(pos)
            event.accept()
            return
        if self.scene().mouseGrabberItem() is None and self._handler is not None:
            if self._handler.move(self, event, image_pos):
                event.accept()
                return
        super().mouseMoveEvent(event)

    def _drag_window_level(self, pos: QPointF) -> None:
        start = self._drag_window
        if start is None:
            return
        delta = pos - self._drag_origin
        # Cornerstone's convention: the full modality range over about 1000 screen pixels.
        per_pixel = self._modality_range() / 1024.0
        width = max(1.0, start.width + delta.x() * per_pixel)
        center = start.center + delta.y() * per_pixel
        self.set_window(VoiWindow(center, width, start.function, "Manual"))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            self._drag = None
            self.viewport().unsetCursor()
            event.accept()
            return
        if (
            event.button() == Qt.MouseButton.LeftButton
            and self.scene().mouseGrabberItem() is None
            and self._handler is not None
            and self._handler.release(self, event, self.view_to_image(event.position()))
        ):
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.RightButton:
            event.accept()  # a fast double right-drag is still window/level
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            if self._drag is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self.cursorLeft.emit()
        super().leaveEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._space_down = False
        super().focusOutEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802
        super().drawForeground(painter, rect)
        if not self._overlays_visible or self._image is None:
            return
        painter.save()
        painter.resetTransform()
        paint_overlays(painter, QRectF(self.viewport().rect()), self.overlay_corners())
        painter.restore()
