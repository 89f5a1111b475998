"""What a new user meets first on the command line: a pipe closed by ``head`` is not an
error, files the user asks for get ordinary permissions, a report that cannot evaluate the
suitability it was asked for is refused, and missing Qt system libraries are named with the
command that installs them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import ovcf_viewer.suitability.rules as suitability  # where load_rules reads BUNDLED_RULES_PATH
from ovcf_viewer import system_libraries
from ovcf_viewer.cli import main
from ovcf_viewer.util.atomic import atomic_write_bytes

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom" / "case-0001"
FINDINGS = REPO / "docs" / "examples" / "case-0001-preop-findings.json"


def test_measure_into_a_closed_pipe_ends_quietly():
    """``ovcf-viewer measure … --json | head -c 0``: the reader is gone before the first
    write; exit 0 and nothing on stderr (no BrokenPipeError traceback)."""
    cmd = [sys.executable, "-m", "ovcf_viewer.cli", "measure", str(SAMPLE / "pre.dcm"),
           "--annotations", str(SAMPLE / "pre.json"), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # before the interpreter has even started
    err = proc.stderr.read() if proc.stderr is not None else b""
    proc.wait(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()
    assert proc.returncode == 0


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o027])
def test_written_files_follow_the_umask_and_private_ones_stay_private(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "report.pdf", b"%PDF")
        atomic_write_bytes(tmp_path / "autosave.json", b"{}", private=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.pdf").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "autosave.json").stat().st_mode) == 0o600


def test_report_refuses_when_asked_suitability_cannot_be_evaluated(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(suitability, "BUNDLED_RULES_PATH", tmp_path / "gone.toml")
    out = tmp_path / "report.pdf"
    status = main(["report", str(SAMPLE / "pre.json"), "--findings", str(FINDINGS),
                   "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert not out.exists(), "no degraded clinical document is written"
    assert len(err.splitlines()) == 1
    assert "suitability cannot be evaluated" in err and "gone.toml" in err


def test_report_without_findings_needs_no_rules(tmp_path, capsys, monkeypatch):
    """No findings asked for: the report is written and says suitability was not evaluated."""
    monkeypatch.setattr(suitability, "BUNDLED_RULES_PATH", tmp_path / "gone.toml")
    out = tmp_path / "report.pdf"
    assert main(["report", str(SAMPLE / "pre.json"), "-o", str(out)]) == 0
    assert out.stat().st_size > 0


def test_suitability_command_with_unreadable_bundled_rules_says_so(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.setattr(suitability, "BUNDLED_RULES_PATH", tmp_path / "gone.toml")
    status = main(["suitability", str(SAMPLE / "pre.json"), "--findings", str(FINDINGS)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "gone.toml" in err and len(err.splitlines()) == 1


def test_missing_qt_libraries_are_named_with_the_install_command():
    absent = {"libxcb-cursor.so.0", "libEGL.so.1"}
    missing = system_libraries.missing_packages(
        environ={}, loadable=lambda so: so not in absent, platform="linux")
    assert missing == ["libegl1", "libxcb-cursor0"]
    line = system_libraries.advice(missing)
    assert "\n" not in line and "sudo apt-get install libegl1 libxcb-cursor0" in line


def test_offscreen_and_wayland_need_no_xcb_libraries():
    def only_base(so: str) -> bool:
        return so in system_libraries.BASE_LIBRARIES

    for environ in ({"QT_QPA_PLATFORM": "offscreen"}, {"WAYLAND_DISPLAY": "wayland-0"}):
        assert system_libraries.missing_packages(environ, only_base, "linux") == []
    assert system_libraries.missing_packages({}, lambda so: False, "darwin") == []


def test_gui_start_without_qt_libraries_prints_one_line(capsys, monkeypatch):
    monkeypatch.setattr(system_libraries, "missing_packages", lambda: ["libxcb-cursor0"])
    assert main([]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "apt-get install libxcb-cursor0" in err
