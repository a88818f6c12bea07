"""DeLong's test for two correlated AUROCs on the same cases (DeLong et al., Biometrics 1988).

Uses the midrank formulation of Sun & Xu (IEEE Signal Process. Lett. 2014): the structural
components V10 (per positive) and V01 (per negative) of each score come from three rankings, so
the covariance of the two AUROCs costs O(n log n) instead of O(n_pos * n_neg) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, rankdata


@dataclass(frozen=True)
class DeLongResult:
    auc1: float
    auc2: float
    diff: float  # auc1 - auc2
    se: float  # standard error of the difference
    z: float
    p_value: float  # two-sided
    n_pos: int
    n_neg: int


def structural_components(y_true, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUROCs (k,), V10 (k, n_pos) and V01 (k, n_neg) for k score rows of shape (k, n)."""
    y = np.asarray(y_true).astype(bool)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    pos, neg = scores[:, y], scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    if m == 0 or n == 0:
        raise ValueError("DeLong's test needs both classes among the cases")
    aucs, v10, v01 = [], [], []
    for k in range(scores.shape[0]):
        r_all = rankdata(np.concatenate([pos[k], neg[k]]))  # midranks
        r_pos, r_neg = rankdata(pos[k]), rankdata(neg[k])
        # Negatives below each positive (ties half), and positives above each negative.
        v10.append((r_all[:m] - r_pos) / n)
        v01.append(1.0 - (r_all[m:] - r_neg) / m)
        aucs.append((r_all[:m].sum() - m * (m + 1) / 2.0) / (m * n))
    return np.array(aucs), np.array(v10), np.array(v01)


def auc_covariance(y_true, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs and their DeLong covariance matrix for k score rows on the same cases."""
    aucs, v10, v01 = structural_components(y_true, scores)
    m, n = v10.shape[1], v01.shape[1]
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((len(aucs), len(aucs)))
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((len(aucs), len(aucs)))
    return aucs, s10 / m + s01 / n


def delong_test(y_true, score1, score2) -> DeLongResult:
    """Two-sided DeLong test of AUROC(score1) == AUROC(score2) on the same cases."""
    y = np.asarray(y_true).astype(bool)
    scores = np.vstack([np.asarray(score1, dtype=float), np.asarray(score2, dtype=float)])
    if scores.shape[1] != y.size:
        raise ValueError("scores and labels must have the same length")
    aucs, cov = auc_covariance(y, scores)
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    if se > 0:
        z = diff / se
        p = float(2.0 * norm.sf(abs(z)))
    else:  # identical rankings (or degenerate cases): no evidence of a difference
        z, p = (0.0, 1.0) if diff == 0 else (float(np.sign(diff) * np.inf), 0.0)
    return DeLongResult(float(aucs[0]), float(aucs[1]), diff, se, float(z), p,
                        int(y.sum()), int((~y).sum()))
