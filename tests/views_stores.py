"""Shared helpers for the views tests: small synthetic shard stores with per-view patterns.

The patterns stand in for the three analysis views and a distractor (no real anatomy): A4C
four cavities in a 2x2 grid, A2C two cavities stacked, PLAX a long horizontal cavity over a small
one, OTHER a ring (short-axis-like). Cavity size pulses over the cycle, position and gain jitter
per video, and speckle noise covers everything, so a classifier has to learn shape, not pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from echocmr.keys import pseudonym
from echocmr.media.store import StoreWriter

SIZE = 112
VIEWS = ["A4C", "A2C", "PLAX", "OTHER"]


def _draw(view: str, phase: float, dx: int, dy: int) -> np.ndarray:
    img = np.full((SIZE, SIZE), 150, np.uint8)
    s = 1.0 + 0.12 * np.sin(2 * np.pi * phase)
    cx, cy = 56 + dx, 56 + dy

    def cavity(x, y, ax, ay):
        cv2.ellipse(img, (int(x), int(y)), (max(2, int(ax * s)), max(2, int(ay * s))), 0, 0, 360,
                    20, -1)

    if view == "A4C":
        for ox in (-16, 16):
            for oy in (-16, 16):
                cavity(cx + ox, cy + oy, 11, 13)
    elif view == "A2C":
        cavity(cx, cy - 16, 14, 17)
        cavity(cx, cy + 20, 12, 10)
    elif view == "PLAX":
        cavity(cx - 4, cy - 8, 32, 9)
        cavity(cx + 18, cy + 18, 10, 8)
    else:
        cv2.circle(img, (cx, cy), int(24 * s), 20, -1)
        cv2.circle(img, (cx, cy), int(14 * s), 150, -1)
    return img


def make_video(view: str, rng: np.random.Generator, n_frames: int = 12) -> np.ndarray:
    dx, dy = (int(v) for v in rng.integers(-8, 9, 2))
    gain = rng.uniform(0.7, 1.2)
    offset = rng.uniform(0, 1)
    frames = []
    for t in range(n_frames):
        img = _draw(view, offset + t / n_frames, dx, dy).astype(float) * gain
        img += rng.normal(0, 25, img.shape)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(frames)


def fake_uid(patient: int, index: int) -> str:
    return f"1.2.826.0.1.3680043.10.{patient}.{index}"


def build_store(root, n_patients: int = 12, seed: int = 0, n_shards: int = 2,
                views_per_study=VIEWS, secret: str | None = None) -> dict[str, str]:
    """Write shard stores under `root/shard-N` (for a workflow run, root is the layout folder
    `results/crop/shards-<n>`); returns {video_key: true view}.

    With `secret`, video keys are the pseudonyms of `fake_uid(patient, index)` under it (as
    ingest would derive them), so a truth file keyed by SOP instance UID can be matched.
    """
    rng = np.random.default_rng(seed)
    truth: dict[str, str] = {}
    writers = [StoreWriter(root / f"shard-{s}", SIZE, SIZE) for s in range(n_shards)]
    for p in range(n_patients):
        study = f"S{p:012x}"
        writer = writers[p % n_shards]
        for j, view in enumerate(views_per_study):
            key = (pseudonym(secret, "video", fake_uid(p, j)) if secret
                   else f"V{p:06x}{j:06x}")
            writer.add(key, study, f"P{p:012x}", 30.0, make_video(view, rng))
            truth[key] = view
    for w in writers:
        w.close()
    return truth
