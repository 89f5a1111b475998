"""Kill -9 trials of the two edit paths: the annotation store (``Autosaver`` over
``AnnotationStore``) and the case autosave (``CaseSession``). Each trial starts a real
process that edits as fast as it can and prints every edit once it is acknowledged
(written), kills it at a random moment, and checks what is on disk: acknowledged edits lost,
stores or documents that do not open (corrupt), and temporary files left (before the start
sweep) and after it.

    python scripts/kill_trials.py --trials 40 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORE_CHILD = """
import sys
from ovcf_viewer.io.store import AnnotationStore, Autosaver
from ovcf_viewer.model.landmarks import ImageAnnotations
store = AnnotationStore()
model = ImageAnnotations("1.2.3")
saver = Autosaver(model, store)
i = 0
while True:
    i += 1
    model.set_point("L1", "sa", (float(i), 1.0))
    if not saver.pending:
        print(i, flush=True)
"""

CASE_CHILD = """
from ovcf_viewer.model.case import Case, CaseSession
session = CaseSession(Case("case-trial"))
i = 0
while True:
    i += 1
    session.update(notes=str(i))
    if not session.pending:
        print(i, flush=True)
"""


def _trial(kind: str, home: Path, rng: random.Random) -> dict[str, int]:
    env = dict(os.environ, OVCF_VIEWER_HOME=str(home))
    child = STORE_CHILD if kind == "store" else CASE_CHILD
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True,
                            env=env)
    first = proc.stdout.readline()  # started and writing
    time.sleep(rng.uniform(0.0, 0.5))
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    acked = [int(x) for x in (first + out).split() if x.isdigit()]
    last = max(acked) if acked else 0
    result = {"acknowledged": len(acked), "lost": 0, "corrupt": 0, "stray_temp": 0,
              "stray_temp_after_sweep": 0}
    if kind == "store":
        from ovcf_viewer.io.store import AnnotationStore

        os.environ["OVCF_VIEWER_HOME"] = str(home)
        store = AnnotationStore()
        try:
            model = store.load("1.2.3")
            saved = int(model.vertebrae["L1"].points["sa"][0]) if model else 0
        except Exception:  # noqa: BLE001 (any failure to open counts as corrupt)
            result["corrupt"] = 1
            saved = 0
        finally:
            store.close()
        if store.recovery_note:
            result["corrupt"] = 1
        folder = home / "data"
    else:
        from ovcf_viewer.model.case import autosave_path, load_case

        os.environ["OVCF_VIEWER_HOME"] = str(home)
        try:
            case = load_case(autosave_path("case-trial"))
            saved = int(case.notes or 0)
        except Exception:  # noqa: BLE001
            result["corrupt"] = 1
            saved = 0
        folder = home / "data" / "cases"
    result["lost"] = max(0, last - saved)
    result["stray_temp"] = len(list(folder.glob(".*.tmp")))
    from ovcf_viewer.services.recovery import sweep_temp_files

    sweep_temp_files()
    result["stray_temp_after_sweep"] = len(list(folder.glob(".*.tmp")))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    totals: dict[str, dict[str, int]] = {}
    for kind in ("store", "case"):
        sums = {"trials": 0, "acknowledged": 0, "lost": 0, "corrupt": 0, "stray_temp": 0,
                "stray_temp_after_sweep": 0}
        for _ in range(args.trials):
            with tempfile.TemporaryDirectory() as home:
                for key, value in _trial(kind, Path(home), rng).items():
                    sums[key] += value
                sums["trials"] += 1
        totals[kind] = sums
    if args.json:
        print(json.dumps(totals, indent=2))
    else:
        for kind, sums in totals.items():
            print(kind, " ".join(f"{k}={v}" for k, v in sums.items()))
    bad = any(s["lost"] or s["corrupt"] or s["stray_temp_after_sweep"] for s in totals.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
