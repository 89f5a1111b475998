"""User settings shared by the GUI and the command line (docs/clinical-reference.md §1, §3–§5:
the choices marked *setting* there). Stored as JSON in :func:`config_dir`, written atomically."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ovcf_viewer.util.atomic import atomic_write_text
from ovcf_viewer.util.paths import config_dir

__all__ = ["GENANT_REFERENCES", "COBB_DEFINITIONS", "LABEL_MODES", "Settings", "load_settings",
           "save_settings"]

log = logging.getLogger(__name__)

GENANT_REFERENCES = ("adjacent", "own_posterior")
#: Which angle reports call "Cobb" (docs/clinical-reference.md §3): the bisegmental angle from the
#: superior endplate above to the inferior endplate below, or the index vertebra's own wedge.
COBB_DEFINITIONS = ("segmental", "vertebral_wedge")
PAGE_SIZES = ("A4", "Letter")
#: Vertebra labels on the film: every vertebra, index (fractured) levels only, or none (the
#: handles and outlines stay).
LABEL_MODES = ("all", "index", "off")


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

    def __post_init__(self) -> None:
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
        if key in known:
            try:
                settings = replace(settings, **{key: value})
            except (TypeError, ValueError) as exc:
                log.warning("setting %s=%r ignored: %s", key, value, exc)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    atomic_write_text(path or settings_path(), json.dumps(asdict(settings), indent=2))
