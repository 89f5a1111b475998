"""Before the GUI starts on Linux: are the system libraries Qt needs present?

The PySide6 wheels bring Qt but use the system's EGL/OpenGL, font, keyboard and (for the X11
platform plugin) xcb libraries. Without them Qt aborts with "could not load the Qt platform
plugin" or a bare ``ImportError`` naming one ``.so``; a newcomer gets instead one line naming
the command that installs all of them. Nothing here imports Qt.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

__all__ = ["BASE_LIBRARIES", "XCB_LIBRARIES", "missing_packages", "advice"]

#: Shared objects Qt's own libraries link against, with the Debian/Ubuntu package of each.
BASE_LIBRARIES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
#: What the X11 (xcb) platform plugin loads on top, the usual cause of the abort.
XCB_LIBRARIES: dict[str, str] = {
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-image.so.0": "libxcb-image0",
}


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def _uses_xcb(environ: dict[str, str] | os._Environ[str]) -> bool:
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")  # Qt picks X11 unless a Wayland session


def missing_packages(
    environ: dict[str, str] | os._Environ[str] | None = None,
    loadable: Callable[[str], bool] = _loadable,
    platform: str = sys.platform,
) -> list[str]:
    """Debian package names of the libraries Qt will need here and cannot load (empty off
    Linux, where the wheels carry what they need)."""
    if not platform.startswith("linux"):
        return []
    environ = os.environ if environ is None else environ
    wanted = dict(BASE_LIBRARIES)
    if _uses_xcb(environ):
        wanted.update(XCB_LIBRARIES)
    return [package for soname, package in wanted.items() if not loadable(soname)]


def advice(packages: list[str]) -> str:
    """The one line a newcomer reads: what is missing and the command that installs it."""
    return (
        "ovcf-viewer: Qt needs system libraries this machine lacks; install them with: "
        f"sudo apt-get install {' '.join(packages)}  (Debian/Ubuntu; other distributions "
        "have packages of the same names)"
    )
