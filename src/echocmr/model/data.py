"""Clips straight from the crop stage's memory-mapped uint8 store, and the per-view video table.

Why a store and not AVIs: an EchoNet-style loader decodes a whole AVI for every sample; here a
clip is a strided slice of a memory map (no decode, page cache shared by all workers), which is
what `benchmarks/bench_loader.py` measures.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from echocmr.media.store import VideoStore
from echocmr.model.tables import read_split, with_split
from echocmr.vocab.tasks import label_column

log = logging.getLogger(__name__)


# ---- clip sampling --------------------------------------------------------------------------

def clip_span(frames: int, period: int) -> int:
    """Frames of video one clip covers: 16 frames at period 2 span 31 frames."""
    return (frames - 1) * period + 1


def clip_indices(n_frames: int, frames: int, period: int, start: int) -> np.ndarray:
    """Frame indices of one clip; a video shorter than the clip repeats its last frame.

    The released code drops videos of <= 31 frames; repeating the last frame instead keeps every
    study the cohort paired (real cines are nearly always longer, so this rarely fires).
    """
    idx = start + period * np.arange(frames)
    return np.minimum(idx, max(n_frames - 1, 0))


def random_start(n_frames: int, frames: int, period: int, rng: np.random.Generator) -> int:
    """Uniform clip start so the clip fits inside the video (0 when it cannot)."""
    last = n_frames - clip_span(frames, period)
    return int(rng.integers(0, last + 1)) if last > 0 else 0


def all_clip_starts(n_frames: int, frames: int, period: int) -> list[int]:
    """Non-overlapping clip starts covering the video, for test-time averaging over clips."""
    span = clip_span(frames, period)
    return list(range(0, max(n_frames - span, 0) + 1, span))


def to_tensor(frames_uint8: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (T, H, W) -> float (1, T, size, size) in [0, 1]: one clip through `normalise`."""
    return normalise(clip_uint8(frames_uint8).unsqueeze(0), size)[0]


def clip_uint8(frames_uint8: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W) -> uint8 tensor (1, T, H, W), as the loader ships it: a quarter of the
    bytes of a float clip through worker queues, pinned memory and the host-to-GPU copy."""
    return torch.from_numpy(np.ascontiguousarray(frames_uint8)).unsqueeze(0)


def normalise(batch_uint8: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, 1, T, H, W) -> float (B, 1, T, size, size) in [0, 1], on the batch's device;
    area resize when size differs.

    One channel only: the network repeats it to 3 channels. No mean/std normalisation (as the
    study's released code). Per frame the same float arithmetic as a per-clip conversion (divide
    by 255, area-average each frame), so CPU runs keep their bytes (test_model_unit).
    """
    x = batch_uint8.float().div_(255.0)
    b, c, t, h, w = x.shape
    if h != size or w != size:
        x = F.interpolate(x.reshape(b * c * t, 1, h, w), size=(size, size), mode="area")
        x = x.reshape(b, c, t, size, size)
    return x


# ---- the per-view table ---------------------------------------------------------------------

def view_table(views_csv, labels_csv, split_csv, view: str, tasks: list[str],
               store_keys: set[str] | None = None) -> pd.DataFrame:
    """Videos of one view with their study's labels (one column per task) and split.

    Kept videos only; a video must belong to a paired (labelled) study with a split and, when
    `store_keys` is given, be in the store. Missing labels stay NaN (masked per task).
    """
    views = pd.read_csv(views_csv)
    views = views[(views["view"] == view) & (views["status"] == "kept")]
    labels = pd.read_csv(labels_csv)
    cols = {label_column(t, view): t for t in tasks}
    absent = [c for c in cols if c not in labels.columns]
    if absent:
        raise ValueError(f"{labels_csv} lacks label columns {absent}")
    table = views[["video_key", "study_key", "patient_key"]].merge(
        labels[["study_key", *cols]].rename(columns=cols), on="study_key", how="inner")
    table = with_split(table, read_split(split_csv))
    if store_keys is not None:
        in_store = table["video_key"].isin(store_keys)
        if (~in_store).any():
            log.warning("%d %s videos are not in the store and are skipped", (~in_store).sum(),
                        view)
        table = table[in_store]
    return table.sort_values(["split", "study_key", "video_key"]).reset_index(drop=True)


# ---- the dataset ----------------------------------------------------------------------------

class ClipDataset(Dataset):
    """One item = one clip of one video: (clip uint8 (1, F, H, W) at the store's resolution,
    targets (n_tasks,), mask); `normalise` makes the float (1, F, S, S) clip on the device.

    `starts[i]` is a fixed clip start, or None for a random start drawn from (seed, epoch, i), so
    an epoch's clips depend only on the seed and the epoch number (resume-safe, worker-safe).
    The store is opened lazily in each process: a memmap must not be pickled into workers.
    """

    def __init__(self, shard_dirs, video_keys, targets: np.ndarray, frames: int, period: int,
                 size: int, starts=None, seed: int = 0):
        self.shard_dirs = [str(d) for d in shard_dirs]
        self.video_keys = list(video_keys)
        self.targets = np.asarray(targets, dtype=np.float32).reshape(len(self.video_keys), -1)
        self.frames, self.period, self.size = frames, period, size
        self.starts = list(starts) if starts is not None else [None] * len(self.video_keys)
        self.seed, self.epoch = seed, 0
        self._store: VideoStore | None = None

    def __len__(self) -> int:
        return len(self.video_keys)

    @property
    def store(self) -> VideoStore:
        if self._store is None:
            self._store = VideoStore(self.shard_dirs)
        return self._store

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_store"] = None
        return state

    def clip(self, i: int, epoch: int | None = None) -> np.ndarray:
        """The uint8 frames of item i's clip, exactly as the store holds them."""
        video = self.store.frames(self.video_keys[i])
        start = self.starts[i]
        if start is None:
            epoch = self.epoch if epoch is None else epoch
            rng = np.random.default_rng([self.seed, epoch, i])
            start = random_start(len(video), self.frames, self.period, rng)
        return video[clip_indices(len(video), self.frames, self.period, start)]

    def __getitem__(self, item):
        """`item` is an index, or (index, epoch) from the training sampler."""
        i, epoch = item if isinstance(item, tuple) else (item, None)
        y = self.targets[i]
        mask = ~np.isnan(y)
        return (clip_uint8(self.clip(i, epoch)), torch.from_numpy(np.nan_to_num(y)),
                torch.from_numpy(mask))
