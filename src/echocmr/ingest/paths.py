"""Raw-input paths for the ingest and audit rules, as plain functions of the config.

They live here, not in the rules files, so those stay free of function definitions
(`snakemake --lint`) and the same logic is unit-testable.
"""

from __future__ import annotations

import os

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
