"""Every file in pydicom's test corpus (with pydicom-data's external files) either opens into a
sane RadiographImage and renders, or raises one of the typed ImageLoadError subclasses: never
another exception ("Errors are clear and typed")."""

from __future__ import annotations

import collections
import os
import time

import numpy as np
import pytest
from pydicom.data import get_testdata_files

from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.model.errors import ImageLoadError
from ovcf_viewer.model.image import RadiographImage
from ovcf_viewer.render.display import default_window, render

pytestmark = pytest.mark.slow

CORPUS = sorted(p for p in get_testdata_files() if os.path.isfile(p))


def _check(path: str) -> str:
    """Open and render one file; the outcome's name ("opened" or the error class)."""
    try:
        image = load_image(path)
    except ImageLoadError as exc:
        assert exc.message and "\n" not in exc.message
        return type(exc).__name__
    assert isinstance(image, RadiographImage)
    stored = image.stored
    assert stored.ndim in (2, 3) and stored.shape[0] >= 1 and stored.shape[1] >= 1
    assert stored.dtype.kind in "iu" and stored.dtype.itemsize <= 2
    if stored.ndim == 3:
        assert stored.shape[2] == 3 and stored.dtype == np.uint8 and image.photometric == "RGB"
    else:
        assert image.photometric in ("MONOCHROME1", "MONOCHROME2")
    assert 0 <= image.frame_index < image.number_of_frames
    step = max(1, max(stored.shape[:2]) // 256)
    shown = render(image, default_window(image), step=step)
    assert shown.dtype == np.uint8 and shown.shape[:2] == stored[::step, ::step].shape[:2]
    image.calibration()  # resolvable from whatever the header holds
    return "opened"


def test_corpus_is_present():
    assert len(CORPUS) > 100, "pydicom-data's corpus is expected (test extra)"


@pytest.mark.parametrize("path", CORPUS, ids=[os.path.basename(p) for p in CORPUS])
def test_corpus_file_opens_or_fails_typed(path):
    _check(path)


def test_corpus_summary(capsys):
    start = time.perf_counter()
    outcomes = collections.Counter(_check(path) for path in CORPUS)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        summary = ", ".join(f"{name} {count}" for name, count in outcomes.most_common())
        print(f"\npydicom corpus: {len(CORPUS)} files in {elapsed:.1f} s: {summary}")
    assert outcomes["opened"] >= 100
    assert elapsed < 60
