"""How many clicks placement takes, and how good the proposals are:
``python -m ovcf_viewer.bench_placement [--json]``.

On the bundled sample case (``sample_dicom/case-0001``: pre-operative, post-operative and
follow-up films, ground truth known exactly), a simulated reader measures T12–L2 on the three
films in three ways:

* **manual** — six precise clicks per vertebra on every film;
* **carry-forward** — six clicks per vertebra on the pre-operative film, then on the
  post-operative film the landmarks carried forward from the pre-operative one, and on the
  follow-up film those carried forward from the post-operative one;
* **two-click + carry-forward** — two clicks per vertebra (``sa``, ``ip``) on the
  pre-operative film, the rest proposed from the neighbours' shape, then carried forward.

The simulated reader drags every proposed point that is more than :data:`CORRECT_ABOVE_MM`
from the truth onto it (one precise click each; dragging accepts that vertebra) and accepts
the rest with one "accept all" (plus one accept per flagged vertebra left undragged).

Time model (stated, not measured on people): a precise click or drag costs
:data:`CLICK_S` seconds, an accept :data:`ACCEPT_S` seconds; the computation's own time is
measured and printed separately.

``--json`` prints one object; its keys are a public interface (add, never rename):
``manual_clicks``, ``manual_seconds``, ``carry_forward_clicks``, ``carry_forward_seconds``,
``two_click_clicks``, ``two_click_seconds``, ``followup_clicks`` and
``followup_seconds`` (carry-forward scenario, follow-up film only), ``postop_clicks``
(post-operative film only), ``untreated_median_mm``, ``untreated_max_mm``,
``treated_median_mm``, ``per_point_median_mm`` (point kind → median over the carried-forward
proposals on untreated levels), ``two_click_per_point_median_mm``, ``treated_flagged``
(whether L1 was flagged on both carried films) and ``carry_forward_compute_s``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from importlib import resources
from typing import Any

LEVELS = ("T12", "L1", "L2")
TREATED = "L1"
CLICK_S = 1.2
ACCEPT_S = 0.6
CORRECT_ABOVE_MM = 1.0
FILMS = ("pre", "post", "followup")
POINTS = ("sa", "sm", "sp", "ia", "im", "ip")


def _load(name: str):
    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.model.landmarks import ImageAnnotations

    folder = resources.files("ovcf_viewer.samples").joinpath("case-0001")
    with resources.as_file(folder.joinpath(f"{name}.dcm")) as path:
        image = load_image(path)
    truth = ImageAnnotations.from_json(json.loads(folder.joinpath(f"{name}.json").read_text()))
    return image, truth


def _film(image):
    from ovcf_viewer.measure.carry_forward import film_from_pixels

    calibration = image.calibration()
    spacing = (calibration.row_mm, calibration.col_mm) if calibration.is_calibrated else (
        None, None)
    return film_from_pixels(image.stored, image.photometric, *spacing), calibration


def _review(proposed: dict[str, dict[str, tuple[float, float]]], truth, calibration,
            flagged: set[str]) -> tuple[int, int, dict[str, list[float]]]:
    """Simulated reader: ``(precise clicks, accepts, errors per point kind)``."""
    clicks = 0
    accepts = 0
    errors: dict[str, list[float]] = {}
    unflagged_undragged = False
    for level, points in proposed.items():
        dragged = False
        for name, xy in points.items():
            error = calibration.distance(xy, truth.vertebrae[level].points[name])
            errors.setdefault(name, []).append(error)
            if error > CORRECT_ABOVE_MM:
                clicks += 1
                dragged = True
        if not dragged:
            if level in flagged:
                accepts += 1
            else:
                unflagged_undragged = True
    accepts += int(unflagged_undragged)  # one "accept all"
    return clicks, accepts, errors


def run() -> dict[str, Any]:
    from ovcf_viewer.measure.carry_forward import carry_forward
    from ovcf_viewer.measure.placement import complete_two_clicks
    from ovcf_viewer.model.landmarks import ImageAnnotations

    loaded = {name: _load(name) for name in FILMS}
    films = {name: _film(image) for name, (image, _) in loaded.items()}
    truth = {name: t for name, (_, t) in loaded.items()}

    def landmarks(model) -> dict[str, dict[str, tuple[float, float]]]:
        return {lv: dict(model.vertebrae[lv].points) for lv in LEVELS}

    manual_clicks = 6 * len(LEVELS) * len(FILMS)

    untreated: dict[str, list[float]] = {}
    treated: list[float] = []
    flagged_everywhere = True
    compute_s = 0.0

    def carry(source_points, source_name: str, target_name: str):
        nonlocal flagged_everywhere, compute_s
        film_s, _ = films[source_name]
        film_t, calibration_t = films[target_name]
        start = time.perf_counter()
        result = carry_forward(film_s, source_points, film_t)
        compute_s += time.perf_counter() - start
        proposed = {lv: p.points for lv, p in result.proposals.items()}
        flagged = set(result.flagged_levels)
        flagged_everywhere &= TREATED in flagged
        clicks, accepts, errors = _review(proposed, truth[target_name], calibration_t, flagged)
        return clicks, accepts, errors, proposed, flagged

    # Carry-forward scenario: pre-op by hand (exact), post-op and follow-up carried.
    pre_points = landmarks(truth["pre"])
    post_clicks, post_accepts, post_err, _, _ = carry(pre_points, "pre", "post")
    post_points = landmarks(truth["post"])  # after the reader's corrections: on the truth
    fu_clicks, fu_accepts, fu_err, _, _ = carry(post_points, "post", "followup")
    for errors in (post_err, fu_err):
        for name, values in errors.items():
            # errors lists follow the level order T12, L1, L2 (LEVELS)
            for level, value in zip(LEVELS, values, strict=True):
                if level == TREATED:
                    treated.append(value)
                else:
                    untreated.setdefault(name, []).append(value)
    cf_clicks = 6 * len(LEVELS) + post_clicks + fu_clicks
    cf_accepts = post_accepts + fu_accepts

    # Two-click scenario on the pre-op film: sa and ip clicked exactly, the rest proposed
    # from the neighbours' shape (the first level from a typical body).
    image, _ = loaded["pre"]
    _, calibration_pre = films["pre"]
    model = ImageAnnotations("bench", "pre.dcm", rows=image.rows, columns=image.columns)
    model.set_index_level(TREATED, True)  # the reader knows the fractured level
    two_click_errors: dict[str, list[float]] = {}
    two_clicks = 0
    two_accepts = 0
    for level in LEVELS:
        for name in ("sa", "ip"):
            model.set_point(level, name, truth["pre"].vertebrae[level].points[name])
            two_clicks += 1
        complete_two_clicks(model, level, col_mm=calibration_pre.col_mm,
                            row_mm=calibration_pre.row_mm)
        dragged = False
        for name in ("sm", "sp", "ia", "im"):
            error = calibration_pre.distance(model.vertebrae[level].points[name],
                                             truth["pre"].vertebrae[level].points[name])
            two_click_errors.setdefault(name, []).append(error)
            if error > CORRECT_ABOVE_MM:
                model.set_point(level, name, truth["pre"].vertebrae[level].points[name])
                two_clicks += 1
                dragged = True
        if not dragged:
            model.accept_proposal(level)
            two_accepts += 1
    two_total_clicks = two_clicks + post_clicks + fu_clicks
    two_total_accepts = two_accepts + post_accepts + fu_accepts

    all_untreated = [v for values in untreated.values() for v in values]
    return {
        "manual_clicks": manual_clicks,
        "manual_seconds": manual_clicks * CLICK_S,
        "carry_forward_clicks": cf_clicks + cf_accepts,
        "carry_forward_seconds": cf_clicks * CLICK_S + cf_accepts * ACCEPT_S,
        "two_click_clicks": two_total_clicks + two_total_accepts,
        "two_click_seconds": two_total_clicks * CLICK_S + two_total_accepts * ACCEPT_S,
        "followup_clicks": fu_clicks + fu_accepts,
        "followup_seconds": fu_clicks * CLICK_S + fu_accepts * ACCEPT_S,
        "postop_clicks": post_clicks + post_accepts,
        "untreated_median_mm": statistics.median(all_untreated),
        "untreated_max_mm": max(all_untreated),
        "treated_median_mm": statistics.median(treated),
        "treated_max_mm": max(treated),
        "per_point_median_mm": {n: statistics.median(untreated[n]) for n in POINTS},
        "two_click_per_point_median_mm": {
            n: statistics.median(v) for n, v in two_click_errors.items()
        },
        "treated_flagged": flagged_everywhere,
        "carry_forward_compute_s": compute_s,
    }


def _report(r: dict[str, Any]) -> str:
    per_point = ", ".join(f"{n} {v:.2f}" for n, v in r["per_point_median_mm"].items())
    two = ", ".join(f"{n} {v:.2f}" for n, v in r["two_click_per_point_median_mm"].items())
    return "\n".join([
        f"T12–L2 on pre-op, post-op and follow-up (sample case); {CLICK_S} s a precise click, "
        f"{ACCEPT_S} s an accept; points more than {CORRECT_ABOVE_MM} mm off are dragged",
        f"  manual (6 clicks × 3 levels × 3 films): {r['manual_clicks']} actions, "
        f"{r['manual_seconds']:.1f} s",
        f"  six-point pre-op + carry-forward:       {r['carry_forward_clicks']} actions, "
        f"{r['carry_forward_seconds']:.1f} s (post-op film alone: {r['postop_clicks']}, "
        f"follow-up film alone: {r['followup_clicks']}, {r['followup_seconds']:.1f} s)",
        f"  two-click pre-op + carry-forward:       {r['two_click_clicks']} actions, "
        f"{r['two_click_seconds']:.1f} s",
        f"carried-forward proposals, untreated levels: median {r['untreated_median_mm']:.2f} mm, "
        f"max {r['untreated_max_mm']:.2f} mm; per point (median, mm): {per_point}",
        f"treated level L1: median {r['treated_median_mm']:.2f} mm, max "
        f"{r['treated_max_mm']:.2f} mm; flagged on both carried films: {r['treated_flagged']}",
        f"two-click proposals on the pre-op film (median, mm): {two}",
        f"carry-forward computation: {r['carry_forward_compute_s']:.1f} s for two films",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ovcf_viewer.bench_placement",
        description="Clicks and proposal accuracy of quick placement on the sample case.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    results = run()
    print(json.dumps(results, indent=2) if args.json else _report(results))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
