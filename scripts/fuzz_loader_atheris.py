"""Coverage-guided fuzzing of the DICOM loader with atheris (libFuzzer), for long runs outside
CI; the bounded CI run is tests/io/test_loader_fuzz.py (hypothesis, same property).

    pip install atheris
    python scripts/fuzz_loader_atheris.py -max_total_time=3600 -rss_limit_mb=1024 \
        -timeout=5 CORPUS_DIR

CORPUS_DIR is filled with the seeds of tests/io/loader_fuzz.py on first use (the sample films'
headers, small films in every encoding, pydicom's test files). A crasher is written by
libFuzzer as crash-*; turn it into a regression test built with pydicom in
tests/io/test_loader_fuzz.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OVCF_VIEWER_MEMORY_BUDGET_MB", "256")
os.environ.setdefault("OVCF_VIEWER_HOME", tempfile.mkdtemp(prefix="ovcf-fuzz-home-"))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from tests.io import loader_fuzz  # noqa: E402

FOLDER = Path(tempfile.mkdtemp(prefix="ovcf-fuzz-"))


def one_input(data: bytes) -> None:
    loader_fuzz.check_input(data, FOLDER)


def main() -> None:
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        folder = Path(corpus[0])
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.iterdir()):
            for index, seed in enumerate(loader_fuzz.seeds()):
                (folder / f"seed-{index:03d}.dcm").write_bytes(seed)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
