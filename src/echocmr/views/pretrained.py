"""The `pretrained` backend: user-supplied weights, including the EchoPrime view classifier.

EchoPrime layout (github.com/echonet/EchoPrime, `view_classifier.ckpt`): torchvision
`convnext_base` with `classifier[-1] = Linear(1024, 11)`; the file is a dict whose `state_dict`
holds the parameters under the prefix `model.` (a bare state dict, as in their later
`view_classifier.pt`, is accepted too). Input: the first frame, RGB 224x224, normalised on the
0-255 scale with the mean/std below. Our store holds 112x112 luminance, so the frame is
upsampled to 224 and replicated to 3 channels: the classifier sees a blurrier, colourless
image than it was trained on (documented limit; colour Doppler classes lose their main cue).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from echocmr.views.model import read_torch_file
from echocmr.vocab.views import PROB_COLUMNS, VIEW_CLASSES

ECHOPRIME_CLASSES = ["A2C", "A3C", "A4C", "A5C", "Apical_Doppler", "Doppler_Parasternal_Long",
                     "Doppler_Parasternal_Short", "Parasternal_Long", "Parasternal_Short", "SSN",
                     "Subcostal"]
ECHOPRIME_MEAN = [29.110628, 28.076836, 29.096405]
ECHOPRIME_STD = [47.989223, 46.456997, 47.20083]
ECHOPRIME_SIZE = 224
# EchoPrime class -> our class; A3C, A5C, Doppler, PSAX, SSN, subcostal are all OTHER.
ECHOPRIME_TO_VIEW = {"A4C": "A4C", "A2C": "A2C", "Parasternal_Long": "PLAX"}


def build_echoprime_network() -> nn.Module:
    """The EchoPrime view-classifier architecture with random weights."""
    model = torchvision.models.convnext_base()
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, len(ECHOPRIME_CLASSES))
    return model


def echoprime_state_dict(ckpt: dict) -> dict:
    """The network's parameters from either EchoPrime file layout (prefix `model.` stripped)."""
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise ValueError("not an EchoPrime view-classifier file: expected a dict with a "
                         "'state_dict' (or a bare state dict)")
    prefix = "model."
    if all(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_echoprime(path: str | Path) -> nn.Module:
    """The EchoPrime view classifier (eval mode, CPU); fails naming the file on a mismatch."""
    ckpt = read_torch_file(path)
    model = build_echoprime_network()
    try:
        model.load_state_dict(echoprime_state_dict(ckpt))
    except RuntimeError as err:
        raise ValueError(f"{path} does not hold convnext_base weights with 11 view classes "
                         f"(EchoPrime layout): {str(err).splitlines()[0]}") from err
    return model.eval()


def echoprime_input(first_frames: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) luminance -> (N, 3, 224, 224) normalised as EchoPrime expects."""
    x = torch.from_numpy(np.ascontiguousarray(first_frames)).float().unsqueeze(1)
    x = F.interpolate(x, size=(ECHOPRIME_SIZE, ECHOPRIME_SIZE), mode="bicubic",
                      align_corners=False).clamp_(0.0, 255.0)
    x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(ECHOPRIME_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(ECHOPRIME_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def collapse_echoprime(probs11: np.ndarray) -> np.ndarray:
    """11 EchoPrime class probabilities -> ours; OTHER is the sum of the unmapped classes."""
    out = np.zeros((len(probs11), len(VIEW_CLASSES)))
    for j, name in enumerate(ECHOPRIME_CLASSES):
        out[:, VIEW_CLASSES.index(ECHOPRIME_TO_VIEW.get(name, "OTHER"))] += probs11[:, j]
    return out


@torch.no_grad()
def predict_echoprime(model: nn.Module, store, keys: list[str], batch_videos: int = 16,
                      device: torch.device | None = None) -> pd.DataFrame:
    """Per-video probabilities from the first frame of each video, as EchoPrime does."""
    device = device or torch.device("cpu")
    model = model.to(device).eval()
    parts = []
    for start in range(0, len(keys), batch_videos):
        chunk = keys[start:start + batch_videos]
        first = np.stack([np.asarray(store.frames(k)[0]) for k in chunk])
        logits = model(echoprime_input(first).to(device)).float()
        parts.append(collapse_echoprime(torch.softmax(logits, 1).cpu().numpy().astype(float)))
    probs = np.concatenate(parts) if parts else np.zeros((0, len(VIEW_CLASSES)))
    out = pd.DataFrame(probs, columns=PROB_COLUMNS)
    out.insert(0, "video_key", list(keys))
    return out
