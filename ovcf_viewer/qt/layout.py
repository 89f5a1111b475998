"""Saved window layouts: a main window's geometry, dock/toolbar state and the sizes of the
splitters it names, kept per window in
:attr:`Settings.window_layouts <ovcf_viewer.model.settings.Settings.window_layouts>`.

:class:`LayoutMemory` restores what was saved when its window is first shown (or, with nothing
saved or a state from another version, lays the window out with the window's own ``arrange``
for its width) and saves it when the window closes; :meth:`LayoutMemory.reset` is
*View ▸ Reset layout*. While the layout is the default one (not restored, not rearranged by
the user), a window resized across one of its ``breakpoints`` (maximised from 1400 to 1920
px, say) is arranged again for its new width.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence

from PySide6.QtCore import QByteArray, QEvent, QObject, QTimer
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

from ovcf_viewer.model.settings import Settings

__all__ = ["LAYOUT_VERSION", "WIDE_WINDOW_PX", "LayoutMemory", "fit_to_screen"]

#: Bumped when the docks change, so an older saved state is not restored onto new docks.
LAYOUT_VERSION = 2
#: From this window width side panels sit side by side or stacked; below it they are tabs.
WIDE_WINDOW_PX = 1700


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize ``window`` to ``width`` × ``height``, or to its screen's available area when
    that is smaller (a 1600 px case window on a 1366 × 768 laptop ran off the screen)."""
    screen = window.screen()
    if screen is not None:
        area = screen.availableGeometry()
        width, height = min(width, area.width()), min(height, area.height())
    window.resize(width, height)


def _encode(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def _decode(text: str) -> QByteArray:
    return QByteArray(base64.b64decode(text.encode("ascii"), validate=True))


class LayoutMemory(QObject):
    """Keeps ``window``'s layout in ``settings.window_layouts[name]``; see the module
    docstring. ``arrange(width)`` lays the window out by default for a window ``width`` px
    wide; ``splitters`` are saved and restored with it. ``arrange_when_shown=False``: the
    window as built is already its default layout (``arrange`` serves *Reset layout*)."""

    def __init__(self, window: QMainWindow, settings: Settings, name: str,
                 arrange: Callable[[int], None], splitters: Sequence[QSplitter] = (),
                 breakpoints: Sequence[int] = (), arrange_when_shown: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self.splitters = tuple(splitters)
        self.settings = settings
        self.name = name
        self._arrange = arrange
        self._breakpoints = tuple(sorted(breakpoints))
        self._arrange_when_shown = arrange_when_shown
        self._shown = False
        self._arranging = False
        self._automatic = False  # the default layout, untouched: follows the breakpoints
        self._band = 0  # how many breakpoints the width had passed when last arranged
        window.installEventFilter(self)

    def _width_band(self, width: int) -> int:
        return sum(width >= point for point in self._breakpoints)

    def arrange(self) -> None:
        """The default layout for the window's current width (it then follows the
        breakpoints until the user changes it)."""
        self._arranging = True
        try:
            self._arrange(self.window.width())
        finally:
            self._arranging = False
        self._automatic = True
        self._band = self._width_band(self.window.width())

    def customised(self, *_args: object) -> None:
        """The user moved, floated or closed a panel: their layout stays as it is."""
        if not self._arranging:
            self._automatic = False

    def is_automatic(self) -> bool:
        return self._automatic

    def _follow_width(self) -> None:
        if self._automatic and self._width_band(self.window.width()) != self._band:
            self.arrange()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        # getattr: Qt may still deliver an event while Python tears this object down.
        if watched is getattr(self, "window", None):
            if event.type() == QEvent.Type.Show and not self._shown:
                self._shown = True
                if not self.restore() and self._arrange_when_shown:
                    self.arrange()
            elif event.type() == QEvent.Type.Close and self._shown:
                self.save()
            elif event.type() == QEvent.Type.Resize and self._shown and self._breakpoints:
                QTimer.singleShot(0, self._follow_width)  # after the resize has settled
        return False

    def saved(self) -> str:
        return self.settings.window_layouts.get(self.name, "")

    def restore(self) -> bool:
        """Restore the saved geometry and state; ``False`` when there is none usable."""
        parts = self.saved().split(";")
        if len(parts) != 3:
            return False
        geometry, state, splitters = parts
        try:
            geometry_data, state_data = _decode(geometry), _decode(state)
            splitter_data = [_decode(text) for text in splitters.split(",") if text]
        except (binascii.Error, ValueError):
            return False
        if len(splitter_data) != len(self.splitters):
            return False
        self._arranging = True  # restoring is not the user's rearranging
        try:
            if not self.window.restoreState(state_data, LAYOUT_VERSION):
                return False
        finally:
            self._arranging = False
        self._automatic = False
        self.window.restoreGeometry(geometry_data)
        for splitter, data in zip(self.splitters, splitter_data, strict=True):
            splitter.restoreState(data)
        return True

    def save(self) -> None:
        """Write the window's geometry and state into the settings (saved by the keeper)."""
        text = ";".join((_encode(self.window.saveGeometry()),
                         _encode(self.window.saveState(LAYOUT_VERSION)),
                         ",".join(_encode(s.saveState()) for s in self.splitters)))
        if self.saved() != text:
            self.settings.window_layouts = {**self.settings.window_layouts, self.name: text}

    def reset(self) -> None:
        """The default layout for the window's current width; the saved one is forgotten."""
        if self.name in self.settings.window_layouts:
            layouts = dict(self.settings.window_layouts)
            del layouts[self.name]
            self.settings.window_layouts = layouts
        self.arrange()
