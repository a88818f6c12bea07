"""View fusion: one global prediction per study from its A4C, A2C and PLAX predictions.

As in the paper, a logistic regression (binary tasks; a linear regression for continuous ones)
over the three view predictions is fitted on the validation split and scored on test. Binary
inputs enter as logits. `penalty` (`model.fusion_penalty`): `none` fits an unpenalised logistic
regression (the study's "logistic regression"; scikit-learn `C=inf`) and falls back, with a
logged warning and a labelled method, to L2 (C=1) when the validation studies are perfectly
separated (no finite maximum-likelihood fit; decided by a linear programme on the inputs,
`model.logistic.separable`) or the fit does not converge (the solver's warning); `l2` always
fits L2 (C=1). Missing views are handled per pattern: a test study that has, say, only
A4C and PLAX is scored by a model fitted on the validation studies that have both, using those
two inputs only. When fewer than `min_fit` validation studies (or a single class) support a
pattern, the study gets the plain mean of its available view predictions instead. Every
pattern, its support and the method used are written out and counted. The fitted models also
score the validation studies (in-sample) so that an operating threshold can be chosen on them.
"""

from __future__ import annotations

import itertools
import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression

from echocmr.model.logistic import separable
from echocmr.model.tables import read_split, with_split
from echocmr.vocab.fusion import (  # noqa: F401 (method_counts: re-exported)
    BUNDLE_MEAN_METHOD,
    EXCLUDED_METHOD,
    MEAN_METHOD,
    method_counts,
)
from echocmr.vocab.tasks import global_column, is_binary
from echocmr.vocab.views import ANALYSIS_VIEWS

log = logging.getLogger(__name__)
PATTERN_COLUMNS = ["task", "views", "n_val", "n_test", "method"]
PENALTIES = ("none", "l2")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def wide_predictions(view_preds: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """study_key, patient_key, split + one column per view (NaN where the view is missing)."""
    wide = None
    for view in ANALYSIS_VIEWS:
        df = view_preds.get(view)
        if df is None:
            continue
        df = df[["study_key", "patient_key", "split", "y_pred"]].rename(columns={"y_pred": view})
        wide = df if wide is None else wide.merge(df, on=["study_key", "patient_key", "split"],
                                                  how="outer")
    if wide is None:
        wide = pd.DataFrame(columns=["study_key", "patient_key", "split"])
    for view in ANALYSIS_VIEWS:
        if view not in wide:
            wide[view] = np.nan
    return wide


def _pattern(row: pd.Series) -> tuple[str, ...]:
    return tuple(v for v in ANALYSIS_VIEWS if not pd.isna(row[v]))


def _fit_logistic(x: np.ndarray, y: np.ndarray, penalty: str):
    """(model, method label). Unpenalised with a logged L2 fallback, or L2 throughout."""
    l2 = LogisticRegression(C=1.0, max_iter=1000)
    if penalty == "l2":
        return l2.fit(x, y), "logistic regression (L2, C=1)"
    if penalty != "none":
        raise ValueError(f"model.fusion_penalty={penalty!r}: use one of {', '.join(PENALTIES)}")
    # Separation is decided from the data (a linear programme), before fitting: a solver that
    # runs out of iterations on separated data has not "failed to converge", and one that
    # stops early on overlapping data has not found separation.
    reason = "perfect separation" if separable(x, y) else None
    if reason is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = LogisticRegression(C=np.inf, max_iter=1000, tol=1e-8).fit(x, y)
        if not any(issubclass(w.category, ConvergenceWarning) for w in caught):
            return model, "logistic regression"
        reason = "did not converge"
    log.warning("unpenalised fusion fit on %d validation studies: %s; falling back to L2 (C=1)",
                len(y), reason)
    return l2.fit(x, y), f"logistic regression (L2 fallback: {reason})"


def _fit(binary: bool, x: np.ndarray, y: np.ndarray, penalty: str = "l2"):
    if binary:
        return _fit_logistic(x, y.astype(int), penalty)
    return LinearRegression().fit(x, y), "linear regression"


def _predict(model, binary: bool, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, 1] if binary else model.predict(x)


def _frame(group: pd.DataFrame, split: str, gcol: str, binary: bool, pred) -> pd.DataFrame:
    return pd.DataFrame({"study_key": group["study_key"], "patient_key": group["patient_key"],
                         "split": split,
                         "y_true": group[gcol].astype(int) if binary else group[gcol],
                         "y_pred": pred})


def fuse_task_splits(task: str, view_preds: dict[str, pd.DataFrame], labels: pd.DataFrame,
                     split: pd.DataFrame, min_fit: int = 10, penalty: str = "l2"
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(fused test predictions, fused val predictions, pattern counts) for one task.

    The val predictions are in-sample (the fusion models were fitted on those studies); they
    serve only to choose an operating threshold, never to report performance.
    """
    return fuse_task_fit(task, view_preds, labels, split, min_fit, penalty)[:3]


def _fusion_data(task: str, view_preds: dict[str, pd.DataFrame], labels: pd.DataFrame,
                 split: pd.DataFrame) -> pd.DataFrame:
    """Labelled val/test studies with one input column per view (logits for binary tasks)."""
    binary = is_binary(task)
    gcol = global_column(task)
    wide = wide_predictions(view_preds).drop(columns=["split"])
    truth = labels[["study_key", "patient_key", gcol]].dropna(subset=[gcol])
    truth = with_split(truth, split)
    truth = truth[truth["split"].isin(["val", "test"])]
    data = truth.merge(wide.drop(columns=["patient_key"]), on="study_key", how="left")
    data["pattern"] = data.apply(_pattern, axis=1) if len(data) else []
    feats = data[list(ANALYSIS_VIEWS)].to_numpy(np.float64)
    data[list(ANALYSIS_VIEWS)] = _logit(feats) if binary else feats
    return data


def _coefficients(model, cols: list[str], method: str, n_val: int) -> dict:
    """A fitted pattern model as plain numbers (for the model bundle)."""
    if model is None:
        return {"views": cols, "kind": "mean", "method": method, "n_val": n_val}
    kind = "logistic" if isinstance(model, LogisticRegression) else "linear"
    coef = np.ravel(model.coef_).astype(float).tolist()
    intercept = float(np.ravel([model.intercept_])[0])
    return {"views": cols, "kind": kind, "method": method, "n_val": n_val,
            "coef": dict(zip(cols, coef, strict=True)), "intercept": intercept}


def fuse_task_fit(task: str, view_preds: dict[str, pd.DataFrame], labels: pd.DataFrame,
                  split: pd.DataFrame, min_fit: int = 10, penalty: str = "l2"
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[dict]]:
    """`fuse_task_splits` plus the fitted model of every view pattern (`_coefficients`)."""
    binary = is_binary(task)
    gcol = global_column(task)
    data = _fusion_data(task, view_preds, labels, split)
    val, test = data[data["split"] == "val"], data[data["split"] == "test"]
    test_patterns = set(test["pattern"])

    rows = {"val": [], "test": []}
    counts, fitted = [], []
    for pattern in sorted(test_patterns | set(val["pattern"])):
        groups = {"val": val[val["pattern"] == pattern], "test": test[test["pattern"] == pattern]}
        cols = list(pattern)
        name = "+".join(cols) if cols else "none"
        if not cols:
            if pattern in test_patterns:
                counts.append(dict(task=task, views=name, n_val=0, n_test=len(groups["test"]),
                                   method=EXCLUDED_METHOD))
            continue
        support = val.dropna(subset=cols)
        y = support[gcol].to_numpy()
        enough = len(support) >= min_fit and (not binary or len(np.unique(y)) == 2)
        if enough:
            model, method = _fit(binary, support[cols].to_numpy(), y, penalty)

            def score(x, model=model):
                return _predict(model, binary, x)
        else:
            model, method = None, MEAN_METHOD

            def score(x):
                return (1 / (1 + np.exp(-x))).mean(1) if binary else x.mean(1)
        for split_name, group in groups.items():
            if len(group):
                rows[split_name].append(_frame(group, split_name, gcol, binary,
                                               score(group[cols].to_numpy())))
        fitted.append(_coefficients(model, cols, method, len(support)))
        if pattern in test_patterns:
            counts.append(dict(task=task, views=name, n_val=len(support),
                               n_test=len(groups["test"]), method=method))
    out = {}
    for split_name, parts in rows.items():
        frame = (pd.concat(parts) if parts else
                 pd.DataFrame(columns=["study_key", "patient_key", "split", "y_true", "y_pred"]))
        out[split_name] = frame.sort_values("study_key").reset_index(drop=True)
    log.info("%s: fused %d test studies over %d view patterns (%d val studies scored in-sample)",
             task, len(out["test"]), len(counts), len(out["val"]))
    return out["test"], out["val"], pd.DataFrame(counts, columns=PATTERN_COLUMNS), fitted


def _empty_predictions() -> pd.DataFrame:
    return pd.DataFrame(columns=["study_key", "patient_key", "split", "y_true", "y_pred"])


def fitted_models(task: str, view_preds: dict[str, pd.DataFrame], labels: pd.DataFrame,
                  split: pd.DataFrame, min_fit: int = 10, penalty: str = "l2") -> list[dict]:
    """Every view pattern's fusion model fitted on the validation studies (also patterns no
    test study has), as `_coefficients` records: what a model bundle carries to other sites."""
    data = _fusion_data(task, view_preds, labels, split)
    val = data[data["split"] == "val"]
    records = []
    for r in range(1, len(ANALYSIS_VIEWS) + 1):
        for cols in itertools.combinations(ANALYSIS_VIEWS, r):
            cols = list(cols)
            support = val.dropna(subset=cols)
            y = support[global_column(task)].to_numpy()
            binary = is_binary(task)
            if len(support) >= min_fit and (not binary or len(np.unique(y)) == 2):
                model, method = _fit(binary, support[cols].to_numpy(), y, penalty)
            else:
                model, method = None, MEAN_METHOD
            records.append(_coefficients(model, cols, method, len(support)))
    return records


def apply_fusion(task: str, view_preds: dict[str, pd.DataFrame], labels: pd.DataFrame,
                 split: pd.DataFrame, models: list[dict]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """External use: score every test study with the bundle's fitted model for its view
    pattern (`fitted_models` records); no refitting. A pattern the bundle has no fitted model
    for gets the mean of its views. Returns (fused test, empty val, pattern counts)."""
    binary = is_binary(task)
    gcol = global_column(task)
    data = _fusion_data(task, view_preds, labels, split)
    test = data[data["split"] == "test"]
    by_views = {tuple(m["views"]): m for m in models}
    parts, counts = [], []
    for pattern in sorted(set(test["pattern"])):
        group = test[test["pattern"] == pattern]
        cols = list(pattern)
        name = "+".join(cols) if cols else "none"
        if not cols:
            counts.append(dict(task=task, views=name, n_val=0, n_test=len(group),
                               method=EXCLUDED_METHOD))
            continue
        model = by_views.get(tuple(cols))
        x = group[cols].to_numpy()
        if model is None or model["kind"] == "mean":
            method = MEAN_METHOD if model is not None else BUNDLE_MEAN_METHOD
            pred = (1 / (1 + np.exp(-x))).mean(1) if binary else x.mean(1)
        else:
            z = x @ np.array([model["coef"][c] for c in cols]) + model["intercept"]
            pred = 1 / (1 + np.exp(-z)) if binary else z
            method = f"bundle: {model['method']}"
        parts.append(_frame(group, "test", gcol, binary, pred))
        counts.append(dict(task=task, views=name, n_val=int(model["n_val"]) if model else 0,
                           n_test=len(group), method=method))
    fused = (pd.concat(parts) if parts else _empty_predictions())
    fused = fused.sort_values("study_key").reset_index(drop=True)
    log.info("%s: %d test studies scored with the bundle's fusion models", task, len(fused))
    return fused, _empty_predictions(), pd.DataFrame(counts, columns=PATTERN_COLUMNS)


def fusion_summary(patterns: pd.DataFrame) -> dict:
    """How the fused test studies of one task were scored, for the metrics and Table 2:
    `fusion_method` ("method: n studies; ..." over the fitted and fallback methods) and
    `n_mean_of_views` (test studies given the mean of their views instead of a fitted model)."""
    used = patterns[(patterns["method"] != EXCLUDED_METHOD) & (patterns["n_test"] > 0)]
    by_method = used.groupby("method", sort=True)["n_test"].sum()
    return {"fusion_method": "; ".join(f"{m}: {int(n)}" for m, n in by_method.items()),
            "n_mean_of_views": int(by_method.get(MEAN_METHOD, 0)
                                   + by_method.get(BUNDLE_MEAN_METHOD, 0))}


def fuse_files(task: str, view_csvs: dict[str, str], labels_csv, split_csv, min_fit: int = 10,
               penalty: str = "l2", models: list[dict] | None = None):
    """File-level wrapper: read the per-view study predictions and the cohort tables;
    returns (fused test, fused val in-sample, pattern counts, fitted models of every pattern).
    With `models` (a bundle's), apply those instead of fitting (external validation)."""
    view_preds = {v: pd.read_csv(p) for v, p in view_csvs.items()}
    labels, split = pd.read_csv(labels_csv), read_split(split_csv)
    if models is not None:
        return (*apply_fusion(task, view_preds, labels, split, models), models)
    fused, val, patterns, _ = fuse_task_fit(task, view_preds, labels, split, min_fit, penalty)
    return fused, val, patterns, fitted_models(task, view_preds, labels, split, min_fit, penalty)
