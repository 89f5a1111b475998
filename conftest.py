"""Root test configuration: no display, and nothing written outside the test's tmp_path.

Works without Qt installed: the headless run (``make test-headless``) uses it with PySide6,
shiboken6 and pytest-qt uninstalled. Tests that need Qt carry the ``qt`` marker (everything
under ``tests/qt`` gets it here); in the headless run a test skipped for want of Qt fails
instead, so a non-Qt test cannot quietly depend on it.
"""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

_QT_TESTS = Path(__file__).parent / "tests" / "qt"
#: Set by ``make test-headless``.
HEADLESS = os.environ.get("OVCF_VIEWER_HEADLESS") == "1"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Point settings, the annotation store and training history at a fresh folder."""
    home = tmp_path_factory.mktemp("ovcf-home")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(home))
    return home


# The archive tests' Orthanc (started on demand, only by the tests that use it).
pytest_plugins = ("tests.orthanc",)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _QT_TESTS in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.qt)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if HEADLESS and report.skipped:
        reason = str(report.longrepr)
        if any(name in reason for name in ("PySide6", "shiboken6", "pytestqt", "qtbot")):
            report.outcome = "failed"
            report.longrepr = f"headless run: this test needs Qt but is not marked qt ({reason})"
