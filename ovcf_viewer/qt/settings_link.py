"""Qt views following the one :class:`~ovcf_viewer.model.settings.Settings` instance.

``settings.events`` is a psygnal group; a Qt object can be deleted by Qt (a closed window with
``WA_DeleteOnClose``) while its Python wrapper lives on, so a plain connection could call into
a deleted object. :func:`follow_settings` holds the receiver weakly and drops the connection
once Qt has deleted it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import MethodType
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from ovcf_viewer.model.settings import Settings

__all__ = ["follow_settings"]


def follow_settings(settings: Settings, slot: Callable[[], object]) -> None:
    """Call ``slot`` (a bound method of a QObject) after every change of ``settings``, until
    the object is deleted."""
    if not isinstance(slot, MethodType):
        raise TypeError("follow_settings takes a bound method (held weakly)")
    method = weakref.WeakMethod(slot)

    def relay(*_info: Any) -> None:
        bound = method()
        if bound is None or (isinstance(bound.__self__, QObject)
                             and not shiboken6.isValid(bound.__self__)):
            settings.events.all.disconnect(relay)
            return
        bound()

    settings.events.all.connect(relay)
