"""Settings dialog: view→model and model→view, persisted."""

from ovcf_viewer.model.settings import Settings, load_settings
from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog


def test_mirrors_settings(qtbot):
    s = Settings(genant_reference="own_posterior", cobb_definition="vertebral_wedge",
                 use_magnification=True, institution="St Elsewhere", page_size="Letter")
    dialog = SettingsDialog(s)
    qtbot.addWidget(dialog)
    assert dialog.genant_reference.currentData() == "own_posterior"
    assert dialog.cobb_definition.currentData() == "vertebral_wedge"
    assert dialog.use_magnification.isChecked()
    assert dialog.page_size.currentText() == "Letter"
    assert dialog.settings() == s


def test_accept_saves_and_announces(qtbot):
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.genant_reference.setCurrentIndex(dialog.genant_reference.findData("own_posterior"))
    dialog.physician.setText("Dr A. Surgeon")
    dialog.variability_deg.setValue(3.0)
    with qtbot.waitSignal(dialog.settingsChanged) as blocker:
        dialog.accept()
    saved = load_settings()
    assert saved.genant_reference == "own_posterior" and saved.physician == "Dr A. Surgeon"
    assert saved.variability_deg == 3.0
    assert blocker.args[0] == saved


def test_unwritable_settings_folder_is_reported(qtbot, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(blocker))  # config dir cannot be created
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.accept()
    assert "could not be saved" in dialog.error_label.text()
    assert dialog.result() == 0


def test_edge_assist_is_off_by_default_labelled_experimental_and_says_why(qtbot):
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert not dialog.edge_assist.isChecked()
    assert "experimental" in dialog.edge_assist.text()
    tip = dialog.edge_assist.toolTip()
    assert "real spine films" in tip and "1,360" in tip and "1 mm" in tip
