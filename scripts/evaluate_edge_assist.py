#!/usr/bin/env python3
"""Evaluate the edge assist on real radiographs with expert-placed vertebral corners.

    python scripts/evaluate_edge_assist.py --data DIR [--images N] [--seed S]

``DIR`` is a copy of the AASCE 2019 / SpineWeb dataset 16 ("boostnet_labeldata": AP spine
films as JPEG under ``data/training``, 68 expert corners per film in
``labels/training/landmarks.csv`` as 68 x fractions then 68 y fractions, with the file names in
``filenames.csv``). The data is NOT part of this repository and is not downloaded by this
script: its licence is research use only; obtain it from the challenge (or a public mirror of
it) yourself and point ``--data`` at it.

Protocol: for each expert corner, a simulated click lands ``e`` mm away in a random direction
(``e`` = 0.75 and 1.5 mm); the snap runs at that click and we count how often it moves the
point closer to the expert's corner, further away, or leaves it, and the median error before
and after. The films carry no pixel spacing (resized JPEGs), so the spacing is estimated per
film from the vertebral heights: 22 mm / median height (px) of its 17 vertebrae (T1–L5 bodies
are roughly 17–28 mm tall). AP films, not lateral: corners are corners, but the cortex differs
from a lateral endplate, so this is an approximation of the lateral use.

Prints one line per click error and, with ``--json``, one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from ovcf_viewer.measure.edge_assist import snap_corner  # noqa: E402
from ovcf_viewer.model.calibration import Calibration, CalibrationSource  # noqa: E402

ASSUMED_VERTEBRA_HEIGHT_MM = 22.0


def _films(data: Path) -> list[tuple[Path, np.ndarray]]:
    labels = data / "labels" / "training"
    names = [row[0] for row in csv.reader((labels / "filenames.csv").open())]
    rows = [[float(v) for v in row] for row in csv.reader((labels / "landmarks.csv").open())]
    if len(names) != len(rows):
        raise SystemExit(f"{labels}: {len(names)} file names but {len(rows)} landmark rows")
    out = []
    for name, row in zip(names, rows, strict=True):
        values = np.asarray(row)
        if values.size != 136:
            continue
        out.append((data / "data" / "training" / name, np.stack([values[:68], values[68:]], 1)))
    return out


def evaluate(data: Path, images: int, seed: int, errors_mm: tuple[float, ...],
             **snap_options: float) -> dict[str, dict[str, float]]:
    from skimage.io import imread

    rng = np.random.default_rng(seed)
    films = _films(data)
    chosen = rng.choice(len(films), size=min(images, len(films)), replace=False)
    tallies = {e: {"better": 0, "worse": 0, "unchanged": 0, "before": [], "after": []}
               for e in errors_mm}
    for k in sorted(chosen):
        path, fractions = films[k]
        image = imread(path)
        if image.ndim == 3:
            image = image[..., :3].mean(axis=2)
        rows, cols = image.shape
        corners = fractions * np.array([cols, rows]) - 0.5  # pixel centres at integers
        heights = [np.linalg.norm(corners[4 * v] - corners[4 * v + 2]) for v in range(17)]
        spacing = ASSUMED_VERTEBRA_HEIGHT_MM / float(np.median(heights))
        calibration = Calibration(CalibrationSource.MANUAL, spacing, spacing, "estimated")
        for corner in corners:
            for e in errors_mm:
                angle = rng.uniform(0, 2 * math.pi)
                click = corner + (e / spacing) * np.array([math.cos(angle), math.sin(angle)])
                (x, y), _ = snap_corner(image, (float(click[0]), float(click[1])), "sa",
                                        calibration, **snap_options)
                before = e
                after = float(np.hypot(x - corner[0], y - corner[1])) * spacing
                t = tallies[e]
                t["before"].append(before)
                t["after"].append(after)
                if abs(after - before) < 0.05:
                    t["unchanged"] += 1
                elif after < before:
                    t["better"] += 1
                else:
                    t["worse"] += 1
    summary = {}
    for e, t in tallies.items():
        n = len(t["after"])
        summary[f"{e:g}"] = {
            "corners": n,
            "better_pct": 100.0 * t["better"] / n,
            "worse_pct": 100.0 * t["worse"] / n,
            "unchanged_pct": 100.0 * t["unchanged"] / n,
            "median_error_before_mm": float(np.median(t["before"])),
            "median_error_after_mm": float(np.median(t["after"])),
            "p90_error_after_mm": float(np.percentile(t["after"], 90)),
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="boostnet_labeldata folder")
    parser.add_argument("--images", type=int, default=20, help="films drawn at random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--legacy", action="store_true",
                        help="the unguarded snap (no move cap, no ambiguity check)")
    args = parser.parse_args(argv)
    if not (args.data / "labels" / "training" / "landmarks.csv").is_file():
        print(f"error: {args.data} has no labels/training/landmarks.csv", file=sys.stderr)
        return 2
    options = {"max_move_mm": math.inf, "ambiguity_ratio": math.inf} if args.legacy else {}
    summary = evaluate(args.data, args.images, args.seed, (0.75, 1.5), **options)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for e, s in summary.items():
            print(f"click error {e} mm, {s['corners']} corners: closer {s['better_pct']:.0f} %, "
                  f"further {s['worse_pct']:.0f} %, unmoved {s['unchanged_pct']:.0f} %; "
                  f"median error {s['median_error_before_mm']:.2f} -> "
                  f"{s['median_error_after_mm']:.2f} mm "
                  f"(90th percentile after {s['p90_error_after_mm']:.2f} mm)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
