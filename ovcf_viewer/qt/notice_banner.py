"""Banners across the top of the main window for what the user must not miss at start: the
data folder cannot keep edits (they stay in memory: export them), the annotation store was
damaged and moved aside (where the damaged copy is), and cases that were not closed
normally (*Recover…*). Not modal: the window works while a banner shows, and each one can
be dismissed.

:class:`NoticeBar` is a fixed tool bar on the window's first tool-bar line holding one
:class:`NoticeBanner` per notice; :class:`StartupNotices` runs
:func:`ovcf_viewer.services.recovery.check_at_start` and fills it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
    from ovcf_viewer.qt.workstation import Workstation
    from ovcf_viewer.services.recovery import StartupState

__all__ = ["NoticeBanner", "NoticeBar", "StartupNotices"]

#: Background, border and text colour per kind (explicit text colour: readable on any theme).
_COLOURS = {
    "warning": ("#fff4ce", "#c8a200", "#3b2f00"),
    "error": ("#fde7e9", "#c50f1f", "#4a0006"),
    "info": ("#e8f1fb", "#2b6cb0", "#0b2945"),
}

Action = tuple[str, Callable[[], object]]


class NoticeBanner(QFrame):
    """One notice: a coloured bar with the text, its action buttons and a dismiss button."""

    dismissed = Signal()

    def __init__(self, kind: str, text: str, actions: Sequence[Action] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        background, border, foreground = _COLOURS[kind]
        self.setObjectName("notice-banner")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setStyleSheet(
            f"#notice-banner {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 3px; }} #notice-banner QLabel {{ color: {foreground}; }}"
        )
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        self.buttons: dict[str, QPushButton] = {}
        for title, slot in actions:
            button = QPushButton(title)
            button.clicked.connect(slot)
            layout.addWidget(button)
            self.buttons[title] = button
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button)

    def text(self) -> str:
        return self.label.text()

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
        self.deleteLater()


class NoticeBar(QToolBar):
    """The banners' place: a tool bar that cannot be moved or hidden from the context menu,
    on a line of its own above the window's other tool bars; hidden while it holds none."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__("Notices", window)
        self.setObjectName("notice-bar")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setVisible(False)
        self._box = QWidget()
        self._stack = QVBoxLayout(self._box)
        self._stack.setContentsMargins(2, 2, 2, 2)
        self._stack.setSpacing(2)
        self._box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.addWidget(self._box)
        self.banners: dict[str, NoticeBanner] = {}
        first = next((bar for bar in window.findChildren(QToolBar)
                      if bar is not self and bar.parent() is window
                      and window.toolBarArea(bar) == Qt.ToolBarArea.TopToolBarArea), None)
        if first is None:
            window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self)
        else:
            window.insertToolBar(first, self)
            window.insertToolBarBreak(first)
        self.setVisible(False)

    def show_notice(self, key: str, kind: str, text: str,
                    actions: Sequence[Action] = ()) -> NoticeBanner:
        """Show a banner (replacing the one under the same ``key``)."""
        self.remove_notice(key)
        banner = NoticeBanner(kind, text, actions, self._box)
        self._stack.addWidget(banner)
        self.banners[key] = banner
        banner.dismissed.connect(lambda: self._forget(key, banner))
        self.setVisible(True)
        return banner

    def remove_notice(self, key: str) -> None:
        banner = self.banners.get(key)
        if banner is not None:
            banner.dismiss()

    def _forget(self, key: str, banner: NoticeBanner) -> None:
        if self.banners.get(key) is banner:
            del self.banners[key]
        if not self.banners:
            self.setVisible(False)


class StartupNotices(QObject):
    """Checks the data folder, the store and the cases left open at start, and says what it
    found in ``bar``: each banner with the action that keeps the user's work."""

    def __init__(self, bar: NoticeBar, workstation: Workstation,
                 controller: AnnotationController) -> None:
        super().__init__(bar)
        self.bar = bar
        self.workstation = workstation
        self.controller = controller
        self.state: StartupState | None = None

    def check(self) -> StartupState:
        from ovcf_viewer.services.recovery import check_at_start

        try:
            store = self.controller.store()
        except OSError:
            store = None
        from ovcf_viewer.io.store import AnnotationStore

        state = check_at_start(store if isinstance(store, AnnotationStore) else None)
        self.state = state
        if state.data_folder:
            self.bar.show_notice(
                "data-folder", "error",
                f"{state.data_folder}. Export your annotations (or save a case elsewhere) to "
                "keep them.",
                [("Export annotations…", self.controller.choose_export_path)],
            )
        if state.damaged_store:
            aside = getattr(store, "moved_aside", None)
            actions: list[Action] = []
            if isinstance(aside, Path):
                folder = aside.parent
                actions.append(("Open folder", lambda: QDesktopServices.openUrl(
                    QUrl.fromLocalFile(str(folder)))))
            self.bar.show_notice("damaged-store", "warning", state.damaged_store, actions)
        if state.unclosed:
            self.bar.show_notice("unclosed-cases", "info", _unclosed_text(state.unclosed),
                                 [("Recover…", self.recover)])
        return state

    def recover(self) -> None:
        """Open every case not closed normally, each in its case window (its session marks
        it open again), and take the banner away."""
        paths = self.state.unclosed if self.state is not None else ()
        self.bar.remove_notice("unclosed-cases")
        for path in paths:
            if path.is_file():
                self.workstation.open_case(path)


def _unclosed_text(paths: Sequence[Path]) -> str:
    def stamp(path: Path) -> str:
        try:
            return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        except OSError:
            return "?"

    if len(paths) == 1:
        return (f"1 case was not closed normally ({paths[0].stem}, autosaved {stamp(paths[0])})"
                " — recover it to go on where you left off")
    return (f"{len(paths)} cases were not closed normally (last autosaved {stamp(paths[0])}) —"
            " recover them to go on where you left off")
