"""The Help menu: a shortcut sheet and About (placed by
:class:`~ovcf_viewer.qt.application_window.ApplicationWindow` as the last menu).

The sheet is generated when it opens from the window's own menus (every action that has a
shortcut, under the menu it sits in, with the key as the action itself has it), so it cannot
drift from the keys that work. Mouse gestures and the keys the view handles itself (nudging,
deleting, cancelling) are not actions; they are listed once here, in :data:`POINTER_ROWS`.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
)

__all__ = ["POINTER_ROWS", "HelpActions", "ShortcutSheet", "about_text", "shortcut_rows"]

#: Mouse gestures and view keys that are not menu actions: (section, action, keys).
POINTER_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Mouse", "Window / level", "right-drag (horizontal = width, vertical = centre)"),
    ("Mouse", "Zoom about the cursor", "wheel"),
    ("Mouse", "Pan", "middle-drag, Space + left-drag, or left-drag in Navigate mode"),
    ("Mouse", "Move a landmark or tool point", "drag its handle (Navigate or Place landmarks)"),
    ("Mouse", "Draw a ruler, angle, Cobb or calibration line",
     "click each point, or press-drag-release each line; angle and Cobb snap to corners"),
    ("Mouse", "Cancel a drag or a half-drawn tool", "right click, or Esc"),
    ("Keys on the film", "Nudge the selected point one screen pixel", "arrow keys (Shift: 10)"),
    ("Keys on the film", "Delete the selected point", "Delete"),
    ("Keys on the film", "Delete the selected vertebra or tool", "Shift+Delete"),
    ("Keys on the film", "Deselect, cancel", "Esc"),
    ("Keys on the film", "Accept the current level's carried-forward proposal", "Enter"),
    ("Keys on the film", "Accept every proposal on the film", "Shift+Enter"),
    ("Keys on the film", "Reject the current level's proposal", "Shift+Delete"),
)


def _menu_actions(menu: QMenu, path: str) -> list[tuple[str, QAction]]:
    found: list[tuple[str, QAction]] = []
    for action in menu.actions():
        if action.isSeparator():
            continue
        sub = action.menu()
        if isinstance(sub, QMenu):
            found += _menu_actions(sub, f"{path} ▸ {sub.title().replace('&', '')}")
        else:
            found.append((path, action))
    return found


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """``(menu, action, keys)`` for every menu action of ``window`` that has a shortcut
    (keys in the portable text form, e.g. ``Ctrl+Shift+Z``), in menu order, then the other
    actions of the window with a shortcut (toolbars, the film), then :data:`POINTER_ROWS`."""
    rows: list[tuple[str, str, str]] = []
    seen: set[int] = set()

    def add(path: str, action: QAction) -> None:
        keys = [k.toString(QKeySequence.SequenceFormat.PortableText)
                for k in action.shortcuts() if not k.isEmpty()]
        if not keys or id(action) in seen:
            return
        seen.add(id(action))
        text = action.text().replace("&", "").rstrip("…").strip()
        for verb in ("Undo", "Redo"):  # the undo actions name the last edit: not a key's name
            if text.startswith(verb + " "):
                text = verb
        rows.append((path, text, " or ".join(keys)))

    for top in window.menuBar().actions():
        menu = top.menu()
        if not isinstance(menu, QMenu):
            continue
        for path, action in _menu_actions(menu, menu.title().replace("&", "")):
            add(path, action)
    # Actions with a key that sit only on a toolbar or the film (Full range, Auto window…).
    for action in window.findChildren(QAction):
        add("Toolbar and film", action)
    return rows + list(POINTER_ROWS)


def _sheet_html(rows: list[tuple[str, str, str]]) -> str:
    parts = ["<table cellspacing='0' cellpadding='3'>"]
    section = None
    for menu, text, keys in rows:
        if menu != section:
            section = menu
            parts.append(f"<tr><td colspan='2'><b>{html.escape(menu)}</b></td></tr>")
        parts.append(f"<tr><td>{html.escape(text)}</td>"
                     f"<td><code>{html.escape(keys)}</code></td></tr>")
    parts.append("</table>")
    return "".join(parts)


class ShortcutSheet(QDialog):
    """Every key and mouse action, generated from the window's actions when shown."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard and mouse")
        self.setObjectName("shortcut-sheet")
        self.rows = shortcut_rows(window)
        self.browser = QTextBrowser(self)
        self.browser.setHtml(_sheet_html(self.rows))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(640, 720)


def about_text() -> str:
    from ovcf_viewer import __version__

    return (f"<b>OVCF Viewer {html.escape(__version__)}</b><br>"
            "Measuring osteoporotic vertebral compression fractures on lateral spine "
            "radiographs: landmarks, heights, Genant grade, kyphosis, suitability decision "
            "support and reports.<br>Decision support only: every number is to be checked "
            "by the clinician. Nothing leaves this computer unless you send it.")


class HelpActions(QObject):
    """The Help menu's entries for ``window``: the shortcut sheet (``F1``) and About. The
    window places them (:meth:`menu_actions`, the last menu); the dialog last opened is kept
    in :attr:`shortcut_sheet` / :attr:`about_box`."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.shortcut_sheet: ShortcutSheet | None = None
        self.about_box: QMessageBox | None = None
        self.sheet_action = QAction("Keyboard and mouse…", window)
        self.sheet_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.sheet_action.triggered.connect(self.show_sheet)
        self.about_action = QAction("About OVCF Viewer", window)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)

    def menu_actions(self) -> list[QAction]:
        return [self.sheet_action, self.about_action]

    def show_sheet(self) -> None:
        sheet = ShortcutSheet(self.window)
        self.shortcut_sheet = sheet
        sheet.open()

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About OVCF Viewer", about_text(),
                          QMessageBox.StandardButton.Close, self.window)
        box.setObjectName("about-box")
        self.about_box = box
        box.open()
