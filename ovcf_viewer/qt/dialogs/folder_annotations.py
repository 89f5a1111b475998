"""Opening a folder loads the annotation files beside its films
(:mod:`ovcf_viewer.services.folder_annotations`: matched by SOP Instance UID).

- A film with no landmarks yet gets the file's, written to the annotation store at once
  (the shown film through its model: one undo step, autosaved).
- A film that already has other landmarks is not overwritten: one non-modal question lists
  them; *Load from files* replaces each film's landmarks as one undo step (the shown film at
  once; another film's step waits on its undo stack until it is shown), autosaved.
- Files that match no film, or are not annotation files, are listed in the Studies panel
  with why (not failures).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QMessageBox, QPushButton

from ovcf_viewer.model.landmarks import EditCommand, ImageAnnotations
from ovcf_viewer.services.folder_annotations import (
    AnnotationFile,
    ImportPlan,
    match_annotation_files,
    plan_import,
)

if TYPE_CHECKING:
    from ovcf_viewer.io.study_scan import ScanResult
    from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
    from ovcf_viewer.qt.main_window import MainWindow

__all__ = ["FolderAnnotationLoader"]


class FolderAnnotationLoader(QObject):
    """Follows the window's scans (``MainWindow.scanned``) and loads their annotation files
    as described in the module docstring."""

    def __init__(self, window: MainWindow, controller: AnnotationController) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        #: The question about films that already have landmarks (``None`` when not asked).
        self.question: QMessageBox | None = None
        self.load_button: QPushButton | None = None
        self.keep_button: QPushButton | None = None
        # SOP UID → (description, landmarks before): an undo step waiting for its film.
        self._waiting_undo: dict[str, tuple[str, dict[str, Any]]] = {}
        self._conflicts: list[AnnotationFile] = []
        self._noted: tuple[list[Path], list[tuple[Path, str]]] = ([], [])
        window.scanned.connect(self.on_scan)
        controller.modelChanged.connect(self._on_model_changed)

    # -- a scan --------------------------------------------------------------------------------
    def on_scan(self, result: ScanResult | None) -> ImportPlan | None:
        if result is None:
            return None
        candidates = [path for path, _why in result.errors if path.suffix.lower() == ".json"]
        if not candidates:
            return None
        found = match_annotation_files(candidates, {i.sop_instance_uid for i in result.images()})
        store = self._store()
        try:
            plan = plan_import(found, store) if store is not None else None
        except OSError as exc:
            plan = None
            self.window.statusBar().showMessage(f"Annotation files not loaded: {exc}")
        loaded = []
        if plan is not None:
            for item in plan.new:
                if self._write(item, before=None):
                    loaded.append(item.path)
            loaded.extend(item.path for item in plan.same)
        asked = [item.path for item in plan.conflicts] if plan is not None else []
        self.window.browser.note_annotation_files(loaded, found.unmatched, asked)
        self._noted = (loaded, list(found.unmatched))
        if plan is None:
            return None
        parts = [f"Landmarks loaded from {len(loaded)} annotation file(s)"]
        if plan.conflicts:
            parts.append(f"{len(plan.conflicts)} film(s) already have other landmarks "
                         "(asked)")
        if found.unmatched:
            parts.append(f"{len(found.unmatched)} file(s) not loaded (listed in the Studies "
                         "panel)")
        # Said once the first film is shown (its prompts would cover it otherwise).
        message = "; ".join(parts)
        QTimer.singleShot(0, lambda: self._say(message))
        if plan.conflicts:
            self._ask(plan)
        return plan

    def _say(self, message: str) -> None:
        with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
            self.window.statusBar().showMessage(message)

    def _store(self) -> Any:
        try:
            return self.controller.store()
        except OSError as exc:
            self.window.statusBar().showMessage(f"Annotation files not loaded: {exc}")
            return None

    # -- films that already have landmarks ----------------------------------------------------
    def _ask(self, plan: ImportPlan) -> None:
        self._conflicts = list(plan.conflicts)
        names = ", ".join(item.path.name for item in plan.conflicts)
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Landmarks already placed")
        box.setText(f"{len(plan.conflicts)} film(s) of this folder already have landmarks that "
                    f"differ from their annotation file(s): {names}.")
        box.setInformativeText("Load the files' landmarks instead? Each film's change is one "
                               "undo step (Ctrl+Z on that film); yours stay otherwise.")
        self.load_button = box.addButton("Load from files", QMessageBox.ButtonRole.AcceptRole)
        self.keep_button = box.addButton("Keep mine", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(self.keep_button)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.buttonClicked.connect(self._on_answer)
        self.question = box
        box.show()

    def _on_answer(self, button: object) -> None:
        conflicts, self._conflicts = self._conflicts, []
        self.question = None
        loaded, unmatched = self._noted
        if button is not self.load_button:
            self.window.browser.note_annotation_files(
                loaded, [*unmatched, *((i.path, "your landmarks kept, not loaded")
                                       for i in conflicts)])
            self.window.statusBar().showMessage("Your landmarks kept; the folder's annotation "
                                                "files were not loaded")
            return
        store = self._store()
        done = 0
        for item in conflicts:
            try:
                current = store.load(item.sop_instance_uid) if store is not None else None
            except OSError as exc:
                unmatched.append((item.path, f"not loaded: {exc}"))
                continue
            before = current.to_json(partial=True) if current is not None else None
            if self._write(item, before=before):
                done += 1
                loaded.append(item.path)
        self.window.browser.note_annotation_files(loaded, unmatched)
        self.window.statusBar().showMessage(
            f"Landmarks of {done} film(s) replaced from their annotation files (Ctrl+Z on a "
            "film undoes it)")

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, item: AnnotationFile, before: dict[str, Any] | None) -> bool:
        """Give the film the file's landmarks: the shown film through its model (one undo
        step, autosaved), another one in the store (its undo step waits for it)."""
        from ovcf_viewer.io.store import StoreError

        description = f"Load landmarks from {item.path.name}"
        shown = self.controller.model
        if shown is not None and shown.sop_instance_uid == item.sop_instance_uid:
            with shown.edit(description):
                shown.restore(item.annotations.to_json(partial=True))
            return True
        store = self._store()
        if store is None:
            return False
        copy = ImageAnnotations.from_json(item.annotations.to_json(partial=True), partial=True)
        try:
            if store.version(item.sop_instance_uid) == 0:
                store.load(item.sop_instance_uid)  # the version a write is checked against
            store.save(copy)
        except (StoreError, OSError) as exc:
            self.window.statusBar().showMessage(f"{item.path.name} not loaded: {exc}")
            return False
        if before is not None:
            self._waiting_undo[item.sop_instance_uid] = (description, before)
        return True

    def _on_model_changed(self, model: ImageAnnotations | None) -> None:
        """A film was shown: put its waiting *Load landmarks* step on its undo stack."""
        if model is None or model.sop_instance_uid not in self._waiting_undo:
            return
        description, before = self._waiting_undo.pop(model.sop_instance_uid)
        stack = self.controller.undo_stack
        if stack is None:
            return
        from ovcf_viewer.qt.annotate.undo import EditUndoCommand

        command = EditCommand(description, before, model.to_json(partial=True))
        stack.push(EditUndoCommand(model, command))
