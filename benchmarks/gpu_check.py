"""GPU check: what the first GPU node must show before the paper preset is run on it.

Run through `bash benchmarks/gpu_check.sh` (one command, under 8 minutes on an H100). Parts:

1. environment: the run record the training log gets (device, GPU name, capability, memory,
   driver, torch/CUDA/cuDNN), or why CUDA is not usable here;
2. data path (CPU, runs everywhere, also in CI): clips/s the loader feeds per worker for the
   paper clip (16x112x112) as uint8 (what training uses) and as float (the former path);
3. GPU training (only with a usable GPU): the paper net (r2plus1d_18, batch 10) through the real
   loader and training step on synthetic clips, for channels_last_3d vs NCDHW and bf16 vs fp32
   side by side: clips/s, step time split into data wait and compute, peak GPU memory, GPU
   utilisation (nvidia-smi samples); then one real `fit` epoch with `model.device: cuda`;
4. the GPU-relevant tests (pytest), their summary line.

Writes benchmarks/results/gpu.{json,md}.

    .venv/bin/python benchmarks/gpu_check.py [--quick] [--no-tests] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tools/
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine_info, save_results  # noqa: E402

from echocmr.model.data import ClipDataset, to_tensor, view_table  # noqa: E402
from echocmr.model.device import (  # noqa: E402
    Runtime,
    cuda_problem,
    device_record,
    peak_memory_mb,
    reset_peak_memory,
    runtime_for,
    seed_everything,
)
from tools.toy import make_toy_dataset  # noqa: E402

PAPER = dict(arch="r2plus1d_18", layers=[2, 2, 2, 2], width=64, frames=16, period=2,
             resolution=112, batch_size=10)
CUDA = torch.device("cuda")
PYTEST_SUMMARY_RE = re.compile(r"\d+ (passed|failed|errors?|skipped)\b")
GPU_TESTS = ["tests/unit/model/test_model_gpu_branches.py", "tests/workflow/test_gpu_check.py",
             "tests/unit/model/test_model_unit.py::test_cpu_training_is_byte_identical"]


# ---- synthetic clips -----------------------------------------------------------------------

def synthetic_store(root: Path, n_patients: int) -> dict:
    """A store of paper-resolution cines (112x112, 40 frames; one per view and study)."""
    return make_toy_dataset(root, n_patients=n_patients, n_frames=40, size=112, seed=1)


class FloatClips(ClipDataset):
    """The former data path: each worker converts its clip to float before the batch travels."""

    def __getitem__(self, item):
        x, y, m = super().__getitem__(item)
        return to_tensor(x[0].numpy(), self.size), y, m


# ---- 2. data path --------------------------------------------------------------------------

def loader_rate(dataset, workers: int, batches: int, batch_size: int) -> dict:
    """Clips/s one DataLoader delivers to the main process (after its first batch: worker
    start-up excluded), and the bytes of one batch."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False,
                        persistent_workers=False)
    it = iter(loader)
    first = next(it)
    t0, n = time.perf_counter(), 0
    for _ in range(batches):
        try:
            x, _, _ = next(it)
        except StopIteration:
            break
        n += len(x)
    seconds = time.perf_counter() - t0
    rate = n / seconds if seconds > 0 else float("nan")
    return {"workers": workers, "clips": n, "seconds": seconds, "clips_per_s": rate,
            "clips_per_s_per_worker": rate / max(workers, 1),
            "batch_mb": first[0].numel() * first[0].element_size() / 2**20,
            "dtype": str(first[0].dtype).removeprefix("torch.")}


def data_path(store: dict, workers: list[int], batches: int, repeats: int) -> dict:
    """uint8 vs float loaders side by side, alternating, median of `repeats` per setting."""
    keys = list(view_table(store["views"], store["labels"], store["split"], "A4C", ["wma"])
                ["video_key"])
    keys = (keys * (1 + (batches * PAPER["batch_size"] * 2) // len(keys)))
    common = (store["shard_dirs"], keys, np.zeros((len(keys), 1)), PAPER["frames"],
              PAPER["period"], PAPER["resolution"])
    datasets = {"uint8": ClipDataset(*common, starts=[0] * len(keys)),
                "float": FloatClips(*common, starts=[0] * len(keys))}
    runs: dict = {f"{kind}/{w}": [] for kind in datasets for w in workers}
    for _ in range(repeats):
        for w in workers:
            for kind, ds in datasets.items():
                runs[f"{kind}/{w}"].append(loader_rate(ds, w, batches, PAPER["batch_size"]))
    out = {}
    for key, rs in runs.items():
        best = dict(rs[0])
        best["clips_per_s"] = statistics.median(r["clips_per_s"] for r in rs)
        best["clips_per_s_per_worker"] = best["clips_per_s"] / max(best["workers"], 1)
        best["all_clips_per_s"] = [r["clips_per_s"] for r in rs]
        out[key] = best
    return out


# ---- 3. GPU training -----------------------------------------------------------------------

class GpuSampler:
    """nvidia-smi samples of utilisation (%) and memory used (MiB) while a block runs."""

    def __init__(self, interval_ms: int = 200):
        self.interval_ms, self.samples, self.proc = interval_ms, [], None

    def __enter__(self):
        try:
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                 "--format=csv,noheader,nounits", f"-lms={self.interval_ms}"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            return self
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 2 and all(p.isdigit() for p in parts):
                self.samples.append((int(parts[0]), int(parts[1])))

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def summary(self) -> dict:
        if not self.samples:
            return {"util_pct_mean": None, "mem_used_mib_max": None}
        util = [u for u, _ in self.samples]
        return {"util_pct_mean": statistics.fmean(util), "mem_used_mib_max":
                max(m for _, m in self.samples), "n_samples": len(util)}


def timed_step(setup, x, y, m) -> float:
    """Seconds of one real training step: the GPU's own time (CUDA events; the wait at the end
    is for measuring only, training never waits there), or the host clock on CPU."""
    from echocmr.model.train import train_step

    if setup.device.type != "cuda":
        t0 = time.perf_counter()
        train_step(setup, x, y, m)
        return time.perf_counter() - t0
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    train_step(setup, x, y, m)
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1000


def training_variant(store: dict, runtime: Runtime, steps: int, warmup: int,
                     workers: int, net: dict = PAPER) -> dict:
    """Real loader + real training step of the paper net (or `net`): per step, the wait for
    the next batch (host clock) and the step's compute time, after `warmup` steps."""
    from echocmr.model.train import TrainSettings, build_setup, labelled_splits, to_device

    table = view_table(store["views"], store["labels"], store["split"], "A4C", ["wma"])
    train, val = labelled_splits(table, ["wma"])
    settings = TrainSettings(**net, num_workers=workers)
    seed_everything(0, runtime.device)
    setup = build_setup(train, val, store["shard_dirs"], ["wma"], settings, 0, runtime,
                        cpus=workers + 1)
    setup.model.train()
    reset_peak_memory(runtime.device)
    waits, computes = [], []
    with GpuSampler() as gpu:
        done, epoch, t_start = 0, 0, time.perf_counter()
        while done < warmup + steps:
            epoch += 1
            setup.sampler.epoch = epoch
            it = iter(setup.train_loader)
            while done < warmup + steps:
                t0 = time.perf_counter()
                if done == warmup:
                    t_start = t0
                try:
                    batch = next(it)
                except StopIteration:
                    break
                x, y, m = to_device(batch, runtime.device, settings.resolution)
                wait = time.perf_counter() - t0
                compute = timed_step(setup, x, y, m)
                if done >= warmup:
                    waits.append(wait)
                    computes.append(compute)
                done += 1
        wall = time.perf_counter() - t_start
    n = steps * settings.batch_size
    return {"precision": runtime.precision, "channels_last": runtime.channels_last,
            "steps": steps, "clips_per_s": n / wall,
            "median_data_wait_s": statistics.median(waits),
            "median_compute_s": statistics.median(computes),
            "data_wait_share": sum(waits) / (sum(waits) + sum(computes)),
            "peak_mem_mb": peak_memory_mb(runtime.device), **gpu.summary()}


def gpu_training(store: dict, steps: int, warmup: int, workers: int,
                 device: torch.device = CUDA, net: dict = PAPER) -> dict:
    """The four layout x precision variants side by side, then one real `fit` epoch."""
    variants = {}
    for precision in ("bf16", "fp32"):
        for channels_last in (True, False):
            name = f"{precision} {'channels_last_3d' if channels_last else 'NCDHW'}"
            print(f"gpu_check: training {name}", file=sys.stderr)
            variants[name] = training_variant(store, Runtime(device, precision, channels_last),
                                              steps, warmup, workers, net)
    return {"variants": variants, "fit": one_fit_epoch(store, workers, device.type, net)}


def one_fit_epoch(store: dict, workers: int, device: str = "cuda", net: dict = PAPER) -> dict:
    """The workflow's own `fit` for one epoch with model.device: cuda, precision auto."""
    from echocmr.model.train import TrainSettings, fit

    table = view_table(store["views"], store["labels"], store["split"], "A4C", ["wma"])
    settings = TrainSettings(**net, device=device, max_epochs=1, num_workers=workers)
    with tempfile.TemporaryDirectory(prefix="gpu-check-fit-") as out:
        t0 = time.perf_counter()
        metrics = fit(table, store["shard_dirs"], ["wma"], settings, out, seed=0,
                      progress=False, cpus=workers + 1)
        saved = torch.load(Path(out) / "best.pt", map_location="cpu", weights_only=False)
    row = metrics.iloc[-1]
    return {"seconds": time.perf_counter() - t0, "samples_per_s": float(row["samples_per_s"]),
            "train_loss": float(row["train_loss"]), "peak_mem_mb": float(row["peak_mem_mb"]),
            "device_record": saved["device"]}


# ---- 4. tests ------------------------------------------------------------------------------

def run_tests(timeout: int) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *GPU_TESTS]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"command": " ".join(cmd[1:]), "returncode": None, "summary": "timed out"}
    lines = [ln for ln in proc.stdout.splitlines() if PYTEST_SUMMARY_RE.search(ln)]
    return {"command": " ".join(cmd[1:]), "returncode": proc.returncode,
            "summary": lines[-1] if lines else proc.stdout[-500:]}


# ---- report --------------------------------------------------------------------------------

def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small data-path run (CI)")
    ap.add_argument("--no-tests", action="store_true", help="skip the pytest part")
    ap.add_argument("--steps", type=int, default=40, help="timed GPU steps per variant")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--workers", type=int, default=min(7, max(len(os.sched_getaffinity(0)) - 1,
                                                                   1)))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    runtime = runtime_for("auto")
    result = {"benchmark": "gpu", "environment": device_record(runtime),
              "cuda_problem": cuda_problem()}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        n_patients = 20 if args.quick else 120  # 96 training videos: 9 batches per epoch
        store = synthetic_store(Path(tmp), n_patients)
        workers = [0, 1] if args.quick else sorted({0, 1, args.workers})
        result["data_path"] = data_path(store, workers, batches=3 if args.quick else 20,
                                        repeats=1 if args.quick else 3)
        if runtime.device.type == "cuda":
            result["gpu"] = gpu_training(store, args.steps, args.warmup, args.workers)
        else:
            result["gpu"] = {"skipped": result["cuda_problem"] or "no CUDA device"}
    if not args.no_tests:
        result["tests"] = run_tests(timeout=240)
    result["load_average_1min"] = {"before": load_before[0], "after": os.getloadavg()[0]}
    result["machine"] = machine_info()
    save_results(args.out, "gpu", result, markdown(result))
    print(markdown(result))
    return result


def markdown(r: dict) -> str:
    env = r["environment"]
    if env["device"] == "cuda":
        where = (f"**{env['name']}** (compute capability {env['capability']}, "
                 f"{env['memory_gib']} GiB, driver {env['driver'] or '?'}), torch {env['torch']}"
                 f" (CUDA {env['torch_cuda']}, cuDNN {env.get('cudnn')}), precision auto = "
                 f"{env['precision']}")
    else:
        where = (f"**no usable GPU**: {r['cuda_problem'] or 'CPU only'}; torch {env['torch']} "
                 f"(CUDA {env['torch_cuda']})")
    parts = ["## GPU check\n\n", f"Environment: {where}.\n\n", data_markdown(r["data_path"])]
    parts.append(gpu_markdown(r["gpu"]))
    if "tests" in r:
        t = r["tests"]
        parts.append(f"\nTests (`{t['command']}`): {t['summary']} (exit {t['returncode']}).\n")
    m = r["machine"]
    parts.append(f"\nMachine: {m['cpu']}, {m['cores']} cores; 1-minute load average "
                 f"{r['load_average_1min']['before']:.1f} before, "
                 f"{r['load_average_1min']['after']:.1f} after.\n")
    return "".join(parts)


def data_markdown(d: dict) -> str:
    rows = "".join(
        f"| {v['dtype']} | {v['workers']} | {v['batch_mb']:.2f} | {v['clips_per_s']:.0f} | "
        f"{v['clips_per_s_per_worker']:.0f} |\n" for v in d.values())
    return ("### Data path (CPU): clips the loader feeds\n\n"
            "Paper clip 16x112x112 from the memory-mapped store, batch 10, one A4C clip per "
            "video; median clips/s reaching the main process after the first batch; 0 workers "
            "= loading in the main process (per-worker column = the total). uint8 is what "
            "training ships (made float on the device); float is the former path (converted "
            "in the worker).\n\n"
            "| clip dtype | workers | MB per batch | clips/s | clips/s per worker |\n"
            "|---|---|---|---|---|\n" + rows)


def gpu_markdown(g: dict) -> str:
    if "skipped" in g:
        return f"\n### GPU training\n\nNot run: {g['skipped']}.\n"
    rows = "".join(
        f"| {name} | {v['clips_per_s']:.1f} | {v['median_data_wait_s'] * 1000:.1f} | "
        f"{v['median_compute_s'] * 1000:.1f} | {v['data_wait_share']:.0%} | "
        f"{v['peak_mem_mb']:.0f} | {_fmt(v['util_pct_mean'])} |\n"
        for name, v in g["variants"].items())
    f = g["fit"]
    return ("\n### GPU training: paper net, batch 10, synthetic clips\n\n"
            "Real loader and training step; per step the wait for the next batch (host) and "
            "the step's GPU time (CUDA events), medians after warm-up.\n\n"
            "| precision, layout | clips/s | data wait ms | compute ms | wait share | "
            "peak MB | GPU util % |\n|---|---|---|---|---|---|---|\n" + rows +
            f"\nOne real `fit` epoch (model.device: cuda, precision auto = "
            f"{f['device_record']['precision']}): {f['samples_per_s']:.1f} clips/s, "
            f"{f['seconds']:.0f} s in all, peak {f['peak_mem_mb']:.0f} MB. Paper-net work is "
            f"~0.242 TFLOP per training clip: put clips/s x 0.242 in `model.runtime_tflops`.\n")


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    main()
