"""Saved window layouts: a main window's geometry and dock/toolbar state, kept per window in
:attr:`Settings.window_layouts <ovcf_viewer.model.settings.Settings.window_layouts>`.

:class:`LayoutMemory` restores what was saved when its window is first shown (or, with nothing
saved or a state from another version, lays the window out with the window's own ``arrange``
for its width) and saves it when the window closes; :meth:`LayoutMemory.reset` is
*View ▸ Reset layout*.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QEvent, QObject
from PySide6.QtWidgets import QMainWindow

from ovcf_viewer.model.settings import Settings

__all__ = ["LAYOUT_VERSION", "WIDE_WINDOW_PX", "LayoutMemory"]

#: Bumped when the docks change, so an older saved state is not restored onto new docks.
LAYOUT_VERSION = 2
#: From this window width side panels sit side by side or stacked; below it they are tabs.
WIDE_WINDOW_PX = 1700


def _encode(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def _decode(text: str) -> QByteArray:
    return QByteArray(base64.b64decode(text.encode("ascii"), validate=True))


class LayoutMemory(QObject):
    """Keeps ``window``'s layout in ``settings.window_layouts[name]``; see the module
    docstring. ``arrange(width)`` lays the window out by default for a window ``width`` px
    wide."""

    def __init__(self, window: QMainWindow, settings: Settings, name: str,
                 arrange: Callable[[int], None]) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.name = name
        self._arrange = arrange
        self._shown = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.window:
            if event.type() == QEvent.Type.Show and not self._shown:
                self._shown = True
                if not self.restore():
                    self._arrange(self.window.width())
            elif event.type() == QEvent.Type.Close and self._shown:
                self.save()
        return False

    def saved(self) -> str:
        return self.settings.window_layouts.get(self.name, "")

    def restore(self) -> bool:
        """Restore the saved geometry and state; ``False`` when there is none usable."""
        saved = self.saved()
        geometry, _, state = saved.partition(";")
        if not state:
            return False
        try:
            geometry_data, state_data = _decode(geometry), _decode(state)
        except (binascii.Error, ValueError):
            return False
        if not self.window.restoreState(state_data, LAYOUT_VERSION):
            return False
        self.window.restoreGeometry(geometry_data)
        return True

    def save(self) -> None:
        """Write the window's geometry and state into the settings (saved by the keeper)."""
        text = (_encode(self.window.saveGeometry()) + ";"
                + _encode(self.window.saveState(LAYOUT_VERSION)))
        if self.saved() != text:
            self.settings.window_layouts = {**self.settings.window_layouts, self.name: text}

    def reset(self) -> None:
        """The default layout for the window's current width; the saved one is forgotten."""
        if self.name in self.settings.window_layouts:
            layouts = dict(self.settings.window_layouts)
            del layouts[self.name]
            self.settings.window_layouts = layouts
        self._arrange(self.window.width())
