"""Recent-files list: most recent first, no duplicates, bounded, damaged file tolerated."""

from __future__ import annotations

import json

from ovcf_viewer.io.recent import MAX_RECENT, add_recent, clear_recent, load_recent, recent_path


def test_add_puts_newest_first_without_duplicates(tmp_path):
    a, b = tmp_path / "a.dcm", tmp_path / "b"
    add_recent(a)
    add_recent(b)
    assert load_recent() == [str(b), str(a)]
    add_recent(a)
    assert load_recent() == [str(a), str(b)]
    assert json.loads(recent_path().read_text()) == [str(a), str(b)]


def test_list_is_bounded(tmp_path):
    for i in range(MAX_RECENT + 5):
        add_recent(tmp_path / f"{i}.dcm")
    items = load_recent()
    assert len(items) == MAX_RECENT
    assert items[0] == str(tmp_path / f"{MAX_RECENT + 4}.dcm")


def test_damaged_or_foreign_file_reads_as_empty():
    recent_path().write_text("{oops")
    assert load_recent() == []
    recent_path().write_text(json.dumps({"not": "a list"}))
    assert load_recent() == []
    recent_path().write_text(json.dumps(["/x.dcm", 3, ""]))
    assert load_recent() == ["/x.dcm"]


def test_clear(tmp_path):
    add_recent(tmp_path / "a.dcm")
    clear_recent()
    assert load_recent() == []
