"""Opening a case's films: every pane's first paint is a preview at no less than screen
resolution for that pane, the window keeps turning its event loop while the films decode
, and full resolution equals pydicom's decode."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QWidget

from ovcf_viewer.io import openjpeg_reduced
from ovcf_viewer.io.progressive import wait_all
from ovcf_viewer.qt.case.film_loading import open_films_live
from ovcf_viewer.qt.viewer.image_view import ImageView

from ...io.progressive_films import film, pattern, pydicom_pixels, require_system_openjpeg

require_system_openjpeg()


@pytest.fixture(scope="module")
def three_films(tmp_path_factory):
    folder = tmp_path_factory.mktemp("three")
    return [film(folder, "jpeg2000", name=f"f{i}.dcm", pixels=pattern(1200, 1000, seed=i))
            for i in range(3)]


def _device_px_per_image_px(view: ImageView) -> tuple[float, float]:
    """Device pixels per image column (across) and per image row (down) on screen."""
    ratio = view.devicePixelRatioF()
    origin, across, down = (view.image_to_view(*xy) for xy in ((0, 0), (100, 0), (0, 100)))
    per_column = math.dist((origin.x(), origin.y()), (across.x(), across.y())) / 100
    per_row = math.dist((origin.x(), origin.y()), (down.x(), down.y())) / 100
    return per_column * ratio, per_row * ratio


def test_three_panes_paint_previews_at_screen_resolution_each(qtbot, three_films):
    panes = QWidget()
    qtbot.addWidget(panes)
    row = QHBoxLayout(panes)
    row.setContentsMargins(0, 0, 0, 0)
    views = [ImageView(panes) for _ in three_films]
    for view in views:
        row.addWidget(view)
    panes.resize(600, 1000)
    panes.show()
    qtbot.waitExposed(panes)
    size = views[0].viewport().size()
    ratio = views[0].devicePixelRatioF()
    hold = threading.Event()
    opened = open_films_live(three_films, (round(size.width() * ratio),
                                           round(size.height() * ratio)), hold)
    try:
        for view, (image, preview) in zip(views, opened, strict=True):
            assert preview is not None and preview.level >= 1
            view.set_image(image, preview=preview)
            view.viewport().repaint()
            assert view.showing_preview()
            _region, (rows_per_sample, columns_per_sample), _ = view.image_item().last_render
            assert rows_per_sample % preview.factor == 0  # painted from the preview
            per_column, per_row = _device_px_per_image_px(view)
            # At least one painted sample per device pixel, along both axes.
            assert columns_per_sample * per_column <= 1 + 1e-6
            assert rows_per_sample * per_row <= 1 + 1e-6
    finally:
        hold.set()
    wait_all([image for image, _ in opened], timeout=120)
    qtbot.waitUntil(lambda: not any(view.showing_preview() for view in views), timeout=60_000)
    for path, (image, _preview) in zip(three_films, opened, strict=True):
        np.testing.assert_array_equal(image.stored, pydicom_pixels(path))


def test_the_event_loop_runs_while_films_open(qtbot, three_films, monkeypatch):
    """Each preview waits for a timer of the GUI thread: they can only finish if the event
    loop turns during the open (it would time out if the open blocked it)."""
    timer_fired = threading.Event()
    seen_by_previews: list[bool] = []
    reduced = openjpeg_reduced.decode_reduced

    def preview_waiting_for_the_gui(codestream, level, threads=0):
        seen_by_previews.append(timer_fired.wait(10))
        return reduced(codestream, level, threads)

    monkeypatch.setattr(openjpeg_reduced, "decode_reduced", preview_waiting_for_the_gui)
    QTimer.singleShot(20, timer_fired.set)
    opened = open_films_live(three_films, (200, 300))
    assert seen_by_previews == [True, True, True]
    wait_all([item[0] for item in opened], timeout=120)
    for path, (image, preview) in zip(three_films, opened, strict=True):
        assert preview is not None
        np.testing.assert_array_equal(image.stored, pydicom_pixels(path))
