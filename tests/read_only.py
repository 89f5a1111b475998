"""A folder that refuses writes, for any user: ``chmod`` for an ordinary user; for root
(whom permissions do not stop, as in CI) the immutable attribute (``chattr +i``) or a
read-only tmpfs mounted over it. Removed again when the test ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _refuses_writes(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return True
    probe.unlink()
    return False


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """Make the existing ``folder`` refuse writes for the duration of the block."""
    undo: list[list[str]] = []
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(mode)
        return
    if shutil.which("chattr") and subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        undo.append(["chattr", "-i", str(folder)])
    elif subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(folder)],
                        capture_output=True).returncode == 0:
        undo.append(["umount", str(folder)])
    try:
        if not undo or not _refuses_writes(folder):
            if os.environ.get("CI") == "true":
                pytest.fail("cannot make a read-only folder as root (no chattr +i, no mount)")
            pytest.skip("cannot make a read-only folder as root here (no chattr +i, no mount)")
        yield folder
    finally:
        for command in undo:
            subprocess.run(command, check=False, capture_output=True)
