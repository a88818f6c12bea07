"""The views side of the rules files: `ViewsPaths` (what `workflow/rules/views.smk` reads and
writes), built once as `VIEWS_PATHS = ViewsPaths(config)` (the `echocmr.<stage>.smk` pattern:
echocmr.ingest.smk). No analysis logic here."""

from __future__ import annotations

from dataclasses import dataclass

from echocmr.ingest.smk import IngestPaths, is_synthetic
from echocmr.views.config import check_views_config

LABELS = "results/deid/tables/view_labels.csv"
VIEW_CLASSIFIER = "results/views/model/view_classifier.pt"
SPLIT = "results/views/model/split.csv"
METRICS = "results/views/view_classifier_metrics.csv"
TRAIN_KEYS = ["arch", "input_size", "frames", "epochs", "batch_size", "lr", "holdout_fraction",
              "min_per_class"]


@dataclass(frozen=True, eq=False)
class ViewsPaths:
    """Which files the views rules read for the configured backend and input mode."""

    config: dict

    @property
    def views(self) -> dict:
        return self.config["views"]

    @property
    def backend(self) -> str:
        return self.views["backend"]

    @property
    def synthetic(self) -> bool:
        return is_synthetic(self.config)

    @property
    def ingest(self) -> IngestPaths:
        return IngestPaths(self.config)

    @property
    def has_labels(self) -> bool:
        """A de-identified view-label table exists: always for synthetic, if given for site."""
        return self.synthetic or bool(self.config["input"].get("view_labels"))

    def stores(self) -> dict:
        return self.ingest.crop_stores()

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
        inputs = {"index": self.ingest.shard_file("results/crop", "index.csv", shard),
                  "frames": self.ingest.shard_file("results/crop", "frames.npy", shard)}
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
            inputs["truth"] = self.ingest.truth("videos.csv")
        if self.backend == "train":
            inputs["split"] = SPLIT
        if self.has_labels:
            inputs["labels"] = LABELS
        return inputs
