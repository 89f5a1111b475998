"""Open a JPEG 2000 film progressively: a reduced resolution level first, full resolution in
the background.

A JPEG 2000 codestream carries its image at several resolutions (ITU-T T.800 wavelet
decomposition levels). :func:`open_progressive` decodes the level that still gives at least
one sample per screen pixel when the film is fitted to the viewport
(:func:`preview_level`) — a quarter or a sixteenth of the work — so the film can be painted
at once, then decodes full resolution on a worker thread and swaps it into the image.

What the caller gets is a finished :class:`~ovcf_viewer.model.image.RadiographImage` (every
header value, calibration, rows and columns are final: image coordinates never depend on the
preview) whose ``pending`` future is running; until it completes ``stored`` is a read-only
all-zero placeholder of the full shape and dtype, and :class:`Preview` holds the reduced
pixels to paint. Sample ``(i, j)`` of a level-``L`` preview stands for the
``2**L × 2**L`` block of image pixels from ``(i·2**L, j·2**L)``, as the view's box-filtered
copies do. Measuring and placing use image coordinates only; pixel values (edge assist,
reports) wait for full resolution (:meth:`RadiographImage.wait_for_pixels`).

Full resolution is the exact stored values pydicom returns: JPEG 2000 *lossless* films
whose codestream precision and signedness match Bits Stored and Pixel Representation (so
pydicom applies no correction) are decoded by imagecodecs with one thread per core; every
other film (lossy, mismatched headers, imagecodecs missing or failing) by pydicom itself.
A failed full decode leaves the loader's typed :class:`~ovcf_viewer.model.errors.ImageLoadError`
in ``pending``.

:func:`open_progressive` returns ``None`` — open the film the normal way
(:func:`~ovcf_viewer.io.dicom.load_image`) — for anything else: not JPEG 2000, colour,
small enough to decode whole at once, or a codestream the reduced decoder cannot handle.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovcf_viewer.model.errors import CorruptPixelDataError, ImageLoadError
from ovcf_viewer.model.image import RadiographImage
from ovcf_viewer.util.memory import release_freed_memory

__all__ = ["Preview", "open_films", "open_progressive", "preview_level", "wait_all"]

log = logging.getLogger(__name__)

JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG2000 = "1.2.840.10008.1.2.4.91"
_PROGRESSIVE_SYNTAXES = frozenset({JPEG2000_LOSSLESS, JPEG2000})

#: Longest a full-resolution decode waits for its ``hold`` (s): a caller that never sets it
#: (its event loop not running) delays full resolution, never withholds it.
HOLD_LIMIT_S = 1.0

#: Highest level tried: 2**5 = 32 image pixels per screen pixel is a thumbnail already.
MAX_LEVEL = 5

_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _decode_pool() -> ThreadPoolExecutor:
    """The worker threads that decode full resolution (a case opens several films)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=3, thread_name_prefix="ovcf-decode")
        return _executor


@dataclass(frozen=True, eq=False)
class Preview:
    """Reduced-resolution pixels of a film being decoded: ``pixels`` in the stored values'
    units (display only), one sample per ``factor × factor`` block of image pixels."""

    pixels: np.ndarray
    level: int

    @property
    def factor(self) -> int:
        return 1 << self.level


def preview_level(
    rows: int, columns: int, viewport: tuple[int, int], aspect: float = 1.0,
    max_level: int = MAX_LEVEL,
) -> int:
    """The coarsest resolution level ``L`` whose samples are still no larger than a screen
    pixel when the film is fitted to ``viewport`` (``(width, height)`` in device pixels),
    rows drawn ``aspect`` column widths high: ``2**L`` ≤ image pixels per screen pixel
    along both axes, as the view's subsampling step (0 = full resolution is needed)."""
    width, height = viewport
    if rows < 1 or columns < 1 or width < 1 or height < 1 or not aspect > 0:
        return 0
    zoom = min(width / columns, height / (rows * aspect))  # screen px per image column
    per_screen_px = min(1.0 / zoom, 1.0 / (zoom * aspect))  # the finer axis decides
    level = 0
    while level < max_level and (1 << (level + 1)) <= per_screen_px + 1e-6:
        level += 1
    return level


def open_progressive(
    path: str | os.PathLike[str],
    viewport: tuple[int, int],
    frame: int = 0,
    threads: int = 0,
    hold: threading.Event | None = None,
) -> tuple[RadiographImage, Preview] | None:
    """Open ``path`` progressively for a view of ``viewport`` device pixels; ``None`` when it
    should be opened normally (see the module docstring). The reduced level is decoded in
    the calling thread with ``threads`` threads (0 = one per core); full resolution is
    queued on a worker thread when this returns, and starts once ``hold`` (if given) is
    set, or after :data:`HOLD_LIMIT_S` — so other films' previews, and their paint, do not
    share the cores with it. Never raises for a file the normal loader would report: such
    files return ``None`` and the loader gives its message."""
    path = Path(path)
    try:
        prepared = _prepare(path, frame)
    except Exception as exc:  # anything odd: the normal loader reads it and says why
        log.debug("%s: not opened progressively (%s)", path.name, exc)
        return None
    if prepared is None:
        return None
    ds, image, codestream = prepared
    aspect = image.calibration().row_mm / image.calibration().col_mm
    if not (math.isfinite(aspect) and 1 / 16 <= aspect <= 16):
        aspect = 1.0
    level = preview_level(image.rows, image.columns, viewport, aspect)
    if level == 0:
        return None
    from ovcf_viewer.io.openjpeg_reduced import ReducedDecodeError, decode_reduced

    try:
        pixels = decode_reduced(codestream, level, threads)
    except ReducedDecodeError as exc:
        log.info("%s: no reduced-resolution preview (%s); decoding in full", path.name, exc)
        return None
    except Exception:  # never let the preview keep a film from opening the normal way
        log.exception("%s: reduced-resolution decode failed; decoding in full", path.name)
        return None
    expected = (-(-image.rows // (1 << level)), -(-image.columns // (1 << level)))
    if pixels.shape != expected:
        log.info("%s: preview is %s, expected %s; decoding in full", path.name,
                 pixels.shape, expected)
        return None
    dtype = image.stored.dtype
    if pixels.dtype != dtype:  # e.g. 8-bit precision in 16 bits allocated: the view's table
        info = np.iinfo(dtype)  # is indexed by the stored dtype
        pixels = np.clip(pixels, info.min, info.max).astype(dtype)
    # The encoded data travel in a list the worker empties: arguments of a submitted call
    # stay referenced until it returns, after the memory is handed back.
    encoded = [ds, codestream]
    del ds, codestream
    image.pending = _decode_pool().submit(_decode_full, image, encoded, frame, path, hold)
    return image, Preview(pixels, level)


def open_films(
    paths: Sequence[str | os.PathLike[str]],
    viewport: tuple[int, int] | None,
    frame: int = 0,
    hold: threading.Event | None = None,
) -> list[tuple[RadiographImage, Preview | None] | ImageLoadError]:
    """Open several films at once, for panes of ``viewport`` device pixels each (``None``:
    every film whole, no preview): per film ``(image, preview or None)`` or the loader's
    :class:`~ovcf_viewer.model.errors.ImageLoadError`, in order.

    All previews come first: they decode in parallel, each with its share of the cores,
    and no full-resolution decode starts before the last of them is done (a full decode
    is ~10× a preview's work and would otherwise take the cores from the films still
    waiting for their first paint). Each preview's level is chosen for ``viewport`` — a
    pane's own size, so three panes a third of a window each decode a level coarser than
    one film filling it (:func:`preview_level`). Films that are not opened progressively
    are loaded whole by :func:`~ovcf_viewer.io.dicom.load_image` meanwhile.

    With ``hold`` given, full resolution waits until the caller sets it (after painting the
    previews, so the paint has the cores too; at most :data:`HOLD_LIMIT_S`)."""
    from ovcf_viewer.io.dicom import load_image

    if not paths:
        return []
    workers = min(4, len(paths))
    threads = max(1, (os.cpu_count() or 1) // workers)
    own_hold = hold is None
    gate = threading.Event() if hold is None else hold

    def one(
        path: str | os.PathLike[str],
    ) -> tuple[RadiographImage, Preview | None] | ImageLoadError:
        try:
            opened = (open_progressive(path, viewport, frame, threads, gate)
                      if viewport is not None else None)
            return opened if opened is not None else (load_image(path, frame), None)
        except ImageLoadError as exc:
            return exc

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ovcf-open") as pool:
            return list(pool.map(one, paths))
    finally:
        if own_hold:
            gate.set()


def wait_all(images: list[RadiographImage], timeout: float | None = None) -> None:
    """Wait until every image's full resolution has arrived (or failed)."""
    for image in images:
        if image.pending is not None:
            image.pending.exception(timeout)  # a failure stays in the future for its owner


def _prepare(path: Path, frame: int):
    """``(data set, image with placeholder pixels, codestream of the frame)`` for a grey
    JPEG 2000 film, else ``None``."""
    import pydicom
    from pydicom.encaps import get_frame

    from ovcf_viewer.io import limits
    from ovcf_viewer.io.dicom import image_from_decoded
    from ovcf_viewer.util.safe_read import require_regular_file

    require_regular_file(path)  # a FIFO would block the open: the loader says what it is
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open(path, "rb") as handle:
            head = handle.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            return None
        # The header first: any other film (a native one is memory-mapped by the loader)
        # must not pay for reading its pixel data here.
        header = pydicom.dcmread(path, stop_before_pixels=True)
        meta = getattr(header, "file_meta", None)
        syntax = str(getattr(meta, "TransferSyntaxUID", "")) if meta is not None else ""
        if syntax not in _PROGRESSIVE_SYNTAXES:
            return None
        ds = pydicom.dcmread(path)
        if "PixelData" not in ds:
            return None
        samples = int(ds.get("SamplesPerPixel", 1))
        photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
        bits_allocated = int(ds.BitsAllocated)
        representation = int(ds.get("PixelRepresentation", 0))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if (samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2")
                or bits_allocated not in (8, 16) or representation not in (0, 1)
                or not 0 <= frame < frames):
            return None
        rows, columns = int(ds.Rows), int(ds.Columns)
        dtype = np.dtype(("i" if representation else "u") + str(bits_allocated // 8))
        # All zeros, read-only, no memory: a stride-0 view of one value.
        # The loader's checks before any decode: a header claiming more than the memory
        # budget, or JP2 boxes that never reach the codestream, go to the normal loader,
        # which refuses them with its message.
        limits.check_pixel_budget(path, rows, columns, samples, bits_allocated,
                                  compressed=True)
        placeholder = np.broadcast_to(np.zeros((), dtype), (rows, columns))
        image = image_from_decoded(ds, frame, path, placeholder)
        codestream = get_frame(ds.PixelData, frame, number_of_frames=frames)
        limits.check_jp2_boxes([bytes(codestream)], path)
    return ds, image, bytes(codestream)


def _decode_full(image: RadiographImage, encoded: list, frame: int, path: Path,
                 hold: threading.Event | None = None) -> None:
    """Decode full resolution from ``encoded`` = ``[data set, codestream]`` (emptied here),
    once ``hold`` is set, and put it into ``image.stored`` (worker thread). Raises the
    loader's typed errors."""
    if hold is not None:
        hold.wait(HOLD_LIMIT_S)
    ds, codestream = encoded
    encoded.clear()
    expected = (image.stored.shape, image.stored.dtype)
    pixels = _imagecodecs_lossless(ds, codestream)
    if pixels is not None and (pixels.shape, pixels.dtype) != expected:
        log.info("%s: imagecodecs decoded %s %s, expected %s; using pydicom", path.name,
                 pixels.shape, pixels.dtype, expected)
        pixels = None
    if pixels is None:
        from ovcf_viewer.io.dicom import image_from_dataset

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = image_from_dataset(ds, frame, path).stored
    if (pixels.shape, pixels.dtype) != expected or pixels.ndim != 2:
        raise CorruptPixelDataError(
            path, f"pixel data cannot be decoded: decoded {pixels.shape} {pixels.dtype}, "
            f"the header says {expected[0]} {expected[1]}"
        )
    image.stored = pixels
    del pixels, ds, codestream
    release_freed_memory()  # OpenJPEG's 32-bit planes and the compressed copy


def _imagecodecs_lossless(ds, codestream: bytes) -> np.ndarray | None:
    """Full resolution by imagecodecs (OpenJPEG, one thread per core) when that is exactly
    what pydicom returns: a reversible (lossless) codestream whose precision and
    signedness are Bits Stored and Pixel Representation, so pydicom corrects nothing
    (neither its JPEG 2000 sign correction nor the unused-bits shift changes a value).
    ``None`` otherwise, or when imagecodecs is missing or fails."""
    if str(ds.file_meta.TransferSyntaxUID) != JPEG2000_LOSSLESS:
        return None
    try:
        from pydicom.pixels.utils import get_j2k_parameters

        parameters = get_j2k_parameters(codestream)
        if (int(parameters.get("precision", -1)) != int(ds.BitsStored)
                or bool(parameters.get("is_signed")) != bool(ds.PixelRepresentation)):
            return None
        import imagecodecs

        return imagecodecs.jpeg2k_decode(codestream, numthreads=os.cpu_count() or 1)
    except ImageLoadError:
        raise
    except Exception as exc:  # ImportError, or a codestream it rejects: pydicom decides
        log.info("imagecodecs could not decode the codestream (%s); using pydicom", exc)
        return None
