"""A real Orthanc for the archive tests: started by the tests on free loopback ports with a
temporary configuration and storage, waited for with a bounded poll of its REST ``/system``,
and stopped after (terminate, bounded wait, kill).

Orthanc 1.10 cannot bind to one address; it listens on every interface, so the
configuration closes it to anything but this machine: HTTP ``RemoteAccessAllowed`` false,
and DICOM only from the registered test AE at 127.0.0.1 (``DicomCheckModalityHost``, every
``DicomAlwaysAllow*`` off). Outside CI a missing Orthanc, DICOMweb plugin or dcmtk skips the
tests with the reason; under ``CI=true`` it fails them (``.ci/run`` installs the Debian
packages ``orthanc``, ``orthanc-dicomweb`` and ``dcmtk``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ovcf_viewer.model.settings import ArchiveNode

SAMPLES = sorted((Path(__file__).resolve().parent.parent / "sample_dicom").glob("**/*.dcm"))
TEST_AET = "OVCFTEST"  # this side's AE title, registered in Orthanc for find/get/move
ORTHANC_AET = "ORTHANCTEST"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

# Nothing in this process goes through a proxy to reach loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def missing(reason: str) -> None:
    """Fail under CI (the tools must be there), skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)


def orthanc_binary() -> str:
    found = shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None
    )
    if not found:
        missing("Orthanc is not installed (Debian package 'orthanc')")
    return str(found)


def dicomweb_plugin() -> str:
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        listing = subprocess.run(
            ["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True, timeout=30
        ).stdout
        candidates += [Path(line) for line in listing.splitlines()
                       if "libOrthancDicomWeb.so" in line]
    candidates += [Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")]
    for path in candidates:
        if path.is_file():
            return str(path)
    missing("the Orthanc DICOMweb plugin is not installed (Debian package 'orthanc-dicomweb')")
    raise AssertionError("unreachable")


def dcmtk_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        missing(f"dcmtk's {name} is not installed (Debian package 'dcmtk')")
    return str(found)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Orthanc:
    """One Orthanc process with its own folder, ports and configuration."""

    def __init__(self, folder: Path, tls: tuple[Path, Path] | None = None) -> None:
        """``tls``: (certificate, private key) PEM files; DICOM TLS then. (Orthanc 1.10's own
        HTTPS crashes on the first request with Debian's OpenSSL 3, so HTTPS is tested
        through :class:`TlsProxy` in front of its plain HTTP port.)"""
        self.folder = folder
        self.tls = tls
        self.storage = folder / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.dicom_port = free_port()
        self.http_port = free_port()
        self.move_port = free_port()  # where the test's C-MOVE receiver listens
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "orthanc.log"
        self.config_path = folder / "orthanc.json"
        config = self.configuration()
        if tls is not None:
            certificate, key = tls
            config.update({
                "DicomTlsEnabled": True, "DicomTlsCertificate": str(certificate),
                "DicomTlsPrivateKey": str(key), "DicomTlsTrustedCertificates": str(certificate),
                "DicomTlsRemoteCertificateRequired": False,
            })
        self.config_path.write_text(json.dumps(config, indent=2))

    def configuration(self) -> dict[str, Any]:
        return {
            "Name": "ovcf-test",
            "StorageDirectory": str(self.storage),
            "IndexDirectory": str(self.storage),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": ORTHANC_AET,
            "DicomCheckCalledAet": True,
            "DicomModalities": {"ovcf": [TEST_AET, "127.0.0.1", self.move_port]},
            "DicomCheckModalityHost": True,
            "DicomAlwaysAllowEcho": False,
            "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False,
            "DicomAlwaysAllowGet": False,
            "DicomAlwaysAllowMove": False,
            "DicomScpTimeout": 30,
            "DicomScuTimeout": 10,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "RegisteredUsers": {},
            "OrthancExplorerEnabled": False,
            "WebDavEnabled": False,
            "HttpTimeout": 10,
            "StableAge": 1,
            "SaveJobs": False,
            "Plugins": [dicomweb_plugin()],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False,
                         "Host": "127.0.0.1", "Ssl": False},
        }

    # -- life ------------------------------------------------------------------------------
    def start(self) -> Orthanc:
        binary = orthanc_binary()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [binary, str(self.config_path)], stdout=log, stderr=subprocess.STDOUT,
                cwd=self.folder,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start:\n{self.log_tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                if self.rest("/system").get("DicomAet") == ORTHANC_AET:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {START_TIMEOUT_S:g} s:\n"
                           f"{self.log_tail()}")

    def stop(self, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- REST (the archive's own view, independent of the code under test) ---------------
    def rest(self, path: str, data: bytes | None = None, method: str | None = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method
        )
        with _OPENER.open(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def upload(self, path: Path) -> dict[str, Any]:
        return self.rest("/instances", data=path.read_bytes(), method="POST")

    def studies(self) -> list[dict[str, Any]]:
        return self.rest("/studies?expand")

    def instances(self) -> list[dict[str, Any]]:
        return self.rest("/instances?expand")

    def clear(self) -> None:
        for patient in self.rest("/patients"):
            self.rest(f"/patients/{patient}", method="DELETE")

    # -- nodes -----------------------------------------------------------------------------
    def dimse_node(self, **changes: Any) -> ArchiveNode:
        values: dict[str, Any] = {
            "name": "orthanc", "host": "127.0.0.1", "port": self.dicom_port,
            "called_aet": ORTHANC_AET, "calling_aet": TEST_AET, "timeout_s": 10.0,
            "move_port": self.move_port, "move_bind_address": "127.0.0.1",
        }
        values.update(changes)
        return ArchiveNode(**values)

    def dicomweb_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/dicom-web"

    def dicomweb_node(self, **changes: Any) -> ArchiveNode:
        values: dict[str, Any] = {
            "name": "orthanc-web", "dicomweb_url": self.dicomweb_url(), "timeout_s": 10.0,
        }
        values.update(changes)
        return ArchiveNode(**values)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (subjectAltName IP) and its key, made with openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        missing("openssl is not installed (Debian package 'openssl')")
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return certificate, key


class TlsProxy:
    """HTTPS on a free loopback port, forwarded as plain HTTP to ``target_port``: an HTTPS
    front for the DICOMweb tests. Threads end when the proxy is closed."""

    def __init__(self, target_port: int, certificate: Path, key: Path) -> None:
        self.target_port = target_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(certificate), str(key))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            client.settimeout(30)
            secure = self.context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()  # an untrusting client hung up during the handshake
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
        except OSError:
            secure.close()
            return
        pump = threading.Thread(target=self._pump, args=(upstream, secure), daemon=True)
        pump.start()
        self._pump(secure, upstream)
        pump.join(timeout=30)
        for end in (secure, upstream):
            with contextlib.suppress(OSError):
                end.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dicom-web"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def _sop_uid(path: Path) -> str:
    import pydicom

    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


_SAMPLE_UIDS = {_sop_uid(p) for p in SAMPLES}


@pytest.fixture(scope="session")
def orthanc_session(tmp_path_factory):
    """One Orthanc for the session, loaded with the sample films through its REST API."""
    server = Orthanc(tmp_path_factory.mktemp("orthanc")).start()
    try:
        for path in SAMPLES:
            server.upload(path)
        yield server
    finally:
        server.stop()


@pytest.fixture
def orthanc(orthanc_session):
    """The session's Orthanc, holding exactly the sample films when the test starts."""
    stored = {i["MainDicomTags"]["SOPInstanceUID"] for i in orthanc_session.instances()}
    if stored != _SAMPLE_UIDS:
        orthanc_session.clear()
        for path in SAMPLES:
            orthanc_session.upload(path)
    return orthanc_session


@pytest.fixture(scope="module")
def tls_orthanc(tmp_path_factory):
    """An Orthanc speaking only DICOM TLS, with a self-signed certificate, holding the sample
    films, and an HTTPS front (``.https``) to its DICOMweb; ``.tls[0]`` is the certificate a
    client must trust."""
    folder = tmp_path_factory.mktemp("orthanc-tls")
    certificate, key = self_signed_certificate(folder)
    server = Orthanc(folder, tls=(certificate, key)).start()
    proxy = TlsProxy(server.http_port, certificate, key)
    server.https = proxy  # type: ignore[attr-defined]
    try:
        for path in SAMPLES:
            server.upload(path)
        yield server
    finally:
        proxy.close()
        server.stop()


@pytest.fixture
def empty_orthanc(tmp_path_factory):
    """A fresh, empty Orthanc of the test's own (for sends and failures mid-way)."""
    server = Orthanc(tmp_path_factory.mktemp("orthanc-empty")).start()
    try:
        yield server
    finally:
        server.stop()
