"""User settings shared by the GUI and the command line (docs/clinical-reference.md §1, §3–§5:
the choices marked *setting* there). Stored as JSON in :func:`config_dir`, written atomically."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ovcf_viewer.util.atomic import atomic_write_text
from ovcf_viewer.util.paths import config_dir

__all__ = [
    "GENANT_REFERENCES",
    "COBB_DEFINITIONS",
    "LABEL_MODES",
    "ArchiveNode",
    "Settings",
    "load_settings",
    "save_settings",
]

log = logging.getLogger(__name__)

GENANT_REFERENCES = ("adjacent", "own_posterior")
#: Which angle reports call "Cobb" (docs/clinical-reference.md §3): the bisegmental angle from the
#: superior endplate above to the inferior endplate below, or the index vertebra's own wedge.
COBB_DEFINITIONS = ("segmental", "vertebral_wedge")
PAGE_SIZES = ("A4", "Letter")
#: Vertebra labels on the film: every vertebra, index (fractured) levels only, or none (the
#: handles and outlines stay).
LABEL_MODES = ("all", "index", "off")
_AE_TITLE_MAX = 16  # DICOM PS3.5 Table 6.2-1 (AE VR): at most 16 characters


def _check_ae_title(value: str, what: str) -> None:
    if not value.strip() or len(value) > _AE_TITLE_MAX or "\\" in value:
        raise ValueError(f"{what} must be 1 to 16 characters without a backslash: {value!r}")
    if not value.isascii() or not value.isprintable():
        raise ValueError(f"{what} must be plain ASCII: {value!r}")


@dataclass(frozen=True)
class ArchiveNode:
    """A department archive (PACS) the viewer can query, retrieve from and send to.

    DIMSE: ``host``, ``port``, ``called_aet`` (the archive's AE title) and ``calling_aet``
    (this workstation's, which the archive must know for C-FIND/C-GET/C-MOVE); ``tls`` turns
    on DICOM TLS (PS3.15 Annex B). DICOMweb: ``dicomweb_url`` (the service's base URL, e.g.
    ``https://pacs.example.org/dicom-web``); HTTPS certificates are verified unless
    ``tls_verify`` is off. ``tls_ca_file`` (trusted CA bundle) and ``tls_cert_file`` /
    ``tls_key_file`` (a client certificate) serve both. ``move_destination`` set means
    retrieve by C-MOVE to that AE title, received by a storage SCP this viewer runs on
    ``move_port`` (the archive must know the AE title with this machine's address and port);
    empty means C-GET. ``timeout_s`` bounds every network wait.
    """

    name: str
    host: str = ""
    port: int = 104
    called_aet: str = ""
    calling_aet: str = "OVCFVIEWER"
    dicomweb_url: str = ""
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    move_destination: str = ""
    move_port: int = 11113
    move_bind_address: str = ""  # "" = every interface (the archive connects from outside)
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("an archive node needs a name")
        if self.timeout_s <= 0:
            raise ValueError(f"node {self.name!r}: timeout_s must be positive")
        if self.dicomweb_url:
            if not self.dicomweb_url.startswith(("http://", "https://")):
                raise ValueError(
                    f"node {self.name!r}: the DICOMweb URL must start with http:// or https://"
                )
            return
        if not self.host.strip():
            raise ValueError(f"node {self.name!r}: give a host (DIMSE) or a DICOMweb URL")
        if not 1 <= int(self.port) <= 65535:
            raise ValueError(f"node {self.name!r}: port must be 1 to 65535")
        _check_ae_title(self.called_aet, f"node {self.name!r}: called AE title")
        _check_ae_title(self.calling_aet, f"node {self.name!r}: calling AE title")
        if self.move_destination:
            _check_ae_title(self.move_destination, f"node {self.name!r}: move destination")
            if not 1 <= int(self.move_port) <= 65535:
                raise ValueError(f"node {self.name!r}: move port must be 1 to 65535")

    @property
    def is_dicomweb(self) -> bool:
        return bool(self.dicomweb_url)

    def describe(self) -> str:
        """One line naming where the node points, for messages."""
        if self.is_dicomweb:
            return f"{self.name} ({self.dicomweb_url})"
        return f"{self.name} ({self.called_aet}@{self.host}:{self.port})"

    @classmethod
    def from_dict(cls, raw: object) -> ArchiveNode:
        """A node from its JSON form; unknown keys (a newer version's) are ignored."""
        if not isinstance(raw, dict):
            raise ValueError(f"an archive node must be a JSON object, not {raw!r}")
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in raw.items() if key in known}
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"archive node {raw.get('name')!r}: {exc}") from exc


@dataclass(frozen=True)
class Settings:
    genant_reference: str = "adjacent"
    cobb_definition: str = "segmental"
    use_magnification: bool = False
    variability_deg: float = 5.0
    variability_mm: float = 2.0
    # Off by default: on the samples' ground truth it moves a correctly placed corner by
    # 0.4 mm on average (it locks onto the stronger of a double contour), so the clinician's
    # own placement stands unless they ask for the snap.
    edge_assist: bool = False
    institution: str = ""
    physician: str = ""
    page_size: str = "A4"
    rules_file: str = ""  # a department's own suitability rules; empty = bundled
    bilateral_width_threshold_mm: float = 45.0
    label_mode: str = "all"
    compact_labels: bool = False  # one line per vertebra: level and Genant grade
    # The most memory opening one image may take (MiB), checked against the header's claim
    # before decoding (ovcf_viewer.io.limits); $OVCF_VIEWER_MEMORY_BUDGET_MB overrides it.
    memory_budget_mb: int = 2048
    archive_nodes: tuple[ArchiveNode, ...] = ()
    #: Retrieved studies are cached under the data folder up to this size; oldest go first.
    archive_cache_mb: int = 2048

    def __post_init__(self) -> None:
        # Settings files hold nodes as JSON objects; accept both forms, keep a tuple.
        nodes = tuple(
            node if isinstance(node, ArchiveNode) else ArchiveNode.from_dict(node)
            for node in self.archive_nodes
        )
        object.__setattr__(self, "archive_nodes", nodes)
        names = [node.name for node in nodes]
        if len(set(names)) != len(names):
            raise ValueError("archive node names must be unique")
        if self.archive_cache_mb < 0:
            raise ValueError("archive_cache_mb must not be negative")
        if self.genant_reference not in GENANT_REFERENCES:
            raise ValueError(f"genant_reference must be one of {GENANT_REFERENCES}")
        if self.cobb_definition not in COBB_DEFINITIONS:
            raise ValueError(f"cobb_definition must be one of {COBB_DEFINITIONS}")
        if self.page_size not in PAGE_SIZES:
            raise ValueError(f"page_size must be one of {PAGE_SIZES}")
        if self.label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode must be one of {LABEL_MODES}")
        if (
            isinstance(self.memory_budget_mb, bool)
            or not isinstance(self.memory_budget_mb, int)
            or self.memory_budget_mb < 64
        ):
            raise ValueError("memory_budget_mb must be a whole number of MiB, at least 64")


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings; defaults for anything missing or invalid (logged, never fatal)."""
    from ovcf_viewer.util.safe_read import read_json

    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        raw = read_json(path)
    except (OSError, ValueError) as exc:
        log.warning("settings file %s unreadable (%s): using defaults", path, exc)
        return Settings()
    known = {f.name for f in fields(Settings)}
    settings = Settings()
    for key, value in raw.items() if isinstance(raw, dict) else ():
        if key == "archive_nodes" and isinstance(value, list):
            value = _valid_nodes(value, path)
        if key in known:
            try:
                settings = replace(settings, **{key: value})
            except (TypeError, ValueError) as exc:
                log.warning("setting %s=%r ignored: %s", key, value, exc)
    return settings


def _valid_nodes(raw_nodes: list[object], path: Path) -> tuple[ArchiveNode, ...]:
    """The nodes that parse; a bad one is logged and dropped, never the whole list."""
    nodes: list[ArchiveNode] = []
    for raw in raw_nodes:
        try:
            node = ArchiveNode.from_dict(raw)
        except (TypeError, ValueError) as exc:
            log.warning("%s: archive node ignored: %s", path, exc)
            continue
        if all(existing.name != node.name for existing in nodes):
            nodes.append(node)
    return tuple(nodes)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    atomic_write_text(path or settings_path(), json.dumps(asdict(settings), indent=2))
