"""User settings shared by the GUI and the command line (docs/clinical-reference.md §1, §3–§5:
the choices marked *setting* there). Stored as JSON in :func:`config_dir`, written atomically.

One :class:`Settings` instance per run: the GUI creates it at start (:func:`load_settings`) and
hands it to every part that needs it; views connect to ``settings.events`` (one signal per
field, plus ``events.all``) and follow its changes. The settings dialog edits a copy and applies
it with :meth:`Settings.update_from`; a :class:`SettingsKeeper` writes every change to the file.
The command line loads it once per command. Code outside
the GUI uses it as a plain value (measure functions read the fields they need).
"""

from __future__ import annotations

import json
import logging
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator

from ovcf_viewer.model.base import EventedModel
from ovcf_viewer.util.atomic import atomic_write_text
from ovcf_viewer.util.paths import config_dir

__all__ = [
    "COBB_DEFINITIONS",
    "GENANT_REFERENCES",
    "LABEL_MODES",
    "ArchiveNode",
    "PAGE_SIZES",
    "THEMES",
    "Settings",
    "SettingsKeeper",
    "load_settings",
    "read_settings",
    "save_settings",
    "settings_path",
]

log = logging.getLogger(__name__)

GenantReference = Literal["adjacent", "own_posterior"]
#: Which angle reports call "Cobb" (docs/clinical-reference.md §3): the bisegmental angle from the
#: superior endplate above to the inferior endplate below, or the index vertebra's own wedge.
CobbDefinition = Literal["segmental", "vertebral_wedge"]
PageSize = Literal["A4", "Letter"]
#: Vertebra labels on the film: every vertebra, index (fractured) levels only, or none (the
#: handles and outlines stay).
LabelMode = Literal["all", "index", "off"]
#: The look of the whole window: the system's, or light / dark (reading room) set by the app.
#: The film area is dark in every theme.
Theme = Literal["system", "light", "dark"]
GENANT_REFERENCES: tuple[str, ...] = typing.get_args(GenantReference)
COBB_DEFINITIONS: tuple[str, ...] = typing.get_args(CobbDefinition)
PAGE_SIZES: tuple[str, ...] = typing.get_args(PageSize)
LABEL_MODES: tuple[str, ...] = typing.get_args(LabelMode)
THEMES: tuple[str, ...] = typing.get_args(Theme)
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


class Settings(EventedModel):
    """The user's choices; every field has a default, so an empty file is a valid one."""

    genant_reference: GenantReference = "adjacent"
    cobb_definition: CobbDefinition = "segmental"
    use_magnification: bool = False
    variability_deg: Annotated[float, Field(ge=0)] = 5.0
    variability_mm: Annotated[float, Field(ge=0)] = 2.0
    # Off by default: on the samples' ground truth it moves a correctly placed corner by
    # 0.4 mm on average (it locks onto the stronger of a double contour), so the clinician's
    # own placement stands unless they ask for the snap.
    edge_assist: bool = False
    institution: str = ""
    physician: str = ""
    page_size: PageSize = "A4"
    rules_file: str = ""  # a department's own suitability rules; empty = bundled
    bilateral_width_threshold_mm: Annotated[float, Field(gt=0)] = 45.0
    label_mode: LabelMode = "all"
    compact_labels: bool = False  # one line per vertebra: level and Genant grade
    # The most memory opening one image may take (MiB), checked against the header's claim
    # before decoding (ovcf_viewer.io.limits); $OVCF_VIEWER_MEMORY_BUDGET_MB overrides it.
    # Strict: a whole number (not true/false, not 2048.5), at least 64.
    memory_budget_mb: Annotated[int, Field(ge=64, strict=True)] = 2048
    archive_nodes: tuple[ArchiveNode, ...] = ()
    #: Retrieved studies are cached under the data folder up to this size; oldest go first.
    archive_cache_mb: Annotated[int, Field(ge=0, strict=True)] = 2048
    theme: Theme = "system"
    #: Each window's saved geometry and dock/toolbar state, by window name ("main", "case"):
    #: ``QMainWindow.saveGeometry``/``saveState`` as base64 text. Empty: the default layout.
    window_layouts: dict[str, str] = Field(default_factory=dict)

    @field_validator("archive_nodes", mode="before")
    @classmethod
    def _nodes(cls, value: object) -> object:
        """Settings files hold nodes as JSON objects; accept both forms, keep a tuple of
        uniquely named nodes (each checked by :class:`ArchiveNode` itself)."""
        if not isinstance(value, (list, tuple)):
            return value
        nodes = tuple(
            node if isinstance(node, ArchiveNode) else ArchiveNode.from_dict(node)
            for node in value
        )
        names = [node.name for node in nodes]
        if len(set(names)) != len(names):
            raise ValueError("archive node names must be unique")
        return nodes

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with ``changes`` (a new instance: its own events, no listeners)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def update_from(self, other: Settings) -> bool:
        """Take every field of ``other`` (validated already); each changed field emits its
        own signal (and ``events.all``). Returns whether anything changed."""
        changed = False
        for name in type(self).model_fields:
            value = getattr(other, name)
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        return changed


def settings_path() -> Path:
    return config_dir() / "settings.json"


def _expected(name: str) -> str:
    annotation = Settings.model_fields[name].annotation
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(json.dumps(v) for v in typing.get_args(annotation))
    names: dict[object, str] = {
        bool: "true or false", float: "a number", int: "a whole number", str: "text",
    }
    return names.get(annotation, str(annotation))


def read_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """The saved settings and what was wrong with the file, one line per problem.

    A missing file gives the defaults silently; an unreadable one the defaults. The file is
    read through the guarded reader (regular files only, size and nesting capped). Unknown
    keys (a newer or older version's) are dropped and a key of the wrong type or out of range
    keeps its default, each named with the file, the key and what it should be: a user's file
    always loads.
    """
    from ovcf_viewer.util.safe_read import read_json

    path = path or settings_path()
    if not path.exists():
        return Settings(), []
    try:
        raw = read_json(path)
    except FileNotFoundError:
        return Settings(), []
    except (OSError, ValueError) as exc:
        return Settings(), [f"settings file {path} unreadable ({exc}): using the defaults"]
    if not isinstance(raw, dict):
        return Settings(), [f"settings file {path}: not a JSON object: using the defaults"]
    problems = []
    known = Settings.model_fields
    unknown = sorted(key for key in raw if key not in known)
    if unknown:
        problems.append(f"settings file {path}: unknown setting(s) {', '.join(unknown)} ignored")
    values = {key: value for key, value in raw.items() if key in known}
    if isinstance(values.get("archive_nodes"), list):  # a bad node is dropped, not the list
        values["archive_nodes"] = _valid_nodes(values["archive_nodes"], path, problems)
    try:
        return Settings(**values), problems
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            if key not in values:
                continue
            problems.append(
                f"settings file {path}: {key} = {json.dumps(values.pop(key))} is not "
                f"{_expected(key)} ({error['msg']}); using the default "
                f"{json.dumps(known[key].default)}"
            )
    return Settings(**values), problems


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings (see :func:`read_settings`); problems are logged, never fatal."""
    settings, problems = read_settings(path)
    for problem in problems:
        log.warning("%s", problem)
    return settings


def _valid_nodes(raw_nodes: list[object], path: Path,
                 problems: list[str]) -> tuple[ArchiveNode, ...]:
    """The nodes that parse; a bad one (or a repeated name) is reported and dropped, never
    the whole list."""
    nodes: list[ArchiveNode] = []
    for raw in raw_nodes:
        try:
            node = ArchiveNode.from_dict(raw)
        except (TypeError, ValueError) as exc:
            problems.append(f"settings file {path}: archive node ignored: {exc}")
            continue
        if all(existing.name != node.name for existing in nodes):
            nodes.append(node)
    return tuple(nodes)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write ``settings`` atomically as indented JSON (the format every version reads)."""
    atomic_write_text(path or settings_path(), json.dumps(settings.model_dump(), indent=2))


class SettingsKeeper:
    """Keeps the settings file equal to one :class:`Settings` instance: every change is written
    (atomically) as it happens. A failed write is kept in :attr:`problem` and passed to
    ``on_problem`` (the GUI shows it); the instance keeps the user's choice regardless.

    The caller keeps a reference to the keeper (the connection to ``settings.events`` is
    weak).
    """

    def __init__(self, settings: Settings, path: Path | None = None,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.path = path
        self.problem = ""
        self._on_problem = on_problem
        settings.events.all.connect(self._on_changed)

    def _on_changed(self) -> None:
        self.save()

    def save(self) -> bool:
        """Write the settings unless the file already holds them; ``False`` if it failed."""
        path = self.path or settings_path()
        text = json.dumps(self.settings.model_dump(), indent=2)
        try:
            if path.is_file() and path.read_text(encoding="utf-8") == text:
                return True  # written already (the settings dialog saves before applying)
            atomic_write_text(path, text)
        except OSError as exc:
            self.problem = f"Settings not saved: {exc}"
            if self._on_problem is not None:
                self._on_problem(self.problem)
            return False
        self.problem = ""
        return True
