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
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from echocmr.cohort.accession import study_echo_lvef
from echocmr.model.tables import read_split, with_split
from echocmr.model.tasks import global_column, is_binary

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


def impute(df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Training-split median (mode for sex) for missing predictors; returns counts imputed."""
    train = df[df["split"] == "train"]
    counts = {}
    for col in FEATURES:
        fill = train[col].mode().iloc[0] if col == "sex_male" else train[col].median()
        fill = 0.0 if pd.isna(fill) else fill
        counts[col] = int(df[col].isna().sum())
        df[col] = df[col].fillna(fill)
    return df, counts


def baseline_task(task: str, df: pd.DataFrame) -> pd.DataFrame:
    """Val + test predictions of the LVEF/age/sex model for one binary task's global label."""
    if not is_binary(task):
        raise ValueError(f"the clinical baseline is for binary tasks; {task} is continuous")
    gcol = global_column(task)
    data = df.dropna(subset=[gcol])
    train = data[data["split"] == "train"]
    scored = data[data["split"].isin(["val", "test"])].sort_values(["split", "study_key"])
    y = train[gcol].astype(int).to_numpy()
    if len(np.unique(y)) < 2:
        log.warning("%s: one class in train; baseline predicts the training prevalence", task)
        pred = np.full(len(scored), y.mean() if len(y) else 0.5)
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(train[FEATURES].to_numpy(), y)
        pred = model.predict_proba(scored[FEATURES].to_numpy())[:, 1]
    return pd.DataFrame({"study_key": scored["study_key"], "patient_key": scored["patient_key"],
                         "split": scored["split"], "y_true": scored[gcol].astype(int),
                         "y_pred": pred}).reset_index(drop=True)


def baseline_files(labels_csv, split_csv, manifest_csv, echo_csv, clinical_csv):
    """Read the tables once; returns (design frame, imputation counts)."""
    studies = study_predictors(pd.read_csv(manifest_csv), pd.read_csv(echo_csv))
    df = design(pd.read_csv(labels_csv), read_split(split_csv), studies,
                pd.read_csv(clinical_csv))
    return impute(df)
