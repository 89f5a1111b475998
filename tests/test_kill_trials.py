"""A bounded run of ``scripts/kill_trials.py``: real processes editing through the annotation
store and the case autosave, killed with SIGKILL at random moments — no acknowledged edit
lost, nothing corrupt, no temporary file left once the start-up sweep ran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kill_trials.py"


@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL, /proc")
def test_kill_trials_lose_nothing():
    result = subprocess.run([sys.executable, str(SCRIPT), "--trials", "4", "--json"],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    totals = json.loads(result.stdout)
    for kind in ("store", "case"):
        sums = totals[kind]
        assert sums["trials"] == 4 and sums["acknowledged"] > 0, sums
        assert sums["lost"] == 0 and sums["corrupt"] == 0, sums
        assert sums["stray_temp_after_sweep"] == 0, sums
