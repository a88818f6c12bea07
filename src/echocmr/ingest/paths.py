"""Raw-input and per-shard paths for the rules, as plain functions of the config.

They live here, not in the rules files, so those stay free of function definitions
(`snakemake --lint`) and the same logic is unit-testable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from echocmr.study_period import study_period

TABLES = ("cmr_reports", "clinical", "echo_reports")


def is_synthetic(config: dict) -> bool:
    return config["input"]["mode"] == "synthetic"


def raw_dir(config: dict) -> str:
    return os.path.join(config["simulate"]["outdir"], "raw")


def raw_dicom_dir(config: dict) -> str:
    if is_synthetic(config):
        return os.path.join(raw_dir(config), "dicom")
    return config["input"]["dicom_dir"]


def raw_view_labels(config: dict) -> str | None:
    """Raw view-label table (sop_instance_uid, view), or None when there is none."""
    if is_synthetic(config):
        return os.path.join(raw_dir(config), "view_labels.csv")
    return config["input"].get("view_labels") or None


def raw_tables(config: dict) -> dict[str, str]:
    """The raw tables by name; view_labels only when one is given."""
    if is_synthetic(config):
        tables = {name: os.path.join(raw_dir(config), f"{name}.csv") for name in TABLES}
    else:
        tables = {name: config["input"][name] for name in TABLES}
    if raw_view_labels(config):
        tables["view_labels"] = raw_view_labels(config)
    return tables


def rule_params(config: dict, *ingest_keys: str) -> dict:
    """Snakemake params of an ingest/audit rule: only the `ingest` keys it uses (so that changing,
    say, the crop size does not re-run de-identification), the secret's *location* (never the
    secret itself: params are stored in job metadata) and whether the data are synthetic."""
    return dict(ingest={k: config["ingest"][k] for k in ingest_keys},
                secret=config["secret"], synthetic=is_synthetic(config))


def period_param(config: dict) -> dict | None:
    """cohort.period for the rules that read raw dates (inventory, deidentify_tables): ISO
    strings, or None for no restriction. Already checked at parse time (config_checks)."""
    period = study_period(config["cohort"].get("period"))
    return None if period is None else period.as_param()


# --- shard layout ------------------------------------------------------------------------------
# Studies go to shard `hash mod ingest.shards`, so shard i of another shard count holds other
# studies. Every per-shard output therefore lives under a folder named by the count: a changed
# `ingest.shards` neither reuses nor reads an earlier layout, and nothing has to be deleted at
# parse time (which would also run on `-n` and `--lint`).

LAYOUT = re.compile(r"shards-\d+")


def shard_layout(n_shards: int) -> str:
    """Folder of the layout of `n_shards` shards: `shards-<n>`."""
    return f"shards-{int(n_shards)}"


def shard_path(stage_dir: str | Path, n_shards: int, shard: int | str = "{shard}",
               suffix: str = "") -> str:
    """The path of one per-shard output: `<stage_dir>/shards-<n>/shard-<shard><suffix>`, with
    suffix '' (a folder), '.csv', '/index.csv', ...; the default shard gives a rule pattern.
    Every per-shard path of the workflow is built here."""
    return os.path.join(stage_dir, shard_layout(n_shards), f"shard-{shard}{suffix}")


def shard_dirs(stage_dir: str | Path, n_shards: int) -> list[str]:
    """Every shard folder of the layout, e.g. the crop stores of `results/crop`."""
    return [shard_path(stage_dir, n_shards, s) for s in range(n_shards)]


def other_layouts(results_dir: str | Path, n_shards: int) -> list[str]:
    """Layout folders under results_dir of any other shard count (`deid/shards-4`, ...):
    left by an earlier `ingest.shards`, read by no rule."""
    root, current = Path(results_dir), shard_layout(n_shards)
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        layouts = sorted(d for d in dirnames if LAYOUT.fullmatch(d))
        found += [(Path(dirpath) / d).relative_to(root).as_posix()
                  for d in layouts if d != current]
        dirnames[:] = [d for d in dirnames if d not in layouts]  # not into the shard folders
    return sorted(found)
