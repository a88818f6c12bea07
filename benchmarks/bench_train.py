"""Benchmark 5: training throughput (clips/s) and peak memory of r2plus1d_18 at 16x112x112.

Runs real AdamW training steps (forward, BCE loss, backward, step) of torchvision's
`r2plus1d_18` (the paper's network, from scratch) at batch 10 on the device present: CUDA with
bf16 autocast and channels_last_3d when a GPU is visible, fp32 on CPU otherwise. The demo's slim
same-family net is measured alongside for reference. The input is random data of the clip's
shape, so only the network is timed (the data path is benchmark 2, bench_loader.py).
Medians over timed steps after warm-up.

    .venv/bin/python benchmarks/bench_train.py [--steps 3] [--warmup 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import machine_info, save_results  # noqa: E402

from echocmr.model.device import autocast, peak_memory_mb, reset_peak_memory  # noqa: E402
from echocmr.model.nets import build_model  # noqa: E402

# Slim first: on CPU the peak is the process's peak RSS so far, so the small net goes before
# the large one to get its own figure.
CONFIGS = {
    "slim r2plus1d (demo)": dict(layers=[1, 1, 1, 1], width=16, frames=16, size=32),
    "r2plus1d_18 (paper)": dict(layers=[2, 2, 2, 2], width=64, frames=16, size=112),
}


def time_steps(name: str, cfg: dict, device: torch.device, batch: int, steps: int,
               warmup: int) -> dict:
    torch.manual_seed(0)
    model = build_model("r2plus1d_18", 1, cfg["layers"], cfg["width"]).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last_3d)
        model.channels_last = True
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, cfg["frames"], cfg["size"], cfg["size"], device=device)
    y = torch.randint(0, 2, (batch, 1), device=device).float()
    model.train()
    reset_peak_memory(device)
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with autocast(device):
            logits = model(x)
        loss = F.binary_cross_entropy_with_logits(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
        print(f"{name}: step {i + 1}/{warmup + steps} {time.perf_counter() - t0:.2f} s",
              file=sys.stderr)
    step = statistics.median(times)
    return {"config": cfg, "batch": batch, "step_s": times, "median_step_s": step,
            "clips_per_s": batch / step, "peak_mem_mb": peak_memory_mb(device),
            "precision": "bf16 autocast" if device.type == "cuda" else "fp32"}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    results = {}
    load_before = os.getloadavg()
    for name, cfg in CONFIGS.items():
        results[name] = time_steps(name, cfg, device, args.batch, args.steps, args.warmup)
    # the shared 2-core box runs other jobs too: record how busy it was
    out = {"benchmark": "train", "device": device.type, "threads": torch.get_num_threads(),
           "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
           "results": results, "machine": machine_info()}
    save_results(args.out, "train", out, markdown(out))
    print(markdown(out))
    return out


def markdown(r: dict) -> str:
    m = r["machine"]
    rows = "".join(
        f"| {name} | {v['config']['frames']}x{v['config']['size']}x{v['config']['size']} | "
        f"{v['batch']} | {v['precision']} | {v['median_step_s']:.3f} | {v['clips_per_s']:.2f} | "
        f"{v['peak_mem_mb']:.0f} |\n" for name, v in r["results"].items())
    mem = ("peak GPU memory allocated" if r["device"] == "cuda"
           else "peak process RSS (includes Python/torch)")
    return (
        "## Training throughput\n\n"
        f"Device: **{r['device']}** ({m['gpu'] or m['cpu']}, {r['threads']} torch threads). "
        "AdamW steps of torchvision `r2plus1d_18` from scratch; median over timed steps after "
        f"warm-up. Memory: {mem}.\n\n"
        "| network | clip | batch | precision | s/step | clips/s | peak MB |\n"
        "|---|---|---|---|---|---|---|\n" + rows +
        f"\nMachine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}; 1-minute load "
        f"average {r['load_average_1min']['before']:.1f} before, "
        f"{r['load_average_1min']['after']:.1f} after (other jobs share the CPU: on a busy "
        "machine the CPU figures are slower than on an idle one).\n"
    )


if __name__ == "__main__":
    main()
