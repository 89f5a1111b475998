"""DIMSE archive access with pynetdicom: C-ECHO, C-FIND, C-GET / C-MOVE and C-STORE.

Every association is opened with the ACSE, DIMSE, network and TCP-connect timeouts set from
the node (so every call ends), is checked with ``is_established``, and is released in a
``finally``. Every status the standard defines for the service is handled (PS3.4 C.4 for
query/retrieve, B.2.3 for storage; PS3.7 Annex C for the general codes). C-GET proposes the
storage contexts of the SOP classes the study holds with the SCP role
(``build_role(..., scp_role=True)``, PS3.4 C.4.3); C-MOVE runs a storage SCP on the node's
move port for the duration of the retrieve. The module imports pynetdicom: import it only
when a DIMSE node is used.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID
from pynetdicom import AE, build_role, evt
from pynetdicom.status import code_to_category

from ovcf_viewer.io.archive.base import (
    DEFAULT_FIND_LIMIT,
    Archive,
    CancelCheck,
    Cancelled,
    InstanceRef,
    SendResult,
    SeriesMatch,
    StudyMatch,
    StudyQuery,
    instance_from_dataset,
    is_uid,
    series_from_dataset,
    study_from_dataset,
    write_instance,
)
from ovcf_viewer.io.archive.errors import (
    ArchiveError,
    ArchiveProtocolError,
    ArchiveTimeoutError,
    ArchiveUnreachableError,
    AssociationRejectedError,
    TooManyMatchesError,
)
from ovcf_viewer.model.settings import ArchiveNode
from ovcf_viewer.util.safe_read import InputFileError, require_regular_file

__all__ = ["DimseArchive"]

log = logging.getLogger(__name__)

#: Transfer syntaxes offered when receiving images (C-GET / C-MOVE): the uncompressed ones
#: and the compressions pydicom's installed plugins decode, so the archive can send films as
#: stored instead of transcoding them.
RECEIVE_TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
)
_UNCOMPRESSED = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
# SOP classes (PS3.4 A.4 Verification; C.6.2.1 Study Root Query/Retrieve FIND, MOVE, GET).
Verification = "1.2.840.10008.1.1"
StudyRootQueryRetrieveInformationModelFind = "1.2.840.10008.5.1.4.1.2.2.1"
StudyRootQueryRetrieveInformationModelMove = "1.2.840.10008.5.1.4.1.2.2.2"
StudyRootQueryRetrieveInformationModelGet = "1.2.840.10008.5.1.4.1.2.2.3"
_MAX_CONTEXTS = 128  # PS3.8 §9.3.2.2: odd context IDs 1..255

# One C-MOVE receiver per port at a time in this process (a thumbnail and a retrieve would
# otherwise both try to listen on it): the second waits for the first.
_MOVE_PORT_LOCKS: dict[int, threading.Lock] = {}
_MOVE_PORT_LOCKS_GUARD = threading.Lock()


def _move_port_lock(port: int) -> threading.Lock:
    with _MOVE_PORT_LOCKS_GUARD:
        return _MOVE_PORT_LOCKS.setdefault(port, threading.Lock())

# PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4 and B.2.3; PS3.7 C.
_STATUS_TEXT = {
    0x0106: "invalid attribute value",
    0x0110: "processing failure",
    0x0117: "invalid SOP instance",
    0x0122: "SOP class not supported",
    0x0124: "not authorised",
    0x0210: "duplicate invocation",
    0x0211: "unrecognised operation",
    0x0212: "mistyped argument",
    0xA701: "out of resources: unable to calculate the number of matches",
    0xA702: "out of resources: unable to perform sub-operations",
    0xA801: "move destination unknown to the archive",
    0xA900: "identifier does not match SOP class",
    0xAA00: "none of the frames requested were found",
    0xB000: "sub-operations completed with failures",
    0xB006: "elements discarded",
    0xB007: "data set does not match SOP class",
    0xFE00: "cancelled",
}


def _status_text(code: int) -> str:
    if code in _STATUS_TEXT:
        return _STATUS_TEXT[code]
    if 0xA700 <= code <= 0xA7FF:
        return "out of resources"
    if 0xA900 <= code <= 0xA9FF:
        return "data set does not match SOP class"
    if 0xC000 <= code <= 0xCFFF:
        return "unable to process"
    return "failure"


def _status(rsp: Dataset) -> int | None:
    """The response's status code, or None when the peer timed out, aborted or sent nothing
    valid (pynetdicom then yields an empty dataset)."""
    value = getattr(rsp, "Status", None)
    return int(value) if value is not None else None


class DimseArchive(Archive):
    """A DIMSE node (Study Root query/retrieve)."""

    def __init__(self, node: ArchiveNode) -> None:
        super().__init__(node)
        self.timeout = float(node.timeout_s)

    # -- associations ----------------------------------------------------------------------
    def _ae(self) -> AE:
        ae = AE(ae_title=self.node.calling_aet)
        ae.acse_timeout = self.timeout
        ae.dimse_timeout = self.timeout
        ae.network_timeout = self.timeout
        ae.connection_timeout = self.timeout
        return ae

    def _tls_args(self) -> tuple[ssl.SSLContext, str] | None:
        node = self.node
        if not node.tls:
            return None
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH, cafile=node.tls_ca_file or None
            )
            if not node.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if node.tls_cert_file:
                context.load_cert_chain(node.tls_cert_file, node.tls_key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ArchiveError(f"TLS set-up for {node.name} failed: {exc}") from exc
        return context, node.host

    @contextmanager
    def _associate(
        self, ae: AE, *, ext_neg: list[Any] | None = None, handlers: list[Any] | None = None
    ) -> Iterator[Any]:
        """An established association, released (or aborted) on leaving; else the
        :class:`ArchiveError` that says why. A connection closed during association without
        an answer is tried once more: an archive's rejection can arrive together with its
        close and be lost to the abort (seen under load with Orthanc refusing an unknown
        calling AE title), and the second try then reports the rejection and its reason."""
        assoc, seen, elapsed = self._try_associate(ae, ext_neg, handlers)
        if not assoc.is_established and _closed_without_answer(assoc, seen, elapsed,
                                                               self.timeout):
            log.info("archive %s closed the connection while associating; trying once more",
                     self.node.name)
            if assoc.is_alive():
                assoc.abort()
            assoc, seen, elapsed = self._try_associate(ae, ext_neg, handlers)
        try:
            if not assoc.is_established:
                raise self._association_error(assoc, seen, elapsed)
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()
            elif assoc.is_alive():
                assoc.abort()

    def _try_associate(self, ae: AE, ext_neg: list[Any] | None, handlers: list[Any] | None
                       ) -> tuple[Any, dict[str, Any], float]:
        """One association request: the association, what was seen of it (the connection
        opened; the last ACSE primitive received) and the seconds it took."""
        node = self.node
        seen: dict[str, Any] = {}

        def on_open(event: Any) -> None:
            seen["open"] = True

        def on_acse(event: Any) -> None:
            seen["primitive"] = event.primitive

        bound = [(evt.EVT_CONN_OPEN, on_open), (evt.EVT_ACSE_RECV, on_acse), *(handlers or [])]
        started = time.monotonic()
        tls_args = self._tls_args()
        try:
            assoc = ae.associate(
                node.host,
                int(node.port),
                ae_title=node.called_aet,
                ext_neg=ext_neg,
                evt_handlers=bound,
                tls_args=tls_args,
            )
        except socket.gaierror as exc:  # pynetdicom looks the host name up first
            raise ArchiveUnreachableError(
                f"archive {node.name}: host {node.host!r} not found ({exc.strerror or exc}): "
                "check the host name"
            ) from None
        except OSError as exc:
            raise ArchiveUnreachableError(
                f"archive {node.name} not reachable at {node.host}:{node.port} "
                f"({exc.strerror or exc})"
            ) from None
        return assoc, seen, time.monotonic() - started

    def _association_error(self, assoc: Any, seen: dict[str, Any], elapsed: float) -> ArchiveError:
        node = self.node
        where = f"{node.host}:{node.port}"
        if not seen.get("open"):
            if elapsed >= 0.9 * self.timeout:
                return ArchiveUnreachableError(
                    f"archive {node.name} not reachable at {where}: no answer within "
                    f"{self.timeout:g} s (check host, port and firewall)"
                )
            if node.tls:  # pynetdicom reports a refused port and a failed handshake alike
                return ArchiveUnreachableError(
                    f"archive {node.name} not reachable at {where} over DICOM TLS: connection "
                    "refused or TLS handshake failed (is the archive's certificate trusted — "
                    "CA file — and does it speak TLS on this port?)"
                )
            return ArchiveUnreachableError(
                f"archive {node.name} not reachable at {where}: connection refused "
                "(is it running, and are host and port right?)"
            )
        primitive = seen.get("primitive")
        if assoc.is_rejected:
            reason = getattr(primitive, "reason_str", "") or "no reason given"
            return AssociationRejectedError(
                f"archive {node.name} refused the association ({reason}): check the called AE "
                f"title '{node.called_aet}' and that the archive knows this workstation's AE "
                f"title '{node.calling_aet}'"
            )
        if primitive is None and elapsed >= 0.9 * self.timeout:
            return ArchiveTimeoutError(
                f"archive {node.name} at {where} accepted the connection but did not answer "
                f"within {self.timeout:g} s"
            )
        if primitive is not None and getattr(primitive, "result", None) == 0x00:
            return ArchiveProtocolError(
                f"archive {node.name} accepted none of the requested services "
                "(it may not support this kind of query, retrieve or object)"
            )
        return ArchiveProtocolError(
            f"archive {node.name} closed the connection while associating"
            + (" (DICOM TLS on one side only?)" if not node.tls else " (TLS handshake failed?)")
        )

    def _lost(self, what: str) -> ArchiveError:
        return ArchiveTimeoutError(
            f"archive {self.node.name} stopped answering during {what} "
            f"(no response within {self.timeout:g} s, or the connection was lost)"
        )

    def _require(self, assoc: Any, what: str) -> None:
        """Between requests on one association: the archive may have gone away."""
        if not assoc.is_established:
            raise self._lost(what)

    # -- C-ECHO ----------------------------------------------------------------------------
    def echo(self) -> None:
        ae = self._ae()
        ae.add_requested_context(Verification)
        with self._associate(ae) as assoc:
            status = _status(assoc.send_c_echo())
            if status is None:
                raise self._lost("C-ECHO")
            if status != 0x0000:
                raise ArchiveProtocolError(
                    f"archive {self.node.name} answered C-ECHO with status 0x{status:04X}"
                )

    # -- C-FIND ----------------------------------------------------------------------------
    def _find(self, identifier: Dataset, limit: int | None, what: str) -> list[Dataset]:
        ae = self._ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
        matches: list[Dataset] = []
        too_many = False
        with self._associate(ae) as assoc:
            responses = assoc.send_c_find(
                identifier, StudyRootQueryRetrieveInformationModelFind, msg_id=1
            )
            for rsp, ds in responses:
                status = _status(rsp)
                if status is None:
                    raise self._lost(what)
                if status in (0xFF00, 0xFF01):  # pending: one match
                    if too_many:
                        continue  # draining after C-CANCEL
                    if ds is not None:
                        matches.append(ds)
                    if limit is not None and len(matches) > limit:
                        too_many = True
                        assoc.send_c_cancel(
                            1, query_model=StudyRootQueryRetrieveInformationModelFind
                        )
                    continue
                if status == 0x0000 or status == 0xFE00:
                    break
                raise ArchiveProtocolError(
                    f"archive {self.node.name} refused the {what} (status 0x{status:04X}: "
                    f"{_status_text(status)})"
                )
        if too_many and limit is not None:
            raise TooManyMatchesError(limit)
        return matches

    def find_studies(
        self, query: StudyQuery, limit: int = DEFAULT_FIND_LIMIT
    ) -> list[StudyMatch]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = query.study_instance_uid
        ds.PatientID = query.patient_id
        ds.PatientName = query.patient_name
        ds.StudyDate = query.study_date
        ds.ModalitiesInStudy = query.modality
        ds.StudyDescription = ""
        ds.NumberOfStudyRelatedInstances = ""
        found = self._find(ds, limit, "search")
        return [study_from_dataset(match) for match in found]

    def find_series(self, study_uid: str) -> list[SeriesMatch]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = ""
        ds.Modality = ""
        ds.SeriesNumber = ""
        ds.SeriesDescription = ""
        ds.NumberOfSeriesRelatedInstances = ""
        found = self._find(ds, None, "series search")
        series = [series_from_dataset(match, study_uid) for match in found]
        return sorted(series, key=lambda s: (s.series_number is None, s.series_number or 0))

    def find_instances(self, study_uid: str, series_uid: str = "") -> list[InstanceRef]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = ""
        ds.SOPClassUID = ""
        ds.InstanceNumber = ""
        found = self._find(ds, None, "instance search")
        refs = [instance_from_dataset(match, study_uid) for match in found]
        return [ref for ref in refs if is_uid(ref.sop_instance_uid)]

    # -- C-GET / C-MOVE --------------------------------------------------------------------
    def fetch_instances(
        self,
        refs: Sequence[InstanceRef],
        folder: Path,
        on_stored: Callable[[Path], None],
        cancel: CancelCheck,
    ) -> None:
        if not refs:
            return
        if self.node.move_destination:
            self._fetch_by_move(refs, folder, on_stored, cancel)
        else:
            self._fetch_by_get(refs, folder, on_stored, cancel)

    def _store_handler(self, folder: Path, arrived: dict[str, Path], errors: list[str]) -> Any:
        lock = threading.Lock()

        def handle_store(event: Any) -> int:
            sop_uid = str(event.request.AffectedSOPInstanceUID)
            try:
                path = write_instance(folder, sop_uid, event.encoded_dataset(include_meta=True))
            except (OSError, ArchiveError) as exc:
                with lock:
                    errors.append(f"could not write {sop_uid}: {exc}")
                return 0xA700  # out of resources: the archive reports a failed sub-operation
            with lock:
                arrived[sop_uid] = path
            return 0x0000

        return handle_store

    def _retrieve_identifier(self, ref: InstanceRef) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE"
        ds.StudyInstanceUID = ref.study_instance_uid
        ds.SeriesInstanceUID = ref.series_instance_uid
        ds.SOPInstanceUID = ref.sop_instance_uid
        return ds

    def _check_retrieve(
        self, ref: InstanceRef, responses: Iterator[tuple[Dataset, Any]], verb: str
    ) -> None:
        final: int | None = None
        for rsp, _identifier in responses:
            status = _status(rsp)
            if status is None:
                raise self._lost(verb)
            if status == 0xFF00:  # pending: sub-operations under way
                continue
            final = status
            break
        if final is None:
            raise self._lost(verb)
        if final not in (0x0000, 0xB000):
            raise ArchiveProtocolError(
                f"archive {self.node.name} refused the {verb} of instance "
                f"{ref.sop_instance_uid} (status 0x{final:04X}: {_status_text(final)})"
            )

    def _fetch_by_get(
        self,
        refs: Sequence[InstanceRef],
        folder: Path,
        on_stored: Callable[[Path], None],
        cancel: CancelCheck,
    ) -> None:
        ae = self._ae()
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
        sop_classes = sorted({ref.sop_class_uid for ref in refs if ref.sop_class_uid})
        syntaxes: tuple[str, ...] = RECEIVE_TRANSFER_SYNTAXES
        if 1 + len(sop_classes) * len(syntaxes) > _MAX_CONTEXTS:
            syntaxes = _UNCOMPRESSED  # many SOP classes: let the archive transcode
        if 1 + len(sop_classes) * len(syntaxes) > _MAX_CONTEXTS:
            raise ArchiveError(
                f"the study holds {len(sop_classes)} kinds of object, more than one C-GET "
                "can negotiate: retrieve it series by series"
            )
        for sop_class in sop_classes:
            for syntax in syntaxes:  # one context per syntax: the archive sends as stored
                ae.add_requested_context(sop_class, [syntax])
        roles = [build_role(sop_class, scp_role=True) for sop_class in sop_classes]
        arrived: dict[str, Path] = {}
        errors: list[str] = []
        handler = self._store_handler(folder, arrived, errors)
        with self._associate(ae, ext_neg=roles, handlers=[(evt.EVT_C_STORE, handler)]) as assoc:
            for ref in refs:
                if cancel():
                    raise Cancelled
                self._require(assoc, "C-GET")
                responses = assoc.send_c_get(
                    self._retrieve_identifier(ref), StudyRootQueryRetrieveInformationModelGet
                )
                self._check_retrieve(ref, responses, "C-GET")
                self._after_instance(ref, arrived, errors, on_stored, "C-GET")

    def _after_instance(
        self,
        ref: InstanceRef,
        arrived: dict[str, Path],
        errors: list[str],
        on_stored: Callable[[Path], None],
        verb: str,
    ) -> None:
        if errors:
            raise ArchiveError(errors[0])
        path = arrived.get(ref.sop_instance_uid)
        if path is None:
            raise ArchiveProtocolError(
                f"archive {self.node.name} reported the {verb} of instance "
                f"{ref.sop_instance_uid} done but sent nothing"
            )
        on_stored(path)

    def _fetch_by_move(
        self,
        refs: Sequence[InstanceRef],
        folder: Path,
        on_stored: Callable[[Path], None],
        cancel: CancelCheck,
    ) -> None:
        with _move_port_lock(int(self.node.move_port)):
            self._fetch_by_move_locked(refs, folder, on_stored, cancel)

    def _fetch_by_move_locked(
        self,
        refs: Sequence[InstanceRef],
        folder: Path,
        on_stored: Callable[[Path], None],
        cancel: CancelCheck,
    ) -> None:
        node = self.node
        arrived: dict[str, Path] = {}
        errors: list[str] = []
        receiver = AE(ae_title=node.move_destination)
        receiver.acse_timeout = self.timeout
        receiver.dimse_timeout = self.timeout
        receiver.network_timeout = self.timeout
        sop_classes = sorted({ref.sop_class_uid for ref in refs if ref.sop_class_uid})
        for sop_class in sop_classes:
            receiver.add_supported_context(sop_class, list(RECEIVE_TRANSFER_SYNTAXES))
        handler = self._store_handler(folder, arrived, errors)
        try:
            server = receiver.start_server(
                (node.move_bind_address, int(node.move_port)),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, handler)],
            )
        except OSError as exc:
            raise ArchiveError(
                f"cannot receive C-MOVE on port {node.move_port}: {exc.strerror or exc} "
                "(another program listening there?)"
            ) from exc
        if server is None:  # start_server(block=False) always returns it
            raise ArchiveError(f"cannot receive C-MOVE on port {node.move_port}")
        try:
            ae = self._ae()
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
            with self._associate(ae) as assoc:
                for ref in refs:
                    if cancel():
                        raise Cancelled
                    self._require(assoc, "C-MOVE")
                    responses = assoc.send_c_move(
                        self._retrieve_identifier(ref),
                        node.move_destination,
                        StudyRootQueryRetrieveInformationModelMove,
                    )
                    self._check_retrieve(ref, responses, "C-MOVE")
                    self._wait_for(ref.sop_instance_uid, arrived)
                    self._after_instance(ref, arrived, errors, on_stored, "C-MOVE")
        finally:
            server.shutdown()

    def _wait_for(self, sop_uid: str, arrived: dict[str, Path]) -> None:
        """An archive may answer the C-MOVE before its storage association has finished
        (PS3.4 allows asynchronous sub-operations); wait a bounded time for the file."""
        deadline = time.monotonic() + self.timeout
        while sop_uid not in arrived and time.monotonic() < deadline:
            time.sleep(0.02)

    # -- C-STORE ---------------------------------------------------------------------------
    def send(self, paths: Sequence[Path]) -> list[SendResult]:
        headers: list[tuple[Path, Dataset | None, str]] = []
        for path in paths:
            try:
                require_regular_file(path)  # a named pipe would block the read for ever
                header = dcmread(path, stop_before_pixels=True)
                if "SOPClassUID" not in header or "TransferSyntaxUID" not in header.file_meta:
                    raise AttributeError("no SOP Class UID or transfer syntax")
                headers.append((path, header, ""))
            except InputFileError as exc:
                headers.append((path, None, exc.reason))
            except (OSError, InvalidDicomError, AttributeError, ValueError) as exc:
                headers.append((path, None, _unreadable(exc)))
        contexts: list[tuple[str, str]] = []
        for _path, ds, _error in headers:
            if ds is None:
                continue
            sop_class, syntax = str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)
            for pair in ((sop_class, syntax), (sop_class, "1.2.840.10008.1.2.1")):
                if pair not in contexts:
                    contexts.append(pair)
        if len(contexts) > _MAX_CONTEXTS:
            raise ArchiveError(
                f"{len(contexts)} kinds of object in one send, more than one association can "
                "carry: send fewer files at a time"
            )
        results: list[SendResult] = []
        if not contexts:
            return [SendResult(p, "", False, error) for p, _ds, error in headers]
        ae = self._ae()
        for sop_class, syntax in contexts:
            ae.add_requested_context(sop_class, [syntax])
        with self._associate(ae) as assoc:
            accepted = {
                (str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
                for cx in assoc.accepted_contexts
            }
            lost = ""
            for path, ds, error in headers:
                if ds is None:
                    results.append(SendResult(path, "", False, error))
                    continue
                sop_uid = str(ds.get("SOPInstanceUID", ""))
                if lost:
                    results.append(SendResult(path, sop_uid, False, f"not sent: {lost}"))
                    continue
                results.append(self._store_one(assoc, path, ds, sop_uid, accepted))
                if not assoc.is_established:
                    lost = "the archive closed the connection"
        return results

    def _store_one(
        self, assoc: Any, path: Path, header: Dataset, sop_uid: str, accepted: set[tuple[str, str]]
    ) -> SendResult:
        sop_class = str(header.SOPClassUID)
        syntax = str(header.file_meta.TransferSyntaxUID)
        if (sop_class, syntax) not in accepted and not (
            (sop_class, "1.2.840.10008.1.2.1") in accepted and _is_uncompressed(syntax)
        ):
            name = UID(sop_class).name
            return SendResult(
                path, sop_uid, False,
                f"refused by the archive: it does not accept {name} ({UID(syntax).name})",
            )
        try:
            dataset = dcmread(path)
        except (OSError, InvalidDicomError, ValueError) as exc:
            return SendResult(path, sop_uid, False, _unreadable(exc))
        try:
            rsp = assoc.send_c_store(dataset)
        except (ValueError, AttributeError) as exc:  # pynetdicom refuses to encode it
            return SendResult(path, sop_uid, False, f"not sent: {exc}")
        status = _status(rsp)
        if status is None:
            return SendResult(path, sop_uid, False, self._lost("C-STORE").message)
        category = code_to_category(status)
        if status == 0x0000:
            return SendResult(path, sop_uid, True, "stored")
        if category == "Warning":
            return SendResult(
                path, sop_uid, True, f"stored with a warning (0x{status:04X}: "
                f"{_status_text(status)})"
            )
        return SendResult(
            path, sop_uid, False,
            f"refused by the archive (status 0x{status:04X}: {_status_text(status)})",
        )


def _is_uncompressed(syntax: str) -> bool:
    return syntax in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2")


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, OSError):
        return f"cannot read the file ({exc.strerror or exc})"
    if isinstance(exc, AttributeError):
        return "not a storable DICOM object (no SOP Class UID or transfer syntax)"
    return "not a DICOM file"


def _closed_without_answer(assoc: Any, seen: dict[str, Any], elapsed: float,
                           timeout: float) -> bool:
    """The connection opened, then closed before any answer to the association request (no
    rejection, no acceptance, no time-out): the case :meth:`DimseArchive._associate` tries
    once more."""
    if not seen.get("open") or assoc.is_rejected or elapsed >= 0.9 * timeout:
        return False
    primitive = seen.get("primitive")
    return getattr(primitive, "result", None) is None
