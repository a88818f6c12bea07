"""The small torchvision frame CNN of the `train` backend and its checkpoint layout.

One frame in, four view logits out; a video's probabilities are the mean softmax over a few
frames spread over the cine. Frames are single-channel luminance, so the stem takes 1 channel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchvision
from torch import nn

from echocmr.logutil import terminal_progress
from echocmr.views.frames import sample_frames, to_model_input
from echocmr.vocab.views import PROB_COLUMNS, VIEW_CLASSES

ARCHS = ["resnet18", "shufflenet_v2_x0_5"]
CHECKPOINT_LAYOUT = "echocmr-view-classifier-v1"


def build_model(arch: str, n_classes: int = len(VIEW_CLASSES)) -> nn.Module:
    """A torchvision classifier with a 1-channel stem, randomly initialised (seed beforehand)."""
    if arch == "resnet18":
        model = torchvision.models.resnet18(num_classes=n_classes)
        model.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    elif arch == "shufflenet_v2_x0_5":
        model = torchvision.models.shufflenet_v2_x0_5(num_classes=n_classes)
        model.conv1[0] = nn.Conv2d(1, 24, kernel_size=3, stride=2, padding=1, bias=False)
    else:
        raise ValueError(f"views.arch={arch!r} is not supported; use one of {ARCHS}")
    return model


def pick_device() -> torch.device:
    """CUDA when present (faster on a cluster); CPU otherwise, where results are byte-stable."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def save_checkpoint(path: str | Path, model: nn.Module, arch: str, input_size: int,
                    frames: int) -> None:
    """Everything needed to re-apply the classifier elsewhere (`pretrained` + `echocmr` layout)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"layout": CHECKPOINT_LAYOUT, "arch": arch, "input_size": int(input_size),
                "frames": int(frames), "classes": list(VIEW_CLASSES), "state_dict": state},
               Path(path))


def save_untrained(path: str | Path, arch: str, input_size: int, frames: int,
                   reason: str) -> None:
    """The checkpoint of a classifier that could not be trained (too few labelled videos):
    no weights, and the reason, which classify writes as every video's exclusion reason."""
    torch.save({"layout": CHECKPOINT_LAYOUT, "arch": arch, "input_size": int(input_size),
                "frames": int(frames), "classes": list(VIEW_CLASSES), "trained": False,
                "reason": reason}, Path(path))


def read_torch_file(path: str | Path) -> object:
    """`torch.load` restricted to tensors and plain containers (no code runs from the file)."""
    try:
        return torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is one clear error
        raise ValueError(f"{path} is not a readable torch weights file "
                         f"({type(err).__name__}); check views.weights / views.weights_layout "
                         "(echoprime | echocmr)") from None


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Model (eval mode, CPU) and its settings from a checkpoint written by `save_checkpoint`
    (None and the settings with a `reason` for one written by `save_untrained`)."""
    ckpt = read_torch_file(path)
    if not isinstance(ckpt, dict) or ckpt.get("layout") != CHECKPOINT_LAYOUT:
        raise ValueError(f"{path} is not an echocmr view-classifier checkpoint "
                         f"(expected layout {CHECKPOINT_LAYOUT!r}); for EchoPrime weights set "
                         "views.weights_layout: echoprime")
    if list(ckpt["classes"]) != VIEW_CLASSES:
        raise ValueError(f"{path} predicts classes {ckpt['classes']}, expected {VIEW_CLASSES}")
    if ckpt.get("trained") is False:  # save_untrained: no model, the reason instead
        return None, {k: ckpt[k] for k in ("arch", "input_size", "frames", "reason")}
    model = build_model(ckpt["arch"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, {k: ckpt[k] for k in ("arch", "input_size", "frames")}


@torch.no_grad()
def predict_videos(model: nn.Module, store, keys: list[str], frames: int, input_size: int,
                   batch_videos: int = 64, device: torch.device | None = None) -> pd.DataFrame:
    """Per-video probabilities (mean softmax over `frames` evenly spread frames)."""
    device = device or pick_device()
    model = model.to(device).eval()
    rows = []
    chunks = [keys[start:start + batch_videos] for start in range(0, len(keys), batch_videos)]
    for chunk in terminal_progress(chunks, len(keys), "view classify", size=len):
        clips = np.stack([sample_frames(store.frames(k), frames) for k in chunk])
        x = to_model_input(clips.reshape(-1, *clips.shape[2:]), input_size).to(device)
        p = torch.softmax(model(x).float(), dim=1).cpu().numpy().astype(np.float64)
        rows.append(p.reshape(len(chunk), frames, -1).mean(axis=1))
    probs = np.concatenate(rows) if rows else np.zeros((0, len(VIEW_CLASSES)))
    out = pd.DataFrame(probs, columns=PROB_COLUMNS)
    out.insert(0, "video_key", list(keys))
    return out
