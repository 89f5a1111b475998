"""The matplotlib Qt canvas the app's charts draw on.

matplotlib's ``FigureCanvasQT`` (Qt >= 6.6) installs itself, when first shown, as an event
filter on its top-level window's ``QWindow`` to follow device-pixel-ratio changes. That window
belongs to whoever hosts the chart and outlives the chart's canvas when a panel or tab is
rebuilt; a filter whose Python wrapper is gone ("Internal C++ object (FigureCanvasQTAgg)
already deleted") was printed just before the test process crashed in the case window. The
canvas here follows the ratio through its own ``DevicePixelRatioChange`` event (Qt sends it to
the widget as well) and never touches another object's event filters.

matplotlib is imported when :func:`chart_canvas` is first called, not at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent

if TYPE_CHECKING:
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

__all__ = ["chart_canvas"]

_canvas_class: Any = None


def chart_canvas(figure: Figure) -> FigureCanvasQTAgg:
    """A ``FigureCanvasQTAgg`` for ``figure`` that filters no other object's events."""
    global _canvas_class
    if _canvas_class is None:
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        class OwnEventsCanvas(FigureCanvasQTAgg):
            def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
                # matplotlib would install itself on the window here; only the ratio is needed.
                self._update_pixel_ratio()

            def event(self, event: Any) -> bool:
                if event.type() == QEvent.Type.DevicePixelRatioChange:
                    self._update_pixel_ratio()
                return bool(super().event(event))

        _canvas_class = OwnEventsCanvas
    canvas: FigureCanvasQTAgg = _canvas_class(figure)
    return canvas
