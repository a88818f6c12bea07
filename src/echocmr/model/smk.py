"""Path helpers for `workflow/rules/model.smk` (kept in Python so the rules file holds rules
only, as `snakemake --lint` asks). No analysis logic here."""

from __future__ import annotations

import os

from echocmr.model.tasks import BINARY_TASKS, TASKS, VIEWS

# `model` keys read only by the fuse rule: kept out of the train/predict params so that changing
# how views are fused does not retrain (or re-predict with) any network.
FUSION_KEYS = ("fuse_min_val", "fusion_penalty")


def network_params(config: dict) -> dict:
    """The `model` keys the train and predict rules read (all but the fusion keys)."""
    return {k: v for k, v in config["model"].items() if k not in FUSION_KEYS}


class ModelPaths:
    """Which files the model rules read and write, for the configured `model.mode`."""

    def __init__(self, config: dict, shards: list[int]):
        self.mode = config["model"]["mode"]
        self.shards = shards

    @property
    def per_task(self) -> bool:
        return self.mode == "per_task"

    def inputs(self) -> dict:
        """Everything a model reads: the crop stores, view labels, cohort labels and split."""
        crop = [os.path.join("results", "crop", f"shard-{s}") for s in self.shards]
        return dict(
            index=[os.path.join(d, "index.csv") for d in crop],
            frames=[os.path.join(d, "frames.npy") for d in crop],
            views="results/views/views.csv",
            labels="results/cohort/labels.csv",
            split="results/cohort/study_split.csv",
        )

    def predicted(self, suffix: str) -> list[str]:
        """Files one predict job writes: its own task (per_task) or every task (multitask)."""
        if self.per_task:
            return [f"results/predictions/{{view}}/{{task}}{suffix}"]
        return [f"results/predictions/{{view}}/{task}{suffix}" for task in TASKS]

    def predict_log(self) -> str:
        name = "{task}" if self.per_task else "multitask"
        return f"results/logs/model/predict/{{view}}/{name}.log"

    def model_name(self, wildcards) -> str:
        return wildcards.task if self.per_task else "multitask"

    def tasks(self, wildcards) -> list[str]:
        return [wildcards.task] if self.per_task else list(TASKS)

    def best(self, wildcards) -> str:
        return f"results/model/{wildcards.view}/{self.model_name(wildcards)}/best.pt"

    @staticmethod
    def view_predictions(task: str = "{task}") -> list[str]:
        return [f"results/predictions/{view}/{task}.csv" for view in VIEWS]

    @staticmethod
    def targets() -> list[str]:
        """All model-stage deliverables."""
        return ([f"results/predictions/{v}/{t}.csv" for v in VIEWS for t in TASKS]
                + [f"results/predictions/fused/{t}.csv" for t in TASKS]
                + [f"results/predictions/baseline/{t}.csv" for t in BINARY_TASKS])
