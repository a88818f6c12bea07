"""Device choice and run-wide determinism: CUDA when present (bf16, channels_last_3d), else CPU."""

from __future__ import annotations

import os
import random
import resource
from contextlib import nullcontext

import numpy as np
import torch


def resolve_device(preference: str = "auto") -> torch.device:
    """`auto` picks CUDA when present; `cuda` without a GPU fails fast naming the key."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("model.device=cuda but no CUDA device is visible: use auto or cpu")
    return torch.device(preference)


def seed_everything(seed: int, device: torch.device) -> None:
    """Same seed -> same bytes on CPU. On CUDA cuDNN autotuning is kept for speed (not bitwise)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def autocast(device: torch.device):
    """bf16 mixed precision on GPU (no loss scaling needed); full fp32 on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory allocated since the last reset, or the process's peak RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
