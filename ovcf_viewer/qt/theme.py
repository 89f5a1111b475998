"""The window's look: the system's own, light, or dark (a reading room's: low luminance around
the film so the eye stays adapted to the radiograph). The film area itself is dark in every
theme (:class:`~ovcf_viewer.qt.viewer.image_view.ImageView` paints black around the film).

:func:`apply_theme` sets the application's style and palette (Fusion for light and dark, so the
palette is honoured on every platform; the system's style and palette for ``"system"``, as
they were before the first change). Colours that carry meaning (alerts, suitability statuses)
go through :func:`readable`, which keeps them at WCAG AA contrast (4.5:1) against the current
background, so a red that reads on white is lightened on the dark theme rather than lost.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from ovcf_viewer.model.settings import THEMES

__all__ = [
    "MIN_CONTRAST",
    "THEME_NAMES",
    "apply_theme",
    "contrast_ratio",
    "current_theme",
    "dark_palette",
    "is_dark",
    "readable",
]

#: How each theme is named in the View menu and the settings dialog.
THEME_NAMES = {"system": "System", "light": "Light", "dark": "Dark (reading room)"}
#: WCAG 2.1 AA for normal text.
MIN_CONTRAST = 4.5

_system: tuple[str, QPalette] | None = None  # the style and palette before the first change
_current = "system"


def dark_palette() -> QPalette:
    """Dark greys, light text, a muted blue selection (a reading room's palette)."""
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    palette = QPalette()
    window, base, alternate = QColor(38, 38, 40), QColor(22, 22, 24), QColor(34, 34, 37)
    text, disabled = QColor(228, 228, 228), QColor(130, 130, 134)
    colours = {
        role.Window: window, role.WindowText: text, role.Base: base,
        role.AlternateBase: alternate, role.ToolTipBase: QColor(50, 50, 54),
        role.ToolTipText: text, role.PlaceholderText: QColor(150, 150, 154),
        role.Text: text, role.Button: QColor(48, 48, 52), role.ButtonText: text,
        role.BrightText: QColor(255, 120, 120), role.Light: QColor(70, 70, 74),
        role.Midlight: QColor(58, 58, 62), role.Mid: QColor(44, 44, 48),
        role.Dark: QColor(18, 18, 20), role.Shadow: QColor(0, 0, 0),
        role.Highlight: QColor(42, 96, 150), role.HighlightedText: QColor(255, 255, 255),
        role.Link: QColor(110, 170, 255), role.LinkVisited: QColor(180, 140, 255),
    }
    for colour_role, colour in colours.items():
        palette.setColor(colour_role, colour)
    for colour_role in (role.WindowText, role.Text, role.ButtonText, role.HighlightedText):
        palette.setColor(group.Disabled, colour_role, disabled)
    palette.setColor(group.Disabled, role.Highlight, QColor(70, 70, 74))
    return palette


def _app() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        raise RuntimeError("a theme needs the QApplication")
    return app


def apply_theme(name: str) -> None:
    """Give the whole application the theme ``name`` (one of
    :data:`~ovcf_viewer.model.settings.THEMES`); every open window follows at once."""
    global _system, _current
    if name not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {name!r}")
    app = _app()
    if _system is None:
        _system = (app.style().name(), QPalette(app.palette()))
    hints = app.styleHints()
    settable = hasattr(hints, "setColorScheme")  # Qt 6.8 and later
    if name == "system":
        if settable:
            hints.unsetColorScheme()
        app.setStyle(_system[0])
        app.setPalette(_system[1])
    else:
        # The colour scheme too: Fusion draws check box and frame outlines for it (on the
        # dark palette alone they were darker than the ground, and invisible).
        if settable:
            hints.setColorScheme(Qt.ColorScheme.Dark if name == "dark"
                                 else Qt.ColorScheme.Light)
        app.setStyle("Fusion")
        app.setPalette(dark_palette() if name == "dark" else app.style().standardPalette())
    _current = name


def current_theme() -> str:
    """The theme last applied ("system" before any)."""
    return _current


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether ``palette`` (default: the application's) draws light text on dark ground."""
    palette = palette if palette is not None else QApplication.palette()
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


def _luminance(colour: QColor) -> float:
    """WCAG 2.1 relative luminance."""
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF()))


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2.1 contrast ratio, 1 (none) to 21 (black on white)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable(colour: QColor | str, background: QColor | None = None) -> QColor:
    """``colour``, lightened (dark ground) or darkened (light ground) just enough to reach
    :data:`MIN_CONTRAST` against ``background`` (default: the application palette's Base, the
    ground of tables and text fields). The hue stays, so red still reads as red."""
    colour = QColor(colour)
    ground = background if background is not None else QApplication.palette().color(
        QPalette.ColorRole.Base)
    target = QColor(255, 255, 255) if ground.lightnessF() < 0.5 else QColor(0, 0, 0)
    result = colour
    for step in range(1, 21):
        if contrast_ratio(result, ground) >= MIN_CONTRAST:
            break
        t = step / 20
        result = QColor.fromRgbF(
            colour.redF() + (target.redF() - colour.redF()) * t,
            colour.greenF() + (target.greenF() - colour.greenF()) * t,
            colour.blueF() + (target.blueF() - colour.blueF()) * t,
        )
    return result
