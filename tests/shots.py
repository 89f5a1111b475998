"""Where tests leave screenshots and rendered pages for a person to look at.

Set ``OVCF_TEST_SHOTS`` to a folder to keep them; unset, the tests take no screenshots (and
never write to a fixed path that other runs on the machine share).
"""

from __future__ import annotations

import os
from pathlib import Path


def shots_dir() -> Path | None:
    """The folder from ``$OVCF_TEST_SHOTS`` (created), or ``None`` when it is unset."""
    value = os.environ.get("OVCF_TEST_SHOTS")
    if not value:
        return None
    folder = Path(value)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
