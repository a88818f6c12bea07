"""From per-video class probabilities to the contract table `views.csv` and its QC rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.vocab.qc import qc_rows
from echocmr.vocab.views import ANALYSIS_VIEWS, PROB_COLUMNS, VIEW_CLASSES

VIEWS_COLUMNS = ["video_key", "study_key", "patient_key", "view", *PROB_COLUMNS, "confidence",
                 "status", "reason"]

# Fixed exclusion vocabulary of this stage (documented in docs/views.md).
REASON_OTHER = "other view"
REASON_LOW_CONFIDENCE = "low confidence"
REASON_NO_LABEL = "no view label"
REASON_CONFLICTING_LABELS = "conflicting view labels"
REASONS = [REASON_OTHER, REASON_LOW_CONFIDENCE, REASON_NO_LABEL, REASON_CONFLICTING_LABELS]

# Probabilities are written rounded: 6 decimals is far finer than any threshold, and it keeps
# the table byte-stable against last-bit float noise.
PROB_DECIMALS = 6


def decide_views(probs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Predicted view = argmax; kept only for an analysis view with confidence >= threshold.

    `probs` holds video_key, study_key, patient_key, p_A4C..p_OTHER and optionally `reason`
    (a backend-given exclusion such as "no view label", which wins over everything else).
    """
    out = probs.copy()
    p = out[PROB_COLUMNS].to_numpy(dtype=float)
    p = np.round(p, PROB_DECIMALS)
    out[PROB_COLUMNS] = p
    out["view"] = [VIEW_CLASSES[i] for i in p.argmax(axis=1)] if len(out) else []
    out["confidence"] = p.max(axis=1) if len(out) else []
    given = out["reason"].fillna("") if "reason" in out else pd.Series("", index=out.index)
    reason = np.where(given != "", given,
                      np.where(~out["view"].isin(ANALYSIS_VIEWS), REASON_OTHER,
                               np.where(out["confidence"] < threshold, REASON_LOW_CONFIDENCE, "")))
    out["reason"] = reason
    out["status"] = np.where(out["reason"] == "", "kept", "excluded")
    return out[VIEWS_COLUMNS].reset_index(drop=True)


def views_qc(views: pd.DataFrame, step: str = "viewed", unit: str = "videos") -> pd.DataFrame:
    """One QC row per exclusion reason (or one empty-reason row when nothing was excluded)."""
    excluded = views.loc[views["status"] == "excluded", "reason"]
    return qc_rows(step, unit, len(views), excluded, order=REASONS)
