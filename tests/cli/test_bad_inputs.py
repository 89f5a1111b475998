"""Every command, given a hostile or malformed input in each of its input slots, ends with
exit status 2 and one line on stderr — no traceback, no hang, no runaway memory — within a
few seconds. Each run is a real ``ovcf-viewer`` process (a hang must be able to fail)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.cli import cli_runner
from tests.cli.cli_runner import Outcome

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="FIFOs, /dev/zero, rlimit")

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "sample_dicom" / "case-0001"
FINDINGS = ROOT / "docs" / "examples" / "case-0001-preop-findings.json"
RULES = ROOT / "resources" / "suitability_rules.toml"
TIMEOUT_S = 10  # a refusal takes well under a second; a hang runs for ever

#: Each command with its argument list; ``{slot}`` names the input a hostile file replaces.
COMMANDS: dict[str, list[str]] = {
    "info": ["info", "{image}"],
    "export-png": ["export-png", "{image}", "-o", "{out}/x.png"],
    "measure": ["measure", "{image}", "--annotations", "{annotations}"],
    "score": ["score", "{image}", "--reference", "{annotations}", "--attempt", "{attempt}"],
    "export-csv": ["export-csv", "{annotations}", "{post}", "-o", "{out}/t.csv"],
    "suitability": ["suitability", "{annotations}", "--findings", "{findings}",
                    "--rules", "{rules}"],
    "report": ["report", "{annotations}", "{post}", "--findings", "{findings}", "-o",
               "{out}/r.pdf"],
}

#: The slots each command reads.
SLOTS = {
    "info": ["image"], "export-png": ["image"], "measure": ["image", "annotations"],
    "score": ["image", "annotations", "attempt"], "export-csv": ["annotations", "post"],
    "suitability": ["annotations", "findings", "rules"],
    "report": ["annotations", "post", "findings"],
}


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def _hostile(kind: str, folder: Path) -> str:
    """A path to a hostile input of ``kind``, created in ``folder``."""
    path = folder / f"hostile-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        return "/dev/zero"
    elif kind == "folder":
        path.mkdir()
    elif kind == "deep-json":
        path.write_text(_deep_json(200_000))
    elif kind == "deep-object":
        path.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    elif kind == "huge-sparse":
        with open(path, "wb") as handle:  # 3 GiB of holes: nothing is written to disk
            handle.truncate(3 << 30)
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "missing":
        pass
    else:
        raise AssertionError(kind)
    return str(path)


HOSTILE_KINDS = ["fifo", "dev-zero", "folder", "deep-json", "deep-object", "huge-sparse",
                 "binary", "empty", "missing"]


def _valid_inputs(folder: Path) -> dict[str, str]:
    for name in ("pre.dcm", "post.dcm"):  # read only: linked, not copied
        os.symlink(CASE / name, folder / name)
    for name in ("pre.json", "post.json"):
        shutil.copy(CASE / name, folder / name)
    return {
        "image": str(folder / "pre.dcm"), "annotations": str(folder / "pre.json"),
        "attempt": str(folder / "pre.json"), "post": str(folder / "post.json"),
        "findings": str(FINDINGS), "rules": str(RULES), "out": str(folder),
    }


def assert_clean_refusal(result: Outcome) -> None:
    stderr = result.stderr.strip()
    assert result.returncode is not None, f"no answer within {TIMEOUT_S} s (hang)"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert stderr and len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("ovcf-viewer"), stderr


def run_cli(args: list[str], home: Path) -> Outcome:
    return cli_runner.run_cli(args, home, timeout=TIMEOUT_S)


CASES = [(command, slot, kind) for command in COMMANDS for slot in SLOTS[command]
         for kind in HOSTILE_KINDS]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "slot", "kind"), CASES,
                         ids=[f"{c}-{s}-{k}" for c, s, k in CASES])
def test_hostile_file_in_each_slot(tmp_path, command, slot, kind):
    inputs = _valid_inputs(tmp_path)
    inputs[slot] = _hostile(kind, tmp_path)
    args = [a.format(**inputs) for a in COMMANDS[command]]
    assert_clean_refusal(run_cli(args, tmp_path / "home"))


def _annotation_doc() -> dict:
    return json.loads((CASE / "pre.json").read_text())


def _wrong(mutate) -> dict:
    doc = _annotation_doc()
    mutate(doc)
    return doc


#: Exchange documents with a field of the wrong type; the message must name the key path.
WRONG_TYPES = {
    "tools-int": (lambda d: d.update(tools=5), "tools"),
    "tools-string": (lambda d: d.update(tools="ruler"), "tools"),
    "tool-entry-list": (lambda d: d.update(tools=[[1, 2]]), "tools[0]"),
    "tool-points-int": (lambda d: d.update(tools=[{"kind": "ruler", "points": 3}]),
                        "tools[0].points"),
    "tool-length-string": (lambda d: d.update(tools=[{"kind": "ruler", "points": [[0, 0], [1, 1]],
                                                      "true_length_mm": "ten"}]),
                           "tools[0].true_length_mm"),
    "point-string": (lambda d: d["vertebrae"][0]["points"].update(sa=["1", "2"]),
                     "vertebrae[0].points.sa"),
    "image-list": (lambda d: d.update(image=[1]), "image"),
    "file-int": (lambda d: d["image"].update(file=7), "image.file"),
    "timepoint-string": (lambda d: d.update(timepoint="preop"), "timepoint"),
    "interval-huge": (lambda d: d.update(timepoint={"kind": "followup", "date": "2026-01-05",
                                                    "interval_days": 10**30}),
                      "timepoint.interval_days"),
    "index-levels-int": (lambda d: d.update(index_levels=3), "index_levels"),
    "level-int": (lambda d: d["vertebrae"][0].update(level=12), "vertebrae[0].level"),
    "calibration-list": (lambda d: d.update(calibration=[1, 2]), "calibration"),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", ["measure", "export-csv", "suitability"])
@pytest.mark.parametrize("name", sorted(WRONG_TYPES))
def test_wrong_types_name_the_key_path(tmp_path, command, name):
    inputs = _valid_inputs(tmp_path)
    mutate, key_path = WRONG_TYPES[name]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_wrong(mutate)))
    inputs["annotations"] = str(bad)
    args = [a.format(**inputs) for a in COMMANDS[command]]
    result = run_cli(args, tmp_path / "home")
    assert_clean_refusal(result)
    assert "bad.json" in result.stderr and key_path in result.stderr, result.stderr


def test_ints_are_numbers(tmp_path):
    """Integer coordinates are numbers: accepted where floats are expected."""
    inputs = _valid_inputs(tmp_path)
    doc = _annotation_doc()
    for vertebra in doc["vertebrae"]:
        vertebra["points"] = {k: [round(x), round(y)] for k, (x, y) in vertebra["points"].items()}
    Path(inputs["annotations"]).write_text(json.dumps(doc))
    result = run_cli(["measure", inputs["image"], "--annotations", inputs["annotations"]],
                     tmp_path / "home")
    assert result.returncode == 0, result.stderr


def test_file_key_pointing_at_the_annotation_itself(tmp_path):
    inputs = _valid_inputs(tmp_path)
    doc = _annotation_doc()
    doc["image"]["file"] = "pre.json"
    Path(inputs["annotations"]).write_text(json.dumps(doc))
    for command in ("export-csv", "report", "suitability"):
        args = [a.format(**inputs) for a in COMMANDS[command]]
        result = run_cli(args, tmp_path / "home")
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert result.returncode in (0, 2), result.stderr


def _case_document(folder: Path) -> dict:
    """A case document for the sample films, written by the program itself."""
    from ovcf_viewer.io.case_files import load_case_inputs
    from ovcf_viewer.model.case import case_to_document

    case = load_case_inputs([folder / "pre.json", folder / "post.json"])
    return case_to_document(case, folder)


CASE_WRONG_TYPES = {
    "films-int": (lambda d: d.update(films=4), "films"),
    "film-file-int": (lambda d: d["films"][0].update(file=7), "films[0].file"),
    "film-interval-huge": (lambda d: d["films"][0].update(
        timepoint={"kind": "followup", "interval_days": 10**40}), "interval_days"),
    "film-tools-string": (lambda d: d["films"][0]["annotations"].update(tools="x"),
                          "films[0]: tools"),
    "patient-list": (lambda d: d.update(patient=[1]), "patient"),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", ["export-csv", "suitability", "report"])
@pytest.mark.parametrize("name", sorted(CASE_WRONG_TYPES))
def test_case_document_wrong_types(tmp_path, command, name):
    _valid_inputs(tmp_path)
    doc = _case_document(tmp_path)
    mutate, key_path = CASE_WRONG_TYPES[name]
    mutate(doc)
    bad = tmp_path / "case.json"
    bad.write_text(json.dumps(doc))
    args = {"export-csv": ["export-csv", str(bad), "-o", f"{tmp_path}/t.csv"],
            "suitability": ["suitability", str(bad)],
            "report": ["report", str(bad), "-o", f"{tmp_path}/r.pdf"]}[command]
    result = run_cli(args, tmp_path / "home")
    assert_clean_refusal(result)
    assert "case.json" in result.stderr and key_path in result.stderr, result.stderr


@pytest.mark.parametrize("kind", ["fifo", "deep-json", "folder"])
def test_hostile_settings_file_falls_back_to_defaults(tmp_path, kind):
    """A settings file that is a FIFO, a folder or absurdly deep JSON: defaults, no hang."""
    inputs = _valid_inputs(tmp_path)
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    target = home / "config" / "settings.json"
    made = Path(_hostile(kind, tmp_path))
    if kind == "deep-json":
        shutil.copy(made, target)
    else:
        made.rename(target)
    result = run_cli(["measure", inputs["image"], "--annotations", inputs["annotations"]], home)
    assert result.returncode == 0, result.stderr
    assert "Calibration" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_runs_with_an_unusable_data_folder(tmp_path, command):
    """A data/config location that cannot be created (a file stands where the folder should
    be, as a read-only or vanished mount behaves): every command still does its work."""
    inputs = _valid_inputs(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    blocked = home / "blocked"
    blocked.write_text("a file where the data folder should be")
    args = [a.format(**inputs) for a in COMMANDS[command]]
    outcome = cli_runner.run_cli(args, blocked, timeout=60, make_home=False)
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr


# --- The newer commands: compare, export-sr, import-sr, pacs ------------------------------

#: ``{film}``: the annotation file's ``image.file`` is replaced (the DICOM film it names;
#: ``compare`` works from the annotations alone and never opens it).
NEW_COMMANDS: dict[str, list[str]] = {
    "compare": ["compare", "{annotations}", "{post}"],
    "export-sr": ["export-sr", "{annotations}", "-o", "{out}/sr"],
    "import-sr": ["import-sr", "{sr}", "-o", "{out}/back.json"],
    "pacs-send": ["pacs", "send", "{file}", "--host", "127.0.0.1", "--port", "{closed_port}",
                  "--called-aet", "ARCHIVE", "--timeout", "2"],
    "pacs-send-dicomweb": ["pacs", "send", "{file}", "--dicomweb",
                           "http://127.0.0.1:{closed_port}/dicom-web", "--timeout", "2"],
}
NEW_SLOTS = {
    "compare": ["annotations", "post"], "export-sr": ["annotations", "film"],
    "import-sr": ["sr"], "pacs-send": ["file"], "pacs-send-dicomweb": ["file"],
}
#: Slots read as DICOM also get a DICOM file cut short inside its header.
DICOM_SLOTS = {"film", "sr", "file"}


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _truncated_dicom(folder: Path) -> str:
    path = folder / "hostile-truncated.dcm"
    path.write_bytes((CASE / "pre.dcm").read_bytes()[:700])
    return str(path)


def _new_inputs(folder: Path) -> dict[str, str]:
    inputs = _valid_inputs(folder)
    inputs.update(sr=str(folder / "pre.dcm"), file=str(folder / "pre.dcm"),
                  closed_port=str(_closed_port()))
    return inputs


def _point_film_at(annotations: str, target: str) -> None:
    doc = json.loads(Path(annotations).read_text())
    doc["image"]["file"] = target
    Path(annotations).write_text(json.dumps(doc))


NEW_CASES = [(command, slot, kind) for command in NEW_COMMANDS for slot in NEW_SLOTS[command]
             for kind in HOSTILE_KINDS + (["truncated-dicom"] if slot in DICOM_SLOTS else [])]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "slot", "kind"), NEW_CASES,
                         ids=[f"{c}-{s}-{k}" for c, s, k in NEW_CASES])
def test_hostile_file_in_each_slot_of_the_newer_commands(tmp_path, command, slot, kind):
    inputs = _new_inputs(tmp_path)
    hostile = (_truncated_dicom(tmp_path) if kind == "truncated-dicom"
               else _hostile(kind, tmp_path))
    if slot == "film":
        _point_film_at(inputs["annotations"], hostile)
    else:
        inputs[slot] = hostile
    args = [a.format(**inputs) for a in NEW_COMMANDS[command]]
    result = run_cli(args, tmp_path / "home")
    assert_clean_refusal(result)
    # The refused file is named (send: on stdout). A DICOM file cut short after its header
    # reads as DICOM, so send goes on to the (closed) archive port, which refuses.
    if slot not in ("annotations", "post") and not (slot == "file" and kind == "truncated-dicom"):
        assert Path(hostile).name in result.stdout + result.stderr, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["compare", "export-sr"])
@pytest.mark.parametrize("name", sorted(WRONG_TYPES))
def test_wrong_types_name_the_key_path_in_the_newer_commands(tmp_path, command, name):
    inputs = _new_inputs(tmp_path)
    mutate, key_path = WRONG_TYPES[name]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_wrong(mutate)))
    inputs["annotations"] = str(bad)
    args = [a.format(**inputs) for a in NEW_COMMANDS[command]]
    result = run_cli(args, tmp_path / "home")
    assert_clean_refusal(result)
    assert "bad.json" in result.stderr and key_path in result.stderr, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["compare", "export-sr"])
def test_film_key_pointing_at_the_annotation_itself_in_the_newer_commands(tmp_path, command):
    inputs = _new_inputs(tmp_path)
    _point_film_at(inputs["annotations"], "pre.json")
    args = [a.format(**inputs) for a in NEW_COMMANDS[command]]
    result = run_cli(args, tmp_path / "home")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    if command == "export-sr":  # the film is needed: it is not a DICOM film
        assert_clean_refusal(result)
        assert "pre.json" in result.stderr, result.stderr
    else:
        assert result.returncode in (0, 2), result.stderr


def _pacs(action: str, *options: str, folder: Path) -> list[str]:
    head = {"echo": ["pacs", "echo"], "find": ["pacs", "find"],
            "send": ["pacs", "send", str(folder / "pre.dcm")],
            "retrieve": ["pacs", "retrieve", "1.2.3", "-o", str(folder / "got")]}[action]
    return head + list(options)


#: Hostile option values; ``{port}`` is a closed loopback port, ``{fifo}`` a named pipe.
PACS_OPTIONS = {
    "port-out-of-range": ["--host", "127.0.0.1", "--port", "70000", "--called-aet", "A"],
    "port-negative": ["--host", "127.0.0.1", "--port", "-5", "--called-aet", "A"],
    "closed-port": ["--host", "127.0.0.1", "--port", "{port}", "--called-aet", "A",
                    "--timeout", "2"],
    "unreachable-host": ["--host", "192.0.2.1", "--port", "104", "--called-aet", "A",
                         "--timeout", "1"],
    "unknown-host": ["--host", "no-such-host.invalid", "--port", "104", "--called-aet", "A",
                     "--timeout", "1"],
    "timeout-negative": ["--host", "127.0.0.1", "--port", "{port}", "--called-aet", "A",
                         "--timeout", "-1"],
    "timeout-nan": ["--host", "127.0.0.1", "--port", "{port}", "--called-aet", "A",
                    "--timeout", "nan"],
    "aet-too-long": ["--host", "127.0.0.1", "--port", "{port}", "--called-aet", "A" * 40,
                     "--timeout", "2"],
    "missing-ca-file": ["--host", "127.0.0.1", "--port", "{port}", "--called-aet", "A",
                        "--tls", "--ca-file", "{missing}", "--timeout", "2"],
    "fifo-ca-file": ["--host", "127.0.0.1", "--port", "{port}", "--called-aet", "A",
                     "--tls", "--ca-file", "{fifo}", "--timeout", "2"],
    "fifo-cert-file": ["--host", "127.0.0.1", "--port", "{port}", "--called-aet", "A",
                       "--tls", "--cert-file", "{fifo}", "--key-file", "{fifo}",
                       "--timeout", "2"],
    "dicomweb-closed-port": ["--dicomweb", "http://127.0.0.1:{port}/dicom-web",
                             "--timeout", "2"],
    "dicomweb-not-a-url": ["--dicomweb", "not a url", "--timeout", "2"],
    "dicomweb-fifo-ca-file": ["--dicomweb", "https://127.0.0.1:{port}/dicom-web",
                              "--ca-file", "{fifo}", "--timeout", "2"],
}
PACS_CASES = [(action, name) for name in PACS_OPTIONS for action in ("echo", "send")]


@pytest.mark.slow
@pytest.mark.parametrize(("action", "name"), PACS_CASES, ids=[f"{a}-{n}" for a, n in PACS_CASES])
def test_pacs_hostile_option_values(tmp_path, action, name):
    """No archive is needed: every one of these must fail before or at the connection, in one
    line, within the given network timeout."""
    inputs = _new_inputs(tmp_path)
    values = {"port": inputs["closed_port"], "fifo": _hostile("fifo", tmp_path),
              "missing": str(tmp_path / "no-such-ca.pem")}
    options = [o.format(**values) for o in PACS_OPTIONS[name]]
    result = run_cli(_pacs(action, *options, folder=tmp_path), tmp_path / "home")
    assert_clean_refusal(result)


@pytest.mark.parametrize("value", ["abc", "1e3"])
def test_pacs_non_numeric_port_is_a_usage_error(tmp_path, value):
    """argparse's own refusal: exit 2, usage and one error line naming the option."""
    result = run_cli(["pacs", "echo", "--host", "127.0.0.1", "--port", value,
                      "--called-aet", "A"], tmp_path / "home")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "--port" in result.stderr.strip().splitlines()[-1], result.stderr
