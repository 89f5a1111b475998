"""Where the application keeps its files. Tests and portable installs redirect everything
with ``OVCF_VIEWER_HOME`` (one folder holding ``data/`` and ``config/``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["config_dir", "data_dir"]

_APP = "ovcf-viewer"

log = logging.getLogger(__name__)


def _ensure(path: Path) -> Path:
    """Create ``path`` if it can be; a read-only or unusable location is logged, not raised:
    the program starts, reads what it can, and every save reports its own failure."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("cannot create %s (%s): nothing can be saved there", path,
                    exc.strerror or exc)
    return path


def _home_override() -> Path | None:
    value = os.environ.get("OVCF_VIEWER_HOME")
    return Path(value) if value else None


def data_dir() -> Path:
    """User data (annotation store, cases, training history): created on first use when
    possible (never raises: see :func:`_ensure`)."""
    override = _home_override()
    if override is not None:
        path = override / "data"
    elif os.name == "nt":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home())) / _APP
    else:
        path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / _APP
    return _ensure(path)


def config_dir() -> Path:
    """User settings: created on first use when possible (never raises)."""
    override = _home_override()
    if override is not None:
        path = override / "config"
    elif os.name == "nt":
        path = Path(os.environ.get("APPDATA", Path.home())) / _APP
    else:
        path = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / _APP
    return _ensure(path)
