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


# -- the synthetic library, pictures listed once, Random never the same picture -------------

def test_listing_the_synthetic_library_renders_nothing():
    from ovcf_viewer.devtools.teaching_library import CASES
    from ovcf_viewer.io.teaching import generated_library_dir

    films = [f for f in practice_films() if f.source == "synthetic"]
    assert [f.case_id for f in films] == [f"synthetic:{c.case_id}" for c in CASES]
    assert not generated_library_dir().exists() or not any(generated_library_dir().iterdir())


def test_a_synthetic_case_is_rendered_on_first_use_with_exact_ground_truth():
    from ovcf_viewer.devtools.teaching_library import CASES
    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.measure.measurements import measure_image
    from ovcf_viewer.model.settings import Settings

    case = next(c for c in CASES if c.case_id == "tl-07")  # thoracolumbar, L1 crush grade 3
    film = next(f for f in practice_films() if f.case_id == "synthetic:tl-07")
    reference = film.load_reference()  # renders
    assert film.image_path.is_file() and film.reference_path.is_file()
    assert not list(film.image_path.parent.parent.glob(".*partial"))
    image = load_image(film.image_path)
    assert (image.columns, image.rows) == (case.film_spec().cols, case.film_spec().rows)
    cal = image.calibration()
    assert (cal.row_mm, cal.col_mm) == (case.row_mm, case.col_mm)
    assert reference.index_levels == ["L1"]
    assert levels_to_mark(reference) == ("T12", "L1", "L2")
    genant = measure_image(reference, cal, Settings()).vertebrae["L1"].genant
    assert (genant.grade, genant.type) == (3, "crush")
    # Facing right: the anterior corners are to the right of the posterior ones.
    l1 = reference.vertebrae["L1"].points
    assert l1["sa"][0] > l1["sp"][0]
    mtime = film.image_path.stat().st_mtime_ns
    film.ensure_files()  # already there: not rendered again
    assert film.image_path.stat().st_mtime_ns == mtime


def test_a_data_folder_that_cannot_be_written_is_one_line(monkeypatch, tmp_path):
    from ovcf_viewer.io import teaching

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(teaching, "generated_library_dir", lambda: blocker / "lib")
    film = next(f for f in practice_films() if f.source == "synthetic")
    with pytest.raises(TeachingCaseError, match="could not be prepared"):
        film.ensure_files()


@needs_samples
def test_pixel_identical_sample_copies_are_listed_once():
    keys = [f.key for f in practice_films()]
    assert "sample:case-0001/pre" in keys
    assert "sample:variants/pre_j2k" not in keys  # the same pixels, JPEG 2000 encoded
    films = {f.key: f for case in list_teaching_cases() for f in case.films}
    assert (films["sample:variants/pre_j2k"].content_key()
            == films["sample:case-0001/pre"].content_key())
    assert (films["sample:case-0001/post"].content_key()
            != films["sample:case-0001/pre"].content_key())


@needs_samples
def test_random_never_gives_the_picture_just_practised():
    every = [f for case in list_teaching_cases() for f in case.films]  # duplicates included
    pre = next(f for f in every if f.key == "sample:case-0001/pre")
    j2k = next(f for f in every if f.key == "sample:variants/pre_j2k")
    small = [pre, j2k, next(f for f in every if f.key == "sample:case-0001/post")]
    for seed in range(200):
        rng = random.Random(seed)
        assert random_film(small, last=pre, rng=rng).key == "sample:case-0001/post"
        assert random_film(small, last=j2k, rng=rng).key == "sample:case-0001/post"
    with pytest.raises(TeachingCaseError, match="no other case"):
        random_film([pre, j2k], last=pre)
    # Done pictures are avoided by content too: practising pre makes its copy "done".
    films = practice_films()
    done = [pre.key, pre.content_key()]
    for seed in range(100):
        chosen = random_film(films + [j2k], avoid=done, rng=random.Random(seed))
        assert chosen.content_key() != pre.content_key()
