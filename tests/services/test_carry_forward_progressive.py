"""Carry forward registers films on their pixel values: a film still decoding progressively
is registered on its full resolution, never on the placeholder."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ovcf_viewer.io import progressive
from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.io.progressive import open_progressive
from ovcf_viewer.model.errors import CorruptPixelDataError
from ovcf_viewer.services.carry_forward import film_of

from ..io.progressive_films import film, require_system_openjpeg

require_system_openjpeg()


def test_film_of_a_decoding_image_waits_for_full_resolution(tmp_path, monkeypatch):
    event = threading.Event()
    original = progressive._decode_full

    def held(*args):
        event.wait(30)
        return original(*args)

    monkeypatch.setattr(progressive, "_decode_full", held)
    path = film(tmp_path, "jpeg2000")
    image, _ = open_progressive(path, (130, 100))
    assert not image.pixels_ready()
    threading.Timer(0.2, event.set).start()
    waited = film_of(image)
    assert image.pixels_ready()
    whole = film_of(load_image(path))
    np.testing.assert_array_equal(np.asarray(waited.pixels), np.asarray(whole.pixels))


def test_film_of_a_failed_decode_raises_the_loaders_error(tmp_path, monkeypatch):
    def fails(ds, codestream):
        raise CorruptPixelDataError(None, "pixel data cannot be decoded: damaged")

    monkeypatch.setattr(progressive, "_imagecodecs_lossless", fails)
    image, _ = open_progressive(film(tmp_path, "jpeg2000"), (130, 100))
    with pytest.raises(CorruptPixelDataError):
        film_of(image)
