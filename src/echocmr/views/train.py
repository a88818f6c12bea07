"""The `train` backend: fit the frame CNN on the labelled subset, seeded and CPU-reproducible.

The labelled videos are split by patient into `fit` (used for training) and `holdout` (never
seen, used only for the accuracy report on site data), so no patient is on both sides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from echocmr.views.frames import sample_frames, to_model_input
from echocmr.views.model import build_model
from echocmr.vocab.views import VIEW_CLASSES

log = logging.getLogger("echocmr.views")


@dataclass(frozen=True)
class TrainSettings:
    arch: str = "resnet18"
    input_size: int = 64
    frames: int = 4
    epochs: int = 6
    batch_size: int = 32
    lr: float = 1e-3
    holdout_fraction: float = 0.2
    min_per_class: int = 5  # views.min_per_class: fewer labelled fit videos of a class, no model
    seed: int = 0


MIN_FIT_FRAMES = 2  # BatchNorm cannot train on a single sample


def fit_shortfall(n_videos: int, frames: int) -> str:
    """Why the train backend cannot fit on this many labelled videos ('' when it can)."""
    if n_videos * frames >= MIN_FIT_FRAMES and n_videos > 0:
        return ""
    return (f"view classifier not trained: {n_videos} labelled videos in the store "
            f"(input.view_labels), need {max(1, -(-MIN_FIT_FRAMES // frames))}")


def class_shortfall(fit_views: pd.Series, min_per_class: int) -> str:
    """Why the train backend must not fit on these labelled views ('' when it may): a class
    seen on one or two videos gives a model that calls any cine that class with confidence."""
    counts = fit_views.value_counts()
    short = [f"{view} {int(counts.get(view, 0))}" for view in VIEW_CLASSES
             if int(counts.get(view, 0)) < min_per_class]
    if not short:
        return ""
    return (f"view classifier not trained: fewer than {min_per_class} labelled training videos "
            f"per class ({', '.join(short)}; views.min_per_class, input.view_labels)")


def split_labelled(labelled: pd.DataFrame, holdout_fraction: float, seed: int) -> pd.DataFrame:
    """Add `role` (fit|holdout) to labelled videos; whole patients go to one side.

    Patients are ordered by a seeded permutation of their sorted keys, so the split is stable.
    With fewer than 2 patients (or fraction 0) everything is `fit`.
    """
    patients = np.array(sorted(labelled["patient_key"].unique()))
    n_hold = int(round(holdout_fraction * len(patients)))
    if len(patients) < 2:
        n_hold = 0
    n_hold = min(n_hold, len(patients) - 1)
    order = np.random.default_rng(seed).permutation(len(patients))
    holdout = set(patients[order[:n_hold]])
    out = labelled.copy()
    out["role"] = np.where(out["patient_key"].isin(holdout), "holdout", "fit")
    return out


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch and make its CPU kernels deterministic; returns the sampling generator."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def training_tensors(store, fit: pd.DataFrame, s: TrainSettings) -> tuple[torch.Tensor,
                                                                           torch.Tensor]:
    """Frames (N*k, 1, size, size) and class indices of every fit video (k frames each)."""
    clips = np.stack([sample_frames(store.frames(k), s.frames) for k in fit["video_key"]])
    x = to_model_input(clips.reshape(-1, *clips.shape[2:]), s.input_size)
    y = torch.tensor([VIEW_CLASSES.index(v) for v in fit["view"]]).repeat_interleave(s.frames)
    return x, y


def augment(x: torch.Tensor, gen: torch.Generator, max_shift: int) -> torch.Tensor:
    """Random shift (zero padded) and gain: sectors sit a little differently at every site."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, 1, h, w + 2 *
                                                                            max_shift)
    shifted = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, 1, h, w)
    shifted = shifted.gather(3, cols)
    gain = 0.8 + 0.4 * torch.rand((n, 1, 1, 1), generator=gen)
    return (shifted * gain).clamp_(0.0, 1.0)


def class_weights(y: torch.Tensor) -> torch.Tensor:
    """Inverse-frequency weights, so a view with few labelled cines still counts."""
    counts = torch.bincount(y, minlength=len(VIEW_CLASSES)).float()
    w = torch.where(counts > 0, counts.sum() / (len(VIEW_CLASSES) * counts.clamp(min=1)),
                    torch.zeros_like(counts))
    return w


def fit_classifier(store, fit: pd.DataFrame, s: TrainSettings,
                   device: torch.device | None = None) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train from scratch on the `fit` videos; returns the model and a per-epoch history."""
    if fit.empty:
        raise ValueError("no labelled video is in the crop store: the train backend needs a "
                         "view-label table (input.view_labels) whose videos passed ingest")
    gen = seed_everything(s.seed)
    device = device or torch.device("cpu")
    x, y = training_tensors(store, fit, s)
    model = build_model(s.arch).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=1e-4)
    steps = s.epochs * int(np.ceil(len(x) / s.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=max(steps, 1))
    weights = class_weights(y).to(device)
    history = []
    max_shift = max(1, s.input_size // 16)
    for epoch in range(s.epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for start in tqdm(range(0, len(x), s.batch_size), desc=f"views epoch {epoch + 1}",
                          mininterval=10):
            idx = order[start:start + s.batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a single sample
                continue
            xb = augment(x[idx], gen, max_shift).to(device)
            yb = y[idx].to(device)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            total += len(idx)
        history.append(dict(epoch=epoch + 1, loss=loss_sum / total, frame_accuracy=correct / total))
        log.info("epoch %d: loss %.4f, training frame accuracy %.3f", epoch + 1,
                 history[-1]["loss"], history[-1]["frame_accuracy"])
    recalibrate_batchnorm(model, x, s.batch_size, device)
    model.eval()
    return model.cpu(), pd.DataFrame(history)


@torch.no_grad()
def recalibrate_batchnorm(model: torch.nn.Module, x: torch.Tensor, batch_size: int,
                          device: torch.device) -> None:
    """Re-estimate BatchNorm statistics as exact averages over the (unaugmented) fit frames.

    A short CPU training run takes too few steps for the running (momentum) averages to settle,
    and eval-mode predictions then collapse; exact averages fix that at the cost of one pass.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average = exact mean over batches
    model.train()
    for start in range(0, len(x), batch_size):
        model(x[start:start + batch_size].to(device))
    for bn in bns:
        bn.momentum = 0.1
