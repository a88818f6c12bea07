"""The `simulate:` config section: defaults, merging and validation.

The same defaults are declared in `workflow/schemas/config.schema.yaml` (a test keeps the two in
step), so the library runs without Snakemake and the workflow validates before any job starts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from echocmr.vocab.views import ANALYSIS_VIEWS as MAIN_VIEWS

ENCODINGS = ("jpeg_ybr422", "rgb", "mono2", "rle")
# Vendor screen layouts (docs/simulate.md "Screen layouts"); `classic` is the original one.
LAYOUTS = ("classic", "fullscreen_region", "bottom_banner", "side_banner", "dark_on_light",
           "sector_annotations", "linear_probe")

DEFAULTS: dict[str, Any] = {
    "outdir": "synthetic",
    "n_patients": 140,
    # Mean number of echo studies per patient within +-30 days of a CMR (paper: 2,566/1,453).
    "studies_per_patient": 1.6,
    # Share of patients with one more echo study 31-365 days from any CMR (pairing must drop it).
    "unpaired_study_fraction": 0.08,
    "second_cmr_fraction": 0.05,
    "wma_prevalence": 0.483,
    # Means of the tissue measurements (Table 1). Shifting one moves the share of patients past
    # the paper's fixed threshold (e.g. T2 >= 58 ms: ~8% at 48.7 ms).
    "tissue_means": {"t1_native_ms": 1020.7, "t2_ms": 48.7, "ecv_pct": 28.4},
    "views": list(MAIN_VIEWS),
    # Probability that a study holds a cine of the view (paper Table 1: 2,331/1,965/2,299 of 2,566).
    "view_probability": {"A4C": 0.91, "A2C": 0.77, "PLAX": 0.90},
    "extra_clip_probability": 0.15,
    "distractors": {
        "enabled": True,
        "psax": 0.5,
        "a5c": 0.25,
        "subcostal": 0.3,
        "doppler": 0.35,
        "still": 0.3,
        "sr": 0.4,
    },
    "damaged": {"truncated": 2, "zero_bytes": 1, "not_dicom": 1},
    # Malformed rows per raw table (a typo'd grade, an impossible date, "n/a" for a number).
    "table_defects": 0,
    # A share of studies comes from another machine that stores larger images (alt_scale x).
    "image": {"width": 256, "height": 192, "alt_fraction": 0.1, "alt_scale": 1.25},
    "frames": {"min": 32, "max": 64},
    "fps": {"min": 30, "max": 60},
    "heartbeats": {"min": 1.5, "max": 3.0},
    "encodings": {"jpeg_ybr422": 0.72, "rgb": 0.06, "mono2": 0.12, "rle": 0.1},
    "jpeg_quality": 90,
    # Share of rendered files per screen layout (normalised; 0 switches a layout off).
    "layouts": {
        "classic": 0.55,
        "fullscreen_region": 0.08,
        "bottom_banner": 0.08,
        "side_banner": 0.08,
        "dark_on_light": 0.08,
        "sector_annotations": 0.09,
        "linear_probe": 0.04,
    },
    "view_label_fraction": 0.5,
    "pose_jitter": 1.0,
    "effects": {
        "wma_motion": 1.0,
        "lge_thinning": 0.35,
        "lge_echogenicity": 0.0,
        "t1_echogenicity": 0.0,
        "t2_echogenicity": 0.0,
        "ecv_echogenicity": 0.0,
    },
    # Site quirks of a pilot export, each a count (0 = off): docs/simulate.md, quirks.py.
    "quirks": {"children": 0, "multi_accession": 0, "identity_conflict": 0,
               "partial_grading": 0, "placeholder_headers": 0},
    "workers": 0,
}


class SimSettingsError(ValueError):
    """A `simulate.*` value is wrong; the message names the key and the fix."""


def _merge(base: dict, over: dict, path: str = "simulate") -> dict:
    out = copy.deepcopy(base)
    for key, value in (over or {}).items():
        if key not in base:
            raise SimSettingsError(f"unknown key {path}.{key}; allowed: {sorted(base)}")
        if isinstance(base[key], dict) and key not in ("view_probability", "layouts"):
            out[key] = _merge(base[key], value or {}, f"{path}.{key}")
        elif isinstance(base[key], dict):
            out[key] = {**base[key], **(value or {})}
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class SimSettings:
    """Validated `simulate:` section plus the master seed."""

    seed: int
    values: dict = field(default_factory=lambda: copy.deepcopy(DEFAULTS))

    @classmethod
    def from_config(cls, section: dict | None, seed: int) -> SimSettings:
        values = _merge(DEFAULTS, section or {})
        _validate(values)
        return cls(seed=int(seed), values=values)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def width(self) -> int:
        return int(self.values["image"]["width"])

    @property
    def height(self) -> int:
        return int(self.values["image"]["height"])

    def image_size(self, alternate: bool) -> tuple[int, int]:
        """(width, height) of a study's images; the other machine stores larger ones."""
        if not alternate:
            return self.width, self.height
        k = float(self.values["image"]["alt_scale"])
        return int(round(self.width * k / 2) * 2), int(round(self.height * k / 2) * 2)

    @property
    def effects(self) -> dict:
        return self.values["effects"]


def _validate(v: dict) -> None:
    for view in v["views"]:
        if view not in MAIN_VIEWS:
            raise SimSettingsError(
                f"simulate.views contains {view!r}; allowed: {list(MAIN_VIEWS)}")
    for view in v["view_probability"]:
        if view not in MAIN_VIEWS:
            raise SimSettingsError(
                f"simulate.view_probability has {view!r}; allowed keys: {list(MAIN_VIEWS)}")
    if v["frames"]["min"] > v["frames"]["max"]:
        raise SimSettingsError(
            f"simulate.frames.min={v['frames']['min']} > max={v['frames']['max']}: swap them")
    if v["fps"]["min"] > v["fps"]["max"]:
        raise SimSettingsError("simulate.fps.min > simulate.fps.max: swap them")
    if v["heartbeats"]["min"] > v["heartbeats"]["max"]:
        raise SimSettingsError("simulate.heartbeats.min > simulate.heartbeats.max: swap them")
    if v["image"]["width"] < 96 or v["image"]["height"] < 72:
        raise SimSettingsError(
            f"simulate.image={v['image']} is too small to draw a sector with text and ECG; "
            "use at least width 96, height 72")
    bad = [k for k in v["encodings"] if k not in ENCODINGS]
    if bad or sum(v["encodings"].values()) <= 0:
        raise SimSettingsError(
            f"simulate.encodings={v['encodings']}: keys must be among {list(ENCODINGS)} "
            "with a positive total weight")
    layouts = v["layouts"]
    bad = [k for k in layouts if k not in LAYOUTS]
    if bad:
        raise SimSettingsError(
            f"simulate.layouts has {bad}; allowed keys: {list(LAYOUTS)}")
    for k, share in layouts.items():
        if not isinstance(share, int | float) or isinstance(share, bool) or share < 0:
            raise SimSettingsError(
                f"simulate.layouts.{k}={share!r}: a share must be a number >= 0")
    if sum(layouts.values()) <= 0:
        raise SimSettingsError(
            f"simulate.layouts={layouts}: at least one layout needs a positive share "
            "(e.g. classic: 1)")
