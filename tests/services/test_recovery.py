"""What start-up finds: an unusable data folder (read-only, or a file in the way), a damaged
store moved aside (and where), cases not closed normally, stale temporary files."""

from __future__ import annotations

import os
import sys

import pytest

from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.model.landmarks import ImageAnnotations
from ovcf_viewer.services.recovery import check_at_start, data_folder_problem
from ovcf_viewer.util.paths import data_dir
from tests.read_only import read_only_folder


def test_a_usable_data_folder_is_fine():
    state = check_at_start(AnnotationStore())
    assert state.data_folder is None and state.damaged_store is None
    assert state.unclosed == () and state.swept == ()



@pytest.mark.skipif(sys.platform != "linux", reason="read-only folder helpers")
def test_a_read_only_data_folder_is_said(tmp_path):
    folder = data_dir()
    with read_only_folder(folder):
        problem = data_folder_problem()
        state = check_at_start(AnnotationStore())
    assert problem == f"Edits are kept in memory only: the data folder {folder} is read-only"
    assert state.data_folder == problem
    assert list(folder.iterdir()) == []  # nothing written, no probe left


def test_a_data_folder_that_cannot_be_created_is_said(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "data").write_text("a file where the folder should be")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(home))
    state = check_at_start(AnnotationStore())
    assert state.data_folder == (
        f"Edits are kept in memory only: the data folder {home / 'data'} cannot be created: "
        "a file of that name is in the way")


def test_a_damaged_store_is_moved_aside_and_said_where():
    path = data_dir() / "annotations.sqlite3"
    store = AnnotationStore(path)
    for i in range(5):
        model = ImageAnnotations(f"1.2.{i}")
        model.set_point("L1", "sa", (i, i))
        store.save(model)
    store.close()
    data = bytearray(path.read_bytes())
    data[:16] = b"this is not SQL!"
    path.write_bytes(bytes(data))
    fresh = AnnotationStore(path)
    state = check_at_start(fresh)
    assert state.data_folder is None
    assert fresh.moved_aside is not None and fresh.moved_aside.is_file()
    assert state.damaged_store and "moved aside" in state.damaged_store
    assert f"The damaged copy is kept at {fresh.moved_aside}" in state.damaged_store
    assert fresh.moved_aside.read_bytes()[:16] == b"this is not SQL!"  # kept as it was


def test_stale_temporary_files_are_swept_at_start():
    cases = data_dir() / "cases"
    cases.mkdir()
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale = cases / f".case-1.json.{proc.pid}.abcd1234.tmp"
    stale.write_text("{")
    mine = cases / f".case-2.json.{os.getpid()}.abcd1234.tmp"
    mine.write_text("{")
    state = check_at_start(None)
    assert state.swept == (stale,)
    assert not stale.exists() and mine.exists()
