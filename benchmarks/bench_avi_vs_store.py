"""Benchmark: how far clips read from the lossy AVIs differ from the uint8 store's (issue 15.4).

The crop stage writes every video twice: the uint8 store (the source of truth echocmr trains
and predicts from) and an MJPEG AVI (`ingest.crop.avi`, quantiser 2 by default), which is what
the study's released models read. This runs the real workflow (`snakemake` up to `rule crop`,
`avi.write: true`) on a small synthetic export in a temporary folder, then decodes each AVI and
compares it with the store frames of the same video:

  pyav_grey  `echocmr.media.avi.read_avi` (PyAV, luminance plane): echocmr's own AVI reader
  cv2_rgb    `cv2.VideoCapture` + BGR->RGB, as the EchoNet / released code loads its AVIs;
             every one of the 3 channels against the store frame (echocmr feeds the grey frame
             repeated to 3 channels)

Per decoder and MJPEG quantiser (2 = the rule's AVI; the others re-encode the store frames with
the same `AviWriter` the rule uses): mean, 99th percentile and max absolute difference in grey
levels over all pixels and over tissue pixels (non-zero in the store at some frame of the
video), PSNR over tissue pixels, and the same difference in model input after the released
layout's scaling (uint8 / 255 to 0-1). Percentiles are exact (histograms of |diff|).

    .venv/bin/python benchmarks/bench_avi_vs_store.py [--patients 30] [--quantisers 2 5 10]

Writes benchmarks/results/avi_vs_store.json and benchmarks/results/avi_vs_store.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bench_dag import copy_workflow  # noqa: E402
from machine import machine_info, machine_line, save_results  # noqa: E402

from echocmr.media.avi import AviWriter, read_avi  # noqa: E402
from echocmr.media.store import VideoStore  # noqa: E402

SNAKEMAKE = Path(sys.executable).parent / "snakemake"
DECODERS = ["pyav_grey", "cv2_rgb"]
RULE_QUANTISER = 2


# ----------------------------------------------------------------------------- the export

def crop_with_snakemake(wd: Path, n_patients: int) -> tuple[Path, float]:
    """Simulate, de-identify and crop a small export (one shard, AVIs on); (shard dir, wall s)."""
    overlay = {"simulate": {"n_patients": n_patients},
               "ingest": {"shards": 1, "crop": {"avi": {"write": True,
                                                        "quantiser": RULE_QUANTISER}}}}
    (wd / "bench.yaml").write_text(yaml.safe_dump(overlay))
    shard = wd / "results" / "crop" / "shards-1" / "shard-0"
    env = {**os.environ, "PYTHONPATH": str(wd / "src"),
           "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    proc = subprocess.run([str(SNAKEMAKE), str(shard.relative_to(wd) / "index.csv"), "--cores",
                           "2", "--configfile", "bench.yaml"], cwd=wd, env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return shard, time.perf_counter() - start


# ----------------------------------------------------------------------------- decoding

def read_cv2_rgb(path: Path) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB as the EchoNet loader reads an AVI (cv2, BGR -> RGB)."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames)


def decoded(path: Path) -> dict[str, np.ndarray]:
    """Each decoder's frames as (T, H, W, C) uint8."""
    return {"pyav_grey": read_avi(path)[0][..., None], "cv2_rgb": read_cv2_rgb(path)}


def encode(frames: np.ndarray, fps: float, quantiser: int, path: Path) -> Path:
    writer = AviWriter(path, fps, frames.shape[1], frames.shape[2], quantiser)
    for frame in frames:
        writer.write(frame)
    writer.close()
    return path


# ----------------------------------------------------------------------------- statistics

class DiffHistogram:
    """Exact distribution of |decoded - store| (0-255) over all pixels and tissue pixels."""

    def __init__(self):
        self.all = np.zeros(256, np.int64)
        self.tissue = np.zeros(256, np.int64)
        self.videos = 0
        self.frames_mismatch = 0
        self.channel_spread = 0

    def add(self, store: np.ndarray, avi: np.ndarray) -> None:
        if len(avi) != len(store):
            self.frames_mismatch += 1
            n = min(len(avi), len(store))
            store, avi = store[:n], avi[:n]
        diff = np.abs(avi.astype(np.int16) - store[..., None].astype(np.int16))
        tissue = np.broadcast_to((store.max(axis=0) > 0)[None, :, :, None], diff.shape)
        self.all += np.bincount(diff.ravel(), minlength=256)
        self.tissue += np.bincount(diff[tissue].ravel(), minlength=256)
        self.channel_spread = max(self.channel_spread,
                                  int((avi.max(axis=-1).astype(np.int16) - avi.min(axis=-1)).max()))
        self.videos += 1

    @staticmethod
    def summary(hist: np.ndarray) -> dict:
        levels = np.arange(256)
        n = int(hist.sum())
        mean = float((hist * levels).sum() / n)
        mse = float((hist * levels.astype(np.float64) ** 2).sum() / n)
        cdf = np.cumsum(hist) / n
        return {"pixels": n, "mean_abs": mean, "p99_abs": int(np.searchsorted(cdf, 0.99)),
                "max_abs": int(levels[hist > 0].max()), "rmse": mse ** 0.5,
                "psnr_db": float(10 * np.log10(255.0 ** 2 / mse)) if mse else float("inf"),
                "identical_pct": 100 * float(hist[0] / n),
                "model_input_mean_abs": mean / 255, "model_input_p99_abs":
                    int(np.searchsorted(cdf, 0.99)) / 255}

    def result(self) -> dict:
        return {"videos": self.videos, "frame_count_mismatches": self.frames_mismatch,
                "max_channel_spread": self.channel_spread,
                "all": self.summary(self.all), "tissue": self.summary(self.tissue)}


def compare(shard: Path, quantisers: list[int], scratch: Path) -> tuple[list[dict], dict]:
    store = VideoStore([str(shard)])
    keys = store.keys()
    hists = {(q, d): DiffHistogram() for q in quantisers for d in DECODERS}
    avi_bytes = {q: 0 for q in quantisers}
    same_bytes = 0
    for key in keys:
        frames = np.asarray(store.frames(key))
        fps = float(store.meta.set_index("video_key").loc[key, "fps"])
        rule_avi = shard / "avi" / f"{key}.avi"
        for q in quantisers:
            path = encode(frames, fps, q, scratch / f"q{q}.avi")
            if q == RULE_QUANTISER:  # the re-encode must be the rule's file, byte for byte
                same_bytes += path.read_bytes() == rule_avi.read_bytes()
                path = rule_avi
            avi_bytes[q] += path.stat().st_size
            for name, avi in decoded(path).items():
                hists[(q, name)].add(frames, avi)
    rows = [{"quantiser": q, "decoder": d, "avi_kib_per_video": avi_bytes[q] / 1024 / len(keys),
             **hists[(q, d)].result()} for q in quantisers for d in DECODERS]
    meta = store.meta
    store_bytes = int((meta["n_frames"] * meta["height"] * meta["width"]).sum())
    info = {"videos": len(keys), "frames": int(meta["n_frames"].sum()),
            "store_kib_per_video": store_bytes / 1024 / len(keys),
            "rule_avi_equals_reencode": f"{same_bytes}/{len(keys)}"}
    return rows, info


# ----------------------------------------------------------------------------- report

def markdown(result: dict) -> str:
    m, e, load = result["machine"], result["export"], result["load_avg_1min"]
    shared = (" **The machine was shared and loaded** (load average >= 2 at start or end); "
              "the numbers below are pixel statistics, not timings, so load does not move them."
              if max(load) >= 2 else "")
    out = [
        "## AVI vs store: clips from the lossy MJPEG AVIs against the uint8 store "
        "(issue 15 item 4)\n",
        f"Machine: {machine_line(m)}; OpenCV {m.get('cv2')}. Load average (1 min) at start "
        f"{load[0]:.2f}, at end {load[1]:.2f}.{shared} Export: `rule simulate` with "
        f"{e['patients']} patients (demo encodings and screen mix), de-identified and cropped by "
        f"`snakemake` ({e['snakemake_wall_s']:.0f} s): {e['videos']} videos, {e['frames']} "
        f"frames of 112x112, store {e['store_kib_per_video']:.0f} KiB/video. The rule's AVIs "
        f"(quantiser {RULE_QUANTISER}) equal a re-encode of the store frames with the same "
        f"`AviWriter` byte for byte in {e['rule_avi_equals_reencode']} videos; other "
        "quantisers are such re-encodes.\n",
        "diff = decoded AVI - store, in grey levels (0-255); *tissue* = pixels non-zero in the "
        "store at some frame of the video (the sector; the black background is almost lossless "
        "and would flatter the means); model input = abs diff / 255 (the released layout's 0-1 "
        "scaling, no normalisation). `cv2_rgb`: all 3 channels pooled; *spread* = the largest "
        "difference between the 3 channels of one pixel.\n",
        "| quantiser | decoder | AVI KiB/video | tissue mean abs diff | tissue p99 abs diff "
        "| max abs diff | tissue PSNR dB | identical (tissue) | all-pixel mean abs diff "
        "| model input mean / p99 abs diff (tissue) | spread |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        t, a = r["tissue"], r["all"]
        out.append(
            f"| {r['quantiser']} | {r['decoder']} | {r['avi_kib_per_video']:.0f} | "
            f"{t['mean_abs']:.2f} | {t['p99_abs']} | {t['max_abs']} | {t['psnr_db']:.1f} | "
            f"{t['identical_pct']:.0f}% | {a['mean_abs']:.2f} | "
            f"{t['model_input_mean_abs']:.4f} / {t['model_input_p99_abs']:.4f} | "
            f"{r['max_channel_spread']} |")
    mism = sum(r["frame_count_mismatches"] for r in result["rows"])
    out += ["", f"Videos whose AVI decoded to another frame count than the store: {mism}.\n"]
    return "\n".join(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=30)
    ap.add_argument("--quantisers", type=int, nargs="+", default=[2, 5, 10])
    ap.add_argument("--keep", help="keep the temporary export in this folder")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    if RULE_QUANTISER not in args.quantisers:
        args.quantisers.insert(0, RULE_QUANTISER)
    cv2.setNumThreads(1)
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="bench_avi_") as tmp:
        wd = copy_workflow(Path(args.keep) if args.keep else Path(tmp) / "wf")
        shard, wall = crop_with_snakemake(wd, args.patients)
        rows, export = compare(shard, sorted(args.quantisers), Path(tmp))
    load.append(os.getloadavg()[0])
    export.update({"patients": args.patients, "snakemake_wall_s": wall})
    result = {"benchmark": "avi_vs_store", "export": export, "rows": rows,
              "machine": machine_info(), "load_avg_1min": load}
    save_results(args.out, "avi_vs_store", result, markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
