"""The evented model base: validation on assignment, unknown keys refused, one event per
changed field."""

import pytest
from pydantic import ValidationError

from ovcf_viewer.model.base import EventedModel


class Example(EventedModel):
    height_mm: float = 0.0
    level: str = "L1"


def test_assignment_is_validated_and_announced():
    model = Example()
    seen = []
    model.events.height_mm.connect(seen.append)
    model.height_mm = 21.5
    assert seen == [21.5]
    with pytest.raises(ValidationError, match="height_mm"):
        model.height_mm = "tall"  # type: ignore[assignment]
    assert model.height_mm == 21.5


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        Example(height_mm=1.0, heigth_mm=2.0)  # type: ignore[call-arg]
