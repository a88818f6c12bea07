"""Permutation p-value of an AUROC against chance: patient-level label permutation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu, permutation_test
from sklearn.metrics import roc_auc_score

from echocmr.stats.permutation import auroc_permutation_p, permuted_label_sources


def clustered_null(rng, n_patients: int = 60):
    """1-5 studies per patient, the patient's label on all of them (prevalence 0.3), a patient
    effect (SD 1) in the score plus study noise (SD 0.5): no association of score and label."""
    patient = np.repeat(np.arange(n_patients), rng.integers(1, 6, n_patients))
    y = (rng.random(n_patients) < 0.3)[patient].astype(int)
    score = rng.normal(0, 1, n_patients)[patient] + rng.normal(0, 0.5, patient.size)
    return patient, y, score


def test_study_level_p_matches_scipy_permutation_test():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    score = 0.6 * y + rng.normal(0, 1, 40)

    def distance_from_chance(pos, neg, axis):  # |AUROC - 0.5| via Mann-Whitney U
        u = mannwhitneyu(pos, neg, axis=axis).statistic
        return np.abs(u / (pos.shape[axis] * neg.shape[axis]) - 0.5)

    assert distance_from_chance(score[y == 1], score[y == 0], 0) == pytest.approx(
        abs(roc_auc_score(y, score) - 0.5))
    ref = permutation_test((score[y == 1], score[y == 0]), distance_from_chance,
                           permutation_type="independent", alternative="greater",
                           vectorized=True, n_resamples=4000, random_state=1).pvalue
    ours = auroc_permutation_p(y, score, np.arange(40), 4000, seed=2)
    assert ours == pytest.approx(ref, abs=0.015)  # two Monte Carlo draws (SE ~0.004 each)


def test_patient_permutation_keeps_clusters_and_the_positive_count():
    rng = np.random.default_rng(1)
    patient, y, _ = clustered_null(rng, 30)
    permuted = y[permuted_label_sources(patient.astype(str), 200, rng)]
    assert np.all(permuted.sum(axis=1) == y.sum())
    for p in np.unique(patient):  # a patient's studies share their (new) label
        assert np.all(permuted[:, patient == p] == permuted[:, patient == p][:, :1])
    assert len({tuple(row) for row in permuted}) > 150  # and the labels really move


def test_patient_permutation_holds_type_one_error_where_study_permutation_does_not():
    rng = np.random.default_rng(2)
    p_patient, p_study = [], []
    for i in range(600):
        patient, y, score = clustered_null(rng)
        p_patient.append(auroc_permutation_p(y, score, patient, 400, seed=i))
        p_study.append(auroc_permutation_p(y, score, np.arange(y.size), 400, seed=i))
    rate_patient = np.mean(np.array(p_patient) <= 0.05)
    rate_study = np.mean(np.array(p_study) <= 0.05)
    print(f"null rejection at 0.05: patient permutation {rate_patient:.3f}, "
          f"study permutation {rate_study:.3f}")
    assert 0.025 <= rate_patient <= 0.075  # 600 sets: Monte Carlo SE 0.009
    assert rate_study > 0.15  # clustered studies treated as exchangeable: far too many


def test_strong_signal_gets_the_smallest_p_and_one_class_none():
    y = np.r_[np.ones(20), np.zeros(20)].astype(int)
    assert auroc_permutation_p(y, y + 0.01 * np.arange(40), np.arange(40), 999, 0) == 0.001
    assert np.isnan(auroc_permutation_p(np.ones(5), np.arange(5.0), np.arange(5), 99, 0))
