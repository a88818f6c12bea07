"""Benchmark: calibration intercept and slope with 10,000 cluster-bootstrap resamples on scores
like the demo's A4c WMA test predictions (about 150 studies from 100 patients, AUROC about 0.85,
probabilities 2.5e-5 to 0.985), where full Newton steps from (a, b) = (0, 1) ran off and the
slope was reported as separated.

Compares, on the same data and resamples: the safeguarded solver (echocmr.stats), scikit-learn
(unpenalised logistic regression, newton-cholesky; slope) and scipy (Brent on the score
equation; intercept) for the full sample and 200 random resamples, and counts the resamples
the previous full-step Newton iteration (copied below) left without a finite fit.

    .venv/bin/python benchmarks/bench_calibration.py

Writes benchmarks/results/calibration.json and benchmarks/results/calibration.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from echocmr.stats import resample  # noqa: E402
from echocmr.stats.calibration import _logit, calibration_row, fit_intercept, fit_slope  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, machine_line, save_results  # noqa: E402  (benchmarks/machine.py)

OUT = Path(__file__).resolve().parent / "results"
N_BOOT = 10_000
N_CHECKED = 200


def demo_like_table(seed: int = 6, n: int = 150) -> pd.DataFrame:
    """A test prediction table: 30% events, overlapping scores, probabilities 2.5e-5..0.985,
    1-2 studies per patient."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    z = rng.normal(0, 1, n) + 1.5 * y
    p = np.clip(expit(2.5 * z - 6), 2.5e-5, 0.985)
    patient = np.sort(rng.integers(0, 100, n))
    return pd.DataFrame({"study_key": [f"S{i:03d}" for i in range(n)],
                         "patient_key": [f"P{k:03d}" for k in patient], "split": "test",
                         "y_true": y, "y_pred": p})


def full_newton_slope(y, lp, w, iters: int = 50) -> np.ndarray:
    """The previous fit: full 2x2 Newton steps from (0, 1), no step control; NaN where it ran
    past |b| = 50 or to a non-finite value (then reported as separation)."""
    a, b = np.zeros(len(w)), np.ones(len(w))
    for _ in range(iters):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            p = expit(np.clip(a[:, None] + b[:, None] * lp, -40, 40))
            r, v = w * (y - p), w * p * (1 - p)
            g0, g1 = r.sum(1), (r * lp).sum(1)
            h00, h01, h11 = v.sum(1), (v * lp).sum(1), (v * lp * lp).sum(1)
            det = h00 * h11 - h01 ** 2
            a += np.nan_to_num((h11 * g0 - h01 * g1) / det)
            b += np.nan_to_num((h00 * g1 - h01 * g0) / det)
    return np.where(np.isfinite(b) & (np.abs(b) <= 50), b, np.nan)


def sklearn_line(y, lp, w) -> np.ndarray:
    model = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    model.fit(lp[:, None], y, sample_weight=w)
    return np.array([model.intercept_[0], model.coef_[0, 0]])


def scipy_intercept(y, lp, w) -> float:
    return brentq(lambda a: (w * (y - expit(a + lp))).sum(), -60, 60, xtol=1e-14)


def run() -> dict:
    table = demo_like_table()
    y, lp = table["y_true"].to_numpy(), _logit(table["y_pred"].to_numpy())
    ones = np.ones(len(y))
    slope = fit_slope(y, lp, ones[None, :]).coef[0]
    intercept = fit_intercept(y, lp, ones[None, :]).coef[0, 0]
    start = time.perf_counter()
    row = calibration_row(table, "A4C", "wma", N_BOOT, "patient", seed=1)
    seconds = time.perf_counter() - start
    draws = resample.draw_for(table["study_key"], table["patient_key"], "patient", N_BOOT, 1)
    w = draws.counts(0, N_BOOT).astype(float)
    checked = np.random.default_rng(2).choice(N_BOOT, N_CHECKED, replace=False)
    fits_s, fits_i = fit_slope(y, lp, w[checked]), fit_intercept(y, lp, w[checked])
    diff_s = max(np.abs(fits_s.coef[k] - sklearn_line(y, lp, w[r])).max()
                 for k, r in enumerate(checked))
    diff_i = max(abs(fits_i.coef[k, 0] - scipy_intercept(y, lp, w[r]))
                 for k, r in enumerate(checked))
    old = full_newton_slope(y, lp, w)
    return {
        "machine": machine_info(), "n": len(y), "n_patients": int(table["patient_key"].nunique()),
        "n_pos": int(y.sum()), "auroc": float(roc_auc_score(y, table["y_pred"])),
        "p_min": float(table["y_pred"].min()), "p_max": float(table["y_pred"].max()),
        "slope": float(slope[1]), "slope_sklearn": float(sklearn_line(y, lp, ones)[1]),
        "intercept": float(intercept), "intercept_scipy": float(scipy_intercept(y, lp, ones)),
        "old_slope": float(full_newton_slope(y, lp, ones[None, :])[0]),
        "row": {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()
                if k not in ("source", "task", "unit")},
        "seconds_10000": seconds, "max_diff_slope_vs_sklearn": float(diff_s),
        "max_diff_intercept_vs_scipy": float(diff_i),
        "old_skipped": int(np.isnan(old).sum()),
    }


def markdown(r: dict) -> str:
    row = r["row"]

    def ci(name):
        return f"{r[name]:.6f} (95% CI {row[name + '_ci_low']:.3f} to {row[name + '_ci_high']:.3f})"

    rows = [
        ("slope, echocmr", ci("slope")),
        ("slope, scikit-learn", f"{r['slope_sklearn']:.6f}"),
        ("slope, previous full-step Newton", f"{r['old_slope']} (reported as separation)"),
        ("intercept, echocmr", ci("intercept")),
        ("intercept, scipy (Brent)", f"{r['intercept_scipy']:.6f}"),
        ("resamples without a slope, echocmr", f"{int(row['slope_n_skipped'])} of {N_BOOT:,}"),
        ("resamples without a slope, previous", f"{r['old_skipped']} of {N_BOOT:,}"),
        (f"largest difference on {N_CHECKED} resamples, (a, b) vs scikit-learn",
         f"{r['max_diff_slope_vs_sklearn']:.1e}"),
        (f"largest difference on {N_CHECKED} resamples, intercept vs scipy",
         f"{r['max_diff_intercept_vs_scipy']:.1e}"),
        (f"calibration row (point fits + {N_BOOT:,} resamples), seconds",
         f"{r['seconds_10000']:.2f}"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""# Calibration: safeguarded solver on demo-like scores

Data: {r['n']} test studies from {r['n_patients']} patients, {r['n_pos']} positive,
AUROC {r['auroc']:.3f}, probabilities {r['p_min']:.2g} to {r['p_max']:.3f}
(`benchmarks/bench_calibration.py`). {N_BOOT:,} cluster-bootstrap resamples by patient.
Machine: {machine_line(r['machine'])}.

| | value |
|---|---|
{table}
"""


def main() -> None:
    result = run()
    save_results(OUT, "calibration", result, markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
