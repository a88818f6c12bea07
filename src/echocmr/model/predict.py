"""Predictions of a trained model for val and test videos, aggregated per echo study.

Study aggregation rule: the mean of the study's video predictions of that view (probabilities
for binary tasks, values in label units for continuous ones).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from echocmr.model.data import ClipDataset, all_clip_starts, normalise
from echocmr.model.device import Runtime, device_record, runtime_for
from echocmr.model.loader import clip_loader
from echocmr.model.nets import build_model
from echocmr.model.train import is_trained
from echocmr.vocab.tasks import is_binary

log = logging.getLogger(__name__)
STUDY_COLUMNS = ["study_key", "patient_key", "split", "y_true", "y_pred"]
VIDEO_COLUMNS = ["video_key", *STUDY_COLUMNS]


def load_trained(best_pt, runtime: Runtime):
    """The best epoch's model (eval mode) and its saved metadata."""
    saved = torch.load(best_pt, map_location="cpu", weights_only=False)
    s = saved["settings"]
    model = build_model(s["arch"], len(saved["tasks"]), s["layers"], s["width"])
    model.load_state_dict(saved["state_dict"])
    model.to(runtime.device).eval()
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        model.channels_last = True
    return model, saved


def clip_plan(store_meta: pd.DataFrame, video_keys, frames: int, period: int,
              test_clips: str) -> tuple[list[int], list[int]]:
    """(video row, clip start) pairs: the first clip only, or all non-overlapping clips."""
    if test_clips not in ("first", "all"):
        raise ValueError(f"model.test_clips={test_clips!r}: use first or all")
    n_frames = store_meta.set_index("video_key")["n_frames"]
    rows, starts = [], []
    for i, key in enumerate(video_keys):
        ss = [0] if test_clips == "first" else all_clip_starts(int(n_frames[key]), frames, period)
        rows += [i] * len(ss)
        starts += ss
    return rows, starts


def predict_videos(best_pt, table: pd.DataFrame, shard_dirs, test_clips: str = "first",
                   batch_size: int = 10, device: str = "auto", num_workers: int = 0,
                   precision: str = "auto", runtime: Runtime | None = None) -> pd.DataFrame:
    """Per video of `table`: one prediction column per task (probability or label units).
    `runtime` (tests) overrides `device`/`precision`."""
    saved = torch.load(best_pt, map_location="cpu", weights_only=False)
    if not is_trained(saved) or table.empty:
        # nothing to score: the prediction tables come out empty (their columns only)
        log.warning("no predictions: %s", saved.get("reason") or "no val/test video")
        return table.reset_index(drop=True).assign(
            **{f"pred_{t}": np.nan for t in saved["tasks"]})
    runtime = runtime or runtime_for(device, precision)
    log.info("run record: %s", json.dumps(device_record(runtime), sort_keys=True))
    model, saved = load_trained(best_pt, runtime)
    tasks, s = saved["tasks"], saved["settings"]
    keys = list(table["video_key"])
    probe = ClipDataset(shard_dirs, keys, np.zeros((len(keys), 1)), s["frames"], s["period"],
                        s["resolution"])
    rows, starts = clip_plan(probe.store.meta, keys, s["frames"], s["period"], test_clips)
    ds = ClipDataset(shard_dirs, [keys[r] for r in rows], np.zeros((len(rows), 1)),
                     s["frames"], s["period"], s["resolution"], starts=starts)
    loader = clip_loader(ds, batch_size, runtime, num_workers, persistent=False)
    outs = []
    with torch.no_grad():
        for x, _, _ in loader:
            x = normalise(x.to(runtime.device, non_blocking=True), s["resolution"])
            with runtime.autocast():
                outs.append(model(x).float())
    # one host sync for the whole split
    logits = (torch.cat(outs).cpu().numpy() if outs
              else np.zeros((0, len(tasks)), np.float32))
    mean, std = np.array(saved["target_mean"]), np.array(saved["target_std"])
    values = np.empty_like(logits, dtype=np.float64)
    for j, task in enumerate(tasks):
        values[:, j] = (1 / (1 + np.exp(-logits[:, j].astype(np.float64))) if is_binary(task)
                        else logits[:, j] * std[j] + mean[j])
    per_clip = pd.DataFrame(values, columns=tasks)
    per_clip["_row"] = rows
    per_video = per_clip.groupby("_row", sort=True)[tasks].mean()  # average over clips
    out = table.reset_index(drop=True).copy()
    for task in tasks:
        out[f"pred_{task}"] = per_video[task].to_numpy()
    return out


def task_frames(videos: pd.DataFrame, task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per study, per video) prediction tables of one task, labelled val/test rows only
    (none for a model that was not trained: its tables are empty)."""
    v = videos[videos["split"].isin(["val", "test"]) & videos[task].notna()
               & videos[f"pred_{task}"].notna()]
    y_true = v[task].astype(int) if is_binary(task) else v[task]
    per_video = pd.DataFrame({
        "video_key": v["video_key"], "study_key": v["study_key"],
        "patient_key": v["patient_key"], "split": v["split"], "y_true": y_true,
        "y_pred": v[f"pred_{task}"]}).sort_values(["split", "study_key", "video_key"])
    per_study = (per_video.groupby(["study_key", "patient_key", "split"], as_index=False)
                 .agg(y_true=("y_true", "first"), y_pred=("y_pred", "mean"))
                 .sort_values(["split", "study_key"]))
    return per_study[STUDY_COLUMNS], per_video[VIDEO_COLUMNS]


def write_predictions(videos: pd.DataFrame, task: str, study_csv, video_csv) -> int:
    """Write a task's per-study and per-video files; returns the number of studies."""
    per_study, per_video = task_frames(videos, task)
    for df, path in ((per_study, study_csv), (per_video, video_csv)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
    log.info("%s: %d studies (%d videos)", task, len(per_study), len(per_video))
    return len(per_study)
