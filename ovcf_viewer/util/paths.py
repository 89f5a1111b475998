"""Where the application keeps its files: each platform's own per-user folders (platformdirs:
XDG on Linux and the BSDs, ``~/Library/Application Support`` on macOS, ``%LOCALAPPDATA%`` for
data and ``%APPDATA%`` for settings on Windows). Tests and portable installs redirect
everything with ``OVCF_VIEWER_HOME`` (one folder holding ``data/`` and ``config/``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from platformdirs import PlatformDirs

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


def _platform_dirs(roaming: bool) -> PlatformDirs:
    # Made at each call so XDG_* (and HOME) set after import are honoured. ``roaming`` matters
    # on Windows only: settings in %APPDATA%, data in %LOCALAPPDATA% (as before platformdirs).
    return PlatformDirs(_APP, appauthor=False, roaming=roaming)


def data_dir() -> Path:
    """User data (annotation store, cases, training history): created on first use when
    possible (never raises: see :func:`_ensure`)."""
    override = _home_override()
    if override is not None:
        path = override / "data"
    else:
        path = Path(_platform_dirs(roaming=False).user_data_dir)
    return _ensure(path)


def config_dir() -> Path:
    """User settings and the recent-files list: created on first use when possible (never
    raises)."""
    override = _home_override()
    if override is not None:
        path = override / "config"
    else:
        path = Path(_platform_dirs(roaming=True).user_config_dir)
    return _ensure(path)
