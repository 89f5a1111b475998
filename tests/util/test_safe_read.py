"""The guarded reader refuses what is not a small regular file of sane JSON, in one line
naming the file, without opening FIFOs or reading devices."""

from __future__ import annotations

import os
import sys

import pytest

from ovcf_viewer.util.safe_read import (
    InputFileError,
    expect,
    expect_number,
    json_depth,
    read_bytes,
    read_json,
    read_text,
    read_toml,
    require_regular_file,
)


@pytest.mark.skipif(sys.platform != "linux", reason="FIFOs and /dev/zero")
def test_fifo_and_device_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match=r"pipe: is a named pipe \(FIFO\), not a file"):
        read_json(fifo)
    with pytest.raises(InputFileError, match="is a device, not a file") as caught:
        read_bytes("/dev/zero")
    assert caught.value.reason == "is a device, not a file"


def test_folder_and_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="is a folder, not a file"):
        read_text(tmp_path)
    with pytest.raises(InputFileError, match="no such file") as caught:
        require_regular_file(tmp_path / "nope.json")
    assert caught.value.reason == "file not found"


def test_size_cap_is_checked_before_reading(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(5 << 30)  # sparse: nothing is written
    with pytest.raises(InputFileError, match=r"is 5.0 GiB, more than the 16.0 MiB"):
        read_json(big)
    small = tmp_path / "small"
    small.write_bytes(b"x" * 11)
    with pytest.raises(InputFileError, match="more than the 10 bytes"):
        read_bytes(small, max_bytes=10)
    assert read_bytes(small, max_bytes=11) == b"x" * 11


def test_depth_is_capped_before_parsing(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputFileError, match="JSON nested 100000 deep, more than the 64"):
        read_json(deep)
    ok = tmp_path / "ok.json"
    ok.write_text('{"a": [[{"b": "[[[[[[[[[[ not nesting ]"}]]}')
    assert read_json(ok) == {"a": [[{"b": "[[[[[[[[[[ not nesting ]"}]]}
    assert json_depth('{"a": [[{"b": "[[[[\\"[[[["}]]}') == 4


def test_bom_nan_and_bad_utf8(tmp_path):
    path = tmp_path / "doc.json"
    path.write_bytes(b'\xef\xbb\xbf{"x": 1}')
    assert read_json(path) == {"x": 1}
    path.write_text('{"x": NaN}')
    with pytest.raises(InputFileError, match="not valid JSON"):
        read_json(path)
    path.write_bytes(b'{"x": "\xff"}')
    with pytest.raises(InputFileError, match="not a UTF-8 text file"):
        read_json(path)
    path.write_text("[a]\nb = 1\n")
    assert read_toml(path) == "[a]\nb = 1\n"


def test_expect_names_key_path_and_types():
    assert expect({"a": 1}, dict, "tools[0]") == {"a": 1}
    with pytest.raises(InputFileError, match=r"^tools must be a list, not a whole number$"):
        expect(5, list, "tools")
    with pytest.raises(InputFileError, match="must be a whole number or a number, not true/false"):
        expect(True, (int, float), "x")
    assert expect_number(3, "p") == 3.0  # ints are numbers
    with pytest.raises(InputFileError, match="must be a whole number or a number, not a string"):
        expect_number("3", "p")
    with pytest.raises(InputFileError, match="out of range"):
        expect_number(10**400, "p")
    with pytest.raises(InputFileError, match="out of range"):
        expect_number(5, "p", low=0, high=1)
    with pytest.raises(KeyError):
        expect([], dict, "x", KeyError)
