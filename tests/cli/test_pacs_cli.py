"""``ovcf-viewer pacs`` through the real entry point, against a real Orthanc: the JSON keys
of ``find``, retrieve by C-GET / C-MOVE / WADO-RS into a folder, send, and one line with exit
status 2 for every failure."""

from __future__ import annotations

import json

import numpy as np
import pydicom

from ovcf_viewer.cli import main
from ovcf_viewer.model.settings import load_settings, save_settings
from tests.dicom_builders import make_file
from tests.io.archive.helpers import SilentServer, assert_same_pixels, originals_by_uid
from tests.orthanc import ORTHANC_AET, SAMPLES, TEST_AET, free_port

PRE_STUDY = str(pydicom.dcmread(SAMPLES[2], stop_before_pixels=True).StudyInstanceUID)
FIND_KEYS = {"study_instance_uid", "patient_id", "patient_name", "study_date",
             "study_description", "modalities", "number_of_instances"}


def _dimse(orthanc, *extra):
    return ["--host", "127.0.0.1", "--port", str(orthanc.dicom_port), "--called-aet",
            ORTHANC_AET, "--calling-aet", TEST_AET, "--timeout", "10", *extra]


def _one_line_failure(capsys, action):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"ovcf-viewer pacs {action}: ")
    assert "Traceback" not in captured.err
    return lines[0]


def test_echo_dimse_and_dicomweb(orthanc, capsys):
    assert main(["pacs", "echo", *_dimse(orthanc)]) == 0
    assert "answered in" in capsys.readouterr().out
    assert main(["pacs", "echo", "--dicomweb", orthanc.dicomweb_url()]) == 0


def test_find_json_keys_and_values(orthanc, capsys):
    assert main(["pacs", "find", "--json", "--study-date", "20260105", *_dimse(orthanc)]) == 0
    studies = json.loads(capsys.readouterr().out)
    assert len(studies) == 1 and set(studies[0]) == FIND_KEYS
    study = studies[0]
    assert study["study_instance_uid"] == PRE_STUDY
    assert (study["patient_id"], study["patient_name"]) == ("OVCF-0001", "SYNTHETIC^OVCF")
    assert (study["modalities"], study["number_of_instances"]) == (["DX"], 2)
    assert main(["pacs", "find", "--json", "--study-date", "20260105",
                 "--dicomweb", orthanc.dicomweb_url()]) == 0
    assert json.loads(capsys.readouterr().out) == studies


def test_find_text_lists_newest_first(orthanc, capsys):
    assert main(["pacs", "find", "--patient-id", "OVCF-0001", *_dimse(orthanc)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line[:8] for line in lines] == [
        "20260408", "20260108", "20260105", "20260104", "20260102"]


def test_retrieve_get_move_and_wado(orthanc, tmp_path, capsys):
    originals = originals_by_uid(SAMPLES)
    runs = {
        "get": _dimse(orthanc),
        "move": _dimse(orthanc, "--move-destination", TEST_AET, "--move-port",
                       str(orthanc.move_port), "--move-bind", "127.0.0.1"),
        "wado": ["--dicomweb", orthanc.dicomweb_url()],
    }
    for name, options in runs.items():
        out = tmp_path / name
        assert main(["pacs", "retrieve", PRE_STUDY, "-o", str(out), *options]) == 0
        assert "2 retrieved, 0 already there" in capsys.readouterr().out
        files = sorted(out.glob("*.dcm"))
        assert len(files) == 2
        for path in files:
            assert_same_pixels(path, originals[path.stem])
    assert main(["pacs", "retrieve", PRE_STUDY, "-o", str(tmp_path / "get"), *runs["get"]]) == 0
    assert "0 retrieved, 2 already there" in capsys.readouterr().out


def test_send_and_refusal(empty_orthanc, tmp_path, capsys):
    assert main(["pacs", "send", str(SAMPLES[0]), *_dimse(empty_orthanc)]) == 0
    assert capsys.readouterr().out.startswith("ok ")
    bad = make_file(tmp_path / "bad.dcm", np.zeros((4, 4), np.uint16))
    ds = pydicom.dcmread(bad)
    del ds.StudyInstanceUID
    ds.save_as(bad, enforce_file_format=True)
    assert main(["pacs", "send", str(SAMPLES[1]), str(bad), *_dimse(empty_orthanc)]) == 2
    captured = capsys.readouterr()
    assert "REFUSED" in captured.out and "bad.dcm" in captured.out
    assert captured.err.strip() == "ovcf-viewer pacs send: 1 of 2 file(s) not stored (listed above)"
    assert len(empty_orthanc.instances()) == 2


def test_saved_node_by_name(orthanc, capsys):
    settings = load_settings()
    save_settings(settings.replace(archive_nodes=(orthanc.dimse_node(name="dept"),)))
    assert main(["pacs", "find", "--json", "--node", "dept"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 5
    assert main(["pacs", "echo", "--node", "elsewhere"]) == 2
    assert "no archive node named 'elsewhere' (dept)" in _one_line_failure(capsys, "echo")


def test_failures_are_one_line_exit_2(orthanc, capsys):
    closed = free_port()
    assert main(["pacs", "echo", "--host", "127.0.0.1", "--port", str(closed),
                 "--called-aet", ORTHANC_AET]) == 2
    assert "not reachable" in _one_line_failure(capsys, "echo")
    assert main(["pacs", "find", *_dimse(orthanc)[:4], "--called-aet", "NOPE",
                 "--calling-aet", TEST_AET]) == 2
    assert "refused the association" in _one_line_failure(capsys, "find")
    assert main(["pacs", "find", "--study-date", "2026", *_dimse(orthanc)]) == 2
    assert "YYYYMMDD" in _one_line_failure(capsys, "find")
    assert main(["pacs", "find", "--limit", "3", *_dimse(orthanc)]) == 2
    assert "more than 3 studies match: refine your search" in _one_line_failure(capsys, "find")
    assert main(["pacs", "echo", "--host", "h", "--dicomweb", "http://x"]) == 2
    assert "exactly one of" in _one_line_failure(capsys, "echo")
    assert main(["pacs", "retrieve", "1.2.3.4", "-o", "x", "--host", "h"]) == 2
    assert "--port" in _one_line_failure(capsys, "retrieve")
    assert main(["pacs", "retrieve", "../etc", "-o", "x", *_dimse(orthanc)]) == 2
    assert "not a Study Instance UID" in _one_line_failure(capsys, "retrieve")


def test_retrieve_unknown_study(orthanc, tmp_path, capsys):
    assert main(["pacs", "retrieve", "1.2.3.4.5", "-o", str(tmp_path), *_dimse(orthanc)]) == 2
    assert "has no instances for study 1.2.3.4.5" in _one_line_failure(capsys, "retrieve")


def test_silent_server_times_out(capsys):
    server = SilentServer()
    try:
        code = main(["pacs", "find", "--host", "127.0.0.1", "--port", str(server.port),
                     "--called-aet", "X", "--timeout", "1"])
    finally:
        server.close()
    assert code == 2
    assert "did not answer within 1 s" in _one_line_failure(capsys, "find")


def test_network_libraries_stay_off_the_start_up_path():
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from ovcf_viewer.cli import _command_modules, build_parser\n"
        "build_parser(_command_modules())\n"
        "import ovcf_viewer.services.archive, ovcf_viewer.io.archive\n"
        "heavy = [m for m in ('pynetdicom', 'dicomweb_client', 'requests') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
