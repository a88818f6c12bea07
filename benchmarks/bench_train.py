"""Benchmark 5: training throughput (clips/s) and peak memory per network, each in its own process.

Real AdamW training steps (forward, BCE loss, backward, step) of the networks the workflow
trains, built from the config files as the model rule builds them:

  demo         config/config.yaml `model:` (slim R(2+1)D, its clip, its `model.threads`, the
               multitask head, the processor pin of `cpu_pin`)
  paper        config/presets/paper.yaml (r2plus1d_18, 16x112x112, one task per model)
  paper unpinned  the same with `cpu_pin: false` (the processor pin's cost on this net)
  paper 8x112  the paper net on 8-frame clips; paper 16x56 at half the resolution (cheaper
               settings)

On CPU in fp32 with `min(model.threads, usable cores)` torch threads; on CUDA with the
workflow's autocast precision and channels_last_3d. Each case runs in a fresh process, so its
peak memory is its own (process peak RSS on CPU; peak GPU memory allocated on CUDA), and on CPU
twice: with `OMP_WAIT_POLICY=PASSIVE` (what the Snakefile gives every job) and with the OpenMP
default (threads spin before sleeping), interleaved A B A B over `--repeats` rounds. Random
input of the clip's shape: only the network is timed (the data path is bench_loader.py).
Medians over timed steps after warm-up, then over rounds.

    .venv/bin/python benchmarks/bench_train.py [--steps 3] [--warmup 1] [--repeats 2]
        [--cases demo paper "paper unpinned" "paper 8x112" "paper 16x56"] [--policies passive]

Writes benchmarks/results/train.json and benchmarks/results/train.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import commit_of, machine_info, save_results, usable_cores  # noqa: E402

POLICIES = {"passive": "PASSIVE", "default": None}  # None: the variable unset


def model_settings(preset: str | None) -> dict:
    """The `model:` section as the workflow sees it: config.yaml, then the preset over it."""
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    model, cpu_pin = dict(base["model"]), bool(base["cpu_pin"])
    if preset:
        over = yaml.safe_load((ROOT / "config" / "presets" / f"{preset}.yaml").read_text())
        model.update(over.get("model", {}))
        cpu_pin = bool(over.get("cpu_pin", cpu_pin))
    return {**model, "cpu_pin": cpu_pin}


def cases() -> dict[str, dict]:
    demo, paper = model_settings(None), model_settings("paper")
    demo_tasks = len(demo["task_weights"]) if demo["mode"] == "multitask" else 1
    return {
        "demo": {**demo, "outputs": demo_tasks},
        "paper": {**paper, "outputs": 1},
        "paper unpinned": {**paper, "outputs": 1, "cpu_pin": False},
        "paper 8x112": {**paper, "frames": 8, "outputs": 1},
        "paper 16x56": {**paper, "resolution": 56, "outputs": 1},
    }



# ----------------------------------------------------------------------------- one case (child)

def time_case(cfg: dict, steps: int, warmup: int) -> dict:
    """Train steps of one network in this process; called in a fresh child per case."""
    import torch
    import torch.nn.functional as F

    from echocmr.cpu_pin import pin_processor
    from echocmr.model.device import autocast, peak_memory_mb, reset_peak_memory
    from echocmr.model.nets import build_model

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    threads = min(int(cfg["threads"]), usable_cores())
    pin_processor(threads, pinned=cfg["cpu_pin"] and device.type == "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    model = build_model(cfg["arch"], cfg["outputs"], cfg["layers"], cfg["width"]).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last_3d)
    opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]))
    batch, side = int(cfg["batch_size"]), int(cfg["resolution"])
    x = torch.rand(batch, 1, int(cfg["frames"]), side, side, device=device)
    y = torch.randint(0, 2, (batch, cfg["outputs"]), device=device).float()
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
    return {"device": device.type, "threads": threads, "step_s": times,
            "peak_mem_mb": peak_memory_mb(device),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "precision": "autocast" if device.type == "cuda" else "fp32",
            "pinned": bool(cfg["cpu_pin"] and device.type == "cpu")}


# ----------------------------------------------------------------------------- parent

def run_child(name: str, policy: str, steps: int, warmup: int) -> dict:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if POLICIES[policy]:
        env["OMP_WAIT_POLICY"] = POLICIES[policy]
    done = subprocess.run([sys.executable, __file__, "--child", name, "--steps", str(steps),
                           "--warmup", str(warmup)], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} ({policy}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])



def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def measure(names: list[str], steps: int, warmup: int, repeats: int,
            policies: list[str]) -> dict:
    """Every case under every policy, interleaved round by round (A B A B)."""
    policies = policies if not has_cuda() else ["passive"]
    runs: dict[str, dict[str, list]] = {n: {p: [] for p in policies} for n in names}
    for round_ in range(repeats):
        for name in names:
            for policy in policies:
                r = run_child(name, policy, steps, warmup)
                runs[name][policy].append(r)
                print(f"round {round_ + 1}: {name} {policy}: "
                      f"{statistics.median(r['step_s']):.3f} s/step", file=sys.stderr)
    return runs


def summary(cfg: dict, runs: list[dict]) -> dict:
    steps = [statistics.median(r["step_s"]) for r in runs]
    step = statistics.median(steps)
    return {"step_s_per_round": steps, "median_step_s": step,
            "clips_per_s": int(cfg["batch_size"]) / step,
            "peak_mem_mb": max(r["peak_mem_mb"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "threads": runs[0]["threads"], "precision": runs[0]["precision"],
            "pinned": runs[0]["pinned"], "device": runs[0]["device"]}


def markdown(r: dict) -> str:
    m = r["machine"]
    cuda = r["device"] == "cuda"
    mem = "peak GPU memory allocated" if cuda else "peak RSS of the case's own process"
    head = ("| network | clip | batch | outputs | threads | precision | pinned | "
            "OMP wait | s/step | clips/s | peak MB |\n" + "|---" * 11 + "|\n")
    rows = ""
    for name, per_policy in r["results"].items():
        cfg = r["cases"][name]
        for policy, s in per_policy.items():
            rows += (f"| {name} ({cfg['arch']}, layers {cfg['layers']}, width {cfg['width']}) | "
                     f"{cfg['frames']}x{cfg['resolution']}x{cfg['resolution']} | "
                     f"{cfg['batch_size']} | {cfg['outputs']} | {s['threads']} | "
                     f"{s['precision']} | {'yes' if s['pinned'] else 'no'} | {policy} | "
                     f"{s['median_step_s']:.3f} | {s['clips_per_s']:.2f} | "
                     f"{s['peak_mem_mb']:.0f} |\n")
    load = r["load_average_1min"]
    return (
        "## Training throughput\n\n"
        f"Device: **{r['device']}** ({m['gpu'] or m['cpu']}). AdamW steps from scratch, "
        f"networks built from the config files; median of {r['steps']} timed steps after "
        f"{r['warmup']} warm-up, then median over {r['repeats']} interleaved rounds; each "
        f"case in a fresh process. Memory: {mem}.\n\n" + head + rows +
        f"\nMachine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}; 1-minute load "
        f"average {load['before']:.2f} before, {load['after']:.2f} after (other jobs share "
        "the CPU: on a busy machine the CPU figures are slower than on an idle one).\n"
        "`OMP wait` passive = `OMP_WAIT_POLICY=PASSIVE` (the Snakefile's default for jobs); "
        "default = the variable unset.\n"
        f"Command: `{r.get('command', '?')}`; commit {r.get('commit', '?')}.\n"
    )


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--cases", nargs="+", default=["demo", "paper"], choices=list(cases()),
                    help="networks to measure (default: the demo's and the paper's)")
    ap.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES),
                    help="OpenMP wait policies to compare on CPU")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--child", help=argparse.SUPPRESS)  # one case, in its own process
    args = ap.parse_args(argv)
    all_cases = cases()
    if args.child:
        print(json.dumps(time_case(all_cases[args.child], args.steps, args.warmup)))
        return {}
    load_before = os.getloadavg()[0]
    runs = measure(args.cases, args.steps, args.warmup, args.repeats, args.policies)
    results = {n: {p: summary(all_cases[n], rs) for p, rs in per.items()}
               for n, per in runs.items()}
    device = next(iter(next(iter(results.values())).values()))["device"]
    out = {"benchmark": "train", "device": device, "steps": args.steps, "commit": commit_of(),
           "command": "python benchmarks/bench_train.py "
                      + " ".join(argv if argv is not None else sys.argv[1:]),
           "warmup": args.warmup, "repeats": args.repeats,
           "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
           "cases": {n: all_cases[n] for n in args.cases}, "results": results,
           "raw": runs, "machine": machine_info()}
    save_results(args.out, "train", out, markdown(out))
    print(markdown(out))
    return out


if __name__ == "__main__":
    main()
