"""A block laid out for the room left on the page (:class:`FittedBlock`). reportlab is
imported when this module is, so the report sections import it inside their functions
(start-up path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.platypus import Flowable


class FittedBlock(Flowable):
    """A block whose size depends on the height available: ``build(height)`` returns the
    flowable for a given height (the film figure and its side panel, sized to the page).

    Where it lands, it takes the room left (at most ``max_height``); when less than
    ``min_height`` is left it goes to the next page whole, where it gets ``max_height``. So a
    film section follows the summary on the first page instead of leaving that page mostly
    blank, and never shrinks below a readable size."""

    def __init__(
        self, build: Callable[[float], Any], *, min_height: float, max_height: float
    ) -> None:
        super().__init__()
        self._build = build
        self.min_height = min_height
        self.max_height = max_height
        self._content: Any = None
        self._content_height = 0.0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        target = max(self.min_height, min(self.max_height, avail_height))
        content = self._build(target)
        width, height = content.wrap(avail_width, avail_height)
        if height > avail_height and target > self.min_height:
            # the side panel or heading made it taller than the figure: shrink once more
            target = max(self.min_height, target - (height - avail_height) - 1.0)
            content = self._build(target)
            width, height = content.wrap(avail_width, avail_height)
        self._content, self._content_height = content, height
        self.width, self.height = width, height
        return width, height

    def split(self, avail_width: float, avail_height: float) -> list[Any]:
        return []  # never split: on the next page it is laid out afresh

    def draw(self) -> None:
        self._content.drawOn(self.canv, 0, 0)
