"""The list of recently opened files and folders: ``config_dir()/recent.json``, a JSON list of
absolute paths, most recent first, written atomically. A missing or damaged file is an empty
list (logged, never fatal)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ovcf_viewer.util.atomic import atomic_write_text
from ovcf_viewer.util.paths import config_dir

__all__ = ["MAX_RECENT", "add_recent", "clear_recent", "load_recent", "recent_path"]

log = logging.getLogger(__name__)

MAX_RECENT = 10


def recent_path() -> Path:
    return config_dir() / "recent.json"


def load_recent(path: Path | None = None) -> list[str]:
    """Recent paths, most recent first (at most :data:`MAX_RECENT`)."""
    from ovcf_viewer.util.safe_read import read_json

    path = path or recent_path()
    if not path.exists():
        return []
    try:
        raw = read_json(path)
    except (OSError, ValueError) as exc:
        log.warning("recent-files list %s unreadable (%s): starting empty", path, exc)
        return []
    if not isinstance(raw, list):
        return []
    return [item for item in raw if isinstance(item, str) and item][:MAX_RECENT]


def add_recent(entry: str | os.PathLike[str], path: Path | None = None) -> list[str]:
    """Put ``entry`` (made absolute) first, drop duplicates, save; returns the new list.
    An unwritable config folder is logged and the in-memory list still returned."""
    absolute = str(Path(entry).expanduser().absolute())
    items = [absolute] + [item for item in load_recent(path) if item != absolute]
    items = items[:MAX_RECENT]
    _save(items, path)
    return items


def clear_recent(path: Path | None = None) -> None:
    _save([], path)


def _save(items: list[str], path: Path | None) -> None:
    try:
        atomic_write_text(path or recent_path(), json.dumps(items, indent=1))
    except OSError as exc:
        log.warning("could not save the recent-files list: %s", exc)
