"""The placement benchmark runs on the bundled sample case and meets the issue's goals:
at most 10 actions for the follow-up film once the pre-operative film is measured, carried
proposals within 1 mm of the truth on untreated levels, the treated level flagged. (When
written: 2 actions for the follow-up film, untreated median 0.02 mm, max 0.26 mm.)"""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_placement_json_meets_the_goals(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ovcf_viewer.bench_placement", "--json"],
        capture_output=True, text=True, timeout=280, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["manual_clicks"] == 54  # 6 clicks × 3 levels × 3 films
    assert figures["followup_clicks"] <= 10
    assert figures["carry_forward_clicks"] < figures["manual_clicks"]
    assert figures["carry_forward_seconds"] < figures["manual_seconds"]
    assert figures["untreated_median_mm"] < 1.0
    assert figures["untreated_max_mm"] < 1.0
    assert figures["treated_flagged"] is True
    assert set(figures["per_point_median_mm"]) == {"sa", "sm", "sp", "ia", "im", "ip"}
    assert all(v < 1.0 for v in figures["per_point_median_mm"].values())
    assert figures["carry_forward_compute_s"] > 0
