"""Calibration of predicted probabilities on test: calibration intercept and slope with bootstrap
CIs, and the binned observed-vs-predicted table a reliability plot draws.

With lp = logit(p):
- calibration slope b: logistic regression y ~ a + b * lp (1 = ideal; < 1: predictions too
  extreme, as when a model meets a new site);
- calibration intercept a (calibration-in-the-large): y ~ a + offset(lp), slope fixed at 1
  (0 = ideal; > 0: the model under-predicts the event rate, e.g. a higher prevalence).
CIs are percentile intervals over the same kind of resamples as every other metric (by patient or
by study, `evaluate.unit`); each resample refits with the resample counts as weights, all
resamples at once, by the safeguarded Newton solver of `logistic.py` (step halving on the
log-likelihood). A fit that has no finite maximum (one class; for the slope also all scores equal
or the classes separated) or that did not converge is n/a for that resample and counted, by
cause; a CI is reported only when at most 1% of the resamples are n/a (`bootstrap.ruled_ci`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.model import logistic
from echocmr.stats import resample
from echocmr.stats.bootstrap import CI_LEVEL, ruled_ci
from echocmr.stats.resample import chunk_rows
from echocmr.vocab import reasons

COLUMNS = ["source", "task", "unit", "n", "n_pos", "n_patients", "mean_predicted",
           "observed_rate", "intercept", "intercept_ci_low", "intercept_ci_high", "slope",
           "slope_ci_low", "slope_ci_high", "n_resamples", "n_skipped", "intercept_n_skipped",
           "slope_n_skipped", "reason"]


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_intercept(y: np.ndarray, lp: np.ndarray, w: np.ndarray) -> logistic.Fits:
    """a per weight row of `w` (R, n): maximum likelihood of y ~ a + offset(lp)."""
    return logistic.fit_offset_intercept(y, lp, w)


def fit_slope(y: np.ndarray, lp: np.ndarray, w: np.ndarray) -> logistic.Fits:
    """(a, b) per weight row: maximum likelihood of y ~ a + b * lp; b is the slope."""
    return logistic.fit_line(y, lp, w)


def _point_reason(name: str, status: int) -> str:
    """Why the full-sample fit is n/a: no finite maximum (and why), or no convergence."""
    if status == logistic.NOT_CONVERGED:
        return reasons.not_converged(name)
    return reasons.no_finite_fit(name, logistic.STATUS_WORDS[status])


def _skip_words(counts: dict[int, int]) -> str:
    """'one class 12, the scores separate the classes 3': why resamples had no fit."""
    return ", ".join(f"{logistic.STATUS_WORDS[s]} {n}" for s, n in counts.items())


def _bootstrap_fits(y, lp, draws, n_boot) -> dict[str, tuple[np.ndarray, dict[int, int]]]:
    """Intercept and slope of every resample, with the count of each cause of a missing fit."""
    out = {"intercept": np.empty(n_boot), "slope": np.empty(n_boot)}
    causes = {"intercept": {}, "slope": {}}
    step = chunk_rows(len(y), 1_000_000)
    for start in range(0, n_boot, step):
        stop = min(start + step, n_boot)
        w = draws.counts(start, stop).astype(float)
        for name, fits in (("intercept", fit_intercept(y, lp, w)),
                           ("slope", fit_slope(y, lp, w))):
            out[name][start:stop] = fits.coef[:, -1]
            for status, n in fits.counts().items():
                causes[name][status] = causes[name].get(status, 0) + n
    return {name: (out[name], causes[name]) for name in out}


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
                "intercept_n_skipped": n_boot, "slope_n_skipped": n_boot, "reason": reason}
    lp = _logit(p)
    ones = np.ones((1, len(y)))
    why = []
    for name, fits in (("intercept", fit_intercept(y, lp, ones)),
                       ("slope", fit_slope(y, lp, ones))):
        row[name] = float(fits.coef[0, -1])
        if fits.status[0] != logistic.OK:
            why.append(_point_reason(name, int(fits.status[0])))
    draws = resample.draw_for(frame["study_key"], frame["patient_key"], unit, n_boot, seed)
    for name, (reps, causes) in _bootstrap_fits(y, lp, draws, n_boot).items():
        low, high, skipped, withheld = ruled_ci(reps, name, _skip_words(causes), level)
        if not np.isfinite(row[name]):  # no interval around an estimate that does not exist
            low = high = np.nan
            withheld = ""
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = low, high
        row[f"{name}_n_skipped"] = skipped
        why.append(withheld)
    row["n_skipped"] = max(row["intercept_n_skipped"], row["slope_n_skipped"])
    row["reason"] = reasons.join(why)
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
