"""Settings: the old JSON format still loads, a bad value names the file, the key and the
expected type and keeps its default, unknown keys are dropped with a warning, and the one
instance announces its changes."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from ovcf_viewer.model.settings import (
    Settings,
    SettingsKeeper,
    load_settings,
    read_settings,
    save_settings,
)


def test_a_file_written_by_the_dataclass_version_loads_unchanged(tmp_path):
    # Exactly what the previous version wrote (dataclasses.asdict, indent=2).
    old = {
        "genant_reference": "own_posterior", "cobb_definition": "vertebral_wedge",
        "use_magnification": True, "variability_deg": 3.5, "variability_mm": 1.0,
        "edge_assist": True, "institution": "Spine Centre", "physician": "Dr A",
        "page_size": "Letter", "rules_file": "/srv/rules.json",
        "bilateral_width_threshold_mm": 40,
    }
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(old, indent=2), encoding="utf-8")
    settings, problems = read_settings(path)
    assert problems == []
    assert settings.model_dump() == {
        **old, "bilateral_width_threshold_mm": 40.0,
        # added since that version: their defaults
        "label_mode": "all", "compact_labels": False, "memory_budget_mb": 2048,
        "archive_nodes": (), "archive_cache_mb": 2048,
        "theme": "system", "window_layouts": {},
    }
    save_settings(settings, path)
    assert json.loads(path.read_text(encoding="utf-8")) == settings.model_dump(mode="json")
    assert load_settings(path) == settings


def test_missing_file_is_the_defaults(tmp_path):
    assert read_settings(tmp_path / "none.json") == (Settings(), [])


def test_wrong_types_keep_their_defaults_and_say_where(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({
        "genant_reference": "own_posterior",
        "use_magnification": "maybe",
        "variability_deg": "five",
        "page_size": "A5",
        "zoom_level": 3,
    }), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="ovcf_viewer.model.settings"):
        settings = load_settings(path)
    assert settings == Settings(genant_reference="own_posterior")  # the good key is kept
    messages = [r.getMessage() for r in caplog.records]
    assert all(str(path) in m for m in messages) and len(messages) == 4
    text = "\n".join(messages)
    assert 'use_magnification = "maybe" is not true or false' in text
    assert 'variability_deg = "five" is not a number' in text
    assert 'page_size = "A5" is not one of "A4", "Letter"' in text
    assert "unknown setting(s) zoom_level ignored" in text


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_unreadable_file_gives_the_defaults_with_a_reason(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    settings, problems = read_settings(path)
    assert settings == Settings()
    assert len(problems) == 1 and str(path) in problems[0] and "defaults" in problems[0]


def test_values_are_validated_in_code_too():
    with pytest.raises(ValidationError, match="genant_reference"):
        Settings(genant_reference="posterior")
    settings = Settings()
    with pytest.raises(ValidationError, match="variability_mm"):
        settings.variability_mm = -1.0
    with pytest.raises(ValidationError, match="zoom"):
        Settings(zoom=2)  # type: ignore[call-arg]
    assert settings.variability_mm == 2.0


def test_replace_is_a_validated_copy():
    settings = Settings()
    copy = settings.replace(page_size="Letter")
    assert copy.page_size == "Letter" and settings.page_size == "A4"
    with pytest.raises(ValidationError):
        settings.replace(page_size="A5")


def test_update_from_announces_each_changed_field():
    settings = Settings()
    fields, everything = [], []
    settings.events.genant_reference.connect(fields.append)
    settings.events.physician.connect(fields.append)
    settings.events.all.connect(everything.append)
    edited = settings.replace(genant_reference="own_posterior", physician="Dr B")
    assert settings.update_from(edited)
    assert settings == edited
    assert fields == ["own_posterior", "Dr B"]
    assert [info.signal.name for info in everything] == ["genant_reference", "physician"]
    assert not settings.update_from(edited)  # nothing changed: nothing announced
    assert len(everything) == 2


def test_the_keeper_writes_every_change_and_reports_a_refusing_disk(tmp_path):
    path = tmp_path / "settings.json"
    settings = Settings()
    problems: list[str] = []
    keeper = SettingsKeeper(settings, path, on_problem=problems.append)
    settings.page_size = "Letter"
    assert load_settings(path).page_size == "Letter"
    settings.update_from(settings.replace(physician="Dr C", use_magnification=True))
    assert load_settings(path) == settings
    blocked = tmp_path / "file"
    blocked.write_text("x")
    keeper.path = blocked / "settings.json"  # its folder is a file: the write fails
    settings.institution = "Clinic Y"
    assert keeper.problem.startswith("Settings not saved") and problems == [keeper.problem]
    assert settings.institution == "Clinic Y"  # the choice stands in memory


def test_label_and_memory_settings_keep_the_dataclass_versions_rules(tmp_path):
    """label_mode one of all/index/off, compact_labels a flag, memory_budget_mb a whole
    number of MiB of at least 64 (not true/false, not a fraction), as the dataclass checked."""
    path = tmp_path / "settings.json"
    good = {"label_mode": "index", "compact_labels": True, "memory_budget_mb": 512}
    path.write_text(json.dumps(good), encoding="utf-8")
    settings, problems = read_settings(path)
    assert problems == []
    assert (settings.label_mode, settings.compact_labels, settings.memory_budget_mb) == (
        "index", True, 512)
    for key, bad in [("label_mode", "some"), ("memory_budget_mb", 63),
                     ("memory_budget_mb", True), ("memory_budget_mb", 100.5)]:
        path.write_text(json.dumps({key: bad}), encoding="utf-8")
        settings, problems = read_settings(path)
        assert getattr(settings, key) == getattr(Settings(), key)
        assert len(problems) == 1 and key in problems[0], (key, bad, problems)
        with pytest.raises(ValidationError):
            Settings().replace(**{key: bad})
