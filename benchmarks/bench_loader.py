"""Benchmark 2: training data path, clips/s of the store loader vs per-sample AVI decoding.

Side by side on the same videos and the same clip recipe (16 frames, period 2, random start,
112x112, batch 10, one process):
  store   - `echocmr.model.data.ClipDataset`: a strided slice of the memory-mapped uint8 store;
  echonet - an EchoNet-Dynamic-style loader: every sample opens the video's AVI with
            cv2.VideoCapture, decodes all frames to (T, H, W, 3), converts to float and then
            cuts the clip (what echonet/dynamic's `loadvideo` + `Echo.__getitem__` do).
Uses the crop stage's output (`results/crop/shards-<n>/shard-*/` of the default `ingest.shards`,
AVIs included) when present, else builds a synthetic store + AVIs of the same shape. Medians of
repeated runs.

    .venv/bin/python benchmarks/bench_loader.py [--repeats 5] [--clips 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml
from torch.utils.data import DataLoader, Dataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tools/

from echocmr.ingest.paths import shard_dirs  # noqa: E402
from echocmr.media.store import VideoStore  # noqa: E402
from echocmr.model.data import (  # noqa: E402
    ClipDataset,
    clip_indices,
    normalise,
    random_start,
)
from tools.toy import make_toy_dataset  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, save_results  # noqa: E402  (benchmarks/machine.py)

FRAMES, PERIOD, SIZE, BATCH = 16, 2, 112, 10


class EchoNetStyleClips(Dataset):
    """Decodes the whole AVI for every sample, as echonet/dynamic's loader does."""

    def __init__(self, avi_paths, seed: int = 0):
        self.paths, self.seed = list(avi_paths), seed

    def __len__(self):
        return len(self.paths)

    @staticmethod
    def loadvideo(path) -> np.ndarray:
        cap = cv2.VideoCapture(str(path))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        v = np.zeros((n, h, w, 3), np.uint8)
        for i in range(n):
            ok, frame = cap.read()
            if not ok:
                raise ValueError(f"failed to load frame {i} of {path}")
            v[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        cap.release()
        return v.transpose((3, 0, 1, 2))  # (C, T, H, W)

    def __getitem__(self, i):
        video = self.loadvideo(self.paths[i]).astype(np.float32) / 255.0
        rng = np.random.default_rng([self.seed, i])
        start = random_start(video.shape[1], FRAMES, PERIOD, rng)
        clip = video[:, clip_indices(video.shape[1], FRAMES, PERIOD, start)]
        return torch.from_numpy(np.ascontiguousarray(clip)), torch.zeros(1)


def clips_per_second(dataset, n_clips: int) -> float:
    idx = [i % len(dataset) for i in range(n_clips)]
    loader = DataLoader(dataset, batch_size=BATCH, sampler=idx, num_workers=0)
    t0 = time.perf_counter()
    n = 0
    for batch in loader:
        x = batch[0]
        if x.dtype == torch.uint8:  # the store ships uint8: count training's float conversion
            x = normalise(x, SIZE)
        n += len(x)
    return n / (time.perf_counter() - t0)


def dataset_dirs(tmp: Path, n_videos: int) -> tuple[list[Path], str]:
    # the layout of the embedded default (the demo run) only, never one of another ingest.shards
    n_shards = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["ingest"]["shards"]
    crop = [Path(d) for d in shard_dirs(ROOT / "results" / "crop", n_shards)]
    if all((d / "frames.npy").exists() and (d / "avi").is_dir() for d in crop):
        return crop, "results/crop (this repository's crop stage output)"
    toy = make_toy_dataset(tmp, n_patients=max(1, n_videos // 3), n_frames=64, size=SIZE,
                           shards=2, seed=0, avi=True)
    return toy["shard_dirs"], "synthetic beating-ring videos, 64 frames 112x112 (toy store)"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clips", type=int, default=100, help="clips per timed run")
    ap.add_argument("--videos", type=int, default=60)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        shard_dirs, source = dataset_dirs(Path(tmp), args.videos)
        store = VideoStore(shard_dirs)
        meta = store.meta[store.meta["height"].eq(SIZE)].head(args.videos)
        keys = list(meta["video_key"])
        avis = [Path(shard_dirs[int(a)]) / "avi" / f"{k}.avi"
                for k, a in zip(meta["video_key"], meta["_array"])]
        ours = ClipDataset(shard_dirs, keys, np.zeros((len(keys), 1)), FRAMES, PERIOD, SIZE)
        theirs = EchoNetStyleClips(avis)
        clips_per_second(ours, BATCH)
        clips_per_second(theirs, BATCH)  # warm page cache for both
        runs = {"store": [], "echonet_avi": []}
        for _ in range(args.repeats):
            runs["store"].append(clips_per_second(ours, args.clips))
            runs["echonet_avi"].append(clips_per_second(theirs, args.clips))
        med = {k: statistics.median(v) for k, v in runs.items()}
        n_frames = float(meta["n_frames"].median())
    result = {
        "benchmark": "loader", "source": source, "videos": len(keys),
        "median_frames_per_video": n_frames,
        "clip": {"frames": FRAMES, "period": PERIOD, "size": SIZE, "batch": BATCH},
        "repeats": args.repeats, "clips_per_run": args.clips,
        "clips_per_s": runs, "median_clips_per_s": med,
        "speedup": med["store"] / med["echonet_avi"], "machine": machine_info(),
    }
    save_results(args.out, "loader", result, markdown(result))
    print(markdown(result))
    return result


def markdown(r: dict) -> str:
    m = r["machine"]
    return (
        "## Training data path: store loader vs per-sample AVI decoding\n\n"
        f"{r['videos']} videos ({r['source']}; median {r['median_frames_per_video']:.0f} "
        f"frames), clips of {r['clip']['frames']} frames at period {r['clip']['period']}, "
        f"{r['clip']['size']}x{r['clip']['size']}, batch {r['clip']['batch']}, one process; "
        f"median of {r['repeats']} runs of {r['clips_per_run']} clips.\n\n"
        "| loader | clips/s (median) |\n|---|---|\n"
        f"| memory-mapped uint8 store (`ClipDataset`) | {r['median_clips_per_s']['store']:.1f} |\n"
        f"| EchoNet-style: decode AVI per sample | "
        f"{r['median_clips_per_s']['echonet_avi']:.1f} |\n\n"
        f"Speed-up: **{r['speedup']:.1f}x** (target >= 10x).\n\n"
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, torch "
        f"{m['torch']}, OpenCV {m['cv2']}, GPU: {m['gpu'] or 'none'}.\n"
    )


if __name__ == "__main__":
    main()
