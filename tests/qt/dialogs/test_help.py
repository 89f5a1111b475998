"""The Help menu: the shortcut sheet lists the keys the window's actions really have (and
every key the README's tables name), and About shows the version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from ovcf_viewer import __version__

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.fixture
def window(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window
    help_actions = window.help_actions
    for dialog in (help_actions.shortcut_sheet, help_actions.about_box):
        if dialog is not None:
            dialog.close()  # a window-modal dialog left open would block the next test
    window.close()
    QApplication.processEvents()


def open_sheet(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_F1)
    help_actions = window.help_actions
    qtbot.waitUntil(lambda: help_actions.shortcut_sheet is not None
                    and help_actions.shortcut_sheet.isVisible())
    return help_actions.shortcut_sheet


def test_f1_opens_the_sheet_with_every_action_key(window, qtbot):
    sheet = open_sheet(qtbot, window)
    keys = {(text, key) for _menu, text, key in sheet.rows}
    controller = window.annotation_controller
    for action in (controller.mode_actions["ruler"], controller.mode_actions["cobb"],
                   controller.undo_action, controller.label_mode_actions["index"],
                   window.loupe_action, window.fit_action):
        expected = action.shortcut().toString(QKeySequence.SequenceFormat.PortableText)
        assert expected
        assert any(key == expected or expected in key.split(" or ") for _, key in keys), \
            action.text()
    text = sheet.browser.toPlainText()
    assert "Ruler" in text and "right click, or Esc" in text
    sheet.close()


def test_the_sheet_follows_a_changed_shortcut(window, qtbot):
    """Generated from the actions: change a key and the sheet says the new one."""
    window.fit_action.setShortcut(QKeySequence("Ctrl+Alt+F"))
    sheet = open_sheet(qtbot, window)
    assert ("View", "Fit to window", "Ctrl+Alt+F") in sheet.rows
    sheet.close()


def test_every_key_the_readme_names_is_on_the_sheet(window, qtbot):
    readme = README.read_text(encoding="utf-8")
    viewing = readme.split("### Viewing", 1)[1].split("### Cases", 1)[0]
    named = set(re.findall(r"`([^`\s]{1,14})`", viewing))
    named = {k for k in named if re.fullmatch(r"(Ctrl\+|Shift\+|Alt\+)*[A-Za-z0-9\[\]]+", k)
             and not k.islower()} | {"[", "]"}
    sheet = open_sheet(qtbot, window)
    on_sheet = set()
    for _menu, _text, key in sheet.rows:
        on_sheet.update(part.strip() for part in key.split(" or "))
        on_sheet.update(part.strip() for part in re.split(r"[,()]", key))
    missing = sorted(k for k in named if k not in on_sheet)
    assert not missing, missing
    assert {"Ctrl+Z", "P", "X", "Shift+H", "Delete", "L", "Ctrl+F"} <= named
    sheet.close()


def test_about_shows_the_version(window, qtbot):
    help_actions = window.help_actions
    help_actions.about_action.trigger()
    qtbot.waitUntil(lambda: help_actions.about_box is not None
                    and help_actions.about_box.isVisible())
    assert f"OVCF Viewer {__version__}" in help_actions.about_box.text()
    help_actions.about_box.close()
