"""Benchmark: the main job, `bash run.sh`, on a fresh clone (issue 13: at most 12 min on 2 cores).

Clones the repository's committed HEAD into a temporary folder and runs the Quick start's first
command there, timing two phases: set-up (`bash setup.sh`: the venv from the pinned wheels; the
OCR data are already installed system-wide after the first run on a machine) and the study
itself (the rest of `bash run.sh`: every rule, the HTML report and its PHI audit). CPU time
(user + sys of all child processes) is recorded beside wall time because wall time on a shared
machine counts waiting for a core; the 1-minute load average before and after says how shared.
The fused and per-view Table 2 cells of the run are recorded too, so the figure comes with what
the run showed.

    .venv/bin/python benchmarks/bench_demo.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
from machine import children_cpu, machine_info, machine_line, save_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
BUDGET_MIN = 12.0



def timed(cmd: list[str], cwd: Path, log: Path) -> dict:
    """Run `cmd` to completion (raising on failure); wall and CPU seconds, load before/after."""
    load0, cpu0, t0 = os.getloadavg()[0], children_cpu(), time.perf_counter()
    with open(log, "w") as fh:
        subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, check=True)
    return {"wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(children_cpu() - cpu0, 1), "load_before": round(load0, 2),
            "load_after": round(os.getloadavg()[0], 2)}


def table2_cells(results: Path) -> list[dict]:
    metrics = pd.read_csv(results / "metrics" / "binary.csv")
    cells = metrics[metrics["source"] != "baseline"]
    cols = ["source", "task", "n", "n_pos", "auroc", "ci_low", "ci_high"]
    return json.loads(cells[cols].round(3).to_json(orient="records"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="clone here and keep it (default: a temp dir)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="echocmr_demo_"))
    clone = work / "echocmr"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    setup = timed(["bash", "setup.sh"], clone, work / "setup.log")
    # run.sh calls setup.sh again: with the venv in place it returns at once.
    study = timed(["bash", "run.sh"], clone, work / "run.log")
    results = clone / "results"
    for needed in ("report.html", "audit/report_audit.csv", "table2.csv"):
        assert (results / needed).is_file(), f"run.sh did not write results/{needed}"
    total_min = (setup["wall_s"] + study["wall_s"]) / 60
    out = {"commit": head, "setup": setup, "study": study, "total_wall_min": round(total_min, 2),
           "budget_min": BUDGET_MIN, "cells": table2_cells(results), "machine": machine_info()}
    fused = {c["task"]: c for c in out["cells"] if c["source"] == "fused"}
    lines = [
        "## Main job: `bash run.sh` on a fresh clone (issue 13)", "",
        f"Commit {head}; {machine_line()}.", "",
        "| phase | wall (min) | CPU (min) | load avg before / after |", "|---|---|---|---|",
        *[f"| {name} | {p['wall_s'] / 60:.1f} | {p['cpu_s'] / 60:.1f} | "
          f"{p['load_before']} / {p['load_after']} |"
          for name, p in (("set-up (venv)", setup), ("study + report + report audit", study))],
        f"| **total** | **{total_min:.1f}** | | budget {BUDGET_MIN:.0f} min |", "",
        "Fused test AUROC (95% CI) of that run: " + "; ".join(
            f"{t} {c['auroc']:.3f} ({c['ci_low']:.3f}-{c['ci_high']:.3f}, n={c['n']})"
            for t, c in fused.items()) + ".", "",
        "Wall time above the CPU time / 2 means the run waited for a core (other jobs) or ran "
        "serial steps; a load average above 2 at the start means the machine was shared.", ""]
    save_results(RESULTS, "demo", out, "\n".join(lines))
    print("\n".join(lines))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
