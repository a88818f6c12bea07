"""The views stage end to end, one function per workflow rule (scripts only call these)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

# torch loads with this module, but the pin's variables are read at its first computation,
# which comes after an entry's pin_processor (echocmr.cpu_pin).
from echocmr.cpu_pin import pin_processor
from echocmr.logutil import script_logging
from echocmr.media.store import VideoStore
from echocmr.views import labels as label_tables
from echocmr.views import metrics as vm
from echocmr.views import model as vmodel
from echocmr.views import pretrained
from echocmr.views.decide import decide_views, views_qc
from echocmr.views.train import (
    TrainSettings,
    class_shortfall,
    fit_classifier,
    fit_shortfall,
    split_labelled,
)
from echocmr.vocab.views import PROB_COLUMNS

log = logging.getLogger("echocmr.views")
BACKENDS = ["train", "labels", "pretrained"]
SHARD_COLUMNS = ["video_key", "study_key", "patient_key", *PROB_COLUMNS, "reason"]


def write_view_classifier(shard_dirs: list[str], labels_csv: str, settings: TrainSettings,
                          ckpt_out: str, split_out: str, history_out: str, threads: int = 1,
                          cpu_pin: bool = True) -> None:
    """Train backend: split labelled videos by patient, fit on `fit`, save weights + split."""
    pin_processor(threads, pinned=cpu_pin)
    store = VideoStore(shard_dirs)
    labelled = label_tables.labelled_in_store(store.meta, label_tables.read_label_table(
        labels_csv))
    split = split_labelled(labelled, settings.holdout_fraction, settings.seed)
    fit = split[split["role"] == "fit"]
    log.info("labelled videos in the store: %d (fit %d, holdout %d); fit views: %s",
             len(split), len(fit), len(split) - len(fit), fit["view"].value_counts().to_dict())
    split[["video_key", "view", "role"]].to_csv(split_out, index=False)
    shortfall = (fit_shortfall(len(fit), settings.frames)
                 or class_shortfall(fit["view"], settings.min_per_class))
    if shortfall:  # a pilot export: the run goes on, every video excluded with this reason
        log.warning("%s", shortfall)
        vmodel.save_untrained(ckpt_out, settings.arch, settings.input_size, settings.frames,
                              shortfall)
        pd.DataFrame([{"epoch": 0, "reason": shortfall}],
                     columns=["epoch", "loss", "frame_accuracy", "reason"]).to_csv(
            history_out, index=False)
        return
    model, history = fit_classifier(store, fit, settings)
    vmodel.save_checkpoint(ckpt_out, model, settings.arch, settings.input_size, settings.frames)
    history.round(6).to_csv(history_out, index=False)


def _with_keys(meta: pd.DataFrame, probs: pd.DataFrame) -> pd.DataFrame:
    out = meta[["video_key", "study_key", "patient_key"]].merge(probs, on="video_key",
                                                               how="left")
    if "reason" not in out:
        out["reason"] = ""
    return out[SHARD_COLUMNS]


def unclassified(keys, reason: str) -> pd.DataFrame:
    """Uniform probabilities and an exclusion reason for videos no classifier could see."""
    probs = pd.DataFrame({"video_key": list(keys)})
    for column in PROB_COLUMNS:
        probs[column] = 1.0 / len(PROB_COLUMNS)
    probs["reason"] = reason
    return probs


def classify_shard(shard_dir: str, backend: str, *, labels_csv: str | None = None,
                   weights: str | None = None, weights_layout: str = "echocmr",
                   threads: int = 1, cpu_pin: bool = True) -> pd.DataFrame:
    """Per-video view probabilities for one shard store, from the configured backend."""
    pin_processor(threads, pinned=cpu_pin)
    store = VideoStore([shard_dir])
    keys = store.keys()
    log.info("classifying %d videos with the %s backend", len(keys), backend)
    if not keys:  # a shard can hold no study (small exports): an empty table, same columns
        return pd.DataFrame(columns=SHARD_COLUMNS)
    if backend == "labels":
        probs = label_tables.label_probabilities(store.meta,
                                                 label_tables.read_label_table(labels_csv))
        return probs[SHARD_COLUMNS]
    device = vmodel.pick_device()
    if backend == "train" or (backend == "pretrained" and weights_layout == "echocmr"):
        model, info = vmodel.load_checkpoint(weights)
        if model is None:
            return _with_keys(store.meta, unclassified(keys, info["reason"]))
        probs = vmodel.predict_videos(model, store, keys, info["frames"], info["input_size"],
                                      device=device)
    elif backend == "pretrained" and weights_layout == "echoprime":
        probs = pretrained.predict_echoprime(pretrained.load_echoprime(weights), store, keys,
                                             device=device)
    else:
        raise ValueError(f"views.backend={backend!r} / views.weights_layout={weights_layout!r} "
                         f"is not supported; backends: {BACKENDS}")
    return _with_keys(store.meta, probs)


def write_views(shard_csvs: list[str], threshold: float, views_out: str, qc_out: str) -> None:
    """Concatenate shard probabilities, decide kept/excluded, write views.csv + QC rows."""
    parts = [pd.read_csv(p, dtype={"reason": str}, keep_default_na=False) for p in shard_csvs]
    probs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=SHARD_COLUMNS)
    views = decide_views(probs, threshold)
    views.to_csv(views_out, index=False)
    qc = views_qc(views)
    qc.to_csv(qc_out, index=False)
    log.info("views: %d in, %d kept; excluded by reason: %s", len(views),
             int((views["status"] == "kept").sum()), dict(zip(qc["reason"], qc["n_excluded"],
                                                             strict=True)))


def reference_for(backend: str, synthetic: bool, *, truth_csv: str | None, secret: str | None,
                  split_csv: str | None, labels_csv: str | None) -> tuple[pd.DataFrame, set, str]:
    """(reference views, videos seen in training, a description of the reference)."""
    seen: set[str] = set()
    split = pd.read_csv(split_csv) if split_csv else None
    if split is not None:
        seen = set(split.loc[split["role"] == "fit", "video_key"])
    if synthetic:
        ref = vm.truth_reference(truth_csv, secret)
        if backend == "labels":
            labelled = label_tables.read_label_table(labels_csv)
            ref = ref[ref["video_key"].isin(labelled["video_key"])]
            return ref, seen, "synthetic truth, labelled videos"
        return ref, seen, "synthetic truth, videos not used for training"
    if split is not None:
        hold = split[split["role"] == "holdout"]
        return (hold.rename(columns={"view": "true_view"})[["video_key", "true_view"]], seen,
                "held-out labelled videos")
    if backend == "pretrained" and labels_csv:
        lab = label_tables.read_label_table(labels_csv)
        lab = lab[~lab["conflict"]].rename(columns={"view": "true_view"})
        return lab[["video_key", "true_view"]], seen, "labelled videos"
    return (pd.DataFrame(columns=["video_key", "true_view"]), seen,
            "none: the labels backend has no independent reference on site data")


def write_view_metrics(views_csv: str, backend: str, synthetic: bool, metrics_out: str,
                       figure_out: str, **reference_inputs) -> pd.DataFrame:
    """Accuracy and confusion matrix on unseen videos, as a table and a figure."""
    views = pd.read_csv(views_csv, dtype={"reason": str}, keep_default_na=False)
    ref, seen, name = reference_for(backend, synthetic, **reference_inputs)
    df = vm.comparable(views, ref, seen)
    table = vm.metrics_table(df, name)
    table.to_csv(metrics_out, index=False)
    vm.plot_confusion(df, f"view classifier ({backend} backend)", figure_out)
    acc = table.loc[table["metric"] == "accuracy", "value"].iloc[0]
    log.info("view classifier: accuracy %.4f on %d videos (%s)", acc, len(df), name)
    return table


def write_shard(probs: pd.DataFrame, path: str | Path) -> None:
    probs.to_csv(path, index=False)



def run_views_classify(smk) -> None:
    """Script entry of `rule views_classify`: per-video view probabilities for one shard, from
    the configured backend."""
    import os

    with script_logging(smk):
        probs = classify_shard(
            os.path.dirname(smk.input.index),
            smk.params.backend,
            labels_csv=smk.input.get("labels"),
            weights=smk.input.get("weights"),
            weights_layout=smk.params.weights_layout,
            threads=smk.threads,
            cpu_pin=smk.params.cpu_pin,
        )
        write_shard(probs, smk.output[0])


def run_views_decide(smk) -> None:
    """Script entry of `rule views_decide`: kept/excluded decision for every video ->
    results/views/views.csv and the QC rows."""
    with script_logging(smk):
        write_views(
            list(smk.input.shards),
            smk.params.threshold,
            views_out=smk.output.views,
            qc_out=smk.output.qc,
        )


def run_views_fit(smk) -> None:
    """Script entry of `rule views_fit`: train the view classifier on the labelled subset
    (views.backend: train)."""
    import os

    with script_logging(smk):
        write_view_classifier(
            shard_dirs=[os.path.dirname(p) for p in smk.input.index],
            labels_csv=smk.input.labels,
            settings=TrainSettings(**smk.params.settings),
            ckpt_out=smk.output.model,
            split_out=smk.output.split,
            history_out=smk.output.history,
            threads=smk.threads,
            cpu_pin=smk.params.cpu_pin,
        )


def run_views_metrics(smk) -> None:
    """Script entry of `rule views_metrics`: view-classifier accuracy and confusion matrix on
    videos it never saw."""
    from echocmr.keys import load_secret

    with script_logging(smk):
        synthetic = smk.params.synthetic
        secret = (load_secret(env=smk.params.secret_env, file=smk.params.secret_file,
                              synthetic=True) if synthetic else None)
        write_view_metrics(
            smk.input.views,
            smk.params.backend,
            synthetic,
            smk.output.metrics,
            smk.output.figure,
            truth_csv=smk.input.get("truth"),
            secret=secret,
            split_csv=smk.input.get("split"),
            labels_csv=smk.input.get("labels"),
        )
