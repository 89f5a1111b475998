"""A normal, non-editable install works from anywhere: the wheel carries the bundled rules and
sample studies, and from a folder outside the repository the installed program starts the GUI
on the sample study, evaluates suitability and writes a report with its suitability section.

``make test`` installs the project in editable mode, which would hide a file that only a
source checkout has; this builds the wheel, installs it into a fresh virtual environment and
runs the installed ``ovcf-viewer`` there. It needs the package index (or pip's cache) for the
dependencies, like the README's two commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "docs" / "examples" / "case-0001-preop-findings.json"

pytestmark = [pytest.mark.slow, pytest.mark.qt]  # the installed program starts the GUI


def _run(cmd: list[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=900, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Build from a clean copy of what git tracks: pip builds in the source folder, and a
    # developer's stale build/ (modules since moved or deleted) would otherwise ship.
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out,
                  source])
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("ovcf_viewer-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment with the wheel installed; returns its bin folder and an
    environment whose data folder is temporary and whose working folder is outside the
    repository."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    done = _run([bin_dir / "python", "-m", "pip", "install", "-q", wheel])
    assert done.returncode == 0, done.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["OVCF_VIEWER_HOME"] = str(tmp_path_factory.mktemp("home"))
    env["QT_QPA_PLATFORM"] = "offscreen"
    return bin_dir, env


def test_wheel_carries_every_package_and_the_bundled_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "ovcf_viewer/resources/suitability_rules.toml" in names
    for film in ("case-0001/pre.dcm", "case-0001/pre.json", "variants/pre_j2k.json"):
        assert f"ovcf_viewer/samples/{film}" in names
    source_packages = {
        str(p.parent.relative_to(ROOT)).replace(os.sep, "/")
        for p in (ROOT / "ovcf_viewer").rglob("__init__.py")
    }
    for package in source_packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    # nothing of the repository around the package (tests, scripts, the .venv) ships
    assert not [n for n in names if n.startswith(("tests/", "scripts/", "sample_dicom/"))]


def test_wheel_contents_check(wheel):
    """check-wheel-contents: no duplicate or misplaced files, no stray top-level modules."""
    checked = _run([sys.executable, "-m", "check_wheel_contents", wheel])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _sample(bin_dir: Path, env: dict[str, str], relative: str) -> Path:
    found = _run([bin_dir / "python", "-c",
                  "import importlib.resources as r; print(r.files('ovcf_viewer.samples'))"],
                 env=env, cwd=env["OVCF_VIEWER_HOME"])
    assert found.returncode == 0, found.stderr
    folder = Path(found.stdout.strip())
    assert ROOT not in folder.parents, "the installed package must not be the checkout"
    return folder / relative


def test_installed_gui_starts_on_the_sample_study(installed):
    bin_dir, env = installed
    study = _sample(bin_dir, env, "case-0001")
    proc = subprocess.Popen([str(bin_dir / "ovcf-viewer"), str(study)], env=env,
                            cwd=env["OVCF_VIEWER_HOME"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)  # a real process's life: nothing to wait on but the clock
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert alive, f"the GUI exited with {proc.returncode}: {err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]


def test_installed_suitability_and_report_from_another_folder(installed, tmp_path):
    bin_dir, env = installed
    films = [_sample(bin_dir, env, f"case-0001/{name}.json")
             for name in ("pre", "post", "followup")]
    done = _run([bin_dir / "ovcf-viewer", "suitability", films[0], "--findings", FINDINGS,
                 "--json"], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    evaluation = json.loads(done.stdout)
    assert {option["id"] for option in evaluation["options"]} >= {"pvp", "pkp", "conservative"}

    pdf = tmp_path / "report.pdf"
    done = _run([bin_dir / "ovcf-viewer", "report", *films, "--findings", FINDINGS, "-o", pdf],
                env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Suitability unavailable" not in text
    assert "Decision support only" in text
    assert "Vertebroplasty" in text or "PVP" in text
