"""Split-table helpers shared by training, fusion and the baseline (no torch import, so the
`stats`-env rules can use them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_split(split_csv: str | Path) -> pd.DataFrame:
    """`study_key, patient_key, split` (cohort's study_split.csv) or `patient_key, split`."""
    split = pd.read_csv(split_csv)
    missing = {"patient_key", "split"} - set(split.columns)
    if missing:
        raise ValueError(f"{split_csv} lacks columns {sorted(missing)}")
    return split


def with_split(frame: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """Attach the split by study when the split table has studies (the cohort may split by
    study), else by patient; rows without a split are dropped."""
    if "study_key" in split.columns:
        return frame.merge(split[["study_key", "split"]].drop_duplicates("study_key"),
                           on="study_key", how="inner")
    return frame.merge(split[["patient_key", "split"]].drop_duplicates("patient_key"),
                       on="patient_key", how="inner")
