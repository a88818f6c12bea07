"""The ingest side of the rules files: `IngestPaths` (the raw export and the per-shard paths
every rules file uses) and the params helpers of the ingest and audit rules.

Like every `echocmr.<stage>.smk` module: paths come from one frozen `<Stage>Paths` dataclass,
built once from the config in the rules (`INGEST_PATHS = IngestPaths(config)` in common.smk),
so the rules files hold rules only (`snakemake --lint`) and the logic is unit-testable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from echocmr.ingest.paths import shard_path
from echocmr.study_period import study_period

TABLES = ("cmr_reports", "clinical", "echo_reports")


def is_synthetic(config: dict) -> bool:
    return config["input"]["mode"] == "synthetic"


@dataclass(frozen=True, eq=False)
class IngestPaths:
    """Where the raw export is (synthetic: under `simulate.outdir`; site: `input.*`) and the
    per-shard paths of this run's layout (`ingest.shards` in the path: echocmr.ingest.paths)."""

    config: dict

    @property
    def synthetic(self) -> bool:
        return is_synthetic(self.config)

    @property
    def n_shards(self) -> int:
        return self.config["ingest"]["shards"]

    # ---- the raw export -------------------------------------------------------------------
    @property
    def raw_dir(self) -> str:
        """Root of the synthetic raw export (ignored for site data)."""
        return os.path.join(self.config["simulate"]["outdir"], "raw")

    @property
    def truth_dir(self) -> str:
        """The synthetic truth, kept apart from the raw export."""
        return os.path.join(self.config["simulate"]["outdir"], "truth")

    def raw(self, name: str) -> str:
        """A file or folder of the synthetic raw export (what `rule simulate` writes)."""
        return os.path.join(self.raw_dir, name)

    def truth(self, name: str) -> str:
        """A file of the synthetic truth."""
        return os.path.join(self.truth_dir, name)

    @property
    def raw_dicom_dir(self) -> str:
        if self.synthetic:
            return self.raw("dicom")
        return self.config["input"]["dicom_dir"]

    @property
    def raw_view_labels(self) -> str | None:
        """Raw view-label table (sop_instance_uid, view), or None when there is none."""
        if self.synthetic:
            return self.raw("view_labels.csv")
        return self.config["input"].get("view_labels") or None

    def raw_tables(self) -> dict[str, str]:
        """The raw tables by name; view_labels only when one is given."""
        if self.synthetic:
            tables = {name: self.raw(f"{name}.csv") for name in TABLES}
        else:
            tables = {name: self.config["input"][name] for name in TABLES}
        if self.raw_view_labels:
            tables["view_labels"] = self.raw_view_labels
        return tables

    # ---- per-shard outputs ----------------------------------------------------------------
    def shard_path(self, stage_dir: str, suffix: str = "", shard: int | str = "{shard}") -> str:
        """A per-shard output, by default as a rule pattern: results/deid/shards-2/shard-{shard}
        + suffix ('' a folder, '.csv', '.log', ...)."""
        return shard_path(stage_dir, self.n_shards, shard, suffix)

    def shard_file(self, stage_dir: str, name: str, shard: int | str = "{shard}") -> str:
        """A file inside a per-shard folder, e.g. results/crop/shards-2/shard-{shard}/index.csv."""
        return os.path.join(self.shard_path(stage_dir, shard=shard), name)

    def every_shard(self, stage_dir: str, suffix: str = "") -> list[str]:
        """shard_path of every shard of the layout."""
        return [self.shard_path(stage_dir, suffix, s) for s in range(self.n_shards)]

    def every_shard_file(self, stage_dir: str, name: str) -> list[str]:
        """shard_file of every shard of the layout."""
        return [self.shard_file(stage_dir, name, s) for s in range(self.n_shards)]

    def crop_stores(self) -> dict[str, list[str]]:
        """Every crop shard's store, as the views and model rules read it: index and frames."""
        return dict(index=self.every_shard_file("results/crop", "index.csv"),
                    frames=self.every_shard_file("results/crop", "frames.npy"))


# ---- params helpers ---------------------------------------------------------------------------
def rule_params(config: dict, *ingest_keys: str) -> dict:
    """Snakemake params of an ingest/audit rule: only the `ingest` keys it uses (so that changing,
    say, the crop size does not re-run de-identification), the secret's *location* (never the
    secret itself: params are stored in job metadata) and whether the data are synthetic."""
    # secret.private_dir is not a param: moving the operator-only folder reruns nothing
    secret = {k: config["secret"].get(k) for k in ("env", "file")}
    return dict(ingest={k: config["ingest"][k] for k in ingest_keys},
                secret=secret, synthetic=is_synthetic(config))


def period_param(config: dict) -> dict | None:
    """cohort.period for the rules that read raw dates (inventory, deidentify_tables): ISO
    strings, or None for no restriction. Already checked at parse time (config_checks)."""
    period = study_period(config["cohort"].get("period"))
    return None if period is None else period.as_param()
