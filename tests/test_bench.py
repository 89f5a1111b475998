"""The benchmark runs end to end and reports every figure asks for (keys and
positive numbers only: timings depend on the machine)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest


@pytest.mark.qt  # the benchmark drives the Qt view (offscreen)
def test_bench_json_reports_all_figures(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-m", "ovcf_viewer.bench", "--json", "--size", "128", "--runs", "2",
         "--startup-runs", "1"],
        capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in ("open_ratio", "wl_ms", "wl_ratio_vs_pyqtgraph", "startup_s",
                "j2k_first_paint_ratio", "j2k_full_ratio", "case3_first_paint_ratio",
                "case3_max_stall_ms", "jpegls_open_ratio", "jpeg_lossless_open_ratio"):
        assert key in figures
        assert math.isfinite(figures[key]) and figures[key] > 0, key
    if os.path.exists("/proc/self/statm"):
        # Memory of a 128 × 128 film is within the allocator's noise: present and finite.
        for key in ("rss_per_film_ratio", "j2k_rss_per_film_ratio"):
            assert math.isfinite(figures[key]), key
    assert figures["image_size"] == 128


def test_bench_rejects_a_silly_size():
    result = subprocess.run(
        [sys.executable, "-m", "ovcf_viewer.bench", "--size", "4"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "--size" in result.stderr
