"""Autosave: every edit survives a killed process; a refusing disk keeps edits in memory."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ovcf_viewer.io.store import AnnotationStore, Autosaver, OpenElsewhereError, StoreError
from ovcf_viewer.model.landmarks import ImageAnnotations

SIX = {
    "sa": (10, 20),
    "sm": (30, 22),
    "sp": (50, 20),
    "ia": (10, 50),
    "im": (30, 48),
    "ip": (50, 50),
}


def test_every_edit_is_saved_and_restored(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite3")
    model = ImageAnnotations("1.2.840.1")
    saver = Autosaver(model, store)
    for name, xy in SIX.items():
        model.set_point("L1", name, xy)
        reopened = AnnotationStore(tmp_path / "a.sqlite3").load("1.2.840.1")
        assert reopened.vertebrae["L1"].points[name] == (float(xy[0]), float(xy[1]))
    model.set_index_level("L1", True)
    assert AnnotationStore(tmp_path / "a.sqlite3").load("1.2.840.1").index_levels == ["L1"]
    assert saver.status.ok and not saver.pending


def test_live_drag_is_not_written_until_it_ends(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite3")
    model = ImageAnnotations("9.9")
    saver = Autosaver(model, store)  # noqa: F841  (psygnal holds slots weakly)
    model.set_point("L1", "sa", (1, 1))
    model.preview_point("L1", "sa", (5, 5))
    assert store.load("9.9").vertebrae["L1"].points["sa"] == (1.0, 1.0)
    model.set_point("L1", "sa", (6, 6))
    assert store.load("9.9").vertebrae["L1"].points["sa"] == (6.0, 6.0)


def test_unwritable_location_keeps_edits_in_memory_then_writes(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    store = AnnotationStore(blocker / "a.sqlite3")
    model = ImageAnnotations("1.2.3")
    saver = Autosaver(model, store)
    seen = []
    saver.on_status(seen.append)
    model.set_point("L1", "sa", (3, 4))
    assert saver.pending and not saver.status.ok
    assert "kept in memory" in saver.status.message
    assert model.vertebrae["L1"].points["sa"] == (3.0, 4.0)
    blocker.unlink()  # the user frees the location
    assert saver.retry()
    assert saver.status.ok and [s.ok for s in seen] == [False, True]
    assert AnnotationStore(blocker / "a.sqlite3").load("1.2.3").vertebrae["L1"]


def test_full_disk_is_reported_in_words(tmp_path, monkeypatch):
    import sqlite3

    store = AnnotationStore(tmp_path / "a.sqlite3")
    model = ImageAnnotations("1.2.3")
    saver = Autosaver(model, store)
    model.set_point("L1", "sa", (1, 1))

    class FullConnection:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, *args):
            raise sqlite3.OperationalError("database or disk is full")

        def close(self):
            """Nothing to release: no real connection was opened."""

    monkeypatch.setattr(store, "_connect", lambda: FullConnection())
    model.set_point("L1", "sm", (2, 2))
    assert saver.pending and "disk" in saver.status.message and "full" in saver.status.message
    with pytest.raises(StoreError):
        store.save(model)


def test_damaged_record_does_not_stop_opening(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite3")
    store.save(ImageAnnotations("1.1"))
    store._connect().execute("UPDATE annotations SET document = '{broken'")
    assert store.load("1.1") is None


@pytest.mark.slow
def test_killed_process_mid_drag_loses_nothing(tmp_path):
    db = tmp_path / "kill.sqlite3"
    script = textwrap.dedent(
        f"""
        import sys
        from ovcf_viewer.model.landmarks import ImageAnnotations
        from ovcf_viewer.io.store import AnnotationStore, Autosaver
        model = ImageAnnotations("1.2.826.0.1.3680043.99")
        saver = Autosaver(model, AnnotationStore({str(db)!r}))
        points = {SIX!r}
        for name, xy in points.items():
            model.set_point("L1", name, xy)
        model.set_index_level("L1", True)
        for name in ("sa", "sm", "sp"):
            model.set_point("L2", name, (points[name][0], points[name][1] + 60))
        print("READY", flush=True)
        x = 0.0
        while True:  # a drag that never ends
            x += 0.25
            model.preview_point("L1", "sa", (10 + x % 50, 20))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    restored = AnnotationStore(db).load("1.2.826.0.1.3680043.99")
    assert restored is not None
    assert restored.vertebrae["L1"].points == {k: (float(x), float(y)) for k, (x, y) in SIX.items()}
    assert restored.index_levels == ["L1"]
    assert set(restored.vertebrae["L2"].points) == {"sa", "sm", "sp"}


def test_findings_are_kept_per_image(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite3")
    assert store.load_findings("1.2") is None
    store.save_findings("1.2", {"mri_oedema": True, "t_score": -3.2})
    store.save_findings("1.2", {"mri_oedema": False})
    assert AnnotationStore(tmp_path / "a.sqlite3").load_findings("1.2") == {"mri_oedema": False}


# ------------------------------------------------------------------ one writer per image


def test_second_writer_is_detected_not_last_writer_wins(tmp_path):
    """Two instances open the same film and both edit it: the first to save wins, the second
    is told the image is open elsewhere and keeps its edits in memory; nothing is lost."""
    path = tmp_path / "a.sqlite3"
    first, second = AnnotationStore(path), AnnotationStore(path)
    model_a = first.load("1.2.3") or ImageAnnotations("1.2.3")
    model_b = second.load("1.2.3") or ImageAnnotations("1.2.3")
    saver_a, saver_b = Autosaver(model_a, first), Autosaver(model_b, second)
    model_a.set_point("L1", "sa", (1, 1))
    assert saver_a.status.ok
    model_b.set_point("L2", "sa", (2, 2))
    assert not saver_b.status.ok and saver_b.pending
    assert "open elsewhere" in saver_b.status.message
    assert model_b.vertebrae["L2"].points["sa"] == (2.0, 2.0)  # kept in memory
    model_a.set_point("L1", "sm", (3, 3))  # the first instance goes on saving
    assert saver_a.status.ok
    saved = AnnotationStore(path).load("1.2.3")
    assert set(saved.vertebrae["L1"].points) == {"sa", "sm"} and "L2" not in saved.vertebrae
    with pytest.raises(OpenElsewhereError):
        second.save(model_b)


def test_reopening_adopts_the_saved_version(tmp_path):
    path = tmp_path / "a.sqlite3"
    store = AnnotationStore(path)
    model = ImageAnnotations("7.7")
    store.save(model)
    store.save(model)
    assert store.version("7.7") == 2
    other = AnnotationStore(path)
    reopened = other.load("7.7")
    other.save(reopened)  # it read version 2: its write is not a conflict
    assert other.version("7.7") == 3
    with pytest.raises(OpenElsewhereError):
        store.save(model)


def test_writer_in_another_process_is_detected(tmp_path):
    path = tmp_path / "a.sqlite3"
    here = AnnotationStore(path)
    model = here.load("5.5") or ImageAnnotations("5.5")
    saver = Autosaver(model, here)
    model.set_point("L3", "sa", (4, 4))
    assert saver.status.ok
    code = textwrap.dedent(f"""
        from ovcf_viewer.io.store import AnnotationStore
        store = AnnotationStore({str(path)!r})
        model = store.load("5.5")
        model.set_point("L4", "sa", (9, 9))
        store.save(model)
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    model.set_point("L3", "sm", (5, 5))
    assert not saver.status.ok and "open elsewhere" in saver.status.message
    saved = AnnotationStore(path).load("5.5")
    assert "L4" in saved.vertebrae  # the other process's edit was not overwritten
    assert model.vertebrae["L3"].points["sm"] == (5.0, 5.0)  # ours is still in memory


def test_store_from_before_versions_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE annotations (sop_instance_uid TEXT PRIMARY KEY, document TEXT NOT NULL,"
        " updated_at REAL NOT NULL);"
    )
    import json

    conn.execute("INSERT INTO annotations VALUES (?, ?, 0)",
                 ("3.3", json.dumps(ImageAnnotations("3.3").to_json(partial=True))))
    conn.commit()
    conn.close()
    store = AnnotationStore(path)
    model = store.load("3.3")
    assert store.version("3.3") == 1
    model.set_point("L1", "sa", (1, 1))
    store.save(model)
    assert AnnotationStore(path).load("3.3").vertebrae["L1"].points["sa"] == (1.0, 1.0)


# ------------------------------------------------------------------ damaged store


def _filled_store(path, count=40):
    store = AnnotationStore(path)
    for i in range(count):
        model = ImageAnnotations(f"1.2.{i}")
        model.set_point("L1", "sa", (i, i))
        store.save(model)
    store._connect().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def _damage(path, kind):
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    if kind == "header":
        data[:16] = b"this is not SQL!"
    elif kind == "truncated":
        data = data[: len(data) // 2 + 100]
    elif kind == "zeroed-page":
        data[page * 2 : page * 3] = bytes(page)
    elif kind == "garbage-page":
        data[page * 2 : page * 3] = bytes((i * 37) % 256 for i in range(page))
    elif kind == "schema-page":
        data[100:page] = bytes((i * 91) % 256 for i in range(page - 100))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["header", "truncated", "zeroed-page", "garbage-page",
                                  "schema-page"])
def test_damaged_store_is_moved_aside_and_recovered(tmp_path, kind):
    path = tmp_path / "a.sqlite3"
    _filled_store(path)
    _damage(path, kind)
    store = AnnotationStore(path)
    model = ImageAnnotations("9.9.9")
    saver = Autosaver(model, store)
    model.set_point("L2", "sa", (1, 2))  # a new edit is saved into the fresh store
    assert saver.status.ok, saver.status.message
    assert store.recovery_note and "moved aside" in store.recovery_note
    aside = [p for p in tmp_path.glob("a.sqlite3.damaged-*")
             if not p.name.endswith(("-wal", "-shm"))]
    assert aside and aside[0].stat().st_size > 0  # the damaged file is kept for the user
    recovered = [uid for uid in (f"1.2.{i}" for i in range(40)) if store.load(uid) is not None]
    assert f"{len(recovered)} image(s) were recovered" in store.recovery_note
    if kind in ("zeroed-page", "garbage-page"):
        assert recovered, "records on undamaged pages are recovered"
    reopened = AnnotationStore(path)
    assert reopened.load("9.9.9").vertebrae["L2"].points["sa"] == (1.0, 2.0)
    assert reopened.recovery_note is None  # the fresh store is healthy


def test_damaged_store_gives_back_image_and_study_findings_too(tmp_path):
    """Findings written after many landmark records sit on later pages: damage to an early
    page of the landmarks leaves them readable, and they are recovered with the landmarks."""
    path = tmp_path / "a.sqlite3"
    _filled_store(path)
    store = AnnotationStore(path)
    store.load_findings("1.2.39")
    store.save_findings("1.2.39", {"pain_vas": 8})
    store.load_study_findings("PAT-1", "1.3.1")
    store.save_study_findings("PAT-1", "1.3.1", {"mri_oedema": "yes"})
    store._connect().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    _damage(path, "garbage-page")
    recovered = AnnotationStore(path)
    recovered.open()
    assert recovered.recovery_note and "with 2 findings record(s)" in recovered.recovery_note
    assert recovered.load_findings("1.2.39") == {"pain_vas": 8}
    assert recovered.load_study_findings("PAT-1", "1.3.1") == {"mri_oedema": "yes"}
    recovered.save_study_findings("PAT-1", "1.3.1", {"mri_oedema": "no"})  # writable again
    assert AnnotationStore(path).load_study_findings("PAT-1", "1.3.1") == {"mri_oedema": "no"}


def test_unreadable_store_is_said_not_shown_as_empty(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = AnnotationStore(blocker / "a.sqlite3")
    with pytest.raises(StoreError, match="saved landmarks cannot be read"):
        store.load("1.1")
    model = ImageAnnotations("1.1")
    saver = Autosaver(model, store)
    assert not saver.status.ok and "could not be read" in saver.status.message
    model.set_point("L1", "sa", (1, 1))
    assert saver.pending and "not overwritten" in saver.status.message


def test_missing_or_unusable_data_folder_does_not_raise(tmp_path, monkeypatch):
    from ovcf_viewer.util.paths import config_dir, data_dir

    blocker = tmp_path / "home"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(blocker))
    assert data_dir() == blocker / "data" and config_dir() == blocker / "config"


@pytest.mark.parametrize("kind", ["image", "study"])
def test_two_instances_editing_the_same_findings(tmp_path, kind):
    """Two windows or programs read the same findings and both edit them: the second write
    is refused with "open elsewhere" (both interleavings), the first one's findings stay
    saved and the refused ones stay with their caller; after reading again it saves."""
    path = tmp_path / "a.sqlite3"

    def read(store):
        if kind == "image":
            return store.load_findings("1.2")
        return store.load_study_findings("P1", "1.2.3")

    def write(store, findings):
        if kind == "image":
            store.save_findings("1.2", findings)
        else:
            store.save_study_findings("P1", "1.2.3", findings)

    for first, second in ((0, 1), (1, 0)):
        path.unlink(missing_ok=True)
        setup = AnnotationStore(path)
        write(setup, {"t_score": -1.0})
        setup.close()
        stores = [AnnotationStore(path), AnnotationStore(path)]
        assert [read(s) for s in stores] == [{"t_score": -1.0}] * 2
        edits = [{"t_score": -2.5, "mri_oedema": True}, {"t_score": -3.1}]
        write(stores[first], edits[first])
        with pytest.raises(OpenElsewhereError, match="open elsewhere"):
            write(stores[second], edits[second])
        assert read(AnnotationStore(path)) == edits[first]  # nothing overwritten
        assert read(stores[second]) == edits[first]  # read again: now it may save
        write(stores[second], edits[second])
        assert read(AnnotationStore(path)) == edits[second]
        for store in stores:
            store.close()


def test_findings_never_read_are_not_overwritten(tmp_path):
    """A store that never read an image's findings does not write over ones saved there."""
    path = tmp_path / "a.sqlite3"
    AnnotationStore(path).save_findings("1.2", {"t_score": -2.0})
    with pytest.raises(OpenElsewhereError):
        AnnotationStore(path).save_findings("1.2", {"t_score": -1.0})
    assert AnnotationStore(path).load_findings("1.2") == {"t_score": -2.0}


def test_findings_of_a_store_from_before_versions(tmp_path):
    """A store written before findings had versions opens, reads and saves them."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE findings (sop_instance_uid TEXT PRIMARY KEY, document TEXT NOT NULL, "
        "updated_at REAL NOT NULL);"
        "INSERT INTO findings VALUES ('1.2', '{\"t_score\": -2.0}', 0);"
    )
    conn.commit()
    conn.close()
    store = AnnotationStore(path)
    assert store.load_findings("1.2") == {"t_score": -2.0}
    assert store.findings_version("findings", "1.2") == 1
    store.save_findings("1.2", {"t_score": -3.0})
    assert AnnotationStore(path).load_findings("1.2") == {"t_score": -3.0}
