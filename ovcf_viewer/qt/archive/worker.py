"""Network work off the GUI thread: a :class:`QRunnable` on the global thread pool that
runs one archive call and reports through a :class:`QObject`'s signals (queued into the GUI
thread), with progress and a cancel flag the call checks between instances.

The window never waits on the network: it starts a task, keeps working, and reacts to
``progressed``, ``succeeded`` or ``failed`` (a one-line message). Every archive call ends
within its node's timeout, so a task always finishes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

__all__ = ["ArchiveTask"]

log = logging.getLogger(__name__)

#: Tasks under way. A task is not parented to the dialog that started it: closing the dialog
#: mid-retrieve cancels the task, which still ends on its own (Qt drops the signals whose
#: receivers are gone) and is forgotten here when it finishes.
_LIVE: set[ArchiveTask] = set()

#: ``job(progress, cancelled)``: ``progress(done, total)`` and ``cancelled() -> bool``.
Job = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]


class _Runnable(QRunnable):
    def __init__(self, task: ArchiveTask) -> None:
        super().__init__()
        self._task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self._task._run()


class ArchiveTask(QObject):
    """One archive call on the thread pool. Connect to the signals, then :meth:`start`.

    ``failed`` carries the error's one-line message (an unexpected exception is logged and
    reported as such: the GUI never sees a traceback). ``finished`` follows either.
    """

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str, object)  # message, the exception
    finished = Signal()

    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.running = False
        # Connected first, so every other receiver of ``finished`` sees ``running`` False.
        self.finished.connect(self._forget)

    def start(self) -> None:
        self.running = True
        _LIVE.add(self)
        QThreadPool.globalInstance().start(_Runnable(self))

    def _forget(self) -> None:
        self.running = False
        _LIVE.discard(self)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout_s: float) -> bool:
        """For shutdown only: block until the job ended (bounded)."""
        return self._done.wait(timeout_s)

    def _run(self) -> None:
        from ovcf_viewer.io.archive import ArchiveError

        try:
            result = self._job(self.progressed.emit, self._cancel.is_set)
        except ArchiveError as exc:
            self.failed.emit(exc.message, exc)
        except ValueError as exc:  # bad search keys and the like
            self.failed.emit(" ".join(str(exc).split()), exc)
        except Exception as exc:  # a bug must not take the window down
            log.exception("archive task failed")
            self.failed.emit(f"unexpected error: {exc}", exc)
        else:
            self.succeeded.emit(result)
        finally:
            self._done.set()
            self.finished.emit()
