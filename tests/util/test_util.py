"""The lowest layer: atomic writes leave the old file or the new one, never a mix or a stray
temporary file; the per-user folders follow OVCF_VIEWER_HOME, else the XDG variables."""

from __future__ import annotations

import os

import pytest

from ovcf_viewer.util.atomic import atomic_write_bytes, atomic_write_text
from ovcf_viewer.util.paths import config_dir, data_dir


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "doc.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new ≥ 1")
    assert target.read_text(encoding="utf-8") == "new ≥ 1"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "doc.json"
    atomic_write_text(target, "old")
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "missing-folder" / "doc.json", "new")
    with pytest.raises(TypeError):  # fails while writing: the target must stay as it was
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]


@pytest.mark.skipif(os.name == "nt", reason="XDG folders are for POSIX systems")
def test_folders_follow_the_home_override_else_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(tmp_path / "portable"))
    assert data_dir() == tmp_path / "portable" / "data" and data_dir().is_dir()
    assert config_dir() == tmp_path / "portable" / "config" and config_dir().is_dir()
    monkeypatch.delenv("OVCF_VIEWER_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    assert data_dir() == tmp_path / "share" / "ovcf-viewer"
    assert config_dir() == tmp_path / "conf" / "ovcf-viewer"
