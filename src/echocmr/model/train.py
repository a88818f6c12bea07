"""Training loop: AdamW, masked multi-task loss, best epoch by validation AUROC / MAE, early
stopping, a checkpoint every `checkpoint_epochs` epochs (or `checkpoint_minutes`) and
resume-after-kill that ends exactly like an unbroken run.

Layout of a model folder `results/model/{view}/{model_name}/`:
    best.pt        best epoch's weights + everything `predict` needs (declared output)
    metrics.csv    one row per epoch (declared output)
    state/last.pt  last checkpointed epoch: model, optimiser, loss scale, history, early stopping
    state/best.pt  best weights up to that epoch
`state/` is not a Snakemake output, so a killed job's checkpoint survives `--rerun-incomplete`.

`fit` = `build_setup` (data, model, optimiser) -> `resume` (checkpoint of this very run) ->
`epoch_loop` (`run_epoch` until early stopping) -> `export` (best.pt, metrics.csv).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader
from tqdm import tqdm

from echocmr.model.data import ClipDataset, normalise
from echocmr.model.device import (
    Runtime,
    device_record,
    peak_memory_mb,
    reset_peak_memory,
    runtime_for,
    seed_everything,
)
from echocmr.model.loader import clip_loader, worker_count
from echocmr.model.nets import build_model
from echocmr.vocab.tasks import is_binary

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    """The `model:` config keys training reads (see config/README.md for each)."""

    arch: str = "r2plus1d_18"
    layers: list = field(default_factory=lambda: [2, 2, 2, 2])
    width: int = 64
    weights: str | None = None
    frames: int = 16
    period: int = 2
    resolution: int = 112
    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 10
    max_epochs: int = 50
    patience: int = 10
    device: str = "auto"
    precision: str = "auto"
    num_workers: int | str = 0
    # last.pt (model + AdamW state, ~376 MB for the paper net) every N epochs, or sooner when
    # this many minutes have passed since the last one (0: by epochs only); always at the end
    checkpoint_epochs: int = 1
    checkpoint_minutes: float = 0
    # multitask: tasks whose validation metric picks the best epoch (None = all of the model's)
    selection_tasks: list | None = None
    # multitask: loss weight per task (unlisted tasks weigh 1; None = a plain mean over tasks)
    task_weights: dict | None = None

    @classmethod
    def from_config(cls, model_cfg: dict) -> TrainSettings:
        keys = cls.__dataclass_fields__
        return cls(**{k: v for k, v in model_cfg.items() if k in keys})


# ---- losses and validation metrics ----------------------------------------------------------

def masked_loss(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
                binary: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean (weighted by `weights`, one per task) over tasks that have a label in the batch of
    BCE (binary) or MSE (standardised continuous) over the labelled samples only."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    mse = (logits - y) ** 2
    per = torch.where(binary, bce, mse) * mask
    n = mask.sum(0)
    has = n > 0
    if not has.any():
        return logits.sum() * 0.0
    task_loss = per.sum(0)[has] / n[has]
    if weights is None:
        return task_loss.mean()
    w = weights[has]
    return (task_loss * w).sum() / w.sum().clamp_min(1e-12)


def loss_weights(tasks, task_weights: dict | None, device) -> torch.Tensor | None:
    """One loss weight per task of the model (`model.task_weights`; unlisted tasks weigh 1)."""
    if not task_weights:
        return None
    return torch.tensor([float(task_weights.get(t, 1.0)) for t in tasks], device=device)


def task_scores(tasks, logits: np.ndarray, y: np.ndarray, std: np.ndarray) -> dict:
    """Per task: AUROC (binary) or MAE in label units (continuous), on labelled samples."""
    out = {}
    for j, task in enumerate(tasks):
        ok = ~np.isnan(y[:, j])
        yt, yp = y[ok, j], logits[ok, j]
        if is_binary(task):
            out[f"val_auroc_{task}"] = (float(roc_auc_score(yt, yp))
                                        if len(np.unique(yt)) == 2 else math.nan)
        else:
            out[f"val_mae_{task}"] = (float(np.mean(np.abs(yt - yp)) * std[j])
                                      if ok.any() else math.nan)
    return out


def selection_score(tasks, scores: dict, std: np.ndarray, val_loss: float,
                    selection_tasks=None) -> float:
    """Higher is better: AUROC for binary tasks, -MAE (in SDs) for continuous, averaged over the
    model's tasks (one in per_task mode), or over `selection_tasks` where the model has any of
    them (a multitask model otherwise lets its noisiest heads pick the epoch); -val_loss when no
    task can be scored."""
    chosen = [t for t in tasks if t in (selection_tasks or [])] or list(tasks)
    parts = []
    for j, task in enumerate(tasks):
        if task not in chosen:
            continue
        if is_binary(task):
            parts.append(scores[f"val_auroc_{task}"])
        else:
            parts.append(-scores[f"val_mae_{task}"] / std[j])
    parts = [p for p in parts if not math.isnan(p)]
    return float(np.mean(parts)) if parts else -val_loss


# ---- checkpoints ----------------------------------------------------------------------------

def atomic_save(obj, path: Path) -> None:
    """Write then rename, so a kill mid-write never leaves a truncated checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# Settings that change how a run is carried out, not what it computes: a checkpoint written
# under other values still resumes the same run.
RUN_ONLY_SETTINGS = ("num_workers", "checkpoint_epochs", "checkpoint_minutes")


def fingerprint(settings: TrainSettings, tasks, keys, targets: np.ndarray, seed: int) -> str:
    """A checkpoint resumes only the very same run (settings, data, targets, seed)."""
    what = {k: v for k, v in asdict(settings).items() if k not in RUN_ONLY_SETTINGS}
    h = hashlib.sha256(json.dumps([what, list(tasks), seed], sort_keys=True,
                                  default=str).encode())
    h.update("\n".join(keys).encode())
    h.update(np.ascontiguousarray(targets).tobytes())
    return h.hexdigest()


# ---- the loop -------------------------------------------------------------------------------

def standardise(tasks, y_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train-split mean/sd for continuous targets (binary: identity)."""
    mean = np.zeros(len(tasks), np.float32)
    std = np.ones(len(tasks), np.float32)
    for j, task in enumerate(tasks):
        col = y_train[:, j][~np.isnan(y_train[:, j])]
        if not is_binary(task) and len(col) > 1:
            mean[j], std[j] = col.mean(), max(col.std(), 1e-6)
    return mean, std


class EpochSampler:
    """Yields (index, epoch) in a per-epoch permutation fixed by (seed, epoch): resume-safe, and
    workers learn the epoch from the index itself (persistent workers keep stale dataset state)."""

    def __init__(self, n: int, seed: int, batch_size: int):
        self.n, self.seed, self.batch_size, self.epoch = n, seed, batch_size, 0

    def __iter__(self):
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        if len(perm) % self.batch_size == 1 and len(perm) > 1:
            perm = perm[:-1]  # a batch of one breaks BatchNorm
        return iter([(int(i), self.epoch) for i in perm])

    def __len__(self):
        return self.n


def evaluate(model, loader, runtime: Runtime, size: int, binary, weights=None
             ) -> tuple[float, np.ndarray]:
    """Validation loss and logits (n, n_tasks), in dataset order; one host sync at the end."""
    model.eval()
    losses = torch.zeros((), dtype=torch.float64, device=runtime.device)
    outs, n = [], 0
    with torch.no_grad():
        for batch in loader:
            x, y, m = to_device(batch, runtime.device, size)
            with runtime.autocast():
                logits = model(x).float()
            losses += masked_loss(logits, y, m, binary, weights).double() * len(x)
            n += len(x)
            outs.append(logits)
    logits = torch.cat(outs).cpu().numpy() if outs else np.zeros((0, binary.numel()))
    return float(losses) / max(n, 1), logits


def to_device(batch, device: torch.device, size: int):
    """(uint8 clips, targets, mask) -> on the device without waiting for the copies (pinned
    memory), clips made float there (data.normalise); the net makes its own channels_last_3d
    copy on CUDA (nets.py)."""
    x, y, m = (t.to(device, non_blocking=True) for t in batch)
    return normalise(x, size), y, m


# A pilot export can hold too few labelled videos to train on; the run goes on and says so.
MIN_TRAIN_VIDEOS = 2  # one video cannot be batch-normalised
MIN_VAL_VIDEOS = 1  # the best epoch is chosen on validation videos
UNTRAINED_COLUMNS = ["epoch", "train_loss", "val_loss", "val_score", "best", "reason"]


def training_shortfall(n_train: int, n_val: int) -> str:
    """Why a model cannot be trained on this many labelled videos ('' when it can)."""
    missing = []
    if n_train < MIN_TRAIN_VIDEOS:
        missing.append(f"{n_train} labelled training videos, need {MIN_TRAIN_VIDEOS}")
    if n_val < MIN_VAL_VIDEOS:
        missing.append(f"{n_val} labelled validation videos, need {MIN_VAL_VIDEOS}")
    return "not trained: " + "; ".join(missing) if missing else ""


def write_untrained(outdir: Path, tasks, settings: TrainSettings, reason: str) -> pd.DataFrame:
    """The declared outputs of a model that could not be trained: a best.pt without weights
    (`trained: False`; predict then writes empty tables) and a metrics.csv whose one row gives
    the reason (read by the run summary and the training curves)."""
    log.warning("%s %s", tasks, reason)
    metrics = pd.DataFrame([{"epoch": 0, "best": 0, "reason": reason}], columns=UNTRAINED_COLUMNS)
    metrics.to_csv(outdir / "metrics.csv", index=False)
    atomic_save({"trained": False, "reason": reason, "tasks": list(tasks),
                 "settings": asdict(settings)}, outdir / "best.pt")
    return metrics


def is_trained(saved: dict) -> bool:
    """False for the best.pt of a model `write_untrained` wrote."""
    return saved.get("trained", True)


@dataclass
class TrainingSetup:
    """Everything one training run is made of, built once before the first epoch."""

    tasks: list[str]
    settings: TrainSettings
    seed: int
    runtime: Runtime
    model: torch.nn.Module
    optimiser: torch.optim.Optimizer
    scaler: torch.amp.GradScaler  # fp16 loss scaling; a pass-through in bf16/fp32
    sampler: EpochSampler
    train_loader: DataLoader
    val_loader: DataLoader
    val_targets: np.ndarray  # standardised validation labels, in val_loader order
    binary: torch.Tensor     # per task: BCE (True) or MSE (False)
    weights: torch.Tensor | None
    target_mean: np.ndarray
    target_std: np.ndarray
    fingerprint: str         # which run a checkpoint belongs to

    @property
    def device(self) -> torch.device:
        return self.runtime.device


def labelled_splits(table: pd.DataFrame, tasks) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The train and val videos with a label for at least one of the model's tasks (a video
    with none teaches nothing)."""
    def labelled(split: str) -> pd.DataFrame:
        part = table[table["split"] == split].reset_index(drop=True)
        return part[~part[tasks].isna().all(axis=1)].reset_index(drop=True)
    return labelled("train"), labelled("val")


def build_setup(train: pd.DataFrame, val: pd.DataFrame, shard_dirs, tasks, settings,
                seed: int, runtime: Runtime, cpus: int = 1) -> TrainingSetup:
    """Data (standardised targets, datasets, loaders), model and optimiser, in the order that
    consumes the seeded random streams (the model's initial weights come after the data)."""
    mean, std = standardise(tasks, train[tasks].to_numpy(np.float32))
    y_train = (train[tasks].to_numpy(np.float32) - mean) / std
    y_val = (val[tasks].to_numpy(np.float32) - mean) / std
    common = dict(frames=settings.frames, period=settings.period, size=settings.resolution)
    train_ds = ClipDataset(shard_dirs, train["video_key"], y_train, seed=seed, **common)
    val_ds = ClipDataset(shard_dirs, val["video_key"], y_val, starts=[0] * len(val), **common)
    sampler = EpochSampler(len(train_ds), seed, settings.batch_size)
    # train and val loaders never iterate at once: each may use all of the job's workers
    workers = worker_count(settings.num_workers, cpus)
    train_loader = clip_loader(train_ds, settings.batch_size, runtime, workers, sampler)
    val_loader = clip_loader(val_ds, settings.batch_size, runtime, workers)
    device = runtime.device
    binary = torch.tensor([is_binary(t) for t in tasks], device=device)
    weights = loss_weights(tasks, settings.task_weights, device)
    model, optimiser = build_model_and_optimiser(settings, len(tasks), runtime)
    fp = fingerprint(settings, tasks, list(train["video_key"]) + list(val["video_key"]),
                     np.concatenate([y_train.ravel(), y_val.ravel()]), seed)
    return TrainingSetup(tasks=list(tasks), settings=settings, seed=seed, runtime=runtime,
                         model=model, optimiser=optimiser, scaler=runtime.grad_scaler(),
                         sampler=sampler,
                         train_loader=train_loader, val_loader=val_loader, val_targets=y_val,
                         binary=binary, weights=weights, target_mean=mean, target_std=std,
                         fingerprint=fp)


def build_model_and_optimiser(settings: TrainSettings, n_tasks: int, runtime: Runtime
                              ) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """The network (channels_last_3d where the runtime asks for it) and AdamW."""
    model = build_model(settings.arch, n_tasks, settings.layers, settings.width,
                        settings.weights).to(runtime.device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        model.channels_last = True
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    return model, optimiser


def fresh_run() -> dict:
    """The loop state before the first epoch (what `state/last.pt` carries between runs)."""
    return {"epoch": 0, "history": [], "best_score": -math.inf, "best_epoch": 0, "bad": 0,
            "done": False}


def resume(setup: TrainingSetup, last_path: Path) -> dict:
    """The loop state to go on from: the checkpoint's, with its model and optimiser loaded,
    when it belongs to this very run (same fingerprint); a fresh one otherwise."""
    if not last_path.exists():
        return fresh_run()
    saved = torch.load(last_path, map_location=setup.device, weights_only=False)
    if saved["fingerprint"] != setup.fingerprint:
        log.info("checkpoint belongs to another run (settings or data changed): restarting")
        return fresh_run()
    setup.model.load_state_dict(saved["model"])
    setup.optimiser.load_state_dict(saved["optimiser"])
    if "scaler" in saved:
        setup.scaler.load_state_dict(saved["scaler"])
    log.info("resuming after epoch %d (checkpoint %s)", saved["run"]["epoch"], last_path)
    return saved["run"]


PROGRESS_SECONDS = 30  # how often a training epoch reports its running loss


def train_one_epoch(setup: TrainingSetup, epoch: int, progress: bool) -> tuple[float, int]:
    """One pass over the training videos; returns (mean training loss, samples seen). The loss
    is summed on the device: the host waits for the GPU only when progress is reported."""
    torch.manual_seed(setup.seed + epoch)  # per epoch, so a resumed run draws as an unbroken one
    setup.sampler.epoch = epoch
    reset_peak_memory(setup.device)
    setup.model.train()
    # float64 like the Python float this replaced: CPU metrics keep their bytes
    total = torch.zeros((), dtype=torch.float64, device=setup.device)
    n = 0
    bar = tqdm(setup.train_loader, desc=f"epoch {epoch}", file=sys.stderr,
               disable=not progress, mininterval=PROGRESS_SECONDS, leave=False)
    last_report = time.monotonic()
    for batch in bar:
        x, y, m = to_device(batch, setup.device, setup.settings.resolution)
        loss = train_step(setup, x, y, m)
        total += loss.double() * len(x)
        n += len(x)
        if progress and time.monotonic() - last_report >= PROGRESS_SECONDS:
            bar.set_postfix(loss=f"{float(total) / n:.4f}", refresh=False)
            last_report = time.monotonic()
    return float(total) / max(n, 1), n


def train_step(setup: TrainingSetup, x, y, m) -> torch.Tensor:
    """Forward, (scaled) backward and optimiser step; the loss stays on the device."""
    with setup.runtime.autocast():
        logits = setup.model(x)
    loss = masked_loss(logits, y, m, setup.binary, setup.weights)
    setup.optimiser.zero_grad(set_to_none=True)
    setup.scaler.scale(loss).backward()
    setup.scaler.step(setup.optimiser)
    setup.scaler.update()
    return loss.detach()


def run_epoch(setup: TrainingSetup, run: dict, epoch: int, progress: bool) -> dict | None:
    """Train and validate one epoch, record it in `run`; returns a host copy of its weights
    when it scores best (written with the next checkpoint), else None."""
    t0 = time.perf_counter()
    train_loss, n = train_one_epoch(setup, epoch, progress)
    train_time = time.perf_counter() - t0
    val_loss, val_logits = evaluate(setup.model, setup.val_loader, setup.runtime,
                                    setup.settings.resolution, setup.binary, setup.weights)
    std = setup.target_std
    scores = task_scores(setup.tasks, val_logits, setup.val_targets, std)
    score = selection_score(setup.tasks, scores, std, val_loss, setup.settings.selection_tasks)
    improved = score > run["best_score"]
    best_state = None
    if improved:
        run.update(best_score=score, best_epoch=epoch, bad=0)
        best_state = {k: v.detach().to("cpu", copy=True)
                      for k, v in setup.model.state_dict().items()}
    else:
        run["bad"] += 1
    run["history"].append({
        "epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, **scores,
        "val_score": score, "best": int(improved),
        "time_s": time.perf_counter() - t0, "samples_per_s": n / max(train_time, 1e-9),
        "peak_mem_mb": peak_memory_mb(setup.device)})
    log.info("epoch %d: train_loss %.4f val_loss %.4f score %.4f%s", epoch, train_loss,
             val_loss, score, " (best)" if improved else "")
    run["epoch"] = epoch
    return best_state


def checkpoint_due(settings: TrainSettings, run: dict, minutes_since: float) -> bool:
    """Write last.pt now? At the end, every `checkpoint_epochs` epochs, or when
    `checkpoint_minutes` have passed (an H100 needs seconds per epoch: a 376 MB file every
    epoch would cost more than the epoch)."""
    by_time = 0 < settings.checkpoint_minutes <= minutes_since
    return run["done"] or run["epoch"] % settings.checkpoint_epochs == 0 or by_time


def save_checkpoint(setup: TrainingSetup, run: dict, state_dir: Path, best_state) -> None:
    """state/best.pt (when a better epoch came since the last checkpoint), then state/last.pt;
    each written atomically. A run resumed from last.pt replays the epochs after it."""
    if best_state is not None:
        atomic_save(best_state, state_dir / "best.pt")
    atomic_save({"fingerprint": setup.fingerprint, "model": setup.model.state_dict(),
                 "optimiser": setup.optimiser.state_dict(), "scaler": setup.scaler.state_dict(),
                 "run": run}, state_dir / "last.pt")


def epoch_loop(setup: TrainingSetup, run: dict, state_dir: Path, progress: bool,
               on_epoch_end=None) -> dict:
    """Epochs until `max_epochs` or `patience` epochs without a better score, checkpointed as
    `checkpoint_due` says; `on_epoch_end(epoch)` runs after an epoch's checkpoint is on disk
    (when one was due)."""
    pending_best, last_save = None, time.monotonic()
    while not run["done"]:
        epoch = run["epoch"] + 1
        pending_best = run_epoch(setup, run, epoch, progress) or pending_best
        settings = setup.settings
        run["done"] = epoch >= settings.max_epochs or run["bad"] >= settings.patience
        if checkpoint_due(settings, run, (time.monotonic() - last_save) / 60):
            save_checkpoint(setup, run, state_dir, pending_best)
            pending_best, last_save = None, time.monotonic()
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    return run


def export(setup: TrainingSetup, run: dict, state_dir: Path, outdir: Path) -> pd.DataFrame:
    """The declared outputs: metrics.csv (one row per epoch) and best.pt (the best epoch's
    weights with everything `predict` needs)."""
    metrics = pd.DataFrame(run["history"])
    metrics.to_csv(outdir / "metrics.csv", index=False)
    best_state = torch.load(state_dir / "best.pt", map_location="cpu", weights_only=True)
    atomic_save({"state_dict": best_state, "tasks": list(setup.tasks),
                 "target_mean": setup.target_mean.tolist(),
                 "target_std": setup.target_std.tolist(), "best_epoch": run["best_epoch"],
                 "settings": asdict(setup.settings), "device": device_record(setup.runtime)},
                outdir / "best.pt")
    log.info("best epoch %d (score %.4f) of %d", run["best_epoch"], run["best_score"],
             run["epoch"])
    return metrics


def fit(table: pd.DataFrame, shard_dirs, tasks: list[str], settings: TrainSettings, outdir,
        seed: int, progress: bool = True, on_epoch_end=None, cpus: int = 1,
        runtime: Runtime | None = None) -> pd.DataFrame:
    """Train one model on `table` (split train/val, one column per task); returns metrics.

    `on_epoch_end(epoch)` runs after an epoch's checkpoint is on disk (tests kill there).
    `cpus`: the job's CPUs (loader workers for `num_workers: auto`). `runtime`: device,
    precision and layout; from `model.device`/`model.precision` when None (tests pass any).
    """
    outdir = Path(outdir)
    state_dir = outdir / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    runtime = runtime or runtime_for(settings.device, settings.precision)
    log.info("run record: %s", json.dumps(device_record(runtime), sort_keys=True))
    seed_everything(seed, runtime.device)
    train, val = labelled_splits(table, tasks)
    shortfall = training_shortfall(len(train), len(val))
    if shortfall:
        return write_untrained(outdir, tasks, settings, shortfall)
    setup = build_setup(train, val, shard_dirs, tasks, settings, seed, runtime, cpus)
    run = resume(setup, state_dir / "last.pt")
    run = epoch_loop(setup, run, state_dir, progress, on_epoch_end)
    return export(setup, run, state_dir, outdir)


def model_seed(seed: int, *names: str) -> int:
    """A stable per-model seed (view, model name) derived from the master seed."""
    digest = hashlib.sha256("\x1f".join([str(seed), *names]).encode()).hexdigest()
    return int(digest[:8], 16)
