"""Typed errors for opening an image file.

Every failure to open an image raises a subclass of :class:`ImageLoadError`, which carries the
``path`` and a one-line ``message`` fit to show a clinician as it is ("not a DICOM file", "no
image: this is a Comprehensive SR document"). The viewer shows the message and keeps running;
a folder scan lists it beside the file and goes on with the others.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "CorruptHeaderError",
    "CorruptPixelDataError",
    "FrameOutOfRangeError",
    "ImageLoadError",
    "ImageTooLargeError",
    "NoPixelDataError",
    "NotDicomError",
    "UnreadableFileError",
    "UnsupportedCompressionError",
    "UnsupportedImageError",
]


class ImageLoadError(Exception):
    """An image file could not be opened.

    ``path`` is the file (``None`` for in-memory sources); ``message`` is one line without the
    path, for a dialog or a status bar; ``str(error)`` is ``"<file name>: <message>"``.
    """

    def __init__(self, path: str | os.PathLike[str] | None, message: str) -> None:
        self.path = Path(path) if path is not None else None
        self.message = " ".join(str(message).split())  # always one line
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        return f"{self.path.name}: {self.message}"


class NotDicomError(ImageLoadError):
    """Neither a DICOM file nor a PNG/JPEG/TIFF image the viewer can open."""


class NoPixelDataError(ImageLoadError):
    """A valid DICOM object without an image: a structured report, an RT plan, a presentation
    state, a DICOMDIR… ``sop_class_name`` names what it is."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        message: str,
        *,
        sop_class_uid: str = "",
        sop_class_name: str = "",
    ) -> None:
        super().__init__(path, message)
        self.sop_class_uid = sop_class_uid
        self.sop_class_name = sop_class_name


class CorruptHeaderError(ImageLoadError):
    """A DICOM file whose header is damaged or lacks the elements that describe the image."""


class CorruptPixelDataError(ImageLoadError):
    """Pixel data that is truncated or cannot be decoded although a decoder is installed."""


class UnsupportedCompressionError(ImageLoadError):
    """Pixel data compressed with a transfer syntax no installed plugin decodes.

    ``transfer_syntax_uid`` and ``missing`` (the packages to install, possibly empty when no
    Python package decodes it at all) are kept for the caller.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        message: str,
        *,
        transfer_syntax_uid: str = "",
        missing: tuple[str, ...] = (),
    ) -> None:
        super().__init__(path, message)
        self.transfer_syntax_uid = transfer_syntax_uid
        self.missing = missing


class UnsupportedImageError(ImageLoadError):
    """Decodable pixel data that is not a displayable radiograph: floating-point or 32-bit
    values, more than 3 samples per pixel, an empty image."""


class UnreadableFileError(ImageLoadError):
    """The file system refused: missing file, a folder, no permission, an I/O error."""


class FrameOutOfRangeError(ImageLoadError):
    """A frame index outside ``0 .. number_of_frames - 1`` was asked for."""


class ImageTooLargeError(ImageLoadError):
    """An image whose header claims more pixels than the memory budget allows decoding
    (``memory_budget_mb`` setting), refused before anything is allocated."""
