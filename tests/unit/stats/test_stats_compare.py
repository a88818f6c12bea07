"""Model-vs-reference AUROC comparison: clustered (patient bootstrap) or DeLong, by unit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from echocmr.stats import resample
from echocmr.stats.compare import bootstrap_difference, compare, paired_auroc_replicates
from echocmr.stats.delong import delong_test


def null_data_sets(n_sets: int, n_patients: int, seed: int):
    """Correlated studies under the null: 1-5 studies per patient sharing the patient's label
    (10% of studies flipped) and a patient effect (SD 1) in each score, plus study noise (SD 0.5).
    The two scores have the same distribution, hence the same true AUROC."""
    rng = np.random.default_rng(seed)
    for _ in range(n_sets):
        k = rng.integers(1, 6, n_patients)
        patient = np.repeat(np.arange(n_patients), k)
        y = (rng.random(n_patients) < 0.4)[patient].astype(int)
        y = np.where(rng.random(y.size) < 0.1, 1 - y, y)
        effect = rng.normal(0, 1.0, (2, n_patients))[:, patient]
        scores = 1.0 * y + effect + rng.normal(0, 0.5, (2, y.size))
        yield patient, y, scores


def test_clustered_comparison_keeps_the_type_one_error_where_plain_delong_inflates():
    n_sets, n_patients = 1000, 60
    p_cluster, p_delong = [], []
    for patient, y, s in null_data_sets(n_sets, n_patients, seed=7):
        p_cluster.append(compare(y, s[0], s[1], "patient", patient).p_value)
        p_delong.append(delong_test(y, s[0], s[1]).p_value)
    rate_cluster = np.mean(np.array(p_cluster) < 0.05)
    rate_delong = np.mean(np.array(p_delong) < 0.05)
    print(f"type-I error at 0.05: Obuchowski clustered {rate_cluster:.3f}, "
          f"plain DeLong {rate_delong:.3f}")
    assert 0.035 <= rate_cluster <= 0.065
    assert rate_delong > 0.12  # studies treated as independent: the null is rejected too often


def test_bootstrap_difference_is_centred_and_wider_than_delong_on_clustered_data():
    """The patient-bootstrap z-test (kept for comparison): same difference, larger SE."""
    patient, y, s = next(null_data_sets(1, 60, seed=2))
    draws = resample.draw(patient, 60, 400, seed=3)
    boot = bootstrap_difference(y, s[0], s[1], draws)
    assert boot.diff == pytest.approx(roc_auc_score(y, s[0]) - roc_auc_score(y, s[1]))
    assert boot.n_resamples == 400 and boot.se > delong_test(y, s[0], s[1]).se


def test_paired_replicates_match_a_reference_loop():
    rng = np.random.default_rng(3)
    patient = np.repeat(np.arange(12), rng.integers(1, 4, 12))
    y = rng.integers(0, 2, patient.size)
    s1, s2 = y + rng.normal(0, 1, patient.size), np.round(rng.random(patient.size), 1)
    draws = resample.draw(patient, 12, 50, seed=5)
    r1, r2 = paired_auroc_replicates(y, s1, s2, draws)
    for b in range(50):
        idx = draws.indices(b)
        if len(np.unique(y[idx])) < 2:
            assert np.isnan(r1[b]) and np.isnan(r2[b])
            continue
        assert r1[b] == pytest.approx(roc_auc_score(y[idx], s1[idx]), abs=1e-12)
        assert r2[b] == pytest.approx(roc_auc_score(y[idx], s2[idx]), abs=1e-12)


def test_compare_uses_the_unit_to_choose_the_method():
    rng = np.random.default_rng(4)
    patient = np.repeat(np.arange(40), 2)
    y = rng.integers(0, 2, 80)
    strong, weak = 2 * y + rng.normal(0, 1, 80), 0.2 * y + rng.normal(0, 1, 80)
    by_study = compare(y, strong, weak, "study")
    assert by_study.method == "DeLong" and by_study.n_resamples == 0
    assert by_study.p_value == pytest.approx(delong_test(y, strong, weak).p_value)
    by_patient = compare(y, strong, weak, "patient", patient)
    assert by_patient.method.startswith("Obuchowski")
    assert by_patient.diff == pytest.approx(by_study.diff)
    assert by_patient.ci_low > 0 and by_patient.p_value < 0.01 and by_patient.n_resamples == 0
    same = compare(y, strong, strong, "patient", patient)
    assert same.diff == 0 and same.p_value == 1.0
    with pytest.raises(ValueError, match="patient of each study"):
        compare(y, strong, weak, "patient")
    with pytest.raises(ValueError, match="evaluate.unit"):
        compare(y, strong, weak, "hospital")
