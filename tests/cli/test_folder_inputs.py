"""A folder as a command's INPUT stands for the annotation files of its films (matched by SOP
Instance UID), as opening the folder in the viewer does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ovcf_viewer.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
NAMES = ("pre", "post", "followup")


def test_a_folder_reads_as_the_annotation_files_of_its_films(tmp_path, capsys):
    folder = tmp_path / "study"
    shutil.copytree(SAMPLE / "case-0001", folder)
    (folder / "pre.json").rename(folder / "a-landmarks.json")  # matched by UID, not name
    shutil.copy(SAMPLE / "variants" / "dx_nonsquare.json", folder / "other-film.json")
    files = [str(folder / n) for n in ("a-landmarks.json", "post.json", "followup.json")]
    assert main(["compare", *files, "--json"]) == 0
    by_files = json.loads(capsys.readouterr().out)
    assert main(["compare", str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == by_files
    assert [f["label"] for f in by_files["films"]] == [
        "Pre-operative", "Post-operative", "Follow-up (3 months)"]
    lines = captured.err.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(
        "ovcf-viewer compare: not used: other-film.json: for no film here")


def test_a_folder_without_annotation_files_is_refused_in_one_line(tmp_path, capsys):
    folder = tmp_path / "films"
    folder.mkdir()
    shutil.copy(SAMPLE / "case-0001" / "pre.dcm", folder)
    assert main(["report", str(folder), "-o", str(tmp_path / "r.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no annotation file of its films (1 film(s)" in err
    assert not (tmp_path / "r.pdf").exists()
