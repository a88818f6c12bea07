"""Calibration of predicted probabilities on test: calibration intercept and slope with bootstrap
CIs, and the binned observed-vs-predicted table a reliability plot draws.

With lp = logit(p):
- calibration slope b: logistic regression y ~ a + b * lp (1 = ideal; < 1: predictions too
  extreme, as when a model meets a new site);
- calibration intercept a (calibration-in-the-large): y ~ a + offset(lp), slope fixed at 1
  (0 = ideal; > 0: the model under-predicts the event rate, e.g. a higher prevalence).
CIs are percentile intervals over the same kind of resamples as every other metric (by patient or
by study, `evaluate.unit`); each resample refits by Newton-Raphson with the resample counts as
weights, all resamples at once. Resamples with one class or no finite fit are skipped (counted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.stats import reasons, resample
from echocmr.stats.bootstrap import CI_LEVEL, percentile_ci
from echocmr.stats.resample import chunk_rows

COLUMNS = ["source", "task", "unit", "n", "n_pos", "n_patients", "mean_predicted",
           "observed_rate", "intercept", "intercept_ci_low", "intercept_ci_high", "slope",
           "slope_ci_low", "slope_ci_high", "n_resamples", "n_skipped", "reason"]


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z):
    return 1 / (1 + np.exp(-np.clip(z, -40, 40)))


def fit_intercept(y: np.ndarray, lp: np.ndarray, w: np.ndarray, iters: int = 50) -> np.ndarray:
    """a per weight row of `w` (R, n): maximum likelihood of y ~ a + offset(lp). Newton steps
    only on the rows still moving (resamples with separation run on; the rest stop early)."""
    a = np.zeros(w.shape[0])
    active = np.arange(w.shape[0])
    for _ in range(iters):
        wa = w[active]
        p = _sigmoid(a[active, None] + lp[None, :])
        grad = (wa * (y[None, :] - p)).sum(1)
        hess = (wa * p * (1 - p)).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.nan_to_num(grad / hess)
        a[active] += step
        active = active[np.abs(step) >= 1e-10]
        if not len(active):
            break
    return _finite(a, w, y)


def fit_slope(y: np.ndarray, lp: np.ndarray, w: np.ndarray, iters: int = 50) -> np.ndarray:
    """b per weight row of `w`: maximum likelihood of y ~ a + b * lp (2x2 Newton steps, only
    on the rows still moving)."""
    a, b = np.zeros(w.shape[0]), np.ones(w.shape[0])
    active = np.arange(w.shape[0])
    for _ in range(iters):
        wa = w[active]
        with np.errstate(over="ignore", invalid="ignore"):  # a separated resample runs off
            p = _sigmoid(a[active, None] + b[active, None] * lp[None, :])
        r, v = wa * (y[None, :] - p), wa * p * (1 - p)
        g0, g1 = r.sum(1), (r * lp).sum(1)
        h00, h01, h11 = v.sum(1), (v * lp).sum(1), (v * lp * lp).sum(1)
        det = h00 * h11 - h01 ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            da, db = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        da, db = np.nan_to_num(da), np.nan_to_num(db)
        a[active] += da
        b[active] += db
        active = active[(np.abs(da) >= 1e-10) | (np.abs(db) >= 1e-10)]
        if not len(active):
            break
    return _finite(b, w, y)


def _finite(est: np.ndarray, w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """NaN where a resample has one class only or the fit ran off (separation)."""
    pos = (w * y[None, :]).sum(1)
    neg = (w * (1 - y)[None, :]).sum(1)
    bad = (pos == 0) | (neg == 0) | ~np.isfinite(est) | (np.abs(est) > 50)
    return np.where(bad, np.nan, est)


def calibration_row(frame: pd.DataFrame, source: str, task: str, n_boot: int, unit: str,
                    seed: int, level: float = CI_LEVEL) -> dict:
    """One row of calibration.csv from a test prediction frame (y_true 0/1, y_pred in (0, 1))."""
    y = frame["y_true"].to_numpy(dtype=float)
    p = frame["y_pred"].to_numpy(dtype=float)
    row = {"source": source, "task": task, "unit": unit, "n": len(frame),
           "n_pos": int(y.sum()), "n_patients": int(frame["patient_key"].nunique()),
           "mean_predicted": float(p.mean()) if len(p) else np.nan,
           "observed_rate": float(y.mean()) if len(y) else np.nan, "n_resamples": n_boot}
    reason = reasons.binary_shortfall(row["n_pos"], len(frame) - row["n_pos"])
    if reason:
        return {**row, **{c: np.nan for c in COLUMNS if c not in row}, "n_skipped": n_boot,
                "reason": reason}
    lp = _logit(p)
    ones = np.ones((1, len(y)))
    row["intercept"] = float(fit_intercept(y, lp, ones)[0])
    row["slope"] = float(fit_slope(y, lp, ones)[0])
    draws = resample.draw_for(frame["study_key"], frame["patient_key"], unit, n_boot, seed)
    ints, slopes = np.empty(n_boot), np.empty(n_boot)
    step = chunk_rows(len(y), 1_000_000)
    for start in range(0, n_boot, step):
        stop = min(start + step, n_boot)
        w = draws.counts(start, stop).astype(float)
        ints[start:stop] = fit_intercept(y, lp, w)
        slopes[start:stop] = fit_slope(y, lp, w)
    row["intercept_ci_low"], row["intercept_ci_high"], skip_i = percentile_ci(ints, level)
    row["slope_ci_low"], row["slope_ci_high"], skip_s = percentile_ci(slopes, level)
    for name in ("intercept", "slope"):  # no interval around an estimate that does not exist
        if not np.isfinite(row[name]):
            row[f"{name}_ci_low"] = row[f"{name}_ci_high"] = np.nan
    row["n_skipped"] = max(skip_i, skip_s)
    row["reason"] = reasons.join(reasons.no_finite_fit(name) for name in ("intercept", "slope")
                                 if not np.isfinite(row[name]))
    return row


def reliability_bins(frame: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of the predicted probability: mean predicted, observed rate, n."""
    if len(frame) == 0:
        return pd.DataFrame(columns=["bin", "n", "mean_predicted", "observed_rate"])
    df = frame.sort_values("y_pred").reset_index(drop=True)
    bins = np.minimum((np.arange(len(df)) * min(n_bins, len(df))) // len(df), n_bins - 1)
    out = df.groupby(bins).agg(n=("y_true", "size"), mean_predicted=("y_pred", "mean"),
                               observed_rate=("y_true", "mean"))
    return out.rename_axis("bin").reset_index()


def calibration_table(tables: dict[tuple[str, str], str], n_boot: int, unit: str,
                      seed: int) -> pd.DataFrame:
    """(source, task) -> test prediction table path: one calibration row each."""
    from echocmr.stats.evaluate import read_predictions, seed_for

    rows = [calibration_row(read_predictions(path), source, task, n_boot, unit,
                            seed_for(seed, "calibration", source, task))
            for (source, task), path in tables.items()]
    return pd.DataFrame(rows, columns=COLUMNS)
