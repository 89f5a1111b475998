"""The base of the project's validated, evented models (settings, findings, rules files and
exchange documents), after ndv's ``_base_model``: pydantic v2 fields validated on creation and
on every assignment, unknown keys refused, and a psygnal event group so a view can connect to
``model.events.<field>`` and mirror one field without polling.

Error messages name the key path and the expected type (pydantic's own); readers of files add
the file name (and the line, where they know it).
"""

from __future__ import annotations

from typing import ClassVar

from psygnal import SignalGroupDescriptor
from pydantic import BaseModel, ConfigDict

__all__ = ["EventedModel"]


class EventedModel(BaseModel):
    """Validated fields plus ``events``: one signal per field, emitted with the new value."""

    model_config = ConfigDict(
        validate_assignment=True,
        validate_default=True,
        extra="forbid",
    )
    events: ClassVar[SignalGroupDescriptor] = SignalGroupDescriptor()
