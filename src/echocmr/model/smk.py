"""The model side of the rules files: `ModelPaths` (what `workflow/rules/model.smk` reads and
writes), built once as `MODEL_PATHS = ModelPaths(config, BUNDLE)` (the `echocmr.<stage>.smk`
pattern: echocmr.ingest.smk), and the params helpers of the model and cohort rules. No analysis
logic here."""

from __future__ import annotations

import os
from dataclasses import dataclass

from echocmr.ingest.smk import IngestPaths
from echocmr.model.scope import Scope
from echocmr.vocab.tasks import BINARY_TASKS, TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

# The `model` keys each network rule reads; the rest (fusion, bundle, threads) stay out of their
# params, so that changing how views are fused, or a job's thread count, reruns no network.
# TRAIN_KEYS = the fields of echocmr.model.train.TrainSettings + `mode` (which tasks a model
# has); tests/.../test_model_unit.py holds the two together (train.py needs torch, the parse not).
TRAIN_KEYS = ("mode", "arch", "layers", "width", "weights", "frames", "period", "resolution",
              "lr", "weight_decay", "batch_size", "max_epochs", "patience", "device",
              "precision", "num_workers", "checkpoint_epochs", "checkpoint_minutes",
              "selection_tasks", "task_weights")
# Prediction takes the input spec (frames, period, resolution) and the net from best.pt, its
# input: only how to clip, batch and where to run come from the config.
PREDICT_KEYS = ("mode", "test_clips", "batch_size", "device", "precision", "num_workers")
# The label definitions of the labels and Table 1 rules (and of a bundle's model card).
LABEL_KEYS = ("segments", "thresholds", "segment_missing")
# The crop settings a model card records: the input spec another site must reproduce.
CARD_CROP_KEYS = ("height", "width", "interpolation")


def network_params(config: dict) -> dict:
    """The `model` keys the train rule reads (TRAIN_KEYS)."""
    return {k: config["model"][k] for k in TRAIN_KEYS}


def is_external(config: dict) -> bool:
    return config["model"]["mode"] == "external"


def bundle_card(config: dict) -> dict | None:
    """The model card of `model.bundle` in external mode (read once, at parse time), else None.
    Raises ConfigError, naming the key, when the bundle is not set or not a bundle."""
    from echocmr.config_checks import ConfigError

    if not is_external(config):
        return None
    path = config["model"].get("bundle")
    if not path:
        raise ConfigError("model.mode is 'external' but model.bundle is not set: point it at "
                          "an exported model bundle (docs/external.md)")
    from echocmr.model.card import BundleError, load_card

    try:
        return load_card(path)
    except BundleError as exc:
        raise ConfigError(str(exc)) from None


def predict_params(config: dict, card: dict | None) -> dict:
    """Predict rule params (PREDICT_KEYS); in external mode with the bundle's training mode and
    test-clip choice (the input spec is the bundle's, read from its weight files)."""
    params = {k: config["model"][k] for k in PREDICT_KEYS}
    if card is not None:
        params.update(mode=card["training_mode"], test_clips=card["input"]["test_clips"])
    return params


def label_config(config: dict, card: dict | None) -> dict:
    """The label definitions (LABEL_KEYS of `cohort`) the labels and Table 1 rules read; in
    external mode the bundle's (segments per view, thresholds, missing-segment rule)."""
    bundle = card["label_definitions"] if card is not None else {}
    return {k: bundle.get(k, config["cohort"][k]) for k in LABEL_KEYS}


def card_label_definitions(config: dict) -> dict:
    """What a model card records as its label definitions: LABEL_KEYS and the pairing window
    (in the config's order, as the card always had them)."""
    keys = (*LABEL_KEYS, "window_days")
    return {k: v for k, v in config["cohort"].items() if k in keys}


def card_crop(config: dict) -> dict:
    """The crop settings a model card records (CARD_CROP_KEYS of `ingest.crop`)."""
    return {k: config["ingest"]["crop"][k] for k in CARD_CROP_KEYS}


def split_config(config: dict) -> dict:
    """The split rule's settings: no split in external mode (every study is a test study)."""
    return {"method": "external"} if is_external(config) else config["cohort"]["split"]


def bundle_thresholds(card: dict | None) -> dict | None:
    """Operating thresholds carried by the bundle (external mode), else None (Youden on val)."""
    return None if card is None else card.get("thresholds", {})


@dataclass(frozen=True, eq=False)
class ModelPaths:
    """Which files the model rules read and write, for the configured `model.mode` (in
    external mode, `card` is the bundle's model card: the bundle's training mode, weights read
    from the bundle, and only the bundle's models scheduled: `scope`)."""

    config: dict
    card: dict | None = None

    @property
    def scope(self) -> Scope:
        return Scope.of(self.card)

    @property
    def bundle(self) -> str | None:
        return self.config["model"].get("bundle")

    @property
    def mode(self) -> str:
        return self.card["training_mode"] if self.card else self.config["model"]["mode"]

    @property
    def external(self) -> bool:
        return self.card is not None

    @property
    def per_task(self) -> bool:
        return self.mode == "per_task"

    def inputs(self) -> dict:
        """Everything a model reads: the crop stores, view labels, cohort labels and split."""
        return dict(
            **IngestPaths(self.config).crop_stores(),
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
        name = self.model_name(wildcards)
        if self.external:
            from echocmr.model.card import model_entry

            return os.path.join(self.bundle, model_entry(self.card, wildcards.view, name)["file"])
        return f"results/model/{wildcards.view}/{name}/best.pt"

    def card_input(self) -> list[str]:
        """The bundle's model card as an input (external mode), so a new bundle reruns."""
        return [os.path.join(self.bundle, "model_card.json")] if self.external else []

    def names(self) -> list[str]:
        return list(TASKS) if self.per_task else ["multitask"]

    def trained(self) -> dict:
        """{view__model: best.pt} of every trained model (the bundle rule's weights)."""
        return {f"{v}__{n}": f"results/model/{v}/{n}/best.pt" for v in ANALYSIS_VIEWS
                for n in self.names()}

    def pin_records(self) -> dict:
        """`pin__{view}__{model}` -> the processor pin record of every model this run trains
        (none in external mode): the report's run record lists them."""
        if self.external:
            return {}
        return {f"pin__{v}__{n}": f"results/model/{v}/{n}/cpu_pin.json" for v in ANALYSIS_VIEWS
                for n in self.names()}

    def curves(self) -> dict:
        return {f"{v}__{n}": f"results/model/{v}/{n}/metrics.csv" for v in ANALYSIS_VIEWS
                for n in self.names()}

    def bundle_curves(self) -> dict:
        """The bundle rule's training curves: `curve__{view}__{model}` -> metrics.csv."""
        return {f"curve__{k}": v for k, v in self.curves().items()}

    @staticmethod
    def fusion_models() -> dict:
        """The bundle rule's fusion models: `fusion__{task}` -> the fuse job's models.json."""
        return {f"fusion__{t}": f"results/predictions/fused/{t}.models.json" for t in TASKS}

    @staticmethod
    def baseline_predictions() -> list[str]:
        """What the baseline rule writes: one prediction table per binary task."""
        return [f"results/predictions/baseline/{t}.csv" for t in BINARY_TASKS]

    def training_metrics(self) -> list[str]:
        """Training curves for the report: this run's, or those the bundle carries (external
        mode; released weights come without any)."""
        if self.external:
            held = self.card.get("files", {})
            rels = (f"curves/{v}/{n}.csv" for v in ANALYSIS_VIEWS for n in self.names())
            return [os.path.join(self.bundle, rel) for rel in rels if rel in held]
        return list(self.curves().values())

    def fused_views(self, wildcards) -> list[str]:
        """The views with a model of the fuse job's task (all three unless a bundle lacks some)."""
        return self.scope.views_of(wildcards.task)

    def view_predictions(self, wildcards) -> list[str]:
        return [f"results/predictions/{view}/{wildcards.task}.csv"
                for view in self.fused_views(wildcards)]

    @staticmethod
    def targets() -> list[str]:
        """All model-stage deliverables."""
        return ([f"results/predictions/{v}/{t}.csv" for v in ANALYSIS_VIEWS for t in TASKS]
                + [f"results/predictions/fused/{t}.csv" for t in TASKS]
                + [f"results/predictions/baseline/{t}.csv" for t in BINARY_TASKS])
