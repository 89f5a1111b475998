"""Validate a written DICOM object with dicom3tools' ``dciodvfy`` (an independent checker).

Under ``CI=true`` a missing validator fails the test; elsewhere the test is skipped with the
reason (install it with ``apt-get install dicom3tools``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def assert_valid_dicom(path: Path) -> list[str]:
    """Run ``dciodvfy`` on ``path``; fail on any line containing "Error". Returns its
    warnings (lines), for tests that care."""
    exe = shutil.which("dciodvfy")
    if exe is None:
        message = "dciodvfy (Debian package dicom3tools) is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " and CI must validate every DICOM object written")
        pytest.skip(message)
    result = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=120)
    lines = (result.stdout + result.stderr).splitlines()
    errors = [line for line in lines if "Error" in line]
    assert not errors, f"dciodvfy {path.name}:\n" + "\n".join(errors)
    return [line for line in lines if line.startswith("Warning")]
