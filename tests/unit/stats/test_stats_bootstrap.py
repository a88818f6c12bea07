"""Vectorised bootstrap (echocmr.stats) against a reference loop with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

from echocmr.stats import bootstrap, resample


def tied_scores(n=120, seed=0, p=0.4):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < p).astype(int)
    s = np.round(rng.normal(size=n) + 1.2 * y, 1)  # one decimal: many ties
    patients = rng.integers(0, n // 2, size=n)
    return y, s, patients


def reference_replicates(y, s, draws):
    """The obvious loop: scikit-learn on the explicit indices; one-class resamples skipped."""
    out = np.full(draws.n_resamples, np.nan)
    for b in range(draws.n_resamples):
        idx = draws.indices(b)
        if y[idx].min() != y[idx].max():
            out[b] = roc_auc_score(y[idx], s[idx])
    return out


def test_point_auroc_equals_sklearn_with_ties():
    y, s, _ = tied_scores()
    assert bootstrap.auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-15)
    assert bootstrap.auroc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert bootstrap.auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert np.isnan(bootstrap.auroc([1, 1, 1], [0.1, 0.2, 0.3]))


@pytest.mark.parametrize("unit", ["study", "patient"])
def test_bootstrap_equals_sklearn_loop_on_the_same_indices(unit):
    y, s, patients = tied_scores()
    draws = resample.draw_for(np.arange(y.size), patients, unit, 800, seed=7)
    fast = bootstrap.bootstrap_auroc_replicates(y, s, draws)
    ref = reference_replicates(y, s, draws)
    assert np.array_equal(np.isnan(fast), np.isnan(ref))
    assert np.nanmax(np.abs(fast - ref)) < 1e-12
    lo, hi, skipped = bootstrap.percentile_ci(fast)
    ref_lo, ref_hi = np.percentile(ref[np.isfinite(ref)], [2.5, 97.5])
    assert abs(lo - ref_lo) < 1e-12 and abs(hi - ref_hi) < 1e-12


def test_interval_is_2_5_to_97_5_not_5_to_95():
    reps = np.linspace(0, 1, 1001)
    lo, hi, _ = bootstrap.percentile_ci(reps)
    assert (lo, hi) == pytest.approx((0.025, 0.975))
    assert (lo, hi) != pytest.approx((0.05, 0.95))


def test_single_class_resamples_are_skipped_and_counted():
    # Two positives among 30: a fair share of resamples draws no positive at all.
    y = np.zeros(30, dtype=int)
    y[[3, 17]] = 1
    s = np.linspace(0, 1, 30)
    draws = resample.draw(np.arange(30), 30, 2000, seed=3)
    res = bootstrap.bootstrap_auroc(y, s, draws)
    expected_skipped = sum(y[draws.indices(b)].sum() == 0 for b in range(2000))
    assert res.n_skipped == expected_skipped > 100
    assert res.n_resamples == 2000
    # Over 1% skipped: the percentiles of the rest would describe a selected subset, so the
    # interval is n/a and the reason gives the count.
    assert np.isnan(res.ci_low) and np.isnan(res.ci_high) and np.isfinite(res.estimate)
    assert res.reason.startswith(f"AUROC CI n/a: {expected_skipped} of 2000 resamples (")
    reps = bootstrap.bootstrap_auroc_replicates(y, s, draws)
    valid = reps[np.isfinite(reps)]
    low, high, _ = bootstrap.percentile_ci(reps)
    assert (low, high) == pytest.approx(tuple(np.percentile(valid, [2.5, 97.5])))


@pytest.mark.parametrize("n_skipped, reported", [(0, True), (20, True), (21, False)])
def test_a_ci_is_reported_only_with_at_most_one_percent_skipped(n_skipped, reported):
    reps = np.linspace(0.6, 0.9, 2000)
    reps[:n_skipped] = np.nan
    low, high, skipped, reason = bootstrap.ruled_ci(reps, "slope", "separation 5")
    assert skipped == n_skipped and np.isfinite(low) == reported == (reason == "")
    if not reported:
        assert reason == ("slope CI n/a: 21 of 2000 resamples (1.1%) skipped (separation 5), "
                          "more than the 1% allowed")


def test_all_tied_scores_give_one_half_in_every_resample():
    y = np.array([0, 1] * 20)
    draws = resample.draw(np.arange(40), 40, 200, seed=1)
    reps = bootstrap.bootstrap_auroc_replicates(y, np.full(40, 0.3), draws)
    assert np.allclose(reps[np.isfinite(reps)], 0.5)


def test_cluster_bootstrap_moves_a_patients_studies_together():
    patients = np.array(["p1", "p1", "p2", "p3", "p3", "p3"])
    unit_of_obs, n_units = resample.unit_numbers(np.arange(6), patients, "patient")
    assert n_units == 3
    draws = resample.draw(unit_of_obs, n_units, 500, seed=2)
    counts = draws.counts(0, 500)
    assert (counts[:, 0] == counts[:, 1]).all() and (counts[:, 3] == counts[:, 5]).all()
    assert (counts[:, [0, 2, 3]].sum(axis=1) == 3).all()  # n_units draws per resample
    assert len(set(counts.sum(axis=1))) > 1  # so resample sizes in studies vary
    with pytest.raises(ValueError, match="evaluate.unit"):
        resample.unit_numbers(np.arange(6), patients, "visit")


def test_chunking_and_seed_do_not_change_results():
    y, s, patients = tied_scores(seed=4)
    draws = resample.draw_for(np.arange(y.size), patients, "patient", 1000, seed=11)
    whole = bootstrap.bootstrap_auroc_replicates(y, s, draws)
    chunked = bootstrap.bootstrap_auroc_replicates(y, s, draws, max_cells=500)
    assert np.array_equal(whole, chunked, equal_nan=True)
    again = resample.draw_for(np.arange(y.size), patients, "patient", 1000, seed=11)
    assert np.array_equal(again.units, draws.units)


def test_continuous_statistics_equal_sklearn_and_numpy():
    rng = np.random.default_rng(5)
    y = rng.normal(1020, 70, 90)
    p = 0.3 * y + rng.normal(714, 50, 90)
    draws = resample.draw_for(np.arange(90), rng.integers(0, 50, 90), "patient", 300, seed=9)
    reps = bootstrap.bootstrap_continuous_replicates(y, p, draws)
    for b in range(0, 300, 7):
        idx = draws.indices(b)
        d = p[idx] - y[idx]
        assert reps["mae"][b] == pytest.approx(mean_absolute_error(y[idx], p[idx]), rel=1e-12)
        assert reps["r2"][b] == pytest.approx(r2_score(y[idx], p[idx]), rel=1e-9, abs=1e-12)
        assert reps["bias"][b] == pytest.approx(d.mean(), rel=1e-9)
        assert reps["loa_high"][b] == pytest.approx(d.mean() + 1.96 * d.std(ddof=1), rel=1e-9)
    res = bootstrap.bootstrap_continuous(y, p, draws)
    assert res["r2"].estimate == pytest.approx(r2_score(y, p), rel=1e-12)
    assert res["mae"].ci_low < res["mae"].estimate < res["mae"].ci_high


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="binary"):
        bootstrap.auroc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        bootstrap.auroc([0, 1, 1], [0.1, np.nan, 0.3])
    draws = resample.draw(np.arange(5), 5, 10, seed=0)
    with pytest.raises(ValueError, match="different number"):
        bootstrap.bootstrap_auroc_replicates([0, 1, 0], [0.1, 0.2, 0.3], draws)
