"""The lowest layer: atomic writes leave the old file or the new one, never a mix or a stray
temporary file; the per-user folders follow OVCF_VIEWER_HOME, else the platform's own (XDG on
Linux, Application Support on macOS)."""

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


def test_macos_gets_application_support_not_xdg(tmp_path, monkeypatch):
    """macOS keeps per-user application files in ~/Library/Application Support."""
    from platformdirs.macos import MacOS

    from ovcf_viewer.util import paths

    monkeypatch.delenv("OVCF_VIEWER_HOME")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(paths, "PlatformDirs", MacOS)
    support = tmp_path / "Library" / "Application Support" / "ovcf-viewer"
    assert data_dir() == support and support.is_dir()
    assert config_dir() == support
