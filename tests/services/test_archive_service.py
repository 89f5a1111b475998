"""Archive use cases without a network: naming the node, settings round trip (old files
still load), and the cache's size limit."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from ovcf_viewer.io.archive import ArchiveError, StudyQuery
from ovcf_viewer.io.archive.cache import StudyCache
from ovcf_viewer.model.settings import ArchiveNode, Settings, load_settings, save_settings
from ovcf_viewer.services.archive import NodeOptions, resolve_node


def test_resolve_ad_hoc_dimse_and_dicomweb():
    node = resolve_node(NodeOptions(host="pacs.local", port=11112, called_aet="PACS"))
    assert (node.host, node.port, node.called_aet, node.calling_aet) == (
        "pacs.local", 11112, "PACS", "OVCFVIEWER")
    assert not node.is_dicomweb and node.move_destination == ""
    web = resolve_node(NodeOptions(dicomweb="https://pacs.local/dicom-web", no_verify=True))
    assert web.is_dicomweb and web.tls_verify is False


def test_resolve_saved_node_with_overrides():
    saved = ArchiveNode("dept", host="10.0.0.1", port=104, called_aet="DEPT",
                        calling_aet="WS1")
    settings = Settings(archive_nodes=(saved,))
    node = resolve_node(NodeOptions(node="dept", move_destination="WS1", move_port=4006),
                        settings)
    assert (node.calling_aet, node.move_destination, node.move_port) == ("WS1", "WS1", 4006)
    with pytest.raises(ArchiveError, match="no archive node named 'x' \\(dept\\)"):
        resolve_node(NodeOptions(node="x"), settings)


@pytest.mark.parametrize("options, message", [
    (NodeOptions(), "exactly one of"),
    (NodeOptions(node="a", dicomweb="http://x"), "exactly one of"),
    (NodeOptions(host="h", called_aet="A"), "--port"),
    (NodeOptions(host="h", port=104, called_aet="A" * 17), "1 to 16 characters"),
    (NodeOptions(host="h", port=70000, called_aet="A"), "port must be 1 to 65535"),
    (NodeOptions(dicomweb="ftp://x"), "must start with http"),
])
def test_resolve_refuses_bad_options(options, message):
    with pytest.raises(ArchiveError, match=message):
        resolve_node(options)


def test_study_query_validates_dates():
    assert StudyQuery(study_date="20250101-").study_date == "20250101-"
    with pytest.raises(ValueError, match="YYYYMMDD"):
        StudyQuery(study_date="2025-01-01")


def test_settings_round_trip_and_old_files(tmp_path):
    path = tmp_path / "settings.json"
    node = ArchiveNode("web", dicomweb_url="https://pacs/dicom-web", tls_ca_file="/ca.pem")
    save_settings(Settings(archive_nodes=(node,), archive_cache_mb=100), path)
    loaded = load_settings(path)
    assert loaded.archive_nodes == (node,) and loaded.archive_cache_mb == 100
    # A settings file written before archives existed still loads, with no nodes.
    path.write_text(json.dumps({"genant_reference": "own_posterior"}))
    old = load_settings(path)
    assert old.genant_reference == "own_posterior" and old.archive_nodes == ()
    # One bad node is dropped (and logged); the good one and the other settings stay.
    path.write_text(json.dumps({"page_size": "Letter", "archive_nodes": [
        {"name": "ok", "host": "h", "port": 104, "called_aet": "A", "future_key": 1},
        {"name": "bad", "host": "h", "port": 104, "called_aet": ""},
    ]}))
    mixed = load_settings(path)
    assert [n.name for n in mixed.archive_nodes] == ["ok"] and mixed.page_size == "Letter"


def test_node_names_unique():
    node = ArchiveNode("a", host="h", called_aet="A")
    with pytest.raises(ValueError, match="unique"):
        Settings(archive_nodes=(node, replace(node, host="other")))


def _fill(cache: StudyCache, uid: str, size: int, age_s: float) -> None:
    folder = cache.folder(uid)
    (folder / "1.2.3.dcm").write_bytes(b"x" * size)
    mark = folder / ".last-used"
    stamp = mark.stat().st_mtime - age_s
    os.utime(mark, (stamp, stamp))


def test_cache_evicts_least_recently_used_first(tmp_path):
    cache = StudyCache(limit_bytes=2500, root=tmp_path / "cache")
    _fill(cache, "1.1", 1000, age_s=300)
    _fill(cache, "1.2", 1000, age_s=200)
    _fill(cache, "1.3", 1000, age_s=100)
    assert cache.size_bytes() == 3000
    assert cache.evict() == ["1.1"]
    assert [uid for uid, _used, _size in cache.studies()] == ["1.2", "1.3"]
    cache.limit_bytes = 500
    assert cache.evict(keep={"1.2"}) == ["1.3"]  # the study on screen stays
    assert [uid for uid, _used, _size in cache.studies()] == ["1.2"]


def test_cache_refuses_a_path_as_study_uid(tmp_path):
    with pytest.raises(ValueError):
        StudyCache(10, root=tmp_path).folder("../../etc")
