"""The archive-node chooser the Query/Retrieve and Send dialogs share."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox

from ovcf_viewer.model.settings import ArchiveNode

__all__ = ["chosen_node", "fill_node_combo"]


def fill_node_combo(combo: QComboBox, nodes: Sequence[ArchiveNode]) -> None:
    """List ``nodes`` in ``combo`` (text: the node described, data: its name), keeping the
    chosen node when it is still there; nothing changes (no signal) when the list is the same."""
    wanted = [(node.describe(), node.name) for node in nodes]
    shown = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    if wanted == shown:
        return
    chosen = combo.currentData()
    with QSignalBlocker(combo):
        combo.clear()
        for text, name in wanted:
            combo.addItem(text, name)
        index = combo.findData(chosen)
        combo.setCurrentIndex(index if index >= 0 else 0)


def chosen_node(combo: QComboBox, nodes: Sequence[ArchiveNode]) -> ArchiveNode | None:
    """The node of ``nodes`` chosen in ``combo`` (by name), ``None`` when there is none."""
    name = combo.currentData()
    return next((node for node in nodes if node.name == name), None)
