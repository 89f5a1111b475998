"""PACS access: one small :class:`Archive` interface over DIMSE (pynetdicom) and DICOMweb
(dicomweb-client), typed errors with one-line messages, and the local study cache.

Importing this package loads neither pynetdicom nor requests; :func:`open_archive` does, for
the kind of node it is given.
"""

from __future__ import annotations

from ovcf_viewer.io.archive.base import (
    DEFAULT_FIND_LIMIT,
    Archive,
    InstanceRef,
    RetrieveResult,
    SendResult,
    SeriesMatch,
    StudyMatch,
    StudyQuery,
)
from ovcf_viewer.io.archive.errors import (
    ArchiveError,
    ArchiveProtocolError,
    ArchiveTimeoutError,
    ArchiveUnreachableError,
    AssociationRejectedError,
    RetrieveInterruptedError,
    TooManyMatchesError,
)
from ovcf_viewer.model.settings import ArchiveNode

__all__ = [
    "DEFAULT_FIND_LIMIT",
    "Archive",
    "ArchiveError",
    "ArchiveProtocolError",
    "ArchiveTimeoutError",
    "ArchiveUnreachableError",
    "AssociationRejectedError",
    "InstanceRef",
    "RetrieveInterruptedError",
    "RetrieveResult",
    "SendResult",
    "SeriesMatch",
    "StudyMatch",
    "StudyQuery",
    "TooManyMatchesError",
    "open_archive",
]


def open_archive(node: ArchiveNode) -> Archive:
    """The DIMSE or DICOMweb implementation for ``node``; :class:`ArchiveError` (one line)
    when a certificate or key file it names is missing or is not a regular file."""
    _check_tls_files(node)
    if node.is_dicomweb:
        from ovcf_viewer.io.archive.dicomweb import DicomWebArchive

        return DicomWebArchive(node)
    from ovcf_viewer.io.archive.dimse import DimseArchive

    return DimseArchive(node)


def _check_tls_files(node: ArchiveNode) -> None:
    """A CA, certificate or key file must be a readable regular file: a named pipe given as
    one would block the TLS set-up for ever (no network timeout covers reading it)."""
    from ovcf_viewer.util.safe_read import InputFileError, require_regular_file

    for option, path in (("CA file", node.tls_ca_file), ("certificate file", node.tls_cert_file),
                         ("private key file", node.tls_key_file)):
        if not path:
            continue
        try:
            require_regular_file(path)
        except InputFileError as exc:
            raise ArchiveError(f"{node.name}: {option} {path}: {exc.reason}") from None
