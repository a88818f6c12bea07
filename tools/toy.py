"""A tiny planted-signal video store (plus tables) for unit tests and the loader benchmark.

Each video is a beating grey ring on speckle noise. A study with wall motion abnormality has a
ring whose left half does not move (hypokinesis); T2 labels are drawn independently of the
pixels, so a model must not learn them. Not a substitute for `simulate`: it exists so the model
stage can be tested without running the upstream stages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from echocmr.ingest import paths as ingest_paths
from echocmr.media.store import StoreWriter
from echocmr.vocab.tasks import BINARY_TASKS, VIEW_SPECIFIC
from echocmr.vocab.views import ANALYSIS_VIEWS


def beating_ring(n_frames: int, size: int, wma: bool, rng: np.random.Generator) -> np.ndarray:
    """uint8 (T, size, size): a ring contracting and relaxing, left half frozen when `wma`."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2 + rng.normal(0, size * 0.02, 2)
    r = np.hypot(yy - c[0], xx - c[1])
    phase = rng.uniform(0, 2 * np.pi)
    frames = np.empty((n_frames, size, size), np.uint8)
    for t in range(n_frames):
        beat = np.sin(2 * np.pi * t / 20 + phase)
        radius = np.full_like(r, size * 0.28) + size * 0.08 * beat
        if wma:
            radius = np.where(xx < c[1], size * 0.28, radius)
        ring = np.exp(-((r - radius) / (size * 0.04)) ** 2)
        img = 40 + 180 * ring + rng.normal(0, 20, r.shape)
        frames[t] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def make_toy_dataset(root, n_patients: int = 40, n_frames: int = 40, size: int = 32,
                     shards: int = 2, seed: int = 0, avi: bool = False,
                     views=ANALYSIS_VIEWS) -> dict:
    """Write shard stores (`crop/shards-<n>/shard-<i>`, the workflow's layout) + views/labels/
    split/clinical/echo tables under `root`; return paths.

    One study per patient, one video per view; split 8:1:1 by patient (at least 2 per split).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    shard_dirs = [Path(d) for d in ingest_paths.shard_dirs(root / "crop", shards)]
    writers = [StoreWriter(d, size, size) for d in shard_dirs]
    n_val = max(2, n_patients // 10)
    splits = ["test"] * n_val + ["val"] * n_val + ["train"] * (n_patients - 2 * n_val)
    view_rows, label_rows, split_rows, clin_rows, echo_rows, man_rows = [], [], [], [], [], []
    for p in range(n_patients):
        patient, study, acc = f"P{p:012x}", f"S{p:012x}", f"A{p:012x}"
        wma = bool(p % 2)
        t2 = float(rng.normal(50, 4))
        labels = {"study_key": study, "patient_key": patient, "interval_days": 0}
        for task in BINARY_TASKS:
            for v in [*(view.lower() for view in ANALYSIS_VIEWS), "global"]:
                if task in VIEW_SPECIFIC:
                    labels[f"{task}_{v}"] = int(wma) if task == "wma" else int(rng.random() < .4)
            if task not in VIEW_SPECIFIC:
                labels[task] = int(rng.random() < 0.5)
        labels.update({"t1": float(rng.normal(1000, 40)), "t2": t2,
                       "ecv": float(rng.normal(27, 3))})
        labels["t2_abnormal"] = int(t2 > 50)
        label_rows.append(labels)
        split_rows.append({"patient_key": patient, "split": splits[p]})
        clin_rows.append({"patient_key": patient, "age_years": int(rng.integers(20, 90)),
                          "sex": "MF"[p % 3 == 0]})
        echo_rows.append({"patient_key": patient, "accession_key": acc,
                          "echo_lvef_pct": float(60 - 15 * wma + rng.normal(0, 8))})
        for k, view in enumerate(views):
            video = f"V{p:010x}{k:02d}"
            frames = beating_ring(n_frames, size, wma, rng)
            shard = p % shards
            writers[shard].add(video, study, patient, 30.0, frames)
            if avi:
                write_avi(shard_dirs[shard] / "avi" / f"{video}.avi", frames)
            view_rows.append({"video_key": video, "study_key": study, "patient_key": patient,
                              "view": view, "status": "kept"})
            man_rows.append({"video_key": video, "study_key": study, "accession_key": acc,
                             "status": "included"})
    for w in writers:
        w.close()
    paths = {"shard_dirs": shard_dirs}
    for name, rows in [("views", view_rows), ("labels", label_rows), ("split", split_rows),
                       ("clinical", clin_rows), ("echo_reports", echo_rows),
                       ("manifest", man_rows)]:
        paths[name] = root / f"{name}.csv"
        pd.DataFrame(rows).to_csv(paths[name], index=False)
    return paths


def write_avi(path: Path, frames: np.ndarray, fps: float = 30.0) -> None:
    """The crop stage's own MJPEG AVI writer, so the benchmark decodes what a run writes."""
    from echocmr.media.avi import AviWriter

    writer = AviWriter(path, fps, *frames.shape[1:])
    for frame in frames:
        writer.write(frame)
    writer.close()
