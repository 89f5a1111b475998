"""One suitability service, three consumers: on the same bad input — findings that cannot be
read, a broken rules file, a case with no film to measure — ``ovcf-viewer suitability`` (exit
2), the PDF report (refused) and the case window (shown) give the same one-line message, the
one :func:`ovcf_viewer.services.suitability.assess` raises."""

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from ovcf_viewer.cli import main
from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.model.case import Case, load_case, save_case
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.case.case_view import CaseController, CaseWindow
from ovcf_viewer.report import ReportError
from ovcf_viewer.services.report import prepare_report
from ovcf_viewer.services.suitability import SuitabilityError, assess
from ovcf_viewer.suitability import Findings

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "pre.json").is_file(), reason="sample case not generated"),
]


def sample_case_file(tmp_path, findings=None) -> Path:
    case = load_case_inputs([SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")])
    target = tmp_path / "case.json"
    save_case(case, target)
    if findings is not None:
        doc = json.loads(target.read_text(encoding="utf-8"))
        doc["findings"] = findings
        target.write_text(json.dumps(doc), encoding="utf-8")
    return target


def cli_message(capsys, *argv) -> str:
    assert main(["suitability", *map(str, argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def report_message(case, settings) -> str:
    with pytest.raises(ReportError) as info:
        prepare_report(case, settings)
    return str(info.value)


def window_for(qtbot, settings, case_or_path):
    controller = CaseController(settings)
    window = CaseWindow(controller)
    qtbot.addWidget(window)
    if isinstance(case_or_path, Path):
        assert window.open_case(case_or_path), window.status_label.text()
    else:
        controller.set_case(case_or_path)
    return window


def service_message(**kwargs) -> str:
    with pytest.raises(SuitabilityError) as info:
        assess(**kwargs)
    message = str(info.value)
    assert message and "\n" not in message
    return message


@pytest.fixture
def close_windows(qtbot):
    yield
    for widget in QApplication.topLevelWidgets():
        widget.close()
    QApplication.processEvents()


def test_unreadable_findings_same_message(qtbot, capsys, tmp_path, close_windows):
    target = sample_case_file(tmp_path, {"mri_oedema": "yes"})
    case = load_case(target)
    expected = service_message(films=[], case=case)
    assert expected.startswith(f"{target}: findings: 'mri_oedema' must be true, false or null")

    assert cli_message(capsys, target) == f"ovcf-viewer suitability: {expected}"
    assert report_message(case, Settings()) == f"suitability cannot be evaluated: {expected}"
    window = window_for(qtbot, Settings(), target)
    assert expected in window.workspace.suitability.source.text()


def test_broken_rules_file_same_message(qtbot, capsys, tmp_path, close_windows):
    rules = tmp_path / "department.toml"
    rules.write_text("[thresholds]\nkyphosis_pkp_min_deg = = 15\n", encoding="utf-8")
    settings = Settings(rules_file=str(rules))
    target = sample_case_file(tmp_path, Findings(mri_oedema=True).to_dict())
    case = load_case(target)
    expected = service_message(films=[], case=case, settings=settings)
    assert expected.startswith(f"{rules}:2: not valid TOML")

    assert cli_message(capsys, target, "--rules", rules) == f"ovcf-viewer suitability: {expected}"
    assert report_message(case, settings) == f"suitability cannot be evaluated: {expected}"
    panel = window_for(qtbot, settings, target).workspace.suitability.panel
    assert expected in panel.rules_problem.text()


def test_no_film_to_measure_same_message(qtbot, capsys, tmp_path, close_windows):
    case = Case("CASE-7", findings=Findings(mri_oedema=True))
    target = tmp_path / "empty.json"
    save_case(case, target)
    expected = service_message(films=[], case=case)
    assert expected == "case CASE-7: no film with landmarks to measure the suitability inputs on"

    assert cli_message(capsys, target) == f"ovcf-viewer suitability: {expected}"
    assert report_message(load_case(target), Settings()) == (
        f"suitability cannot be evaluated: {expected}")
    window = window_for(qtbot, Settings(), case)
    assert expected in window.workspace.suitability.source.text()
