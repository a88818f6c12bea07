"""View fusion: one global prediction per study from its A4C, A2C and PLAX predictions.

As in the paper, a logistic regression (binary tasks; a linear regression for continuous ones)
over the three view predictions is fitted on the validation split and scored on test. Binary
inputs enter as logits. Missing views are handled per pattern: a test study that has, say, only
A4C and PLAX is scored by a model fitted on the validation studies that have both, using those
two inputs only. When fewer than `min_fit` validation studies (or a single class) support a
pattern, the study gets the plain mean of its available view predictions instead. Every
pattern, its support and the method used are written out and counted.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

from echocmr.model.tables import read_split, with_split
from echocmr.model.tasks import VIEWS, global_column, is_binary

log = logging.getLogger(__name__)
PATTERN_COLUMNS = ["task", "views", "n_val", "n_test", "method"]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def wide_predictions(view_preds: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """study_key, patient_key, split + one column per view (NaN where the view is missing)."""
    wide = None
    for view in VIEWS:
        df = view_preds.get(view)
        if df is None:
            continue
        df = df[["study_key", "patient_key", "split", "y_pred"]].rename(columns={"y_pred": view})
        wide = df if wide is None else wide.merge(df, on=["study_key", "patient_key", "split"],
                                                  how="outer")
    if wide is None:
        wide = pd.DataFrame(columns=["study_key", "patient_key", "split"])
    for view in VIEWS:
        if view not in wide:
            wide[view] = np.nan
    return wide


def _pattern(row: pd.Series) -> tuple[str, ...]:
    return tuple(v for v in VIEWS if not pd.isna(row[v]))


def _fit(binary: bool, x: np.ndarray, y: np.ndarray):
    if binary:
        return LogisticRegression(C=1.0, max_iter=1000).fit(x, y.astype(int))
    return LinearRegression().fit(x, y)


def _predict(model, binary: bool, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, 1] if binary else model.predict(x)


def fuse_task(task: str, view_preds: dict[str, pd.DataFrame], labels: pd.DataFrame,
              split: pd.DataFrame, min_fit: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fused test predictions, pattern counts) for one task."""
    binary = is_binary(task)
    gcol = global_column(task)
    wide = wide_predictions(view_preds).drop(columns=["split"])
    truth = labels[["study_key", "patient_key", gcol]].dropna(subset=[gcol])
    truth = with_split(truth, split)
    truth = truth[truth["split"].isin(["val", "test"])]
    data = truth.merge(wide.drop(columns=["patient_key"]), on="study_key", how="left")
    data["pattern"] = data.apply(_pattern, axis=1)
    feats = data[list(VIEWS)].to_numpy(np.float64)
    data[list(VIEWS)] = _logit(feats) if binary else feats
    val, test = data[data["split"] == "val"], data[data["split"] == "test"]

    rows, counts = [], []
    for pattern, group in sorted(test.groupby("pattern"), key=lambda kv: kv[0]):
        cols = list(pattern)
        name = "+".join(cols) if cols else "none"
        if not cols:
            counts.append(dict(task=task, views=name, n_val=0, n_test=len(group),
                               method="excluded: no view prediction"))
            continue
        support = val.dropna(subset=cols)
        y = support[gcol].to_numpy()
        enough = len(support) >= min_fit and (not binary or len(np.unique(y)) == 2)
        if enough:
            pred = _predict(_fit(binary, support[cols].to_numpy(), y), binary,
                            group[cols].to_numpy())
            method = "logistic regression" if binary else "linear regression"
        else:
            x = group[cols].to_numpy()
            pred = (1 / (1 + np.exp(-x))).mean(1) if binary else x.mean(1)
            method = "mean of available views (too few val studies to fit)"
        counts.append(dict(task=task, views=name, n_val=len(support), n_test=len(group),
                           method=method))
        rows.append(pd.DataFrame({"study_key": group["study_key"],
                                  "patient_key": group["patient_key"], "split": "test",
                                  "y_true": group[gcol].astype(int) if binary else group[gcol],
                                  "y_pred": pred}))
    fused = (pd.concat(rows) if rows else
             pd.DataFrame(columns=["study_key", "patient_key", "split", "y_true", "y_pred"]))
    fused = fused.sort_values("study_key").reset_index(drop=True)
    log.info("%s: fused %d test studies over %d view patterns", task, len(fused), len(counts))
    return fused, pd.DataFrame(counts, columns=PATTERN_COLUMNS)


def fuse_files(task: str, view_csvs: dict[str, str], labels_csv, split_csv, min_fit: int = 10):
    """File-level wrapper: read the per-view study predictions and the cohort tables."""
    view_preds = {v: pd.read_csv(p) for v, p in view_csvs.items()}
    return fuse_task(task, view_preds, pd.read_csv(labels_csv), read_split(split_csv), min_fit)
