"""Path helpers for `workflow/rules/views.smk` (kept in Python so the rules file holds rules
only, as `snakemake --lint` asks). No analysis logic here."""

from __future__ import annotations

import os

from echocmr.ingest.paths import shard_dirs, shard_path
from echocmr.views.config import check_views_config

LABELS = "results/deid/tables/view_labels.csv"
VIEW_CLASSIFIER = "results/views/model/view_classifier.pt"
SPLIT = "results/views/model/split.csv"
METRICS = "results/views/view_classifier_metrics.csv"
TRAIN_KEYS = ["arch", "input_size", "frames", "epochs", "batch_size", "lr", "holdout_fraction"]


class ViewsPaths:
    """Which files the views rules read for the configured backend and input mode."""

    def __init__(self, config: dict):
        self.config = config
        self.views = config["views"]
        self.backend = self.views["backend"]
        self.synthetic = config["input"]["mode"] == "synthetic"
        self.n_shards = config["ingest"]["shards"]

    @property
    def has_labels(self) -> bool:
        """A de-identified view-label table exists: always for synthetic, if given for site."""
        return self.synthetic or bool(self.config["input"].get("view_labels"))

    def stores(self) -> dict:
        crop = shard_dirs("results/crop", self.n_shards)
        return dict(index=[os.path.join(d, "index.csv") for d in crop],
                    frames=[os.path.join(d, "frames.npy") for d in crop])

    def train_settings(self) -> dict:
        return {**{k: self.views[k] for k in TRAIN_KEYS}, "seed": self.config["seed"]}

    def weights_layout(self) -> str:
        return "echocmr" if self.backend == "train" else self.views["weights_layout"]

    def fit_inputs(self) -> dict:
        """Inputs of `views_fit`. The views settings are checked here, when a views job is
        actually in the DAG, not at parse time: ingest-only targets (`results/ingest/
        manifest.csv`, `results/deid/shards-<n>/shard-0.csv`) need no view settings."""
        check_views_config(self.config)
        return {**self.stores(), "labels": LABELS}

    def classify_inputs(self, shard) -> dict:
        check_views_config(self.config)
        shard_dir = shard_path("results/crop", self.n_shards, shard)
        inputs = {"index": os.path.join(shard_dir, "index.csv"),
                  "frames": os.path.join(shard_dir, "frames.npy")}
        if self.backend == "labels":
            inputs["labels"] = LABELS
        elif self.backend == "train":
            inputs["weights"] = VIEW_CLASSIFIER
        else:
            inputs["weights"] = self.views["weights"]
        return inputs

    def bundle_inputs(self) -> dict:
        """What the model bundle carries of the views stage: the trained classifier and its
        accuracy on unseen videos (train backend only; other backends train nothing)."""
        if self.backend != "train":
            return {}
        return {"view_classifier": VIEW_CLASSIFIER, "view_metrics": METRICS}

    def metrics_inputs(self) -> dict:
        inputs = {"views": "results/views/views.csv"}
        if self.synthetic:
            inputs["truth"] = os.path.join(self.config["simulate"]["outdir"], "truth",
                                           "videos.csv")
        if self.backend == "train":
            inputs["split"] = SPLIT
        if self.has_labels:
            inputs["labels"] = LABELS
        return inputs
