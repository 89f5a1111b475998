"""Undo and redo for annotation edits: each model :class:`EditCommand` becomes one
:class:`QUndoCommand` on a :class:`QUndoStack` (the Qt undo framework pattern).

The model records a command *after* the edit happened (``ImageAnnotations.command_recorded``),
so the first ``redo()`` Qt calls on push is a no-op; later redo/undo call the command's
``apply``/``revert``, which restore the whole annotation state (mementos). A drag records one
command when it ends, so a drag is one undo step. ``cleanChanged`` drives the window's
unsaved mark.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoGroup, QUndoStack
from PySide6.QtWidgets import QWidget

from ovcf_viewer.model.landmarks import EditCommand, ImageAnnotations

__all__ = ["AnnotationUndoStack", "EditUndoCommand", "create_undo_actions"]


class EditUndoCommand(QUndoCommand):
    """One completed annotation edit."""

    def __init__(self, model: ImageAnnotations, command: EditCommand) -> None:
        super().__init__(command.description)
        self._model = model
        self._command = command
        self._done = True  # the edit already happened when it was recorded

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self._model.cancel_preview()
        self._command.apply(self._model)

    def undo(self) -> None:
        self._model.cancel_preview()
        self._command.revert(self._model)


class AnnotationUndoStack(QUndoStack):
    """The undo stack of one image's annotations; pushes every recorded edit."""

    def __init__(self, model: ImageAnnotations, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        model.command_recorded.connect(self._on_command_recorded)

    def model(self) -> ImageAnnotations:
        return self._model

    def detach(self) -> None:
        """Stop listening to the model (the image was closed)."""
        self._model.command_recorded.disconnect(self._on_command_recorded)

    def _on_command_recorded(self, command: EditCommand) -> None:
        self.push(EditUndoCommand(self._model, command))


def create_undo_actions(group: QUndoGroup, parent: QWidget) -> tuple[QAction, QAction]:
    """Undo (Ctrl+Z) and Redo (Ctrl+Shift+Z, also Ctrl+Y) actions that follow the active
    stack of ``group``; their text names the edit ("Undo Place L1 sa")."""
    undo = group.createUndoAction(parent, "Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo = group.createRedoAction(parent, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    return undo, redo
