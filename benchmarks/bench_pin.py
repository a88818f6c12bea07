"""Benchmark: the processor pin (echocmr.cpu_pin) - does it give the same bits under another
instruction set, and what does it cost in training clips/s?

Each case is a fresh process (the libraries read their environment once): AdamW steps of
torchvision-family `r2plus1d_18` on a fixed random batch, then the SHA-256 of the weights.
Cases differ only in the environment a user's machine could impose (oneDNN's ISA, ATen's
vector width), pinned (`pin_processor`) or not. The same hash across ISAs = the pin holds;
clips/s pinned vs unpinned, interleaved in one run, is its price.

    .venv/bin/python benchmarks/bench_pin.py [--steps 2] [--timed 3] [--net demo|paper]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

NETS = {  # the demo's slim net at the demo's clip, and the paper's network and clip
    "demo": dict(layers=[1, 1, 1, 1], width=16, frames=8, size=48, batch=10),
    "paper": dict(layers=[2, 2, 2, 2], width=64, frames=16, size=112, batch=4),
}
# (label, pinned, environment a machine could impose)
CASES = [
    ("unpinned, oneDNN AVX2", False, {"DNNL_MAX_CPU_ISA": "AVX2"}),
    ("unpinned, oneDNN AVX-512", False, {"DNNL_MAX_CPU_ISA": "AVX512_CORE"}),
    ("unpinned, ATen AVX2 (oneDNN off)", False, {"ATEN_CPU_CAPABILITY": "avx2", "NO_ONEDNN": "1"}),
    ("unpinned, ATen AVX-512 (oneDNN off)", False, {"ATEN_CPU_CAPABILITY": "avx512",
                                                    "NO_ONEDNN": "1"}),
    ("pinned, env AVX2", True, {"DNNL_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}),
    ("pinned, env AVX-512", True, {"DNNL_MAX_CPU_ISA": "AVX512_CORE",
                                   "ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AUTO"}),
    ("pinned, env AVX-512, 2 threads", True, {"DNNL_MAX_CPU_ISA": "AVX512_CORE",
                                              "ATEN_CPU_CAPABILITY": "avx512", "THREADS": "2"}),
]


def child(net: str, steps: int, timed: int, pinned: bool) -> dict:
    """Run in the measured process: train, hash the weights, time further steps."""
    from echocmr.cpu_pin import pin_processor

    record = pin_processor(threads=int(os.environ.get("THREADS", "1")), pinned=pinned)
    import torch
    import torch.nn.functional as F

    from echocmr.model.nets import build_model

    if os.environ.get("NO_ONEDNN"):
        torch.backends.mkldnn.enabled = False
    cfg = NETS[net]
    torch.manual_seed(0)
    model = build_model("r2plus1d_18", 2, cfg["layers"], cfg["width"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.rand(cfg["batch"], 1, cfg["frames"], cfg["size"], cfg["size"])
    y = torch.randint(0, 2, (cfg["batch"], 2)).float()
    model.train()

    def step() -> float:
        t0 = time.perf_counter()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    for _ in range(steps):
        step()
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes()
                                     for p in model.state_dict().values())).hexdigest()
    times = [step() for _ in range(timed)]
    return {"sha256": digest, "median_step_s": statistics.median(times) if times else None,
            "clips_per_s": cfg["batch"] / statistics.median(times) if times else None,
            "capability": record["aten_cpu_capability"], "threads": record["threads"],
            "onednn": bool(torch.backends.mkldnn.enabled)}


def run_case(net: str, steps: int, timed: int, pinned: bool, env: dict) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR",
                          "ATEN_CPU_CAPABILITY", "NO_ONEDNN", "THREADS")}
    proc = subprocess.run([sys.executable, __file__, "--child", "--net", net, "--steps",
                           str(steps), "--timed", str(timed), "--pinned", str(int(pinned))],
                          env={**clean, **env}, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", choices=list(NETS), default="demo")
    ap.add_argument("--steps", type=int, default=2, help="training steps before the hash")
    ap.add_argument("--timed", type=int, default=3, help="timed steps after the hash")
    ap.add_argument("--repeats", type=int, default=1, help="interleaved rounds of all cases")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--pinned", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.net, args.steps, args.timed, bool(args.pinned))))
        return {}
    from machine import machine_info, save_results

    load_before = os.getloadavg()[0]
    rounds = [{label: run_case(args.net, args.steps, args.timed, pinned, env)
               for label, pinned, env in CASES} for _ in range(args.repeats)]
    results = {label: {**rounds[0][label], "clips_per_s": statistics.median(
        r[label]["clips_per_s"] for r in rounds)} for label, _, _ in CASES}
    out = {"benchmark": "pin", "net": args.net, "config": NETS[args.net], "steps": args.steps,
           "timed": args.timed, "repeats": args.repeats, "results": results,
           "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
           "machine": machine_info()}
    save_results(args.out, "pin", out, markdown(out))
    print(markdown(out))
    return out


def markdown(r: dict) -> str:
    m, c = r["machine"], r["config"]
    rows = "".join(f"| {label} | {v['threads']} | {v['capability']} | "
                   f"{'on' if v['onednn'] else 'off'} | "
                   f"`{v['sha256'][:12]}` | {v['clips_per_s']:.2f} |\n"
                   for label, v in r["results"].items())
    return (
        "## Processor pin: same bits under another ISA, and its cost\n\n"
        f"`r2plus1d_18` family, {r['net']} size (layers {c['layers']}, width {c['width']}, "
        f"clip {c['frames']}x{c['size']}x{c['size']}, batch {c['batch']}), fp32. "
        f"Weights hashed after {r['steps']} AdamW steps; clips/s = median of {r['timed']} "
        f"further steps (median over {r['repeats']} interleaved round(s)). Each case is a "
        "fresh process with only the named environment changed.\n\n"
        "| case | threads | ATen capability | oneDNN convs | weights SHA-256 | clips/s |\n"
        "|---|---|---|---|---|---|\n" + rows +
        f"\nMachine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}; 1-minute load "
        f"average {r['load_average_1min']['before']:.2f} before, "
        f"{r['load_average_1min']['after']:.2f} after (shared machine).\n"
    )


if __name__ == "__main__":
    main()
