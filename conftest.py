"""Root test configuration: no display, and nothing written outside the test's tmp_path."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Point settings, the annotation store and training history at a fresh folder."""
    home = tmp_path_factory.mktemp("ovcf-home")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(home))
    return home


# The archive tests' Orthanc (started on demand, only by the tests that use it).
pytest_plugins = ("tests.orthanc",)
