"""One guarded reader for every input file the program is given (annotations, case documents,
findings, rules, settings, teaching manifests, images).

An input path may name anything: a named pipe (opening it waits for a writer for ever), a
device (``/dev/zero`` never ends), a folder, a 3 GiB file, or JSON nested 200 000 deep
(Python's parser raises ``RecursionError``). Here each is refused with one line naming the
file, before it is opened or parsed:

* :func:`require_regular_file` — regular files only, checked without opening;
* :func:`read_bytes` / :func:`read_text` — that, plus a size cap (:data:`MAX_INPUT_BYTES`);
* :func:`read_json` / :func:`read_toml` — that, plus a nesting-depth cap
  (:data:`MAX_JSON_DEPTH`) checked before parsing;
* :func:`expect` and friends — a field's type checked with file, key path and the type
  expected in the message: ``pre.json: tools[0].points must be a list, not int``.

Errors are :class:`InputFileError` (a ``ValueError``); callers wrap it in their own
format error when they have one.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_JSON_DEPTH",
    "InputFileError",
    "describe_type",
    "expect",
    "expect_number",
    "json_depth",
    "read_bytes",
    "read_json",
    "read_text",
    "read_toml",
    "require_regular_file",
]

#: The largest document read (bytes): our JSON and TOML documents are kilobytes; a case with
#: a hundred films is well under a megabyte.
MAX_INPUT_BYTES = 16 * 1024 * 1024

#: The deepest nesting accepted in a JSON document: ours nest at most 6 deep.
MAX_JSON_DEPTH = 64


class InputFileError(ValueError):
    """An input file that cannot be used; ``str()`` is one line naming the file."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(" ".join(str(message).split()))
        #: the problem without the file name ("is a named pipe (FIFO), not a file")
        self.reason = reason or str(self)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "not a regular file"


def require_regular_file(path: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat`` of ``path`` (following links), or :class:`InputFileError` when it is
    missing, unreadable, or not a regular file. Nothing is opened: opening a FIFO blocks."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file", reason="file not found") from None
    except OSError as exc:
        reason = f"cannot read ({exc.strerror or exc})"
        raise InputFileError(f"{path}: {reason}", reason=reason) from None
    if not stat.S_ISREG(info.st_mode):
        reason = f"is {_kind(info.st_mode)}"
        raise InputFileError(f"{path}: {reason}", reason=reason)
    return info


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The contents of a regular file of at most ``max_bytes`` bytes.

    The file is opened non-blocking and checked again through its descriptor, so a path
    swapped for a FIFO between the check and the open cannot hang the read.
    """
    path = Path(path)
    require_regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"{path}: is {_kind(info.st_mode)}")
        if info.st_size > max_bytes:
            raise InputFileError(
                f"{path}: is {_size(info.st_size)}, more than the {_size(max_bytes)} an input "
                "file of this kind may be"
            )
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # grew while being read
        raise InputFileError(f"{path}: larger than {_size(max_bytes)}")
    return data


def _size(count: int) -> str:
    if count >= 1 << 30:
        return f"{count / (1 << 30):.1f} GiB"
    if count >= 1 << 20:
        return f"{count / (1 << 20):.1f} MiB"
    return f"{count} bytes"


def read_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """A UTF-8 text file (a leading BOM is dropped) read through :func:`read_bytes`."""
    data = read_bytes(path, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{Path(path)}: not a UTF-8 text file") from None


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (strings skipped), in one
    linear pass without parsing."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def read_json(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """A JSON document from a regular file, nested at most ``max_depth`` deep. ``NaN`` and
    ``Infinity`` (not JSON) are refused."""
    path = Path(path)
    text = read_text(path, max_bytes=max_bytes)
    depth = json_depth(text)
    if depth > max_depth:
        raise InputFileError(
            f"{path}: JSON nested {depth} deep, more than the {max_depth} levels accepted"
        )
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InputFileError(f"{path}: not valid JSON ({_first_line(exc)})") from None


def read_toml(path: str | os.PathLike[str], *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """A TOML file's text, read through :func:`read_text` (parsing stays with the caller,
    which reports line numbers); inline tables and arrays nested deeper than
    :data:`MAX_JSON_DEPTH` are refused."""
    text = read_text(path, max_bytes=max_bytes)
    if json_depth(text) > MAX_JSON_DEPTH:
        raise InputFileError(f"{Path(path)}: nested more than {MAX_JSON_DEPTH} levels deep")
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


# ------------------------------------------------------------------------- field types

_TYPE_NAMES = {
    dict: "an object", Mapping: "an object", list: "a list", str: "a string",
    int: "a whole number", float: "a number", bool: "true or false",
}


def describe_type(value: Any) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    return type(value).__name__


def expect(value: Any, expected: type | tuple[type, ...], where: str,
           error: type[ValueError] = InputFileError) -> Any:
    """``value`` when it is of ``expected`` type (``bool`` is never a number), else ``error``
    with ``where`` (the key path, with the file name when known) and both types named."""
    types = expected if isinstance(expected, tuple) else (expected,)
    numeric = any(t in (int, float) for t in types)
    if isinstance(value, types) and not (numeric and isinstance(value, bool)):
        return value
    wanted = " or ".join(dict.fromkeys(_TYPE_NAMES.get(t, t.__name__) for t in types))
    raise error(f"{where} must be {wanted}, not {describe_type(value)}")


def expect_number(value: Any, where: str, error: type[ValueError] = InputFileError,
                  *, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite JSON number (integers count) within ``low..high``, as ``float``."""
    expect(value, (int, float), where, error)
    try:
        number = float(value)
    except OverflowError:
        raise error(f"{where} {value} is out of range") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise error(f"{where} {value!r} is out of range ({low:g}..{high:g})")
    return number
