"""Association outcomes against a scripted loopback server (no archive needed): a connection
closed during association without an answer is tried once more, so a rejection that arrives
with the close (seen with Orthanc under load) is still reported with its reason."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from ovcf_viewer.io.archive import (
    ArchiveProtocolError,
    AssociationRejectedError,
    StudyQuery,
    open_archive,
)
from ovcf_viewer.model.settings import ArchiveNode

#: A-ASSOCIATE-RJ PDU (PS3.8 §9.3.4): rejected-permanent, by the service user,
#: "calling-AE-title-not-recognized".
REJECT_CALLING_AE = bytes([0x03, 0x00]) + struct.pack(">I", 4) + bytes([0x00, 0x01, 0x01,
                                                                         0x03])


class ScriptedServer:
    """Answers the n-th connection as ``script[n]`` says: ``"close"`` reads the association
    request and closes; ``"reject"`` answers it with :data:`REJECT_CALLING_AE`."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.accepted = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for action in self.script:
            while not self._stop.is_set():
                try:
                    conn, _ = self.sock.accept()
                    break
                except OSError:  # the accept time-out: look at the stop flag again
                    continue
            else:
                return
            self.accepted += 1
            with conn:
                conn.settimeout(5)
                conn.recv(65536)  # the A-ASSOCIATE-RQ
                if action == "reject":
                    conn.sendall(REJECT_CALLING_AE)
                    conn.recv(65536)  # until the requester closes (or the time-out)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sock.close()


def find(server: ScriptedServer) -> None:
    node = ArchiveNode("scripted", host="127.0.0.1", port=server.port, called_aet="X",
                       calling_aet="STRANGER", timeout_s=5)
    open_archive(node).find_studies(StudyQuery())


@pytest.mark.parametrize(("script", "raised", "words", "connections"), [
    # A close without an answer is tried again, and the rejection then said with its reason.
    (["close", "reject"], AssociationRejectedError, "Calling AE title not recognised", 2),
    # A rejection is not retried.
    (["reject", "reject"], AssociationRejectedError, "Calling AE title not recognised", 1),
    # An archive that always closes is tried twice, then said so.
    (["close", "close", "close"], ArchiveProtocolError,
     "closed the connection while associating", 2),
], ids=["close-then-reject", "reject", "always-close"])
def test_association_outcome(script, raised, words, connections):
    server = ScriptedServer(script)
    try:
        with pytest.raises(raised) as caught:
            find(server)
    finally:
        server.close()
    assert server.accepted == connections
    assert words in caught.value.message
