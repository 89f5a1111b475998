"""The charts' canvas follows its own pixel-ratio events and filters no window's events."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ovcf_viewer.qt.case.trend_chart import TrendChart


def test_the_trend_chart_canvas_is_no_event_filter_on_its_window(qtbot, monkeypatch):
    host = QWidget()
    qtbot.addWidget(host)
    chart = TrendChart(host)
    QVBoxLayout(host).addWidget(chart)
    host.resize(640, 520)
    host.show()
    qtbot.waitExposed(host)
    filtered: list[object] = []
    ratio: list[str] = []
    original_filter = chart.canvas.eventFilter

    def spy_filter(source, event):
        filtered.append(source)
        return original_filter(source, event)

    monkeypatch.setattr(chart.canvas, "eventFilter", spy_filter)
    monkeypatch.setattr(chart.canvas, "_update_pixel_ratio", lambda: ratio.append("ratio"))

    QCoreApplication.sendEvent(host.windowHandle(), QEvent(QEvent.Type.User))
    assert filtered == []  # matplotlib's own canvas filters every event of the window

    QCoreApplication.sendEvent(chart.canvas, QEvent(QEvent.Type.DevicePixelRatioChange))
    assert ratio == ["ratio"]  # the ratio is still followed, through the canvas's own event
