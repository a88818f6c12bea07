"""DeLong's test for correlated AUROCs: a hand-worked example and the definitional formula;
the model-vs-baseline rows of delong.csv and the reason each n/a row gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from echocmr.stats.delong import auc_covariance, delong_test
from echocmr.stats.evaluate import DELONG_COLUMNS, delong_table, paired_comparison
from echocmr.vocab.reasons import NO_SHARED_STUDY, NO_TEST_STUDY, too_few_patients


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


# ---- the model-vs-baseline row says why it is n/a (delong.csv `reason`) ----------------------

def _frame(rows):
    return pd.DataFrame(rows, columns=["study_key", "patient_key", "split", "y_true", "y_pred"])


MODEL = _frame([("S1", "P1", "test", 1, 0.9), ("S2", "P2", "test", 0, 0.2),
                ("S3", "P3", "test", 1, 0.7), ("S4", "P4", "test", 0, 0.4)])
BASELINE = MODEL.assign(y_pred=[0.6, 0.5, 0.3, 0.4])


def test_a_computed_comparison_has_no_reason():
    row = paired_comparison(MODEL, BASELINE, "wma", "A4C", "baseline", unit="study")
    assert row["reason"] == "" and row["auroc_model"] == 1.0 and 0 <= row["p_value"] <= 1


def test_one_class_among_the_paired_studies_is_named():
    negatives = MODEL[MODEL["y_true"] == 0]
    row = paired_comparison(negatives, BASELINE, "wma", "A4C", "baseline", unit="study")
    assert row["reason"] == "no positive test study (2 negative)"
    assert np.isnan(row["p_value"]) and np.isnan(row["auroc_model"])
    row = paired_comparison(MODEL[MODEL["y_true"] == 1], BASELINE, "wma", "A4C", "baseline")
    assert row["reason"] == "no negative test study (2 positive)"


def test_a_model_without_predictions_has_no_test_study():
    """An untrained model (or a view with no kept cine) writes an empty prediction table."""
    row = paired_comparison(MODEL.iloc[:0], BASELINE, "wma", "PLAX", "baseline", unit="patient")
    assert row["reason"] == NO_TEST_STUDY and row["n"] == 0 and np.isnan(row["diff"])


def test_a_baseline_that_scored_none_of_the_models_studies_is_named():
    other = BASELINE.assign(study_key=["S5", "S6", "S7", "S8"])
    row = paired_comparison(MODEL, other, "wma", "A4C", "baseline", unit="study")
    assert row["reason"] == NO_SHARED_STUDY and row["n"] == 0


def test_a_clustered_test_with_one_patient_of_a_class_names_the_count():
    # Both positives belong to one patient: no between-patient variance for the positives.
    one_positive_patient = MODEL.assign(patient_key=["P1", "P2", "P1", "P4"])
    row = paired_comparison(one_positive_patient, BASELINE, "wma", "A4C", "baseline",
                            unit="patient")
    assert np.isnan(row["p_value"]) and np.isfinite(row["auroc_model"])
    assert row["reason"] == too_few_patients(1, 2)
    assert row["reason"].endswith("need 2 of each for a clustered standard error")
    two_each = paired_comparison(MODEL, BASELINE, "wma", "A4C", "baseline", unit="patient")
    assert two_each["reason"] == "" and np.isfinite(two_each["p_value"])


def test_the_comparison_table_carries_the_reason_column(tmp_path):
    paths = {}
    for name, frame in (("model", MODEL.iloc[:0]), ("baseline", BASELINE)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    table = delong_table({("A2C", "wma"): paths["model"]}, {"wma": paths["baseline"]})
    assert list(table.columns) == DELONG_COLUMNS and DELONG_COLUMNS[-1] == "reason"
    assert list(table["reason"]) == [NO_TEST_STUDY]
