"""SLURM time limits (`runtime`, minutes) of the train and predict jobs, estimated from the config
at DAG build instead of a flat 24 h: a job asking for less starts sooner on most schedulers and
fits partitions with shorter limits.

The estimate: floating-point work of the configured network per clip, clips per epoch from the
expected cohort size, `max_epochs` epochs at `model.runtime_tflops` sustained, doubled, plus a
fixed start-up allowance. A job killed at its limit resumes from its checkpoint when Snakemake
retries it (profiles/slurm: `retries: 1`), and every retry doubles the limit.
No torch here: the Snakefile imports this on every parse.
"""

from __future__ import annotations

import math

# r2plus1d_18 on a 16x112x112 clip: ~81 GFLOP forward (2 x 40.5 GMAC), x3 with the backward pass.
PAPER_CLIP_GFLOP = 242.0
PAPER_FRAMES, PAPER_RESOLUTION, PAPER_WIDTH, PAPER_BLOCKS = 16, 112, 64, 8
VIDEOS_PER_STUDY_VIEW = 1.5  # an echo study often holds one or two cines of a view
FORWARD_SHARE = 1 / 3        # validation and prediction run the forward pass only
CLIPS_PER_VIDEO_ALL = 3      # test_clips: all - non-overlapping clips of a typical cine
SAFETY = 2.0                 # slower GPU, data stalls, checkpoint writes
START_MINUTES = 10           # environment start, imports, loader workers, first cuDNN tuning
MIN_MINUTES = 30
CPU_TFLOPS_PER_THREAD = 0.0025  # bench_train: paper net 0.02 clips/s on 2 threads


def clip_gflop(model_cfg: dict) -> float:
    """Training GFLOP per clip of the configured network, scaled from the paper net: linear in
    frames, blocks and pixels, quadratic in width (channels in x channels out)."""
    scale = (model_cfg["frames"] / PAPER_FRAMES
             * (model_cfg["resolution"] / PAPER_RESOLUTION) ** 2
             * (model_cfg["width"] / PAPER_WIDTH) ** 2
             * sum(model_cfg["layers"]) / PAPER_BLOCKS)
    return PAPER_CLIP_GFLOP * scale


def expected_studies(config: dict) -> float:
    """`model.expected_studies`, else the simulated cohort's size (the paper preset's is the
    paper's 2,566 studies)."""
    given = config["model"].get("expected_studies")
    if given:
        return float(given)
    sim = config["simulate"]
    return sim["n_patients"] * sim["studies_per_patient"]


def sustained_tflops(config: dict) -> float:
    """What one job computes per second: `model.runtime_tflops` on a GPU; CPU runs by thread."""
    model = config["model"]
    if model["device"] == "cpu":
        return CPU_TFLOPS_PER_THREAD * model["threads"]
    return float(model["runtime_tflops"])


def _minutes(gflop: float, config: dict, attempt: int) -> int:
    seconds = gflop / (sustained_tflops(config) * 1000)
    minutes = START_MINUTES + SAFETY * seconds / 60
    return int(max(MIN_MINUTES, 10 * math.ceil(minutes / 10)) * 2 ** (attempt - 1))


def _split_fractions(config: dict) -> list[float]:
    return config["cohort"]["split"].get("fractions", [0.8, 0.1, 0.1])


def train_minutes(config: dict, attempt: int = 1) -> int:
    """Time limit of one train job: `max_epochs` epochs over the train and val clips of a view."""
    model = config["model"]
    videos = expected_studies(config) * VIDEOS_PER_STUDY_VIEW
    train_frac, val_frac = _split_fractions(config)[:2]
    clips = videos * (train_frac + val_frac * FORWARD_SHARE)
    return _minutes(model["max_epochs"] * clips * clip_gflop(model), config, attempt)


def predict_minutes(config: dict, attempt: int = 1) -> int:
    """Time limit of one predict job: the val and test clips of a view, forward only."""
    model = config["model"]
    fractions = _split_fractions(config)
    per_video = CLIPS_PER_VIDEO_ALL if model["test_clips"] == "all" else 1
    clips = expected_studies(config) * VIDEOS_PER_STUDY_VIEW * sum(fractions[1:]) * per_video
    return _minutes(clips * clip_gflop(model) * FORWARD_SHARE, config, attempt)
