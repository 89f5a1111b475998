"""The case window's panels read as one scrolling column of titled sections."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout, QWidget

__all__ = ["scrolling_sections"]


def scrolling_sections(
    panel: QWidget,
    head: Sequence[QWidget],
    sections: Sequence[tuple[str, Sequence[QWidget]]],
    tail: Sequence[QWidget],
) -> None:
    """Lay ``panel`` out as a scroll area holding ``head``, one group box per ``(title,
    widgets)`` section, then ``tail``, top-aligned."""
    body = QWidget(panel)
    layout = QVBoxLayout(body)
    for widget in head:
        layout.addWidget(widget)
    for title, widgets in sections:
        box = QGroupBox(title, body)
        box_layout = QVBoxLayout(box)
        for widget in widgets:
            box_layout.addWidget(widget)
        layout.addWidget(box)
    for widget in tail:
        layout.addWidget(widget)
    layout.addStretch(1)
    scroll = QScrollArea(panel)
    scroll.setWidgetResizable(True)
    scroll.setWidget(body)
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
