"""Open a case's films without freezing the window.

:func:`open_films_live` runs :func:`~ovcf_viewer.io.progressive.open_films` (all previews
in parallel first, full resolution after them in the background) on a worker thread and
keeps the Qt event loop turning while it waits: the window repaints and its timers run;
mouse and keyboard input is held back until the films are open (Qt queues it, nothing is
lost), so no click reaches a case that is half replaced.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QObject, Signal

if TYPE_CHECKING:
    from ovcf_viewer.io.progressive import Preview
    from ovcf_viewer.model.errors import ImageLoadError
    from ovcf_viewer.model.image import RadiographImage

__all__ = ["open_films_live"]


class _Done(QObject):
    finished = Signal()


def open_films_live(
    paths: Sequence[str | os.PathLike[str]], viewport: tuple[int, int] | None,
    hold: threading.Event | None = None,
) -> list[tuple[RadiographImage, Preview | None] | ImageLoadError]:
    """:func:`~ovcf_viewer.io.progressive.open_films` of ``paths`` for panes of
    ``viewport`` device pixels, the event loop running (user input excluded) meanwhile;
    full resolution starts when ``hold`` is set (see there)."""
    from ovcf_viewer.io.progressive import open_films

    if not paths:
        return []
    result: list = []
    failure: list[BaseException] = []
    finished = threading.Event()
    done = _Done()
    loop = QEventLoop()
    done.finished.connect(loop.quit)  # queued: emitted from the worker thread

    def work() -> None:
        try:
            result.extend(open_films(paths, viewport, hold=hold))
        except BaseException as exc:  # re-raised in the GUI thread
            failure.append(exc)
        finally:
            finished.set()
            done.finished.emit()

    worker = threading.Thread(target=work, name="ovcf-open-films", daemon=True)
    worker.start()
    while not finished.is_set():  # the quit was queued after ``finished`` was set
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    worker.join()
    if failure:
        raise failure[0]
    return result
