"""Archive (PACS) use cases, shared by ``ovcf-viewer pacs`` and the GUI's Query/Retrieve.

A node comes from the settings by name or from options given on the spot; every function
here opens its own connection, ends within the node's timeout and raises
:class:`~ovcf_viewer.io.archive.ArchiveError` (one-line ``message``) on failure. Nothing is
sent anywhere unless the user asked for exactly that (docs: README "Archive (PACS)").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.io.archive import (
    DEFAULT_FIND_LIMIT,
    ArchiveError,
    RetrieveResult,
    SendResult,
    SeriesMatch,
    StudyMatch,
    StudyQuery,
    open_archive,
)
from ovcf_viewer.io.archive.base import instance_path
from ovcf_viewer.io.archive.cache import StudyCache
from ovcf_viewer.model.settings import ArchiveNode, Settings, load_settings

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "NodeOptions",
    "cache_for",
    "echo",
    "find_series",
    "find_studies",
    "resolve_node",
    "retrieve_study",
    "retrieve_to_cache",
    "send_files",
    "series_thumbnail",
    "thumbnail",
]

DEFAULT_CALLING_AET = "OVCFVIEWER"


@dataclass(frozen=True)
class NodeOptions:
    """What the command line (or a caller) says about the node to use."""

    node: str = ""
    host: str = ""
    port: int | None = None
    called_aet: str = ""
    calling_aet: str = ""
    dicomweb: str = ""
    move_destination: str = ""
    move_port: int | None = None
    move_bind_address: str | None = None
    tls: bool = False
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    no_verify: bool = False
    timeout_s: float | None = None


def resolve_node(options: NodeOptions, settings: Settings | None = None) -> ArchiveNode:
    """The node ``options`` name: a saved one (``--node``, with any option given overriding
    it), an ad-hoc DIMSE one (``--host/--port/--called-aet``) or a DICOMweb one
    (``--dicomweb``). Raises :class:`ArchiveError` with a one-line message otherwise."""
    modes = [bool(options.node), bool(options.host or options.called_aet), bool(options.dicomweb)]
    if sum(modes) != 1:
        raise ArchiveError(
            "name the archive with exactly one of --node NAME, --host/--port/--called-aet, "
            "or --dicomweb URL"
        )
    overrides: dict[str, Any] = {}
    for key in ("calling_aet", "move_destination", "tls_ca_file", "tls_cert_file",
                "tls_key_file"):
        value = getattr(options, key)
        if value:
            overrides[key] = value
    for key in ("move_port", "move_bind_address", "timeout_s"):
        value = getattr(options, key)
        if value is not None:
            overrides[key] = value
    if options.tls:
        overrides["tls"] = True
    if options.no_verify:
        overrides["tls_verify"] = False
    try:
        if options.node:
            settings = settings if settings is not None else load_settings()
            for node in settings.archive_nodes:
                if node.name == options.node:
                    return _replace(node, overrides)
            known = ", ".join(n.name for n in settings.archive_nodes) or "none saved"
            raise ArchiveError(f"no archive node named {options.node!r} ({known})")
        if options.dicomweb:
            return ArchiveNode(name="dicomweb", dicomweb_url=options.dicomweb, **overrides)
        if not options.host or options.port is None or not options.called_aet:
            raise ArchiveError("a DIMSE archive needs --host, --port and --called-aet")
        overrides.setdefault("calling_aet", DEFAULT_CALLING_AET)
        return ArchiveNode(
            name=options.host, host=options.host, port=options.port,
            called_aet=options.called_aet, **overrides,
        )
    except (TypeError, ValueError) as exc:
        raise ArchiveError(str(exc)) from exc


def _replace(node: ArchiveNode, overrides: dict[str, Any]) -> ArchiveNode:
    from dataclasses import replace

    return replace(node, **overrides) if overrides else node


def echo(node: ArchiveNode) -> float:
    """C-ECHO (DIMSE) or a one-study QIDO query (DICOMweb); the round trip in seconds."""
    archive = open_archive(node)  # imports the protocol library: not part of the round trip
    started = time.monotonic()
    archive.echo()
    return time.monotonic() - started


def find_studies(
    node: ArchiveNode, query: StudyQuery, limit: int = DEFAULT_FIND_LIMIT
) -> list[StudyMatch]:
    """Matching studies, newest first; :class:`TooManyMatchesError` past ``limit``."""
    studies = open_archive(node).find_studies(query, limit)
    return sorted(studies, key=lambda s: (s.study_date, s.study_instance_uid), reverse=True)


def find_series(node: ArchiveNode, study_uid: str) -> list[SeriesMatch]:
    return open_archive(node).find_series(study_uid)


def retrieve_study(
    node: ArchiveNode,
    study_uid: str,
    folder: Path,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    series_uid: str = "",
) -> RetrieveResult:
    """C-GET (or C-MOVE when the node has a move destination) or WADO-RS into ``folder``;
    instances already there are skipped, so calling again after an interruption resumes."""
    return open_archive(node).retrieve_study(
        study_uid, folder, progress=progress, cancel=cancel, series_uid=series_uid
    )


def cache_for(settings: Settings) -> StudyCache:
    return StudyCache(limit_bytes=settings.archive_cache_mb * 1024 * 1024)


def retrieve_to_cache(
    node: ArchiveNode,
    study_uid: str,
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    series_uid: str = "",
) -> RetrieveResult:
    """Retrieve into the local cache (resuming what an earlier retrieve left there), then
    evict the least recently used other studies beyond the cache's size limit."""
    cache = cache_for(settings)
    folder = cache.folder(study_uid)
    try:
        return retrieve_study(node, study_uid, folder, progress, cancel, series_uid)
    finally:
        cache.evict(keep={study_uid})


def series_thumbnail(
    node: ArchiveNode,
    study_uid: str,
    series_uid: str,
    settings: Settings,
    size: int = 96,
) -> np.ndarray | None:
    """A small 8-bit grey picture of the series' first instance, or None when it has no
    image. The instance is fetched into the study's cache folder, where a later retrieve of
    the study finds it and does not fetch it again."""
    archive = open_archive(node)
    refs = archive.find_instances(study_uid, series_uid)
    if not refs:
        return None
    folder = cache_for(settings).folder(study_uid)
    path = instance_path(folder, refs[0].sop_instance_uid)
    if not path.exists():
        archive.fetch_instances(refs[:1], folder, _ignore, _no)
    return thumbnail(path, size)


def thumbnail(path: Path, size: int = 96) -> np.ndarray | None:
    """First frame of a DICOM image as uint8 (0 black), at most ``size`` pixels on its long
    side, windowed to the 1st–99th percentile; None when the file holds no image."""
    import numpy as np
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        if "PixelData" not in ds:
            return None
        pixels = ds.pixel_array
    except Exception:  # any decoding problem: the list shows no picture, nothing more
        return None
    if pixels.ndim == 3 and int(ds.get("SamplesPerPixel", 1)) == 1:
        pixels = pixels[0]
    if pixels.ndim == 3:
        pixels = pixels.mean(axis=2)
    step = max(1, int(np.ceil(max(pixels.shape) / size)))
    small = pixels[::step, ::step].astype(np.float64)
    low, high = np.percentile(small, (1, 99))
    scaled = np.clip((small - low) / max(high - low, 1e-9), 0.0, 1.0)
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        scaled = 1.0 - scaled
    return np.ascontiguousarray((scaled * 255).round().astype(np.uint8))


def _ignore(path: Path) -> None:
    return None


def _no() -> bool:
    return False


def send_files(node: ArchiveNode, paths: Sequence[Path]) -> list[SendResult]:
    """C-STORE or STOW-RS each file; one result per file, in order (refusals included)."""
    if not paths:
        raise ArchiveError("nothing to send")
    return open_archive(node).send([Path(p) for p in paths])
