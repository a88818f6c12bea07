"""Ingest settings from the workflow config; the secret is loaded here, at run time, never passed
through Snakemake params (params are recorded in job metadata)."""

from __future__ import annotations

from echocmr import keys
from echocmr.ingest.deidentify import DeidSettings
from echocmr.ingest.inventory import InventorySettings
from echocmr.study_period import study_period


def secret_from(secret_cfg: dict, synthetic: bool) -> str:
    """The pseudonymisation secret (env variable, then file; demo secret only for synthetic)."""
    return keys.load_secret(env=secret_cfg.get("env") or "ECHOCMR_SECRET",
                            file=secret_cfg.get("file"), synthetic=bool(synthetic))


def _shift_days(ingest: dict) -> int:
    return int(ingest.get("date_shift_max_days", keys.DATE_SHIFT_MAX_DAYS))


def inventory_settings(ingest: dict, secret: str, period: dict | None = None) -> InventorySettings:
    """`period`: the rule's `period` param (cohort.period as strings, or None)."""
    return InventorySettings(secret=secret, n_shards=int(ingest["shards"]),
                             min_frames=int(ingest.get("min_frames", 32)),
                             date_shift_max_days=_shift_days(ingest),
                             colour_fraction=float(ingest.get("colour_fraction", 0.01)),
                             period=study_period(period))


def deid_settings(ingest: dict, secret: str) -> DeidSettings:
    return DeidSettings(secret=secret,
                        max_shift_days=_shift_days(ingest),
                        jpeg_quality=int(ingest.get("jpeg_quality", 95)),
                        lossless_jpeg=ingest.get("jpeg_blanking", "lossless") == "lossless")
