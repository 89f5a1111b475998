"""The *Archive nodes* section of the settings: a list of nodes, a form for the selected
one (DIMSE host/port/AE titles or a DICOMweb URL, TLS/HTTPS options, C-MOVE destination,
timeout) and *Test connection* (C-ECHO or a one-study QIDO query, off the GUI thread)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.model.settings import ArchiveNode
from ovcf_viewer.qt.archive.worker import ArchiveTask

__all__ = ["ArchiveNodesEditor"]

_DIMSE, _WEB = "dimse", "dicomweb"


class ArchiveNodesEditor(QWidget):
    """Edits a list of :class:`ArchiveNode`; :meth:`nodes` gives them back (or raises
    ``ValueError`` with a readable message for the one that is not valid)."""

    def __init__(self, nodes: tuple[ArchiveNode, ...] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self._nodes: list[ArchiveNode] = list(nodes)
        self._task: ArchiveTask | None = None

        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.test_button = QPushButton("Test connection")
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)

        self.name = QLineEdit()
        self.kind = QComboBox()
        self.kind.addItem("DIMSE (C-FIND / C-GET / C-MOVE / C-STORE)", _DIMSE)
        self.kind.addItem("DICOMweb (QIDO / WADO / STOW)", _WEB)
        self.host = QLineEdit()
        self.port = QSpinBox(minimum=1, maximum=65535)
        self.called_aet = QLineEdit()
        self.called_aet.setMaxLength(16)
        self.calling_aet = QLineEdit()
        self.calling_aet.setMaxLength(16)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://pacs.example.org/dicom-web")
        self.tls = QCheckBox("DICOM TLS")
        self.tls_verify = QCheckBox("Verify the archive's certificate")
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText("system certificates")
        self.move_destination = QLineEdit()
        self.move_destination.setMaxLength(16)
        self.move_destination.setPlaceholderText("empty: C-GET")
        self.move_port = QSpinBox(minimum=1, maximum=65535)
        self.timeout = QDoubleSpinBox(minimum=1.0, maximum=600.0, decimals=0, suffix=" s")

        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Protocol:", self.kind)
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("Archive AE title (called):", self.called_aet)
        form.addRow("This workstation's AE title:", self.calling_aet)
        form.addRow("DICOMweb URL:", self.url)
        form.addRow("", self.tls)
        form.addRow("", self.tls_verify)
        form.addRow("CA certificates (PEM):", self.ca_file)
        form.addRow("C-MOVE destination AE:", self.move_destination)
        form.addRow("C-MOVE receive port:", self.move_port)
        form.addRow("Timeout:", self.timeout)
        self.form = form

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.test_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.test_result)

        self.add_button.clicked.connect(self.add_node)
        self.remove_button.clicked.connect(self.remove_node)
        self.test_button.clicked.connect(self.test_connection)
        self.list.currentRowChanged.connect(self._on_row)
        self.kind.currentIndexChanged.connect(self._sync_kind)
        for edit in (self.name, self.host, self.called_aet, self.calling_aet, self.url,
                     self.ca_file, self.move_destination):
            edit.editingFinished.connect(self._commit_form)
        for spin in (self.port, self.move_port, self.timeout):
            spin.editingFinished.connect(self._commit_form)
        for box in (self.tls, self.tls_verify):
            box.toggled.connect(self._commit_form)
        self.kind.currentIndexChanged.connect(self._commit_form)
        self._refill(0 if self._nodes else -1)

    # -- list ------------------------------------------------------------------------------
    def _refill(self, row: int) -> None:
        with QSignalBlocker(self.list):
            self.list.clear()
            for node in self._nodes:
                self.list.addItem(node.describe())
            self.list.setCurrentRow(row)
        self._on_row(row)

    def _on_row(self, row: int) -> None:
        node = self._nodes[row] if 0 <= row < len(self._nodes) else None
        enabled = node is not None
        for widget in (self.remove_button, self.test_button, self.name, self.kind, self.host,
                       self.port, self.called_aet, self.calling_aet, self.url, self.tls,
                       self.tls_verify, self.ca_file, self.move_destination, self.move_port,
                       self.timeout):
            widget.setEnabled(enabled)
        if node is not None:
            self._mirror(node)
        self.test_result.setText("")

    def _mirror(self, node: ArchiveNode) -> None:
        widgets = (self.name, self.kind, self.host, self.port, self.called_aet,
                   self.calling_aet, self.url, self.tls, self.tls_verify, self.ca_file,
                   self.move_destination, self.move_port, self.timeout)
        blockers = [QSignalBlocker(w) for w in widgets]
        self.name.setText(node.name)
        self.kind.setCurrentIndex(self.kind.findData(_WEB if node.is_dicomweb else _DIMSE))
        self.host.setText(node.host)
        self.port.setValue(int(node.port))
        self.called_aet.setText(node.called_aet)
        self.calling_aet.setText(node.calling_aet)
        self.url.setText(node.dicomweb_url)
        self.tls.setChecked(node.tls)
        self.tls_verify.setChecked(node.tls_verify)
        self.ca_file.setText(node.tls_ca_file)
        self.move_destination.setText(node.move_destination)
        self.move_port.setValue(int(node.move_port))
        self.timeout.setValue(float(node.timeout_s))
        del blockers
        self._sync_kind()

    def _sync_kind(self) -> None:
        web = self.kind.currentData() == _WEB
        for widget in (self.host, self.port, self.called_aet, self.calling_aet, self.tls,
                       self.move_destination, self.move_port):
            widget.setVisible(not web)
            label = self.form.labelForField(widget)
            if label is not None:
                label.setVisible(not web)
        self.url.setVisible(web)
        label = self.form.labelForField(self.url)
        if label is not None:
            label.setVisible(web)

    def add_node(self) -> None:
        taken = {node.name for node in self._nodes}
        index = 1
        while f"archive {index}" in taken:
            index += 1
        self._nodes.append(ArchiveNode(f"archive {index}", host="localhost", port=104,
                                       called_aet="PACS"))
        self._refill(len(self._nodes) - 1)

    def remove_node(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._nodes):
            del self._nodes[row]
            self._refill(min(row, len(self._nodes) - 1))

    # -- form → node -----------------------------------------------------------------------
    def form_node(self) -> ArchiveNode:
        """The node as the form shows it; ``ValueError`` with the reason when invalid."""
        web = self.kind.currentData() == _WEB
        row = self.list.currentRow()
        base = self._nodes[row] if 0 <= row < len(self._nodes) else ArchiveNode(
            "new", host="localhost", called_aet="PACS")
        return replace(
            base,
            name=self.name.text().strip(),
            host="" if web else self.host.text().strip(),
            port=self.port.value(),
            called_aet=self.called_aet.text().strip(),
            calling_aet=self.calling_aet.text().strip() or "OVCFVIEWER",
            dicomweb_url=self.url.text().strip() if web else "",
            tls=self.tls.isChecked() and not web,
            tls_verify=self.tls_verify.isChecked(),
            tls_ca_file=self.ca_file.text().strip(),
            move_destination="" if web else self.move_destination.text().strip(),
            move_port=self.move_port.value(),
            timeout_s=self.timeout.value(),
        )

    def _commit_form(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self._nodes):
            return
        try:
            node = self.form_node()
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        if any(other.name == node.name for i, other in enumerate(self._nodes) if i != row):
            self._say(f"another node is already named {node.name!r}", error=True)
            return
        self._nodes[row] = node
        self.list.item(row).setText(node.describe())
        self._say("")

    def nodes(self) -> tuple[ArchiveNode, ...]:
        self._commit_form()
        if 0 <= self.list.currentRow() < len(self._nodes):
            self.form_node()  # raises for an invalid form, so the dialog can say so
        return tuple(self._nodes)

    # -- test ------------------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        self.test_result.setStyleSheet("color: #b00020" if error else "")
        self.test_result.setText(text)

    def test_connection(self) -> None:
        try:
            node = self.form_node()
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self._say(f"Testing {node.describe()}…")
        self.test_button.setEnabled(False)
        task = ArchiveTask(_EchoJob(node))
        task.succeeded.connect(self._on_echo)
        task.failed.connect(self._on_echo_failed)
        task.finished.connect(self._on_test_finished)
        self._task = task
        task.start()

    def _on_echo(self, seconds: float) -> None:
        self._say(f"✓ The archive answered in {seconds * 1000:.0f} ms.")

    def _on_echo_failed(self, message: str, _error: object) -> None:
        self._say(f"✗ {message}", error=True)

    def _on_test_finished(self) -> None:
        self.test_button.setEnabled(0 <= self.list.currentRow() < len(self._nodes))


class _EchoJob:
    def __init__(self, node: ArchiveNode) -> None:
        self.node = node

    def __call__(self, progress: object, cancelled: object) -> float:
        from ovcf_viewer.services import archive

        return archive.echo(self.node)
