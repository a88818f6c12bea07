"""Benchmark 3: 10,000-resample bootstrap AUROC CI, vectorised (echocmr.stats) vs a loop calling
scikit-learn's `roc_auc_score` once per resample, on the same resample indices.

Data: a paper-sized test split (~257 studies from ~145 patients, ~48% positive, scores rounded
to 3 decimals so ties occur). Both methods see the same draws (cluster bootstrap by patient);
the loop's index lists are built before its timer starts. Reports medians of repeated runs, the
speed-up, and the largest difference between the two sets of replicates and CIs.

    .venv/bin/python benchmarks/bench_bootstrap.py [--repeats-loop 3] [--repeats-vec 7]

Writes benchmarks/results/bootstrap.json and benchmarks/results/bootstrap.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from echocmr.stats import bootstrap, resample  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info as common_machine_info  # noqa: E402  (benchmarks/machine.py)
from machine import save_results

OUT = Path(__file__).resolve().parent / "results"


def paper_sized_test_set(seed: int = 0):
    rng = np.random.default_rng(seed)
    n_patients = 145
    studies_per_patient = rng.choice([1, 2, 3], size=n_patients, p=[0.5, 0.3, 0.2])
    patient = np.repeat(np.arange(n_patients), studies_per_patient)
    y = (rng.random(patient.size) < 0.48).astype(int)
    score = np.round(1 / (1 + np.exp(-(1.6 * (y - 0.5) + rng.normal(0, 1, y.size)))), 3)
    return np.arange(y.size), patient, y, score


def machine_info() -> dict:
    """The shared machine description (benchmarks/machine.py)."""
    return common_machine_info()


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-resamples", type=int, default=10_000)
    parser.add_argument("--repeats-loop", type=int, default=3)
    parser.add_argument("--repeats-vec", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    study, patient, y, score = paper_sized_test_set()
    draws = resample.draw_for(study, patient, "patient", args.n_resamples, seed=20240601)
    index_lists = [draws.indices(b) for b in range(draws.n_resamples)]

    def vectorised():
        return bootstrap.bootstrap_auroc_replicates(y, score, draws)

    def sklearn_loop():
        out = np.full(len(index_lists), np.nan)
        for b, idx in enumerate(index_lists):
            yb = y[idx]
            if yb.min() != yb.max():  # roc_auc_score refuses one-class resamples: skip them too
                out[b] = roc_auc_score(yb, score[idx])
        return out

    vec_times, vec = timed(vectorised, args.repeats_vec)
    loop_times, ref = timed(sklearn_loop, args.repeats_loop)
    vec_ci = bootstrap.percentile_ci(vec)
    ref_ci = bootstrap.percentile_ci(ref)
    both = np.isfinite(vec) & np.isfinite(ref)
    result = {
        "benchmark": "bootstrap AUROC CI",
        "n_studies": int(y.size), "n_patients": int(draws.n_units), "n_pos": int(y.sum()),
        "n_resamples": args.n_resamples, "unit": "patient",
        "vectorised_s": {"median": statistics.median(vec_times), "runs": vec_times},
        "sklearn_loop_s": {"median": statistics.median(loop_times), "runs": loop_times},
        "speedup": statistics.median(loop_times) / statistics.median(vec_times),
        "max_abs_diff_replicates": float(np.max(np.abs(vec[both] - ref[both]))),
        "same_skipped": bool(np.array_equal(np.isnan(vec), np.isnan(ref))),
        "ci_vectorised": vec_ci[:2], "ci_sklearn": ref_ci[:2],
        "max_abs_diff_ci": float(max(abs(vec_ci[0] - ref_ci[0]), abs(vec_ci[1] - ref_ci[1]))),
        "n_skipped": vec_ci[2],
        "machine": machine_info(),
    }
    save_results(args.out, "bootstrap", result, markdown(result))
    print(markdown(result))
    return result


def markdown(r: dict) -> str:
    m = r["machine"]
    loop_ci = "{:.6f}-{:.6f}".format(*r["ci_sklearn"])
    vec_ci = "{:.6f}-{:.6f}".format(*r["ci_vectorised"])
    runs_vec, runs_loop = len(r["vectorised_s"]["runs"]), len(r["sklearn_loop_s"]["runs"])
    return f"""## 3. Bootstrap: {r['n_resamples']:,}-resample AUROC CI

Paper-sized test split: {r['n_studies']} studies from {r['n_patients']} patients
({r['n_pos']} positive), cluster bootstrap by patient, the same resample indices for both
methods. Medians of {runs_vec} (vectorised) and {runs_loop} (loop) runs.

| method | median time (s) | 95% CI (2.5th-97.5th percentile) |
|---|---|---|
| scikit-learn `roc_auc_score` loop | {r['sklearn_loop_s']['median']:.3f} | {loop_ci} |
| echocmr vectorised (rank sums, count matrix) | {r['vectorised_s']['median']:.4f} | {vec_ci} |

Speed-up: **{r['speedup']:.0f}x**. Largest difference between the two methods' replicates:
{r['max_abs_diff_replicates']:.1e}; between the CIs: {r['max_abs_diff_ci']:.1e}; one-class
resamples skipped: {r['n_skipped']} (same in both: {r['same_skipped']}).

Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']},
scikit-learn {m['sklearn']} (shared VM; other jobs may have been running).
"""


if __name__ == "__main__":
    main()
