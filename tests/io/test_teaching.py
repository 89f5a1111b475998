"""Teaching library: the bundled samples with their ground truth, and cases saved with
de-identified films and the expert's landmarks remapped to the new UIDs."""

import json
import random
from datetime import date
from pathlib import Path

import pytest
from pydicom import dcmread

from ovcf_viewer.io.teaching import (
    TeachingCaseError,
    levels_to_mark,
    list_teaching_cases,
    practice_films,
    random_film,
    save_teaching_case,
    teaching_dir,
)
from ovcf_viewer.model.landmarks import ImageAnnotations, load_annotations

REPO = Path(__file__).resolve().parents[2]
CASE = REPO / "sample_dicom" / "case-0001"

needs_samples = pytest.mark.skipif(not CASE.is_dir(), reason="sample_dicom not generated")


def as_days(da: str) -> date:
    return date(int(da[:4]), int(da[4:6]), int(da[6:]))


@needs_samples
def test_bundled_samples_are_cases_with_their_ground_truth():
    cases = {c.case_id: c for c in list_teaching_cases()}
    case = cases["sample:case-0001"]
    assert sorted(f.label for f in case.films) == ["followup", "post", "pre"]
    pre = next(f for f in case.films if f.label == "pre")
    assert pre.image_path == CASE / "pre.dcm" and pre.reference_path == CASE / "pre.json"
    assert pre.key == "sample:case-0001/pre"
    assert pre.levels_to_mark() == ("T12", "L1", "L2")  # index L1 and its neighbours
    assert "sample:variants" in cases


def test_levels_to_mark_without_index_levels_takes_three_from_the_middle():
    ref = ImageAnnotations("1.2.3")
    for level in ("T11", "T12", "L1", "L2", "L3"):
        for i, name in enumerate(("sa", "sm", "sp", "ia", "im", "ip")):
            ref.set_point(level, name, (10.0 + i, 20.0 + i))
    assert levels_to_mark(ref) == ("T12", "L1", "L2")
    ref.index_levels = ["T11"]
    assert levels_to_mark(ref) == ("T11", "T12")


def test_random_film_avoids_done_films():
    films = practice_films()
    if len(films) < 2:
        pytest.skip("needs at least two sample films")
    done = [f.key for f in films[1:]]
    assert random_film(films, avoid=done, rng=random.Random(1)).key == films[0].key
    with pytest.raises(TeachingCaseError):
        random_film([])


@needs_samples
def test_save_teaching_case_deidentifies_and_remaps(tmp_path):
    pre_ref = load_annotations(CASE / "pre.json")
    post_ref = load_annotations(CASE / "post.json")
    original = dcmread(CASE / "pre.dcm", stop_before_pixels=True)
    case = save_teaching_case(
        [CASE / "pre.dcm", CASE / "post.dcm"],
        {pre_ref.sop_instance_uid: pre_ref, post_ref.sop_instance_uid: post_ref},
        title="L1 wedge, kyphoplasty", notes="teaching",
    )
    assert case.folder.parent == teaching_dir() and case.source == "teaching"
    assert [f.label for f in case.films] == ["preop", "postop"]
    pre_film, post_film = case.films
    saved = dcmread(pre_film.image_path)
    saved_post = dcmread(post_film.image_path, stop_before_pixels=True)
    for needle in ("SYNTHETIC", "OVCF-0001", "19480302", "OVCF Viewer synthetic"):
        assert needle not in str(saved), needle
    assert saved.PatientIdentityRemoved == "YES"
    assert saved.SOPInstanceUID != original.SOPInstanceUID
    assert saved.StudyInstanceUID != original.StudyInstanceUID
    assert saved_post.StudyInstanceUID not in (saved.StudyInstanceUID, original.StudyInstanceUID)
    assert saved.PatientSex == original.PatientSex  # Retain Patient Characteristics
    ref = pre_film.load_reference()
    assert ref.sop_instance_uid == saved.SOPInstanceUID and ref.file == "preop.dcm"
    assert ref.vertebrae["L1"].points == pre_ref.vertebrae["L1"].points
    assert ref.index_levels == ["L1"]
    # Timepoint date shifted like the film's StudyDate: same difference as before.
    assert (as_days(saved.StudyDate) - ref.timepoint.date) == (
        as_days(original.StudyDate) - pre_ref.timepoint.date
    )
    assert ref.timepoint.date != pre_ref.timepoint.date
    manifest = json.loads((case.folder / "case.json").read_text())
    assert manifest["title"] == "L1 wedge, kyphoplasty"
    assert manifest["films"][0]["levels"] == ["T12", "L1", "L2"]
    listed = [c.case_id for c in list_teaching_cases()]
    assert case.case_id in listed and listed.index(case.case_id) > 0  # after the samples
    assert (saved.pixel_array == dcmread(CASE / "pre.dcm").pixel_array).all()


@needs_samples
def test_films_of_one_study_keep_one_study_uid():
    j2k = REPO / "sample_dicom" / "variants" / "pre_j2k.dcm"  # same study as pre.dcm
    refs = [load_annotations(CASE / "pre.json"), load_annotations(j2k.with_suffix(".json"))]
    case = save_teaching_case([CASE / "pre.dcm", j2k], refs)
    a, b = (dcmread(f.image_path, stop_before_pixels=True) for f in case.films)
    assert [f.label for f in case.films] == ["preop", "preop-2"]
    assert a.StudyInstanceUID == b.StudyInstanceUID
    assert a.SeriesInstanceUID != b.SeriesInstanceUID
    assert a.StudyDate == b.StudyDate


@needs_samples
def test_missing_reference_or_non_dicom_is_refused_and_leaves_nothing(tmp_path):
    with pytest.raises(TeachingCaseError, match="no complete vertebra"):
        save_teaching_case([CASE / "pre.dcm"], [ImageAnnotations("x")])
    photo = tmp_path / "film.png"
    from PIL import Image

    Image.new("L", (8, 8)).save(photo)
    with pytest.raises(TeachingCaseError, match="only DICOM"):
        save_teaching_case([photo], [load_annotations(CASE / "pre.json")])
    with pytest.raises(TeachingCaseError):
        save_teaching_case([tmp_path / "missing.dcm"], [load_annotations(CASE / "pre.json")])
    assert list(teaching_dir().iterdir()) == []


@needs_samples
def test_burned_in_annotation_yes_is_refused_unless_confirmed(tmp_path):
    from ovcf_viewer.io.teaching import BurnedInAnnotationError

    ds = dcmread(CASE / "pre.dcm")
    ds.BurnedInAnnotation = "YES"
    burned = tmp_path / "burned.dcm"
    ds.save_as(burned)
    ref = load_annotations(CASE / "pre.json")
    before = sorted(p.name for p in teaching_dir().iterdir()) if teaching_dir().exists() else []
    with pytest.raises(BurnedInAnnotationError, match="Burned In Annotation is YES"):
        save_teaching_case([burned], [ref], title="burned")
    after = sorted(p.name for p in teaching_dir().iterdir()) if teaching_dir().exists() else []
    assert after == before  # nothing left behind
    case = save_teaching_case([burned], [ref], title="burned", burned_in_confirmed=True)
    assert case.films and any("burned-in" in w for w in case.warnings)
