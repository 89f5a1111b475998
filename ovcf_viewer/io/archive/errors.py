"""Typed archive failures, each with a one-line ``message`` fit to show a clinician as it is.

The command line prints the message and exits with status 2; the GUI shows it and keeps
running. Nothing here names a Python exception or shows a traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ArchiveError",
    "ArchiveProtocolError",
    "ArchiveTimeoutError",
    "ArchiveUnreachableError",
    "AssociationRejectedError",
    "RetrieveInterruptedError",
    "TooManyMatchesError",
]


class ArchiveError(Exception):
    """Something went wrong talking to an archive; ``message`` is one line."""

    def __init__(self, message: str) -> None:
        self.message = " ".join(str(message).split())
        super().__init__(self.message)


class ArchiveUnreachableError(ArchiveError):
    """No connection: refused (archive down, wrong host or port) or no answer to connect."""


class AssociationRejectedError(ArchiveError):
    """The archive refused the association (usually an AE title it does not know) or, over
    DICOMweb, refused access (HTTP 401/403)."""


class ArchiveTimeoutError(ArchiveError):
    """Connected, but the archive did not answer within the node's timeout."""


class ArchiveProtocolError(ArchiveError):
    """The archive answered, but with a failure status or something we cannot use.

    (A file the archive refuses to store is not raised: a send reports each file's result,
    :class:`~.base.SendResult`, so one refusal never hides what was stored.)"""


class TooManyMatchesError(ArchiveError):
    """A search matched more studies than the limit: the user should refine it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"more than {limit} studies match: refine your search "
            "(patient ID, name, study date or modality)"
        )


class RetrieveInterruptedError(ArchiveError):
    """A retrieve stopped part-way (cancelled, or the archive went away).

    What arrived is kept in ``folder``; retrieving again fetches only what is missing.
    ``done`` counts instances present (including those kept from earlier), ``total`` those
    the study has; ``cancelled`` tells a user's cancel from a failure (``reason``).
    """

    def __init__(
        self, folder: Path, done: int, total: int, *, cancelled: bool = False, reason: str = ""
    ) -> None:
        self.folder = folder
        self.done = done
        self.total = total
        self.cancelled = cancelled
        self.reason = reason
        why = "cancelled" if cancelled else f"interrupted ({reason})"
        super().__init__(
            f"retrieve {why} after {done} of {total} instances; what arrived is kept in "
            f"{folder} and retrieving again fetches only the rest"
        )
