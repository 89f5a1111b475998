"""What joins the main window's parts into one workstation: the suitability panel beside the
image (fed by the landmarks, findings kept with the image), cases, the PDF report, the
settings dialog, and the retry of edits a refusing disk has kept in memory.

Built by :class:`~ovcf_viewer.qt.application_window.ApplicationWindow`, which places the
panel in a dock and :meth:`Workstation.file_actions` in its File menu.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.settings_link import follow_settings
from ovcf_viewer.qt.suitability.suitability_panel import SuitabilityPanel

if TYPE_CHECKING:
    from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
    from ovcf_viewer.qt.case.case_view import CaseWindow
    from ovcf_viewer.qt.dialogs.new_case import NewCaseDialog
    from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog
    from ovcf_viewer.qt.main_window import MainWindow

__all__ = ["Workstation"]

#: How often edits kept in memory (disk full, read-only) are tried again, ms.
RETRY_INTERVAL_MS = 5000


class Workstation(QObject):
    """The suitability panel, case and report actions, and settings of the main window."""

    def __init__(self, window: MainWindow, controller: AnnotationController,
                 settings: Settings) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        #: The application's one settings instance.
        self.settings = settings
        self.case_windows: list[CaseWindow] = []
        self._case_savers: dict[int, Any] = {}  # id(film model) → its Autosaver
        self.settings_dialog: SettingsDialog | None = None
        self.new_case_dialog: NewCaseDialog | None = None

        self.suitability = SuitabilityPanel(settings=settings)
        self._rules_for = (settings.rules_file, settings.bilateral_width_threshold_mm)
        follow_settings(settings, self._on_settings_changed)

        self.controller.modelChanged.connect(self._on_model_changed)
        self.controller.measurementsChanged.connect(self._on_measurements_changed)
        self.suitability.findingsChanged.connect(self._on_findings_changed)

        self._build_actions()
        self._retry_timer = QTimer(self)
        self._retry_timer.setInterval(RETRY_INTERVAL_MS)
        self._retry_timer.timeout.connect(self.retry_pending_edits)
        self._retry_timer.start()
        if self.controller.model is not None:
            self._on_model_changed(self.controller.model)
        if self.controller.measurements is not None:
            self._on_measurements_changed(self.controller.measurements)

    # -- actions -----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        from ovcf_viewer.qt.dialogs.report_action import ExportReportAction, PrintReportAction

        window = self.window
        self.open_case_action = QAction("Open case…", window)
        self.open_case_action.setStatusTip(
            "Open a saved case, or annotation files (their films with their landmarks)")
        self.open_case_action.triggered.connect(self.choose_case)
        self.new_case_action = QAction("New case from films…", window)
        self.new_case_action.setStatusTip(
            "Compare films of one patient: the procedure and timepoints are proposed from "
            "their dates, descriptions and landmarks"
        )
        self.new_case_action.triggered.connect(self.choose_case_films)
        # Autosaved cases offered back (after a crash, or a case never saved elsewhere).
        self.recover_menu = QMenu("Recover autosaved case", window)
        self.recover_menu.aboutToShow.connect(self.refresh_recover_menu)
        self.import_annotations_action = QAction("Import annotations (JSON)…", window)
        self.import_annotations_action.setStatusTip(
            "Load an exchange-format annotation file onto the shown image (undoable)"
        )
        self.import_annotations_action.triggered.connect(self.choose_annotations)
        self.report_action = ExportReportAction(
            window, self.current_film_case, self.current_images, settings=self.settings
        )
        # Ctrl+P prints (the Qt print dialog); Export report… stays the PDF export.
        self.print_action = PrintReportAction(
            window, self.current_film_case, self.current_images, settings=self.settings
        )
        self.settings_action = QAction("Settings…", window)
        self.settings_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences))
        self.settings_action.triggered.connect(self.edit_settings)


    def file_actions(self) -> list[QAction | None]:
        """The File menu's entries, in order (``None`` for a separator)."""
        return [
            self.import_annotations_action, None, self.open_case_action,
            self.new_case_action, self.recover_menu.menuAction(), None, self.report_action,
            self.print_action, None, self.settings_action, None,
        ]

    # -- suitability -------------------------------------------------------------------------
    def _store(self) -> AnnotationStore | None:
        """The user's annotation store (findings are kept there too); ``None`` if it cannot
        be opened."""
        try:
            store = self.controller.store()
        except OSError:
            return None
        return store if isinstance(store, AnnotationStore) else None

    def _on_model_changed(self, model: Any) -> None:
        """A new image: show the findings saved with it (without echoing them back)."""
        from ovcf_viewer.suitability import Findings, FindingsError, findings_from_json

        saved = None
        store = self._store()
        if model is not None and store is not None:
            # Findings belong to the patient and study (entered once, shared with cases and
            # reports); an older per-image record is the fallback.
            patient_id, study_uid = self._study_key()
            # Both are read (so both versions are known: a later save is checked against
            # what was shown, and one made elsewhere meanwhile is refused, not overwritten).
            per_study = store.load_study_findings(patient_id, study_uid)
            per_image = store.load_findings(model.sop_instance_uid)
            saved = per_study or per_image
        try:
            findings = findings_from_json(json.dumps(saved)) if saved else Findings()
        except FindingsError as exc:
            self.window.statusBar().showMessage(f"Saved findings not used: {exc}")
            findings = Findings()
        with QSignalBlocker(self.suitability):
            self.suitability.set_findings(findings)

    def _on_measurements_changed(self, measurements: Any) -> None:
        from ovcf_viewer.services.suitability import measured_for
        from ovcf_viewer.suitability import FilmMeasurements, MeasuredInputs

        rules = self.suitability.rules()  # the department's thresholds, when it has a file
        if measurements is None or not measurements.vertebrae or rules is None:
            measured = MeasuredInputs()
        else:  # the one film, through the pipeline the case view, CLI and report share
            film = FilmMeasurements(self._film_label(), measurements, None, None, 0)
            measured = measured_for([film], rules=rules).measured
        with QSignalBlocker(self.suitability):
            self.suitability.set_measured(measured)
        self.suitability.set_warnings(measurements.warnings if measurements is not None else ())

    def _film_label(self) -> str:
        image = self.controller.image
        if image is None:
            return ""
        when = image.patient.study_date
        name = image.path.name if image.path is not None else "this film"
        return f"{name}, {when.isoformat()}" if when else name

    def _on_findings_changed(self, findings: Any) -> None:
        model = self.controller.model
        store = self._store()
        if model is None:
            return
        if store is None:
            self.window.statusBar().showMessage("Findings not saved: no annotation store")
            return
        from ovcf_viewer.io.store import StoreError

        try:
            store.save_findings(model.sop_instance_uid, findings.to_dict())
            patient_id, study_uid = self._study_key()
            if study_uid:
                store.save_study_findings(patient_id, study_uid, findings.to_dict())
        except StoreError as exc:
            self.window.statusBar().showMessage(f"Findings kept in memory, not saved: {exc}")
            return
        self._share_with_cases(patient_id, study_uid, findings)

    def _study_key(self) -> tuple[str, str]:
        """(Patient ID, Study Instance UID) of the shown image: the key findings live under."""
        image = self.controller.image
        if image is None:
            return "", ""
        return image.patient.patient_id, image.patient.study_instance_uid

    # -- findings shared by the main window and cases ------------------------------------------
    @staticmethod
    def _film_study(window: Any, film: Any) -> tuple[str, str]:
        image = window.controller.images.get(film.sop_instance_uid)
        if image is None:
            return "", ""
        return image.patient.patient_id, image.patient.study_instance_uid

    def _decision_films(self, case: Any) -> list[Any]:
        """The films whose study holds the case's findings, most likely first: the
        pre-operative film the decision used, then the others in time order."""
        preop = case.preop_film()
        rest = [f for f in (*case.chronological_films(), *case.films) if f is not preop]
        return list(dict.fromkeys([preop, *rest] if preop is not None else rest))

    def _adopt_study_findings(self, window: Any) -> None:
        """A case without findings takes those already entered for its decision film's study
        (in the main window or another case), so nobody types them twice."""
        from ovcf_viewer.suitability import Findings, FindingsError, findings_from_dict

        case, store = window.controller.case, self._store()
        # (Findings the case document holds but could not read are not replaced silently.)
        if (case is None or store is None or case.findings != Findings()
                or case.findings_problem):
            return

        for film in self._decision_films(case):
            saved = store.load_study_findings(*self._film_study(window, film))
            if saved:
                try:
                    window.controller.set_findings(findings_from_dict(saved))
                except FindingsError as exc:
                    self.window.statusBar().showMessage(f"Saved findings not used: {exc}")
                return

    def _read_case_study_findings(self, window: Any) -> None:
        """Read the study findings a case writes to, so its later saves are version-checked
        against them (a save over findings changed elsewhere meanwhile is refused)."""
        case, store = window.controller.case, self._store()
        if case is None or store is None:
            return
        for film in self._decision_films(case):
            key = self._film_study(window, film)
            if key[1]:
                if store.findings_version("study_findings", *key) is None:
                    store.load_study_findings(*key)
                return

    def _on_case_findings(self, case: Any) -> None:
        """Findings entered in a case are the study's findings: stored for the decision
        film's study and shown by the main window when it shows a film of that study."""
        store = self._store()
        window = next((w for w in self.case_windows if w.controller.case is case), None)
        if case is None or store is None or window is None:
            return
        from ovcf_viewer.io.store import StoreError

        films = self._decision_films(case)
        key = next((k for f in films if (k := self._film_study(window, f))[1]), ("", ""))
        if not key[1]:
            return
        try:
            store.save_study_findings(*key, case.findings.to_dict())
        except StoreError as exc:
            self.window.statusBar().showMessage(f"Findings kept in the case only: {exc}")
            return
        if self._study_key() == key:
            self._on_model_changed(self.controller.model)

    def _share_with_cases(self, patient_id: str, study_uid: str, findings: Any) -> None:
        if not study_uid:
            return
        for window in self.case_windows:
            case = window.controller.case
            if case is None:
                continue
            films = self._decision_films(case)
            key = next((k for f in films if (k := self._film_study(window, f))[1]), None)
            if key == (patient_id, study_uid):
                window.controller.set_findings(findings)

    # -- cases and report --------------------------------------------------------------------
    def current_film_case(self) -> Any:
        """The shown film as a one-film case (with the findings), for the report."""
        from ovcf_viewer.model.case import Case, CaseFilm

        image, model = self.controller.image, self.controller.model
        if image is None or model is None:
            return None
        film = CaseFilm(image.path, image.sop_instance_uid, model, model.timepoint,
                        image.patient.study_date)
        return Case(
            case_id=f"film-{image.sop_instance_uid[-12:]}",
            patient_name=image.patient.name,
            patient_id=image.patient.patient_id,
            films=(film,),
            treated_levels=tuple(model.index_levels),
            findings=self.suitability.findings(),
        )

    def current_images(self) -> dict[str, Any]:
        image = self.controller.image
        return {image.sop_instance_uid: image} if image is not None else {}

    def choose_annotations(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import annotations", "", "OVCF annotations (*.json);;All files (*)"
        )
        if path:
            self.window.open_annotations(path)

    def choose_case(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self.window, "Open case", "",
            "OVCF case or annotation files (*.json);;All files (*)"
        )
        if paths:
            self.open_case_inputs(paths)

    def open_case_inputs(self, paths: list[str]) -> CaseWindow | None:
        """*Open case…* on what the CLI takes as INPUT: one case document, or the annotation
        files of films (each opens its film with its landmarks). Anything that cannot be
        opened is said in one line; no empty window is left behind."""
        from ovcf_viewer.qt.case.open_inputs import open_inputs

        return open_inputs(self, paths)

    def refresh_recover_menu(self) -> None:
        """List the autosaved case documents, most recent first, each opening its case."""
        from ovcf_viewer.model.case import autosaved_cases

        self.recover_menu.clear()
        try:
            paths = autosaved_cases()
        except OSError as exc:
            paths = []
            self.window.statusBar().showMessage(f"Autosaved cases cannot be listed: {exc}")
        for path in paths[:20]:
            stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            action = self.recover_menu.addAction(f"{path.stem} (autosaved {stamp})")
            action.setData(str(path))
            action.triggered.connect(self._recover_case)
        if not paths:
            self.recover_menu.addAction("No autosaved case").setEnabled(False)

    def _recover_case(self) -> None:
        action = self.sender()
        if isinstance(action, QAction) and action.data():
            self.open_case(action.data())

    def open_case(self, path: str | Path) -> CaseWindow:
        from ovcf_viewer.qt.case.case_view import open_case_window

        window = open_case_window(None, case_path=path, settings=self.settings)
        return self._track_case_window(window)

    def choose_case_films(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self.window, "Films of one patient", "", "DICOM and images (*)"
        )
        if paths:
            self.propose_case(paths)

    def propose_case(self, paths: list[str]) -> NewCaseDialog | None:
        """The new-case dialog on ``paths``: timepoints and the procedure proposed
        (:func:`ovcf_viewer.services.case_setup.propose_case`) for the user to confirm; the
        case window opens on *Create case*."""
        from ovcf_viewer.qt.dialogs.new_case import NewCaseDialog, read_film_facts
        from ovcf_viewer.services.case_setup import propose_case

        kept, facts, problems = read_film_facts(paths, self.stored_annotations())
        if not facts:
            self.window.show_error("Case not created: no film could be read ("
                                   + "; ".join(problems) + ")", modal_box=True)
            return None
        dialog = NewCaseDialog(kept, facts, propose_case(facts), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.accepted.connect(lambda: self._create_confirmed_case(dialog, problems))
        self.new_case_dialog = dialog
        dialog.open()
        return dialog

    def _create_confirmed_case(self, dialog: NewCaseDialog, problems: list[str]) -> None:
        choice = dialog.choice()
        window = self.new_case(list(choice.paths), choice.procedure_date, case_facts={
            "procedure": choice.procedure, "treated_levels": choice.treated_levels,
            "timepoints": choice.timepoints})
        if problems:
            window.show_message("Not in the case: " + "; ".join(problems))

    def new_case(self, paths: list[str], procedure_date: date | None = None,
                 case_facts: dict[str, Any] | None = None) -> CaseWindow:
        from ovcf_viewer.qt.case.case_view import open_case_window

        window = open_case_window(None, image_paths=paths, procedure_date=procedure_date,
                                  settings=self.settings,
                                  annotations=self.stored_annotations(),
                                  case_facts=case_facts)
        return self._track_case_window(window)

    def _track_case_window(self, window: CaseWindow) -> CaseWindow:
        """Landmarks moved in a case window are the image's landmarks: write them through to
        the annotation store, so the main window shows them when the film is opened again."""
        self.case_windows.append(window)
        window.destroyed.connect(self._forget_case_windows)
        window.controller.caseChanged.connect(self._write_through_case)
        self._write_through_case(window.controller.case)
        self._read_case_study_findings(window)
        self._adopt_study_findings(window)
        window.controller.findingsChanged.connect(self._on_case_findings)
        return window

    def _write_through_case(self, case: Any) -> None:
        from ovcf_viewer.io.store import Autosaver

        store = self._store()
        if case is None or store is None:
            return
        for film in case.films:
            model = film.annotations
            if model is self.controller.model or id(model) in self._case_savers:
                continue  # the shown image's model autosaves already
            if store.version(model.sop_instance_uid) == 0:
                try:  # a film from a case document: detect other writers from now on
                    store.track(model.sop_instance_uid)
                except OSError as exc:
                    self.window.statusBar().showMessage(str(exc))
            self._case_savers[id(model)] = Autosaver(model, store)

    def stored_annotations(self) -> _StoredAnnotations:
        """SOP UID → landmarks already placed, for a new case."""
        return _StoredAnnotations(self)

    def _forget_case_windows(self) -> None:
        alive = []
        for window in self.case_windows:
            try:
                window.isVisible()
            except RuntimeError:  # deleted on close
                continue
            alive.append(window)
        self.case_windows = alive

    # -- settings ----------------------------------------------------------------------------
    def edit_settings(self) -> None:
        """The settings dialog on a copy of the one instance; OK applies it."""
        from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.open()
        self.settings_dialog = dialog

    def apply_settings(self, settings: Settings) -> None:
        """Take the choices of ``settings`` into the one instance: the measurements, their
        labels, open cases and the suitability rules follow it, and it is saved."""
        self.settings.update_from(settings)

    def _on_settings_changed(self) -> None:
        """Read the suitability rules again when a setting they depend on changed."""
        from ovcf_viewer.services.suitability import rules_or_fallback

        wanted = (self.settings.rules_file, self.settings.bilateral_width_threshold_mm)
        if wanted == self._rules_for:
            return
        self._rules_for = wanted
        rules, problem = rules_or_fallback(self.settings)
        if problem:
            self.window.statusBar().showMessage(problem)
        self.suitability.set_rules(rules, problem)
        self._on_measurements_changed(self.controller.measurements)

    # -- never lose work ---------------------------------------------------------------------
    def retry_pending_edits(self) -> bool:
        """Write edits a refusing disk kept in memory — the shown image's, the case films'
        and the open cases' autosaves; ``True`` when nothing is pending."""
        saver = self.controller.autosaver
        done = saver.retry() if saver is not None else True
        for case_saver in list(self._case_savers.values()):
            done = case_saver.retry() and done
        for window in self.case_windows:
            try:
                done = window.controller.retry_autosave() and done
            except RuntimeError:  # a case window already deleted
                continue
        return done

    def confirm_close(self, event: QCloseEvent) -> bool:
        """Before the window closes with unsaved edits: try once more, then ask."""
        if self.retry_pending_edits():
            return True
        answer = QMessageBox.warning(
            self.window,
            "Edits not saved",
            "The latest edits could not be written to disk "
            f"({self._pending_reason()}).\n\n"
            "Export them as an annotation file before closing?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            self.controller.choose_export_path()
            return True
        return answer == QMessageBox.StandardButton.Discard

    def _pending_reason(self) -> str:
        saver = self.controller.autosaver
        if saver is not None and saver.pending:
            return saver.status.message
        for case_saver in self._case_savers.values():
            if case_saver.pending:
                return case_saver.status.message
        return "a case autosave failed"


class _StoredAnnotations:
    """What :meth:`CaseController.new_case` asks for: the landmarks of a film by SOP UID —
    the shown image's live model (so both windows edit one model), else the store's."""

    def __init__(self, workstation: Workstation) -> None:
        self._workstation = workstation

    def get(self, sop_instance_uid: str, default: Any = None) -> Any:
        shown = self._workstation.controller.model
        if shown is not None and shown.sop_instance_uid == sop_instance_uid:
            return shown
        store = self._workstation._store()
        try:
            loaded = store.load(sop_instance_uid) if store is not None else None
        except OSError as exc:  # the store cannot be read: the case starts without them
            self._workstation.window.statusBar().showMessage(str(exc))
            loaded = None
        return loaded if loaded is not None else default
