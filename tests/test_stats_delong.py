"""DeLong's test for correlated AUROCs: a hand-worked example and the definitional formula."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from echocmr.stats.delong import auc_covariance, delong_test


def test_hand_worked_example():
    # Positives score (0.6, 0.7, 0.8) vs (0.2, 0.7, 0.9); negatives (0.1, 0.2) vs (0.3, 0.6).
    # Score 1 separates perfectly: AUC 1, all structural components constant (variance 0).
    # Score 2: V10 over positives = (0, 1, 1) -> sample variance 1/3; V01 over negatives =
    # (2/3, 2/3) -> 0. Var(AUC1 - AUC2) = (1/3)/3 + 0 = 1/9, so z = (1 - 2/3) / (1/3) = 1.
    res = delong_test([0, 0, 1, 1, 1], [0.1, 0.2, 0.6, 0.7, 0.8], [0.3, 0.6, 0.2, 0.7, 0.9])
    assert res.auc1 == 1.0 and res.auc2 == pytest.approx(2 / 3)
    assert res.se == pytest.approx(1 / 3)
    assert res.z == pytest.approx(1.0)
    assert res.p_value == pytest.approx(2 * norm.sf(1.0)) and res.p_value == pytest.approx(0.3173,
                                                                                            abs=1e-4)


def definitional_covariance(y, scores):
    """DeLong et al. (1988) eqs. directly: psi over all positive-negative pairs."""
    y = np.asarray(y).astype(bool)
    v10, v01, aucs = [], [], []
    for s in scores:
        x, z = s[y], s[~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
        aucs.append(psi.mean())
    m, n = y.sum(), (~y).sum()
    return np.array(aucs), np.cov(np.array(v10)) / m + np.cov(np.array(v01)) / n


def test_fast_covariance_equals_definition_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random(150) < 0.35).astype(int)
    s1 = np.round(rng.normal(size=150) + y, 1)
    s2 = np.round(0.5 * s1 + rng.normal(size=150), 1)
    aucs, cov = auc_covariance(y, np.vstack([s1, s2]))
    ref_aucs, ref_cov = definitional_covariance(y, [s1, s2])
    assert np.allclose(aucs, ref_aucs, atol=1e-14) and np.allclose(cov, ref_cov, atol=1e-14)
    assert aucs[0] == pytest.approx(roc_auc_score(y, s1), abs=1e-14)


def test_identical_scores_give_no_difference():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(20), np.ones(20)]
    s = rng.random(40)
    res = delong_test(y, s, s)
    assert res.diff == 0 and res.p_value == 1.0


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="both classes"):
        delong_test([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
