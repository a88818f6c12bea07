"""Confounder baseline: for each binary task, a logistic regression of the global label on echo
LVEF, age and sex, fitted on the train split and scored on val and test (the same patient-level
splits as the video models). If a video model does not beat this, its signal may be nothing more
than reduced ejection fraction or demographics (the paper's own suspicion for LGE).

Missing predictors are imputed with the training median (sex: the training mode); how many
values were imputed is returned so the rule logs it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from echocmr.cohort.accession import study_echo_lvef
from echocmr.model.tables import read_split, with_split
from echocmr.vocab.tasks import global_column, is_binary

log = logging.getLogger(__name__)
FEATURES = ["echo_lvef_pct", "age_years", "sex_male"]


def study_predictors(manifest: pd.DataFrame, echo: pd.DataFrame) -> pd.DataFrame:
    """study_key -> echo LVEF, through the study's accession_key(s) in the manifest
    (`echocmr.cohort.accession`: any value of a multi-valued accession joins)."""
    studies = pd.DataFrame({"study_key": manifest["study_key"].dropna().unique()})
    lvef = study_echo_lvef(manifest, echo)
    studies["echo_lvef_pct"] = studies["study_key"].map(lvef)
    return studies


def design(labels: pd.DataFrame, split: pd.DataFrame, studies: pd.DataFrame,
           clinical: pd.DataFrame) -> pd.DataFrame:
    df = with_split(labels, split).merge(studies, on="study_key", how="left")
    clin = clinical[["patient_key", "age_years", "sex"]].drop_duplicates("patient_key")
    df = df.merge(clin, on="patient_key", how="left")
    df["sex_male"] = df["sex"].map({"M": 1.0, "F": 0.0})
    return df


def impute_values(df: pd.DataFrame) -> dict:
    """Training-split median (mode for sex) of each predictor (0 when train has none)."""
    train = df[df["split"] == "train"]
    fills = {}
    for col in FEATURES:
        fill = train[col].mode().iloc[0] if col == "sex_male" and train[col].notna().any() \
            else train[col].median()
        fills[col] = 0.0 if pd.isna(fill) else float(fill)
    return fills


def impute(df: pd.DataFrame, fills: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Fill missing predictors (training median/mode, or the given `fills`, e.g. a bundle's);
    returns the frame and the counts imputed."""
    fills = impute_values(df) if fills is None else fills
    counts = {}
    for col in FEATURES:
        counts[col] = int(df[col].isna().sum())
        df[col] = df[col].fillna(fills[col])
    return df, counts


def fit_baseline(task: str, df: pd.DataFrame) -> dict:
    """The task's LVEF/age/sex model fitted on train, as plain numbers (for the model bundle):
    `{"kind": "logistic", features, mean, scale, coef, intercept}` (standardised inputs), or
    `{"kind": "prevalence", "p"}` when train has one class."""
    if not is_binary(task):
        raise ValueError(f"the clinical baseline is for binary tasks; {task} is continuous")
    gcol = global_column(task)
    train = df.dropna(subset=[gcol])
    train = train[train["split"] == "train"]
    y = train[gcol].astype(int).to_numpy()
    if len(np.unique(y)) < 2:
        log.warning("%s: one class in train; baseline predicts the training prevalence", task)
        return {"kind": "prevalence", "p": float(y.mean()) if len(y) else 0.5}
    scaler = StandardScaler().fit(train[FEATURES].to_numpy())
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(train[FEATURES].to_numpy()), y)
    return {"kind": "logistic", "features": list(FEATURES),
            "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(),
            "coef": model.coef_.ravel().tolist(), "intercept": float(model.intercept_[0])}


def score_baseline(model: dict, x: np.ndarray) -> np.ndarray:
    """Probabilities of a `fit_baseline` record for predictor rows `x` (FEATURES order)."""
    if model["kind"] == "prevalence":
        return np.full(len(x), model["p"])
    z = ((x - np.array(model["mean"])) / np.array(model["scale"])) @ np.array(model["coef"])
    return 1 / (1 + np.exp(-(z + model["intercept"])))


def baseline_task(task: str, df: pd.DataFrame, model: dict | None = None) -> pd.DataFrame:
    """Val + test predictions of the LVEF/age/sex model for one binary task's global label:
    fitted on train here, or `model` (a bundle's `fit_baseline` record) applied as given."""
    if not is_binary(task):
        raise ValueError(f"the clinical baseline is for binary tasks; {task} is continuous")
    gcol = global_column(task)
    data = df.dropna(subset=[gcol])
    scored = data[data["split"].isin(["val", "test"])].sort_values(["split", "study_key"])
    model = fit_baseline(task, df) if model is None else model
    pred = score_baseline(model, scored[FEATURES].to_numpy(dtype=float))
    return pd.DataFrame({"study_key": scored["study_key"], "patient_key": scored["patient_key"],
                         "split": scored["split"], "y_true": scored[gcol].astype(int),
                         "y_pred": pred}).reset_index(drop=True)


def baseline_files(labels_csv, split_csv, manifest_csv, echo_csv, clinical_csv,
                   fills: dict | None = None):
    """Read the tables once; returns (design frame, imputation counts, fill values used).
    `fills`: a bundle's training medians (external use), else this cohort's train split's."""
    studies = study_predictors(pd.read_csv(manifest_csv), pd.read_csv(echo_csv))
    df = design(pd.read_csv(labels_csv), read_split(split_csv), studies,
                pd.read_csv(clinical_csv))
    fills = impute_values(df) if fills is None else fills
    df, counts = impute(df, fills)
    return df, counts, fills
