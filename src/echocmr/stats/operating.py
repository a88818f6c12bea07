"""Operating points: sensitivity, specificity, PPV and NPV at a threshold chosen on validation.

Beyond the paper (which reports AUROC only), for clinicians who read a test as positive or
negative. The threshold maximises Youden's J (sensitivity + specificity - 1) over the validation
predictions and is then applied, unchanged, to the test studies: a study is positive when its
score is >= the threshold. The threshold lies halfway between the validation score where the
best J is reached and the next lower validation score (ties in J: the higher threshold), so the
validation classification is the same but a test score between two validation scores is not
decided by an arbitrary edge. The test proportions get percentile intervals over the SAME
resamples as the AUROC's CI (`resample.draw_for` with the same rows, order and seed); the
threshold is held fixed in every resample (it comes from the validation split, not from test).
A measure's interval is n/a, with the count, when more than 1% of the resamples leave its
denominator empty (`bootstrap.ruled_ci`).

For the fused model, the validation predictions are in-sample (the fusion regression was fitted
on those studies), so its threshold is chosen on fitted values: see docs/results.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.logutil import script_logging
from echocmr.stats import resample
from echocmr.stats.bootstrap import CI_LEVEL, ruled_ci
from echocmr.stats.resample import Draws, chunk_rows
from echocmr.vocab import reasons

MEASURES = ("sensitivity", "specificity", "ppv", "npv")
COLUMNS = (["source", "task", "unit", "threshold_rule", "threshold", "n_val", "youden_j_val",
            "n", "n_pos", "n_neg", "n_patients", "tp", "fp", "tn", "fn"]
           + [f"{m}{suffix}" for m in MEASURES for suffix in ("", "_ci_low", "_ci_high")]
           + ["n_resamples", "n_skipped", "reason"])
# What leaves a resample without a value of each measure (an empty denominator).
SKIP_CAUSES = {"sensitivity": "no positive", "specificity": "no negative",
               "ppv": "none called positive", "npv": "none called negative"}
RULE = "Youden J on validation; positive if score >= threshold"
BUNDLE_RULE = ("bundle threshold (Youden J on the training site's validation); positive if "
               "score >= threshold")


def youden_threshold(y_val, s_val) -> tuple[float, float]:
    """(threshold, J at it) from validation labels and scores; NaN if one class only."""
    y = np.asarray(y_val).astype(int)
    s = np.asarray(s_val, dtype=float)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan"), float("nan")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # last row of each tie group
    cut = s_sorted[last]  # distinct scores, descending: "positive if score >= cut"
    tpr = np.cumsum(y_sorted)[last] / n_pos
    fpr = np.cumsum(1 - y_sorted)[last] / n_neg
    j = tpr - fpr
    best = int(np.argmax(j))  # first maximum = highest threshold among ties
    below = cut[best + 1] if best + 1 < cut.size else cut[best]
    return float((cut[best] + below) / 2.0), float(j[best])


def _measures(tp, fp, tn, fn) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"sensitivity": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
                "specificity": np.where(tn + fp > 0, tn / (tn + fp), np.nan),
                "ppv": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
                "npv": np.where(tn + fn > 0, tn / (tn + fn), np.nan)}


def operating_replicates(y_true, y_score, threshold: float, draws: Draws,
                         max_cells: int = 4_000_000) -> dict[str, np.ndarray]:
    """Each measure in every resample of `draws` (NaN where its denominator is empty)."""
    y = np.asarray(y_true).astype(np.int64)
    positive = (np.asarray(y_score, dtype=float) >= threshold).astype(np.int64)
    cells = np.stack([y * positive, (1 - y) * positive, (1 - y) * (1 - positive),
                      y * (1 - positive)], axis=1)  # tp, fp, tn, fn indicators per study
    out = {m: np.empty(draws.n_resamples) for m in MEASURES}
    step = chunk_rows(draws.n_obs, max_cells)
    for start in range(0, draws.n_resamples, step):
        stop = min(start + step, draws.n_resamples)
        tp, fp, tn, fn = (draws.counts(start, stop) @ cells).T.astype(float)
        for m, values in _measures(tp, fp, tn, fn).items():
            out[m][start:stop] = values
    return out


def operating_row(val: pd.DataFrame, test: pd.DataFrame, source: str, task: str, n_boot: int,
                  unit: str, seed: int, level: float = CI_LEVEL,
                  fixed: float | None = None) -> dict:
    """One row of operating_points.csv from a (val, test) pair of prediction frames; `fixed`:
    a threshold given from elsewhere (a model bundle's, for external validation)."""
    from echocmr.stats.evaluate import seed_for

    y = test["y_true"].to_numpy().astype(int)
    s = test["y_pred"].to_numpy(dtype=float)
    if fixed is None:
        threshold, j = youden_threshold(val["y_true"].to_numpy(), val["y_pred"].to_numpy(float))
    else:
        threshold, j = float(fixed), float("nan")
    row = {"source": source, "task": task, "unit": unit,
           "threshold_rule": RULE if fixed is None else BUNDLE_RULE,
           "threshold": threshold, "n_val": len(val), "youden_j_val": j, "n": len(test),
           "n_pos": int(y.sum()), "n_neg": int((1 - y).sum()),
           "n_patients": int(test["patient_key"].nunique()), "n_resamples": n_boot}
    reason = no_threshold(val, fixed) if not np.isfinite(threshold) else (
        reasons.NO_TEST_STUDY if len(test) == 0 else "")
    if reason:
        return {**row, **{c: np.nan for c in COLUMNS if c not in row}, "n_skipped": n_boot,
                "reason": reason}
    positive = s >= threshold
    counts = {"tp": int((positive & (y == 1)).sum()), "fp": int((positive & (y == 0)).sum()),
              "tn": int((~positive & (y == 0)).sum()), "fn": int((~positive & (y == 1)).sum())}
    row.update(counts)
    point = _measures(*(np.array([float(counts[k])]) for k in ("tp", "fp", "tn", "fn")))
    draws = resample.draw_for(test["study_key"], test["patient_key"], unit, n_boot,
                              seed_for(seed, source, task))
    reps = operating_replicates(y, s, threshold, draws)
    skipped = np.zeros(n_boot, dtype=bool)
    withheld = []
    for m in MEASURES:
        low, high, _, why = ruled_ci(reps[m], m, SKIP_CAUSES[m], level)
        if not np.isfinite(point[m][0]):  # the measure's own reason says why
            why = ""
        row[m], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = float(point[m][0]), low, high
        withheld.append(why)
        if m in ("sensitivity", "specificity"):
            skipped |= ~np.isfinite(reps[m])
    row["n_skipped"] = int(skipped.sum())  # one-class resamples (PPV/NPV skip their own)
    row["reason"] = reasons.join([undefined_measures(counts), *withheld])
    return row


def no_threshold(val: pd.DataFrame, fixed: float | None) -> str:
    """Why there is no threshold: the bundle has none, or validation lacks a class."""
    if fixed is not None:
        return reasons.NO_BUNDLE_THRESHOLD
    y = val["y_true"].to_numpy().astype(int)
    return reasons.binary_shortfall(int(y.sum()), int((1 - y).sum()), split="validation")


def undefined_measures(counts: dict) -> str:
    """The measures of a row with an empty denominator, each with its cause ('' if none)."""
    n_pos, n_neg = counts["tp"] + counts["fn"], counts["fp"] + counts["tn"]
    one_class = reasons.binary_shortfall(n_pos, n_neg)
    return reasons.join([
        reasons.measure_shortfall("sensitivity", one_class) if n_pos == 0 else "",
        reasons.measure_shortfall("specificity", one_class) if n_neg == 0 else "",
        reasons.measure_shortfall("ppv", reasons.no_test_study_called(True))
        if counts["tp"] + counts["fp"] == 0 else "",
        reasons.measure_shortfall("npv", reasons.no_test_study_called(False))
        if counts["tn"] + counts["fn"] == 0 else ""])


def operating_points_table(pairs: dict[tuple[str, str], tuple[str, str]], n_boot: int,
                           unit: str, seed: int, thresholds: dict | None = None
                           ) -> pd.DataFrame:
    """(source, task) -> (val predictions path, test predictions path): one row each.
    `thresholds` ({source: {task: threshold}}, a bundle's): use those instead of validation
    (a source/task the bundle has no threshold for gets none: NaN row, `reason` says so)."""
    from echocmr.stats.evaluate import read_predictions

    def fixed(source, task):
        if thresholds is None:
            return None
        return thresholds.get(source, {}).get(task, float("nan"))

    rows = [operating_row(read_predictions(val, split="val"), read_predictions(test),
                          source, task, n_boot, unit, seed, fixed=fixed(source, task))
            for (source, task), (val, test) in pairs.items()]
    return pd.DataFrame(rows, columns=COLUMNS)



def run_operating_points(smk) -> None:
    """Script entry of `rule operating_points`: sensitivity, specificity, PPV, NPV at the
    validation Youden threshold, on test, with CIs."""
    with script_logging(smk) as log:
        pairs = {}
        for key in smk.input.keys():
            split, source, task = key.split("__")
            pairs.setdefault((source, task), {})[split] = smk.input[key]
        table = operating_points_table(
            {k: (v["val"], v["test"]) for k, v in pairs.items()},
            n_boot=smk.params.n_bootstrap,
            unit=smk.params.unit,
            seed=smk.params.seed,
            thresholds=smk.params.thresholds,
        )
        table.to_csv(smk.output[0], index=False, float_format="%.6g")
        log.info("%d operating points (threshold: %s)", len(table),
                 "Youden J on validation" if smk.params.thresholds is None else "the bundle's")
