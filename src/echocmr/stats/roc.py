"""Empirical ROC curve points (for figures): one point per distinct score threshold."""

from __future__ import annotations

import numpy as np


def roc_points(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) from (0, 0) to (1, 1); tied scores move both rates at once (a diagonal step)."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(y_score, dtype=float)
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last_of_group = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(y)[last_of_group]
    fp = np.cumsum(1 - y)[last_of_group]
    n_pos, n_neg = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    return np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos]
