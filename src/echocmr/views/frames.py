"""Which frames of a stored video the view classifier looks at, and how they are scaled."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def frame_indices(n_frames: int, k: int) -> np.ndarray:
    """`k` frames evenly spread over the whole cine (so they cover systole and diastole).

    A video shorter than `k` repeats frames; the choice depends only on the length, so it is
    the same in every run.
    """
    if n_frames < 1:
        raise ValueError("a video without frames cannot be classified")
    return np.floor((np.arange(k) + 0.5) * n_frames / k).astype(int).clip(0, n_frames - 1)


def sample_frames(frames: np.ndarray, k: int) -> np.ndarray:
    """(k, H, W) uint8 copy of the chosen frames of a (T, H, W) video."""
    return np.asarray(frames[frame_indices(len(frames), k)], dtype=np.uint8)


def to_model_input(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (N, H, W) -> float (N, 1, size, size) in [0, 1]; area resampling when shrinking."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0).unsqueeze(1)
    if x.shape[-2:] != (size, size):
        mode = "area" if x.shape[-1] >= size and x.shape[-2] >= size else "bilinear"
        kwargs = {} if mode == "area" else {"align_corners": False}
        x = F.interpolate(x, size=(size, size), mode=mode, **kwargs)
    return x
