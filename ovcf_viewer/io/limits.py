"""Checks the DICOM loader makes *before* it decodes or allocates anything a file's header
claims: every number that sizes an image is one integer in range, the memory the decoded frame
will need fits a budget, a JPEG 2000 file's JP2 boxes lead to a codestream in bounded steps,
and a native decoder that panics ends in the typed "cannot be decoded" error.

A file's header is a claim, not a fact: a 1 KB file may say it holds 65535 × 65535 RGB pixels
(12 GiB) and a native decoder asked for that aborts the process, which no handler can turn into
a message. So the loader checks the claim against :func:`memory_budget_bytes` first.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ovcf_viewer.model.errors import (
    CorruptHeaderError,
    CorruptPixelDataError,
    ImageLoadError,
    ImageTooLargeError,
)

__all__ = [
    "BoundedFile",
    "DEFAULT_MEMORY_BUDGET_MB",
    "MEMORY_BUDGET_ENV",
    "check_jp2_boxes",
    "check_pixel_budget",
    "decoder_failures",
    "estimated_peak_bytes",
    "header_int",
    "memory_budget_bytes",
]

log = logging.getLogger(__name__)

#: Default memory budget for decoding one frame (MiB): a 4300 × 3500 16-bit film needs 30 MiB
#: decoded, a 4000 × 3000 colour photograph about 250 MiB at the loader's peak.
DEFAULT_MEMORY_BUDGET_MB = 2048

#: Environment variable overriding the ``memory_budget_mb`` setting (MiB), e.g. for a batch
#: run on a small machine.
MEMORY_BUDGET_ENV = "OVCF_VIEWER_MEMORY_BUDGET_MB"

#: Value representation ranges of the image-sizing elements (PS3.5 §6.2: US is 0..65535).
_US_MAX = 0xFFFF


def memory_budget_bytes() -> int:
    """The most memory (bytes) the loader may need for one frame: ``$OVCF_VIEWER_MEMORY_BUDGET_MB``
    when set to a positive number, else the ``memory_budget_mb`` setting, else
    :data:`DEFAULT_MEMORY_BUDGET_MB`."""
    value = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if value:
        try:
            megabytes = float(value)
        except ValueError:
            megabytes = 0.0
        if math.isfinite(megabytes) and megabytes > 0:
            return int(megabytes * 1024 * 1024)
        log.warning("%s=%r is not a positive number: ignored", MEMORY_BUDGET_ENV, value)
    from ovcf_viewer.model.settings import load_settings

    return int(load_settings().memory_budget_mb) * 1024 * 1024


def header_int(
    ds: Any,
    keyword: str,
    path: Path | None,
    *,
    default: int | None = None,
    low: int = 0,
    high: int = _US_MAX,
) -> int:
    """Element ``keyword`` of ``ds`` as one integer in ``low..high``.

    ``default`` is returned when the element is absent or empty (``None``: it is required).
    Several values (``Rows`` = ``8\\8``), a non-integer or an out-of-range value raise
    :class:`CorruptHeaderError` naming the element: such a header cannot size an image.
    """
    try:
        value = ds.get(keyword, None)
    except Exception as exc:  # a damaged value pydicom cannot convert
        raise CorruptHeaderError(path, f"{keyword} is unreadable ({_short(exc)})") from exc
    if value is None or value == "":
        if default is None:
            raise CorruptHeaderError(path, f"image description incomplete: no {keyword}")
        return default
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        items = list(value)
        if len(items) != 1:
            shown = "\\".join(str(v) for v in items[:4]) + ("\\…" if len(items) > 4 else "")
            raise CorruptHeaderError(
                path, f"{keyword} holds {len(items)} values ({shown}); one is required"
            )
        value = items[0]
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise CorruptHeaderError(path, f"{keyword} {value!r} is not a number") from exc
    if not math.isfinite(number) or number != int(number):
        raise CorruptHeaderError(path, f"{keyword} {value!r} is not a whole number")
    result = int(number)
    if not low <= result <= high:
        raise CorruptHeaderError(path, f"{keyword} {result} is outside {low}..{high}")
    return result


def estimated_peak_bytes(
    rows: int, columns: int, samples: int, bits_allocated: int, *, compressed: bool
) -> int:
    """The loader's peak memory (bytes) for one decoded frame, estimated from the header.

    The decoded frame (rows × columns × samples × whole bytes per sample), once more for a
    compressed frame (the decoder's output buffer and the array made from it), and for colour
    the 32-bit working copies of the RGB → 8-bit and grey-content conversions.
    """
    pixels = rows * columns
    decoded = pixels * samples * max(1, math.ceil(bits_allocated / 8))
    peak = decoded * (2 if compressed else 1)
    if samples > 1:
        peak += pixels * samples * 4 + pixels * 4
    return peak


def check_pixel_budget(
    path: Path | None,
    rows: int,
    columns: int,
    samples: int,
    bits_allocated: int,
    *,
    compressed: bool,
    budget: int | None = None,
) -> None:
    """Raise :class:`ImageTooLargeError` when decoding one frame of this size would need more
    than ``budget`` bytes (default :func:`memory_budget_bytes`). Nothing is allocated."""
    budget = memory_budget_bytes() if budget is None else budget
    need = estimated_peak_bytes(rows, columns, samples, bits_allocated, compressed=compressed)
    if need > budget:
        raise ImageTooLargeError(
            path,
            f"the header claims {rows} × {columns} pixels × {samples} sample(s) of "
            f"{bits_allocated} bits: about {_mib(need)} to open, more than the memory budget "
            f"of {_mib(budget)} (setting memory_budget_mb)",
        )


def _mib(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB" if size >= 1 << 30 else f"{size / (1 << 20):.0f} MiB"


#: The JP2 signature box (ISO/IEC 15444-1 §I.5.1) and the contiguous codestream box type.
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_JP2C = b"jp2c"


def check_jp2_boxes(fragments: Iterator[bytes] | list[bytes], path: Path | None) -> None:
    """Walk the JP2 boxes (ISO/IEC 15444-1 §I.4) of every encapsulated frame that starts with
    the JP2 signature, in bounded steps, and raise :class:`CorruptPixelDataError` when they do
    not lead to a codestream box.

    A box length of 0 means "to the end of the file", legal only for the last box; before the
    codestream box it leaves nothing to decode, and pydicom's parameter reader, which adds
    the length to its offset, would loop on it for ever. Length 1 announces a 64-bit length;
    2..7 cannot hold the 8-byte box header.
    """
    data = b"".join(fragments)
    start = data.find(_JP2_SIGNATURE)
    while start != -1:
        _walk_jp2(data, start, path)
        start = data.find(_JP2_SIGNATURE, start + len(_JP2_SIGNATURE))


def _walk_jp2(data: bytes, start: int, path: Path | None) -> None:
    offset, end = start, len(data)
    while offset + 8 <= end:
        length = int.from_bytes(data[offset : offset + 4], "big")
        box_type = data[offset + 4 : offset + 8]
        if box_type == _JP2C:
            return
        if length == 1:  # XLBox: a 64-bit length after the type
            if offset + 16 > end:
                break
            length = int.from_bytes(data[offset + 8 : offset + 16], "big")
            if length < 16:
                raise _bad_jp2(path, box_type, length)
        elif length < 8:
            raise _bad_jp2(path, box_type, length)
        offset += length
    raise CorruptPixelDataError(
        path, "JPEG 2000 pixel data damaged: the JP2 boxes end before the codestream"
    )


def _bad_jp2(path: Path | None, box_type: bytes, length: int) -> CorruptPixelDataError:
    name = box_type.decode("latin-1").strip() or "?"
    return CorruptPixelDataError(
        path, f"JPEG 2000 pixel data damaged: JP2 box {name!r} has length {length} "
        "before the codestream"
    )


class BoundedFile:
    """A binary file for pydicom whose ``read(n)`` never asks for more than the bytes left.

    A damaged element length (0xFFFFFFFE) makes pydicom call ``read(4 GiB)``, and Python
    allocates the whole buffer before it learns the file is 2 KB long: a memory error, or
    under an address-space limit a crash. Reads here are capped at the file's size. pydicom
    reopens the file for deferred reads with the same type (``BoundedFile(name, "rb")``),
    so those are capped too.
    """

    def __init__(self, name: str | os.PathLike[str], mode: str = "rb") -> None:
        if mode != "rb":
            raise ValueError("BoundedFile is read-only binary")
        self.name = os.fspath(name)
        self._file = open(self.name, "rb")  # noqa: SIM115 - closed by close()/__exit__
        self._size = os.fstat(self._file.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        remaining = max(0, self._size - self._file.tell())
        if size is None or size < 0 or size > remaining:
            size = remaining
        return self._file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> BoundedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


#: Exceptions that ask the program to stop: never turned into a load error.
_STOP = (KeyboardInterrupt, SystemExit, GeneratorExit)


@contextlib.contextmanager
def decoder_failures(path: Path | None, what: str) -> Iterator[None]:
    """Translate whatever escapes a decoder into a typed load error.

    Native decoders written in Rust raise ``pyo3_runtime.PanicException`` on malformed input,
    a ``BaseException`` subclass that slips past ``except Exception``: it, and any other
    non-stop ``BaseException``, becomes :class:`CorruptPixelDataError`; ``MemoryError``
    becomes :class:`ImageTooLargeError`. Typed load errors and ``KeyboardInterrupt``,
    ``SystemExit`` and ``GeneratorExit`` pass through unchanged.
    """
    try:
        yield
    except (ImageLoadError, *_STOP):
        raise
    except MemoryError as exc:
        raise ImageTooLargeError(
            path, f"{what}: not enough memory to decode the image"
        ) from exc
    except BaseException as exc:  # noqa: B036 - native panics are BaseException subclasses
        log.debug("%s: decoder failure", path, exc_info=True)
        raise CorruptPixelDataError(
            path, f"{what} cannot be decoded: damaged ({type(exc).__name__}: {_short(exc)})"
        ) from exc


@contextlib.contextmanager
def header_failures(path: Path | None) -> Iterator[None]:
    """Translate anything but a typed load error raised while reading a header (a deferred
    element read late, a value pydicom cannot convert) into :class:`CorruptHeaderError`;
    native panics and memory errors as in :func:`decoder_failures`."""
    try:
        yield
    except (ImageLoadError, *_STOP):
        raise
    except MemoryError as exc:
        raise ImageTooLargeError(path, "not enough memory to read the file") from exc
    except BaseException as exc:  # noqa: B036 - see decoder_failures
        log.debug("%s: header failure", path, exc_info=True)
        raise CorruptHeaderError(
            path, f"damaged DICOM data ({type(exc).__name__}: {_short(exc)})"
        ) from exc


def _short(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
