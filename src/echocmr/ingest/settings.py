"""Ingest settings from the workflow config. The secret itself is loaded at run time
(`echocmr.keys.secret_from`), never passed through Snakemake params (params are recorded in job
metadata)."""

from __future__ import annotations

from dataclasses import dataclass

from echocmr import keys
from echocmr.study_period import StudyPeriod, study_period


@dataclass(frozen=True)
class InventorySettings:
    secret: str
    n_shards: int
    min_frames: int = 32
    date_shift_max_days: int = keys.DATE_SHIFT_MAX_DAYS
    colour_fraction: float = 0.01  # share of sector pixels that are coloured -> colour Doppler
    period: StudyPeriod | None = None  # cohort.period on the raw dates; None = no restriction


def shift_days(ingest: dict) -> int:
    """`ingest.date_shift_max_days`, or its default."""
    return int(ingest.get("date_shift_max_days", keys.DATE_SHIFT_MAX_DAYS))


def inventory_settings(ingest: dict, secret: str, period: dict | None = None) -> InventorySettings:
    """`period`: the rule's `period` param (cohort.period as strings, or None)."""
    return InventorySettings(secret=secret, n_shards=int(ingest["shards"]),
                             min_frames=int(ingest.get("min_frames", 32)),
                             date_shift_max_days=shift_days(ingest),
                             colour_fraction=float(ingest.get("colour_fraction", 0.01)),
                             period=study_period(period))
