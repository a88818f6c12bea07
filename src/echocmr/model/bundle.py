"""Model bundle: everything another site needs to evaluate the trained models without training.

A bundle is a folder:

    model_card.json            architecture, exact input specification, tasks, thresholds,
                               fusion and baseline coefficients, label definitions, training
                               cohort summary (counts and prevalences only), test metrics with
                               CIs, echocmr version, config hash, sha256 of every file
    weights/{view}/{model}.pt  state dict + tasks + target standardisation + settings
    curves/{view}/{model}.csv  training curves (metrics.csv of the training run)
    views/view_classifier.pt   the view classifier, when the run trained one (views.backend:
                               train); another site applies it with views.backend: pretrained,
                               views.weights_layout: echocmr

Nothing in it identifies a patient: no keys, no dates, no paths of the training site; the
cohort appears only as counts, prevalences and metrics. `python -m echocmr.model.bundle export
SRC DEST` copies a bundle outside `results/` and checks every file against the card;
`python -m echocmr.model.bundle from-released TABLE DEST` turns the study's released weights
(a CSV of view, task, file) into a bundle. See docs/external.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import echocmr
from echocmr.logutil import script_logging
from echocmr.model.card import CARD, FORMAT, BundleError, load_card, model_entry, sha256  # noqa: F401
from echocmr.vocab.tasks import BINARY_TASKS, CONTINUOUS_TASKS, TASKS, global_column
from echocmr.vocab.views import ANALYSIS_VIEWS, VIEW_CLASSES

# Settings of a trained model another site needs to rebuild it and feed it (not its optimiser).
NET_KEYS = ("arch", "layers", "width", "frames", "period", "resolution")
INPUT_SPEC = {
    "channels": "3 (the grey store frame repeated; the released code reads RGB AVI frames)",
    "scaling": "uint8 / 255 to [0, 1]; no mean/std normalisation",
    "clip": "frames at stride period; test clip starts at the first frame (test_clips=first) "
            "or the mean over all non-overlapping clips (all)",
    "store": "ultrasound sector cropped and resized to a square (ingest.crop), luminance only",
}
VIEW_CLASSIFIER_FILE = "views/view_classifier.pt"
VIEW_INPUT_SPEC = {
    "channels": "1 (store luminance)",
    "scaling": "uint8 / 255 to [0, 1], resized from the store's crop to input_size (area)",
    "sampling": "`frames` frames evenly spread over the cine; a video's probabilities are the "
              "mean softmax over them",
}
RELEASED_SETTINGS = {"arch": "r2plus1d_18", "layers": [2, 2, 2, 2], "width": 64, "frames": 16,
                     "period": 2, "resolution": 112}


def config_hash(config: dict) -> str:
    """sha256 of the run's whole config (canonical JSON): which settings made the bundle."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def weights_file(view: str, model: str) -> str:
    return f"weights/{view}/{model}.pt"


# ---- writing --------------------------------------------------------------------------------

def _save_weights(best_pt, dest: Path) -> dict:
    """Copy a trained model's best.pt without optimiser state or local paths; returns its
    card entry."""
    import torch

    saved = torch.load(best_pt, map_location="cpu", weights_only=False)
    settings = {k: saved["settings"][k] for k in NET_KEYS}
    if not saved.get("trained", True):  # a pilot's model without weights: listed, not copied
        return {"tasks": list(saved["tasks"]), "trained": False, "reason": saved["reason"],
                "settings": settings}
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": saved["state_dict"], "tasks": list(saved["tasks"]),
                "target_mean": list(saved["target_mean"]),
                "target_std": list(saved["target_std"]), "settings": settings}, dest)
    return {"tasks": list(saved["tasks"]), "best_epoch": saved.get("best_epoch"),
            "target_mean": list(saved["target_mean"]), "target_std": list(saved["target_std"]),
            "settings": settings}


def view_validation(metrics_csv) -> dict:
    """The view classifier's accuracy on videos it never saw (rule views_metrics): aggregates
    only, NaN (a view absent from the reference) as None."""
    table = pd.read_csv(metrics_csv, keep_default_na=False, na_values=[""])

    def value(metric: str, **where) -> float | None:
        rows = table[table["metric"] == metric]
        for column, wanted in where.items():
            rows = rows[rows[column] == wanted]
        v = float(rows["value"].iloc[0]) if len(rows) else float("nan")
        return v if np.isfinite(v) else None

    n_videos = value("n_videos")
    return {"reference": str(table["reference"].iloc[0]),
            "n_videos": int(n_videos) if n_videos is not None else 0,
            "accuracy": value("accuracy"),
            "recall": {v: value("recall", true_view=v) for v in VIEW_CLASSES}}


def save_view_classifier(checkpoint, metrics_csv, outdir) -> dict:
    """Copy the train backend's checkpoint into the bundle (it holds only the state dict, arch,
    input size, frames and classes); returns its card entry. An untrained pilot classifier is
    described, not copied."""
    from echocmr.views.model import CHECKPOINT_LAYOUT, load_checkpoint

    model, info = load_checkpoint(checkpoint)  # also refuses a file in any other layout
    entry = {"layout": CHECKPOINT_LAYOUT, "arch": info["arch"], "classes": list(VIEW_CLASSES),
             "input": {"frames": info["frames"], "input_size": info["input_size"],
                       **VIEW_INPUT_SPEC},
             "validation": view_validation(metrics_csv) if metrics_csv else None}
    if model is None:
        return {**entry, "trained": False, "reason": info["reason"]}
    dest = Path(outdir) / VIEW_CLASSIFIER_FILE
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, dest)
    return {"file": VIEW_CLASSIFIER_FILE, **entry,
            "use": {"views.backend": "pretrained", "views.weights_layout": "echocmr",
                    "views.weights": f"<bundle>/{VIEW_CLASSIFIER_FILE}"}}


def cohort_summary(labels_csv, split_csv) -> dict:
    """Counts and prevalences (binary) or mean/SD (continuous) of every global label by split:
    aggregates only, no keys."""
    labels = pd.read_csv(labels_csv)
    split = pd.read_csv(split_csv)
    df = labels.merge(split[["study_key", "split"]], on="study_key", how="inner")
    out = {}
    for name, part in df.groupby("split", sort=True):
        entry = {"studies": int(part["study_key"].nunique()),
                 "patients": int(part["patient_key"].nunique()), "labels": {}}
        for task in TASKS:
            col = global_column(task)
            if col not in part:
                continue
            values = part[col].dropna()
            if task in BINARY_TASKS:
                entry["labels"][col] = {"n": int(len(values)),
                                        "positive": int(values.sum()),
                                        "prevalence": float(values.mean()) if len(values)
                                        else None}
            else:
                entry["labels"][col] = {"n": int(len(values)),
                                        "mean": float(values.mean()) if len(values) else None,
                                        "sd": float(values.std()) if len(values) > 1 else None}
        out[str(name)] = entry
    return out


def _records(csv) -> list[dict]:
    df = pd.read_csv(csv)
    return json.loads(df.to_json(orient="records"))


def thresholds_of(operating_csv) -> dict:
    """{source: {task: threshold}} from operating_points.csv (Youden J on validation)."""
    out: dict = {}
    for row in pd.read_csv(operating_csv).itertuples():
        if np.isfinite(row.threshold):
            out.setdefault(row.source, {})[row.task] = float(row.threshold)
    return out


def write_bundle(outdir, *, training_mode: str, weights: dict, curves: dict,
                 fusion: dict, baseline_json, labels_csv, split_csv, binary_csv,
                 continuous_csv, operating_csv, label_definitions: dict, test_clips: str,
                 crop: dict, config_sha256: str, view_classifier=None,
                 view_metrics=None) -> dict:
    """Write the bundle of a training run. `weights` / `curves`: {(view, model): path};
    `fusion`: {task: path of the fuse rule's models JSON}; `view_classifier` /
    `view_metrics`: the train backend's checkpoint and its accuracy table (None when the run
    trained no view classifier)."""
    out = Path(outdir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    models, untrained = [], []
    for (view, model), best_pt in sorted(weights.items()):
        entry = _save_weights(best_pt, out / weights_file(view, model))
        if entry.get("trained", True):
            models.append({"view": view, "model": model, "file": weights_file(view, model),
                           **entry})
        else:
            untrained.append({"view": view, "model": model, **entry})
        if (view, model) in curves:
            dest = out / "curves" / view / f"{model}.csv"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(curves[(view, model)], dest)
    first = (models or untrained)[0]["settings"]
    card = {
        "format": FORMAT,
        "source": "echocmr training run",
        "echocmr_version": echocmr.__version__,
        "config_sha256": config_sha256,
        "training_mode": training_mode,
        "views": list(ANALYSIS_VIEWS),
        "tasks": {"binary": list(BINARY_TASKS), "continuous": list(CONTINUOUS_TASKS)},
        "architecture": {k: first[k] for k in ("arch", "layers", "width")},
        "input": {**{k: first[k] for k in ("frames", "period", "resolution")},
                  "test_clips": test_clips, **INPUT_SPEC,
                  "crop": {k: crop.get(k) for k in ("height", "width", "interpolation")}},
        "models": models,
        "untrained_models": [{k: m[k] for k in ("view", "model", "reason")} for m in untrained],
        "view_classifier": (save_view_classifier(view_classifier, view_metrics, out)
                            if view_classifier else None),
        "thresholds": thresholds_of(operating_csv),
        "fusion": {task: json.loads(Path(p).read_text()) for task, p in sorted(fusion.items())},
        "baseline": json.loads(Path(baseline_json).read_text()),
        "label_definitions": label_definitions,
        "training_cohort": cohort_summary(labels_csv, split_csv),
        "test_metrics": {"binary": _records(binary_csv), "continuous": _records(continuous_csv)},
    }
    card["files"] = {str(p.relative_to(out)): sha256(p) for p in sorted(out.rglob("*"))
                     if p.is_file()}
    (out / CARD).write_text(json.dumps(card, indent=1, allow_nan=False, default=_json) + "\n")
    return card


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ---- reading --------------------------------------------------------------------------------

def export(src, dest) -> dict:
    """Copy a bundle to `dest` (outside results/), then verify the copy against its card."""
    src, dest = Path(src), Path(dest)
    load_card(src, verify=True)
    if "results" in dest.resolve().parts:
        raise BundleError(f"{dest}: export outside results/ (the PHI audit and reruns own it)")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    return load_card(dest, verify=True)


# ---- the study's released weights -----------------------------------------------------------

def released_state_dict(path) -> dict:
    """A released checkpoint (torchvision r2plus1d_18, one output, keys prefixed `m.`, possibly
    inside `state_dict` and with DataParallel's `module.`) as echocmr's EchoNet state dict."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state)
    out = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if not key.startswith("m."):
            raise BundleError(f"{path}: key {key!r} is not in the released layout ('m.' prefix)")
        out["net." + key.removeprefix("m.")] = value
    return out


def from_released(table_csv, outdir) -> dict:
    """A bundle from the released weights' table (`view, task, file`; file relative to the
    table). No fusion or baseline coefficients come with those weights: fusion falls back to
    the mean of the available views and no baseline is carried. Labels: the paper's."""
    import torch

    from echocmr.cohort.labels import DEFAULT_THRESHOLDS
    from echocmr.vocab.segments import VIEW_SEGMENTS

    table_csv = Path(table_csv)
    table = pd.read_csv(table_csv)
    missing = {"view", "task", "file"} - set(table.columns)
    if missing:
        raise BundleError(f"{table_csv}: columns {sorted(missing)} missing (view, task, file)")
    out = Path(outdir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    models = []
    for row in table.itertuples():
        if row.view not in ANALYSIS_VIEWS or row.task not in BINARY_TASKS:
            raise BundleError(f"{table_csv}: view {row.view!r} / task {row.task!r} unknown")
        state = released_state_dict(table_csv.parent / row.file)
        dest = out / weights_file(row.view, row.task)
        dest.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": state, "tasks": [row.task], "target_mean": [0.0],
                    "target_std": [1.0], "settings": dict(RELEASED_SETTINGS)}, dest)
        models.append({"view": row.view, "model": row.task, "file": weights_file(row.view,
                                                                                 row.task),
                       "tasks": [row.task], "best_epoch": None, "target_mean": [0.0],
                       "target_std": [1.0], "settings": dict(RELEASED_SETTINGS)})
    tasks = sorted(set(table["task"]), key=BINARY_TASKS.index)
    card = {
        "format": FORMAT, "source": "released weights (Sahashi et al.)",
        "echocmr_version": echocmr.__version__, "config_sha256": None,
        "training_mode": "per_task", "views": sorted(set(table["view"]), key=ANALYSIS_VIEWS.index),
        "tasks": {"binary": tasks, "continuous": []},
        "architecture": {k: RELEASED_SETTINGS[k] for k in ("arch", "layers", "width")},
        "input": {**{k: RELEASED_SETTINGS[k] for k in ("frames", "period", "resolution")},
                  "test_clips": "first", **INPUT_SPEC,
                  "crop": {"height": 112, "width": 112, "interpolation": "cubic"}},
        "models": models, "view_classifier": None,
        "thresholds": {}, "fusion": {t: [] for t in tasks}, "baseline": None,
        "label_definitions": {"segments": {v: list(s) for v, s in VIEW_SEGMENTS.items()},
                              "thresholds": dict(DEFAULT_THRESHOLDS),
                              "segment_missing": "strict"},
        "training_cohort": None, "test_metrics": None,
    }
    card["files"] = {str(p.relative_to(out)): sha256(p) for p in sorted(out.rglob("*"))
                     if p.is_file()}
    (out / CARD).write_text(json.dumps(card, indent=1) + "\n")
    return card


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m echocmr.model.bundle",
                                     description="Share or build an echocmr model bundle.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export", help="copy a bundle outside results/ and verify the copy")
    p.add_argument("src", nargs="?", default="results/model/bundle")
    p.add_argument("dest")
    p = sub.add_parser("from-released", help="bundle from the released weights' table")
    p.add_argument("table", help="CSV with columns view, task, file")
    p.add_argument("dest")
    p = sub.add_parser("verify", help="check a bundle's files against its model card")
    p.add_argument("bundle")
    args = parser.parse_args(argv)
    try:
        if args.command == "export":
            card = export(args.src, args.dest)
            print(f"bundle exported to {args.dest}: {len(card['files'])} files verified")
        elif args.command == "from-released":
            card = from_released(args.table, args.dest)
            print(f"bundle written to {args.dest}: {len(card['models'])} released models")
        else:
            card = load_card(args.bundle, verify=True)
            print(f"{args.bundle}: {len(card['files'])} files verified")
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0



def run_model_bundle(smk) -> None:
    """Script entry of `rule bundle`: weights, model card and training curves another site
    evaluates without training (docs/external.md)."""
    with script_logging(smk) as log:
        inputs = dict(smk.input.items())
        weights = {tuple(k.split("__")): v for k, v in inputs.items()
                   if "__" in k and not k.startswith(("curve__", "fusion__"))}
        curves = {tuple(k.removeprefix("curve__").split("__")): v for k, v in inputs.items()
                  if k.startswith("curve__")}
        fusion = {k.removeprefix("fusion__"): v for k, v in inputs.items()
                  if k.startswith("fusion__")}
        card = write_bundle(
            Path(smk.output.card).parent,
            training_mode=smk.params.training_mode,
            weights=weights,
            curves=curves,
            fusion=fusion,
            baseline_json=smk.input.baseline,
            labels_csv=smk.input.labels,
            split_csv=smk.input.split,
            binary_csv=smk.input.binary,
            continuous_csv=smk.input.continuous,
            operating_csv=smk.input.operating_points,
            label_definitions=smk.params.label_definitions,
            test_clips=smk.params.test_clips,
            crop=smk.params.crop,
            config_sha256=smk.params.config_sha256,
            view_classifier=smk.input.get("view_classifier"),
            view_metrics=smk.input.get("view_metrics"),
        )
        log.info("bundle: %d models, view classifier %s, %d files", len(card["models"]),
                 "included" if card["view_classifier"] else "none (not trained)",
                 len(card["files"]))


if __name__ == "__main__":
    raise SystemExit(main())
