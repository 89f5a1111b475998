"""Temporary files of atomic writes: none left after a normal write; after a killed writer
only ours and only stale ones are swept — never one a live process is still writing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ovcf_viewer.util.atomic import atomic_write_text, sweep_stale_temp_files
from ovcf_viewer.util.process import process_alive, process_start_time

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="/proc, SIGKILL")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_normal_write_leaves_no_temporary_file(tmp_path):
    for i in range(20):
        atomic_write_text(tmp_path / "case.json", f"{i}\n", private=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.json"]


def test_the_temporary_file_names_its_writer(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(source, target):
        seen.append(os.path.basename(source))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(tmp_path / "case.json", "x")
    assert seen and seen[0].startswith(f".case.json.{os.getpid()}.") and seen[0].endswith(".tmp")


def test_process_alive_tells_dead_zombie_and_reused_ids():
    assert process_alive(os.getpid(), process_start_time(os.getpid()))
    assert not process_alive(_dead_pid())
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while (os.path.exists(f"/proc/{zombie.pid}/stat")
           and open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
           and time.monotonic() < deadline):
        time.sleep(0.01)
    assert not process_alive(zombie.pid)  # exited, not yet reaped
    zombie.wait()
    started = process_start_time(os.getpid())
    assert started is not None
    assert not process_alive(os.getpid(), started - 3600)  # the id of a process gone since


def test_sweep_removes_only_stale_temporary_files_of_ours(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()
        names = {
            "dead": f".case-1.json.{dead}.abcd1234.tmp",          # killed writer: swept
            "live": f".case-2.json.{live.pid}.abcd1234.tmp",      # being written: kept
            "self": f".case-3.json.{os.getpid()}.abcd1234.tmp",   # this process: kept
            "legacy-new": ".case-4.json.k2j4h5g6.tmp",             # no pid, fresh: kept
            "legacy-old": ".case-5.json.q9w8e7r6.tmp",             # no pid, old: swept
            "foreign": "notes.tmp",                                # not our name: kept
            "doc": "case-1.json",                                  # a document: kept
        }
        for name in names.values():
            (tmp_path / name).write_text("{")
        old = time.time() - 2 * 3600
        os.utime(tmp_path / names["legacy-old"], (old, old))
        removed = sweep_stale_temp_files(tmp_path)
        assert sorted(p.name for p in removed) == sorted([names["dead"], names["legacy-old"]])
        left = {p.name for p in tmp_path.iterdir()}
        assert left == set(names.values()) - {names["dead"], names["legacy-old"]}
    finally:
        live.kill()
        live.wait()


def test_a_reused_process_id_does_not_protect_a_stale_file(tmp_path):
    """The writer died and its id now belongs to a process started after the file was
    written: the file is stale."""
    path = tmp_path / f".case.json.{os.getpid()}.abcd1234.tmp"
    path.write_text("{")
    started = process_start_time(os.getpid())
    before = started - 60
    os.utime(path, (before, before))
    assert sweep_stale_temp_files(tmp_path) == [path]


def test_sweep_of_a_folder_that_cannot_be_listed_says_nothing(tmp_path):
    assert sweep_stale_temp_files(tmp_path / "missing") == []


def test_killed_writers_leave_temporary_files_that_the_sweep_removes(tmp_path):
    """Kill a process that writes atomically in a loop: whatever it leaves is either the
    complete document or a temporary file the sweep removes; the document always parses."""
    script = (
        "import json, sys\n"
        "from ovcf_viewer.util.atomic import atomic_write_text\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        f"    atomic_write_text({str(tmp_path / 'doc.json')!r}, json.dumps({{'i': i, "
        "'pad': 'x' * 200000}))\n"
        "    if i == 3: print('go', flush=True)\n"
    )
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "go"
        time.sleep(0.05)  # let the kill land at a random point of a write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        import json

        assert json.loads((tmp_path / "doc.json").read_text())["i"] >= 3
        sweep_stale_temp_files(tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]
