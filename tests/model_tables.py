"""Study-level prediction tables for the fusion and bundle tests: three views whose predictions
carry a known effect on the label, a val/test split by study, and views that can miss studies."""

from __future__ import annotations

import numpy as np
import pandas as pd


def study_tables(n=160, effect=1.0, seed=0, drop=None):
    rng = np.random.default_rng(seed)
    keys = [f"S{i:04d}" for i in range(n)]
    splits = np.where(np.arange(n) < n // 2, "val", "test")
    y = rng.integers(0, 2, n)
    labels = pd.DataFrame({"study_key": keys, "patient_key": keys, "wma_global": y})
    split = pd.DataFrame({"study_key": keys, "patient_key": keys, "split": splits})
    preds = {}
    for view in ("A4C", "A2C", "PLAX"):
        p = 1 / (1 + np.exp(-(effect * (2 * y - 1) + rng.normal(0, 1, n))))
        df = pd.DataFrame({"study_key": keys, "patient_key": keys, "split": splits,
                           "y_true": y, "y_pred": p})
        preds[view] = df[~df["study_key"].isin((drop or {}).get(view, []))]
    return preds, labels, split
