"""View fusion: unpenalised or L2 logistic regression (model.fusion_penalty), the logged L2
fallback, in-sample val predictions and the fallback summary the metrics and Table 2 carry."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from model_tables import study_tables
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from echocmr.model import fuse
from echocmr.model.fuse import MEAN_METHOD, fuse_task_splits, fusion_summary
from echocmr.model.logistic import separable


def test_unpenalised_fit_is_the_maximum_likelihood_fit():
    preds, labels, split = study_tables()
    test_none, val_none, pat_none = fuse_task_splits("wma", preds, labels, split, penalty="none")
    test_l2, _, pat_l2 = fuse_task_splits("wma", preds, labels, split, penalty="l2")
    assert list(pat_none["method"]) == ["logistic regression"]
    assert list(pat_l2["method"]) == ["logistic regression (L2, C=1)"]
    # Reference: the maximum-likelihood fit by Newton-Raphson (IRLS, what R's glm does).
    wide = pd.DataFrame({v: preds[v].set_index("study_key")["y_pred"] for v in preds})
    logit = np.log(wide / (1 - wide))
    val_keys = split.loc[split["split"] == "val", "study_key"]
    y_val = labels.set_index("study_key").loc[val_keys, "wma_global"].to_numpy()
    x_val = np.column_stack([np.ones(len(val_keys)), logit.loc[val_keys].to_numpy()])
    beta = np.zeros(x_val.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x_val @ beta))
        beta += np.linalg.solve(x_val.T @ (x_val * (p * (1 - p))[:, None]), x_val.T @ (y_val - p))
    x_test = np.column_stack([np.ones(len(test_none)),
                              logit.loc[test_none["study_key"]].to_numpy()])
    expected = 1 / (1 + np.exp(-x_test @ beta))
    np.testing.assert_allclose(test_none["y_pred"], expected, atol=1e-5)
    assert not np.allclose(test_none["y_pred"], test_l2["y_pred"])
    # The val studies are scored in-sample, for choosing a threshold.
    assert set(val_none["split"]) == {"val"} and len(val_none) == 80
    assert set(test_none["split"]) == {"test"} and len(test_none) == 80


def test_perfect_separation_falls_back_to_l2_and_says_so(caplog):
    preds, labels, split = study_tables(effect=8.0)  # views separate the classes perfectly
    with caplog.at_level(logging.WARNING, logger="echocmr.model.fuse"):
        fused, _, patterns = fuse_task_splits("wma", preds, labels, split, penalty="none")
    assert patterns.loc[0, "method"] == "logistic regression (L2 fallback: perfect separation)"
    assert "falling back to L2" in caplog.text
    assert np.isfinite(fused["y_pred"]).all()


def test_non_convergence_falls_back_to_l2(monkeypatch):
    class NeverConverges(LogisticRegression):
        def fit(self, x, y):
            if np.isinf(self.C):
                import warnings
                warnings.warn("lbfgs failed to converge", ConvergenceWarning, stacklevel=2)
            return super().fit(x, y)

    monkeypatch.setattr(fuse, "LogisticRegression", NeverConverges)
    preds, labels, split = study_tables()
    _, _, patterns = fuse_task_splits("wma", preds, labels, split, penalty="none")
    assert patterns.loc[0, "method"] == "logistic regression (L2 fallback: did not converge)"


def test_separation_check():
    y = np.array([0, 0, 1, 1])
    assert separable(np.array([[0.1], [0.2], [0.9], [1.5]]), y)
    assert separable(np.array([[0.1], [0.5], [0.5], [1.5]]), y)  # quasi-complete
    assert not separable(np.array([[0.1], [0.6], [0.5], [1.5]]), y)
    # Two inputs: XOR overlaps (no line separates it), but a diagonal split does separate
    # classes that neither input separates alone.
    corners = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], dtype=float)
    assert not separable(corners, y)
    diagonal = np.array([[0, 3], [3, 0], [2, 2], [1, 4]], dtype=float)  # x1 + x2 >= 4 iff y
    assert separable(diagonal, y)
    assert not separable(diagonal[:, :1], y) and not separable(diagonal[:, 1:], y)


def test_the_unpenalised_fit_runs_off_only_where_the_lp_finds_separation():
    # Independent check: scikit-learn's unpenalised coefficients keep growing as its
    # tolerance tightens on separated data, and stay put on overlapping data.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    for data, y_, expect in ((x, y, True), (x, np.where(np.arange(40) < 3, 1 - y, y), False)):
        norms = [np.abs(LogisticRegression(C=np.inf, tol=tol, max_iter=100_000).fit(data, y_)
                        .coef_).max() for tol in (1e-4, 1e-10)]
        assert separable(data, y_) == expect == (norms[1] > 2 * norms[0])


def test_bad_penalty_is_refused():
    preds, labels, split = study_tables()
    with pytest.raises(ValueError, match="fusion_penalty"):
        fuse_task_splits("wma", preds, labels, split, penalty="lasso")


def test_fallback_summary_counts_the_studies_given_a_mean_of_views():
    keys = [f"S{i:04d}" for i in range(160)]
    # Only 5 val studies have A4C: too few to fit the three-view pattern, which 73 test
    # studies have; the 7 test studies without A4C use the A2C+PLAX fit (80 val studies).
    preds, labels, split = study_tables(drop={"A4C": keys[:75] + keys[80:87]})
    fused, _, patterns = fuse_task_splits("wma", preds, labels, split, min_fit=10,
                                          penalty="none")
    summary = fusion_summary(patterns)
    assert summary["n_mean_of_views"] == 73
    assert summary["fusion_method"] == f"logistic regression: 7; {MEAN_METHOD}: 73"
    assert len(fused) == 80
