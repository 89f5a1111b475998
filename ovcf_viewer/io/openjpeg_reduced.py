"""Decode a JPEG 2000 codestream at a reduced resolution level, multi-threaded, through the
system's OpenJPEG library (``libopenjp2.so.7``, Debian package ``libopenjp2-7``) by ctypes.

Why not a Python package: neither imagecodecs' ``jpeg2k_decode`` nor pylibjpeg-openjpeg
exposes OpenJPEG's resolution reduction (``opj_set_decoded_resolution_factor``); Pillow does
(``Image.reduce``), but decodes with one thread only. This module is used for the *preview*
only (what is painted before full resolution arrives); measuring never sees its pixels.

Level ``L`` keeps the lowest ``levels - L`` wavelet resolutions: an image of
``ceil(rows / 2**L) × ceil(columns / 2**L)`` samples, sample ``(i, j)`` standing for the
``2**L × 2**L`` block of full-resolution pixels from ``(i·2**L, j·2**L)`` (ITU-T T.800 B.5,
image and tile offsets 0 as DICOM writes them). Its values are the low-pass band's, in the
stored values' units but not exact stored values (the 5/3 low-pass overshoots a little at
edges): for display only.

Every failure (no library, an unusual codestream, a level beyond the codestream's
decomposition levels) raises :class:`ReducedDecodeError`; callers then decode full
resolution the normal way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

__all__ = ["ReducedDecodeError", "available", "decode_reduced"]


class ReducedDecodeError(Exception):
    """The codestream could not be decoded at the reduced level (fall back to a full decode)."""


class _ImageComp(ctypes.Structure):
    # opj_image_comp_t (openjpeg.h, 2.x; ``bpp`` is deprecated but still in the ABI)
    _fields_ = [
        ("dx", ctypes.c_uint32), ("dy", ctypes.c_uint32),
        ("w", ctypes.c_uint32), ("h", ctypes.c_uint32),
        ("x0", ctypes.c_uint32), ("y0", ctypes.c_uint32),
        ("prec", ctypes.c_uint32), ("bpp", ctypes.c_uint32), ("sgnd", ctypes.c_uint32),
        ("resno_decoded", ctypes.c_uint32), ("factor", ctypes.c_uint32),
        ("data", ctypes.POINTER(ctypes.c_int32)), ("alpha", ctypes.c_uint16),
    ]


class _Image(ctypes.Structure):
    # opj_image_t
    _fields_ = [
        ("x0", ctypes.c_uint32), ("y0", ctypes.c_uint32),
        ("x1", ctypes.c_uint32), ("y1", ctypes.c_uint32),
        ("numcomps", ctypes.c_uint32), ("color_space", ctypes.c_int),
        ("comps", ctypes.POINTER(_ImageComp)),
        ("icc_profile_buf", ctypes.c_void_p), ("icc_profile_len", ctypes.c_uint32),
    ]


_READ_FN = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_SKIP_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
_SEEK_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int64, ctypes.c_void_p)
_MSG_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)

_OPJ_CODEC_J2K = 0
_PARAMETERS_BYTES = 1 << 16  # opj_dparameters_t is ~8.3 kB (two OPJ_PATH_LEN paths)
_END_OF_STREAM = ctypes.c_size_t(-1).value

_lock = threading.Lock()
_library: ctypes.CDLL | None = None
_load_failed = False


def _load() -> ctypes.CDLL:
    global _library, _load_failed
    with _lock:
        if _library is not None:
            return _library
        if _load_failed:
            raise ReducedDecodeError("OpenJPEG library not available")
        names = ["libopenjp2.so.7", ctypes.util.find_library("openjp2")]
        for name in filter(None, names):
            try:
                lib = ctypes.CDLL(name)
                _declare(lib)
            except (OSError, AttributeError):
                continue
            _library = lib
            return lib
        _load_failed = True
        raise ReducedDecodeError("OpenJPEG library (libopenjp2) not found")


def _declare(lib: ctypes.CDLL) -> None:
    p = ctypes.c_void_p
    lib.opj_create_decompress.restype, lib.opj_create_decompress.argtypes = p, [ctypes.c_int]
    lib.opj_set_default_decoder_parameters.argtypes = [p]
    lib.opj_setup_decoder.restype, lib.opj_setup_decoder.argtypes = ctypes.c_int, [p, p]
    lib.opj_codec_set_threads.restype = ctypes.c_int
    lib.opj_codec_set_threads.argtypes = [p, ctypes.c_int]
    lib.opj_has_thread_support.restype = ctypes.c_int
    lib.opj_stream_create.restype = p
    lib.opj_stream_create.argtypes = [ctypes.c_size_t, ctypes.c_int]
    lib.opj_stream_set_read_function.argtypes = [p, _READ_FN]
    lib.opj_stream_set_skip_function.argtypes = [p, _SKIP_FN]
    lib.opj_stream_set_seek_function.argtypes = [p, _SEEK_FN]
    lib.opj_stream_set_user_data_length.argtypes = [p, ctypes.c_uint64]
    lib.opj_read_header.restype = ctypes.c_int
    lib.opj_read_header.argtypes = [p, p, ctypes.POINTER(ctypes.POINTER(_Image))]
    lib.opj_set_decoded_resolution_factor.restype = ctypes.c_int
    lib.opj_set_decoded_resolution_factor.argtypes = [p, ctypes.c_uint32]
    lib.opj_decode.restype, lib.opj_decode.argtypes = ctypes.c_int, [p, p, p]
    lib.opj_end_decompress.restype, lib.opj_end_decompress.argtypes = ctypes.c_int, [p, p]
    lib.opj_set_error_handler.restype = ctypes.c_int
    lib.opj_set_error_handler.argtypes = [p, _MSG_FN, p]
    lib.opj_stream_destroy.argtypes = [p]
    lib.opj_destroy_codec.argtypes = [p]
    lib.opj_image_destroy.argtypes = [ctypes.POINTER(_Image)]


def available() -> bool:
    """Whether the system OpenJPEG library can be used."""
    try:
        _load()
    except ReducedDecodeError:
        return False
    return True


def decode_reduced(codestream: bytes, level: int, threads: int = 0) -> np.ndarray:
    """The first component of a raw JPEG 2000 codestream (``FF4F FF51``…) at resolution
    level ``level`` (0 = full resolution), as ``uint16``/``int16`` (precision ≤ 16) or
    ``uint8``/``int8`` (precision ≤ 8), rows × columns. ``threads`` decoding threads
    (0 = one per core). Raises :class:`ReducedDecodeError`."""
    lib = _load()
    data = bytes(codestream)  # no copy when it is bytes already
    size = len(data)
    if not size:
        raise ReducedDecodeError("empty codestream")
    # OpenJPEG reads through the callbacks below straight from the bytes object's buffer
    # (kept alive by ``data``; never written).
    base = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    if base is None:
        raise ReducedDecodeError("codestream buffer not addressable")
    position = [0]
    errors: list[str] = []

    def read(target: int, count: int, _user: int) -> int:
        start = position[0]
        if start >= size:
            return _END_OF_STREAM
        n = min(count, size - start)
        ctypes.memmove(target, base + start, n)
        position[0] = start + n
        return n

    def skip(count: int, _user: int) -> int:
        start = position[0]
        new = min(max(start + count, 0), size)
        position[0] = new
        return new - start if new != start or count == 0 else -1

    def seek(offset: int, _user: int) -> int:
        if not 0 <= offset <= size:
            return 0
        position[0] = offset
        return 1

    def on_error(message: bytes, _user: int) -> None:
        errors.append(message.decode("ascii", "replace").strip())

    # The callbacks must outlive every call below: keep references.
    read_fn, skip_fn, seek_fn, error_fn = _READ_FN(read), _SKIP_FN(skip), _SEEK_FN(seek), \
        _MSG_FN(on_error)
    codec = lib.opj_create_decompress(_OPJ_CODEC_J2K)
    stream = lib.opj_stream_create(1 << 20, 1)
    image = ctypes.POINTER(_Image)()
    try:
        if not codec or not stream:
            raise ReducedDecodeError("OpenJPEG could not start a decoder")
        lib.opj_set_error_handler(codec, error_fn, None)
        parameters = ctypes.create_string_buffer(_PARAMETERS_BYTES)
        lib.opj_set_default_decoder_parameters(parameters)
        if not lib.opj_setup_decoder(codec, parameters):
            raise ReducedDecodeError("OpenJPEG decoder set-up failed")
        if lib.opj_has_thread_support():
            import os

            lib.opj_codec_set_threads(codec, int(threads) or (os.cpu_count() or 1))
        lib.opj_stream_set_read_function(stream, read_fn)
        lib.opj_stream_set_skip_function(stream, skip_fn)
        lib.opj_stream_set_seek_function(stream, seek_fn)
        lib.opj_stream_set_user_data_length(stream, size)
        if not lib.opj_read_header(stream, codec, ctypes.byref(image)) or not image:
            raise ReducedDecodeError("; ".join(errors) or "codestream header not readable")
        if level and not lib.opj_set_decoded_resolution_factor(codec, int(level)):
            raise ReducedDecodeError("; ".join(errors) or f"no resolution level {level}")
        if not lib.opj_decode(codec, stream, image) or not lib.opj_end_decompress(
            codec, stream
        ):
            raise ReducedDecodeError("; ".join(errors) or "codestream not decodable")
        header = image.contents
        if header.numcomps < 1:
            raise ReducedDecodeError("codestream without components")
        comp = header.comps[0]
        width, height, precision = int(comp.w), int(comp.h), int(comp.prec)
        if width < 1 or height < 1 or not comp.data or not 1 <= precision <= 16:
            raise ReducedDecodeError(f"unexpected decoded component ({width} × {height}, "
                                     f"{precision} bits)")
        values = np.ctypeslib.as_array(comp.data, shape=(height, width))
        kind = "i" if comp.sgnd else "u"
        dtype = np.dtype(f"{kind}{1 if precision <= 8 else 2}")
        # The reduced band can overshoot the precision's range a little: clip, for display.
        info = np.iinfo(dtype)
        return np.clip(values, info.min, info.max).astype(dtype)
    finally:
        if image:
            lib.opj_image_destroy(image)
        if stream:
            lib.opj_stream_destroy(stream)
        if codec:
            lib.opj_destroy_codec(codec)
