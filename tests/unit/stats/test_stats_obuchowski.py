"""Obuchowski's clustered AUROC comparison: DeLong with one study per patient, and nominal
type-I error on clustered null data over 50-200 patients and prevalence 0.1-0.5."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from echocmr.stats.delong import delong_test
from echocmr.stats.obuchowski import clustered_difference, clustered_test, p_values


def clustered_null_batch(rng, n_patients: int, prevalence: float, n_sets: int):
    """`n_sets` null data sets on one design: 1-5 studies per patient, the patient's label on
    its studies (10% flipped), a patient effect (SD 1) in each score plus study noise (SD 0.5);
    both scores share one distribution, so the true AUROCs are equal. Sets holding fewer than
    two studies of a class are dropped (the pipeline reports those cells as n/a)."""
    per_patient = rng.integers(1, 6, n_patients)
    patient = np.repeat(np.arange(n_patients), per_patient)
    y = (rng.random((n_sets, n_patients)) < prevalence)[:, patient]
    y = np.where(rng.random(y.shape) < 0.1, ~y, y)
    effect = rng.normal(0, 1.0, (2, n_sets, n_patients))[:, :, patient]
    scores = 1.0 * y + effect + rng.normal(0, 0.5, (2, *y.shape))
    keep = (y.sum(axis=1) >= 2) & ((~y).sum(axis=1) >= 2)
    return patient, y[keep], scores[0][keep], scores[1][keep]


def rejection_rates(n_patients: int, prevalence: float, n_designs: int = 40,
                    sets_per_design: int = 100, seed: int = 0) -> tuple[float, float]:
    """(t-reference rate, normal-reference rate) of p < 0.05 over the null data sets."""
    rng = np.random.default_rng([seed, n_patients, int(prevalence * 100)])
    p_t, p_normal = [], []
    for _ in range(n_designs):
        patient, y, s1, s2 = clustered_null_batch(rng, n_patients, prevalence, sets_per_design)
        _, _, diff, se, df = clustered_difference(y, s1, s2, patient)
        p_t.append(p_values(diff, se, df)[1])
        p_normal.append(2 * norm.sf(np.abs(diff / se)))
    return (float(np.mean(np.concatenate(p_t) < 0.05)),
            float(np.mean(np.concatenate(p_normal) < 0.05)))


@pytest.mark.parametrize("n_patients", [50, 100, 200])
@pytest.mark.parametrize("prevalence", [0.1, 0.3, 0.5])
def test_type_one_error_is_nominal_at_small_clustered_test_sets(n_patients, prevalence):
    # 10,000 / 6,000 / 4,000 null sets (Monte Carlo SE 0.0022-0.0035): the small designs,
    # where the error would show, get the most
    n_designs = {50: 100, 100: 60, 200: 40}[n_patients]
    rate, rate_normal = rejection_rates(n_patients, prevalence, n_designs)
    print(f"{n_patients} patients, prevalence {prevalence}: type-I {rate:.3f} "
          f"(normal reference {rate_normal:.3f})")
    assert 0.04 <= rate <= 0.06


def test_normal_reference_is_liberal_where_few_patients_hold_the_rare_class():
    rate, rate_normal = rejection_rates(50, 0.1)
    assert rate_normal > 0.065 and rate < rate_normal  # why the t reference is used


def test_one_study_per_patient_gives_delong():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 80)
    s1, s2 = y + rng.normal(0, 1, 80), np.round(rng.normal(0, 1, 80), 1)  # ties in s2
    res = clustered_test(y, s1, s2, np.arange(80))
    ref = delong_test(y, s1, s2)
    assert res.auc1 == pytest.approx(roc_auc_score(y, s1))
    assert res.auc2 == pytest.approx(roc_auc_score(y, s2))
    assert res.se == pytest.approx(ref.se, rel=1e-12)


def test_clustered_variance_matches_a_direct_formula():
    """Obuchowski's variance written out with explicit loops over patients and pairs."""
    rng = np.random.default_rng(5)
    patient = np.repeat(np.arange(15), rng.integers(1, 4, 15))
    y = rng.integers(0, 2, patient.size)
    s1, s2 = y + rng.normal(0, 1, patient.size), rng.normal(0, 1, patient.size)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)

    def psi(s, a, b):
        return 1.0 if s[a] > s[b] else (0.5 if s[a] == s[b] else 0.0)

    def v(s):
        v10 = {a: np.mean([psi(s, a, b) for b in neg]) for a in pos}
        v01 = {b: np.mean([psi(s, a, b) for a in pos]) for b in neg}
        return v10, v01

    (a10, a01), (b10, b01) = v(s1), v(s2)
    diff = roc_auc_score(y, s1) - roc_auc_score(y, s2)
    clusters = np.unique(patient)
    x = np.array([sum(a10[a] - b10[a] for a in pos if patient[a] == c) for c in clusters])
    z = np.array([sum(a01[b] - b01[b] for b in neg if patient[b] == c) for c in clusters])
    m_i = np.array([np.sum((patient == c) & (y == 1)) for c in clusters])
    n_i = np.array([np.sum((patient == c) & (y == 0)) for c in clusters])
    i10, i01, n_cl, m, n = (m_i > 0).sum(), (n_i > 0).sum(), clusters.size, pos.size, neg.size
    s10 = i10 / ((i10 - 1) * m) * np.sum((x - m_i * diff) ** 2)
    s01 = i01 / ((i01 - 1) * n) * np.sum((z - n_i * diff) ** 2)
    s11 = n_cl / (n_cl - 1) * np.sum((x - m_i * diff) * (z - n_i * diff))
    expected = np.sqrt(s10 / m + s01 / n + 2 * s11 / (m * n))
    res = clustered_test(y, s1, s2, patient)
    assert res.diff == pytest.approx(diff)
    assert res.se == pytest.approx(expected, rel=1e-12)
    assert res.df == min(i10, i01) - 1
    assert res.ci_low < res.diff < res.ci_high


def test_identical_scores_give_p_one():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 30)
    s = rng.normal(0, 1, 30)
    res = clustered_test(y, s, s, np.arange(30) // 2)
    assert res.diff == 0 and res.p_value == 1.0
    with pytest.raises(ValueError, match="both classes"):
        clustered_test(np.ones(5), s[:5], s[:5], np.arange(5))
