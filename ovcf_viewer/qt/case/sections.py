"""The case window's panels read as one scrolling column of titled sections, their tables
as tall as their rows (:func:`fit_table_heights`)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QGroupBox, QScrollArea, QTableWidget, QVBoxLayout, QWidget

__all__ = ["fit_table_height", "fit_table_heights", "scrolling_sections"]


def fit_table_height(table: QTableWidget) -> None:
    """Show every row of ``table`` without an inner scroll bar (the panel scrolls as a whole),
    with room for the horizontal scroll bar only when the columns are wider than the table."""
    table.resizeRowsToContents()
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(table.rowCount()))
    row_names = 0 if table.verticalHeader().isHidden() else table.verticalHeader().width()
    if table.horizontalHeader().length() > table.width() - 2 * table.frameWidth() - row_names:
        height += table.horizontalScrollBar().sizeHint().height()
    if table.height() != height:
        table.setFixedHeight(height)


class _RefitOnResize(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Resize and isinstance(watched, QTableWidget):
            fit_table_height(watched)
        return False


def fit_table_heights(panel: QWidget, tables: Sequence[QTableWidget]) -> None:
    """Fit ``tables`` (:func:`fit_table_height`) now and whenever one is resized (whether a
    table needs its scroll bar depends on its width)."""
    refit = _RefitOnResize(panel)
    for table in tables:
        table.installEventFilter(refit)
        fit_table_height(table)


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
