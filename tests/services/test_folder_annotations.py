"""Annotation files found beside a folder's films: matched by SOP Instance UID, the others
listed with why, and sorted against the store (new, already there, other landmarks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.model.landmarks import load_annotations
from ovcf_viewer.services.folder_annotations import (
    landmarks_state,
    match_annotation_files,
    plan_import,
)

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "study"
    shutil.copytree(SAMPLE / "case-0001", folder)
    uids = {n: load_annotations(folder / f"{n}.json").sop_instance_uid
            for n in ("pre", "post", "followup")}
    return folder, uids


def test_files_are_matched_by_sop_instance_uid_not_by_name(tmp_path):
    folder, uids = _folder(tmp_path)
    (folder / "pre.json").rename(folder / "landmarks-a.json")  # the name says nothing
    shutil.copy(SAMPLE / "variants" / "dx_nonsquare.json", folder / "other.json")
    (folder / "second.json").write_text((folder / "post.json").read_text())
    (folder / "case.json").write_text(json.dumps({"format": "ovcf-case", "version": 2}))
    (folder / "broken.json").write_text("{")
    (folder / "notes.txt").write_text("not a candidate")
    files = sorted(folder.iterdir())
    found = match_annotation_files(files, set(uids.values()))
    assert {uid: f.path.name for uid, f in found.matched.items()} == {
        uids["pre"]: "landmarks-a.json", uids["post"]: "post.json",
        uids["followup"]: "followup.json"}
    why = {path.name: reason for path, reason in found.unmatched}
    assert set(why) == {"other.json", "second.json", "case.json", "broken.json"}
    assert why["other.json"].startswith("for no film here")
    assert "second annotation file" in why["second.json"] and "post.json" in why["second.json"]
    assert "case document" in why["case.json"]
    assert "broken.json" in why["broken.json"] and "\n" not in why["broken.json"]


def test_the_plan_never_overwrites_other_landmarks(tmp_path):
    folder, uids = _folder(tmp_path)
    store = AnnotationStore(tmp_path / "store.sqlite")
    same = load_annotations(folder / "followup.json")
    store.save(same)
    mine = load_annotations(folder / "post.json")
    x, y = mine.vertebrae["L1"].points["sa"]
    mine.set_point("L1", "sa", (x, y + 25))
    store.save(mine)
    found = match_annotation_files(sorted(folder.glob("*.json")), set(uids.values()))
    plan = plan_import(found, store)
    assert [f.path.name for f in plan.new] == ["pre.json"]
    assert [f.path.name for f in plan.same] == ["followup.json"]
    assert [f.path.name for f in plan.conflicts] == ["post.json"]
    assert landmarks_state(plan.current[uids["post"]]) == landmarks_state(mine)
    assert landmarks_state(store.load(uids["post"])) == landmarks_state(mine)  # untouched
