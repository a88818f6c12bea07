"""The calibration fits (echocmr.model.logistic) against independent optimisers on adversarial
inputs: scipy (trust-region Newton, Brent's root finder, a linear programme) and scikit-learn,
never the project's own code. Wide logit ranges (probabilities 1e-6 to 1 - 1e-6), calibration
slopes from -1 to 3, small samples (20-40 studies with 3-8 events), near-separation and heavy
ties; the full sample and 200 random resample weightings of each."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq, linprog, minimize, root
from sklearn.linear_model import LogisticRegression

from echocmr.model import logistic
from echocmr.stats.calibration import _logit, calibration_row, fit_intercept, fit_slope

TOL = 1e-6
N_WEIGHTINGS = 200


def _expit(z):
    return 1 / (1 + np.exp(-z))


def case(n: int, events: int, slope: float, seed: int, spread: float = 13.8, ties: int = 0,
         near_separation: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(y, logit of the predicted probability): logits uniform on +/- `spread` (13.8: the
    probabilities span 1e-6..1-1e-6); the `events` studies with the highest
    slope * logit + logistic noise are the positives, so the calibration slope is near `slope`;
    `ties`: the logits rounded to that many distinct values; `near_separation`: every positive
    above every negative but for one crossing pair."""
    rng = np.random.default_rng(seed)
    lp = np.sort(rng.uniform(-spread, spread, n))
    if ties:
        lp = np.linspace(-spread, spread, ties)[np.round(
            (lp + spread) / (2 * spread) * (ties - 1)).astype(int)]
    y = np.zeros(n)
    if near_separation:
        y[n - events:] = 1
        y[[n - events - 1, n - events]] = y[[n - events, n - events - 1]]  # one crossing pair
    else:
        y[np.argsort(slope * lp + rng.logistic(size=n))[n - events:]] = 1
    return y, lp


CASES = {
    "probabilities 1e-6..1-1e-6": dict(n=40, events=8, slope=1.0, seed=1),
    "slope -1": dict(n=30, events=6, slope=-1.0, seed=2, spread=3.0),
    "slope 3": dict(n=40, events=8, slope=3.0, seed=3, spread=2.0),
    "3 events in 20": dict(n=20, events=3, slope=0.5, seed=4, spread=6.0),
    "heavy ties": dict(n=36, events=7, slope=1.5, seed=5, spread=4.0, ties=4),
    "near separation": dict(n=24, events=6, slope=1.0, seed=6, near_separation=True),
}


def reference_line(y, x, w) -> np.ndarray:
    """(a, b) of y ~ a + b x by scipy: trust-region Newton on the weighted log-likelihood,
    then its root finder on the score equations."""
    design = np.column_stack([np.ones_like(x), x])

    def nll(beta):
        eta = design @ beta
        return -(w * (y * eta - np.logaddexp(0, eta))).sum()

    def grad(beta):
        return -design.T @ (w * (y - _expit(design @ beta)))

    def hess(beta):
        p = _expit(design @ beta)
        return (design * (w * p * (1 - p))[:, None]).T @ design

    res = minimize(nll, np.zeros(2), jac=grad, hess=hess, method="trust-exact",
                   options={"gtol": 1e-12, "maxiter": 1000})
    # trust-exact can stop with a gradient near 1e-7 on a flat, near-separated likelihood:
    # finish on the score equations with scipy's root finder.
    return root(grad, res.x, jac=hess, method="hybr", tol=1e-15).x


def reference_intercept(y, offset, w) -> float:
    """a of y ~ a + offset(offset): the root of its score equation (monotone in a), by Brent."""
    def score(a):
        return (w * (y - _expit(a + offset))).sum()
    return brentq(score, -60, 60, xtol=1e-14, rtol=1e-15)


def lp_separated(y, x, w) -> bool:
    """Independent separation check: is there (a, b) with every drawn positive at or above
    a + b x = 0 and every drawn negative at or below, summed margins at least 1?"""
    drawn = w > 0
    sign = np.where(y[drawn] == 1, 1.0, -1.0)
    rows = sign[:, None] * np.column_stack([np.ones(drawn.sum()), x[drawn]])
    a_ub = np.vstack([-rows, -rows.sum(0)])
    b_ub = np.r_[np.zeros(drawn.sum()), -1.0]
    res = linprog(np.zeros(2), A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * 2,
                  method="highs")
    return res.status == 0


def weightings(n: int, seed: int) -> np.ndarray:
    """Random bootstrap resamples of n studies as count rows."""
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n),
                                                   size=N_WEIGHTINGS).astype(float)


@pytest.mark.parametrize("name", CASES)
def test_full_sample_fits_equal_scipy_and_sklearn(name):
    y, lp = case(**CASES[name])
    ones = np.ones(len(y))
    slope = fit_slope(y, lp, ones[None, :])
    assert slope.status[0] == logistic.OK
    assert slope.coef[0] == pytest.approx(reference_line(y, lp, ones), abs=TOL)
    sk = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12,
                            max_iter=1000).fit(lp[:, None], y)
    assert slope.coef[0] == pytest.approx([sk.intercept_[0], sk.coef_[0, 0]], abs=1e-5)
    intercept = fit_intercept(y, lp, ones[None, :])
    assert intercept.coef[0, 0] == pytest.approx(reference_intercept(y, lp, ones), abs=TOL)


@pytest.mark.parametrize("name", CASES)
def test_every_resample_fit_equals_scipy_or_is_truly_without_a_maximum(name):
    y, lp = case(**CASES[name])
    w = weightings(len(y), seed=len(name))
    slopes, intercepts = fit_slope(y, lp, w), fit_intercept(y, lp, w)
    assert not (slopes.status == logistic.NOT_CONVERGED).any()
    assert not (intercepts.status == logistic.NOT_CONVERGED).any()
    for r in range(N_WEIGHTINGS):
        one_class = len(np.unique(y[w[r] > 0])) < 2
        assert (intercepts.status[r] == logistic.ONE_CLASS) == one_class
        if not one_class:
            assert intercepts.coef[r, 0] == pytest.approx(reference_intercept(y, lp, w[r]),
                                                          abs=TOL)
        if slopes.status[r] == logistic.OK:
            assert slopes.coef[r] == pytest.approx(reference_line(y, lp, w[r]), abs=TOL)
        elif not one_class:  # no maximum: the classes separate (or every score is equal)
            assert slopes.status[r] in (logistic.SEPARATED, logistic.CONSTANT)
            assert lp_separated(y, lp, w[r])
        else:
            assert np.isnan(slopes.coef[r]).all()
    # Where the LP finds overlap the fit exists: separation is never claimed without it.
    claimed = np.flatnonzero(slopes.status == logistic.SEPARATED)
    overlap = [r for r in range(N_WEIGHTINGS)
               if len(np.unique(y[w[r] > 0])) == 2 and not lp_separated(y, lp, w[r])]
    assert not set(claimed) & set(overlap) and all(slopes.status[overlap] == logistic.OK)


def test_separated_scores_are_named_and_the_likelihood_keeps_rising():
    y = np.r_[np.zeros(10), np.ones(10)]
    lp = np.r_[np.linspace(-3, -0.5, 10), np.linspace(0.5, 3, 10)]
    fits = fit_slope(y, lp, np.ones((1, 20)))
    assert fits.status[0] == logistic.SEPARATED and np.isnan(fits.coef[0]).all()

    def loglik(b):
        return (y * b * lp - np.logaddexp(0, b * lp)).sum()
    assert loglik(1) < loglik(10) < loglik(100) < 0  # no finite maximum


def demo_like(seed: int = 0, n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping classes (AUROC about 0.85) with probabilities 2.5e-5..0.985: the kind of
    data on which full Newton steps from (0, 1) ran off (issue text: 1.0, -0.5, 3.8, -216, 1e18)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    z = rng.normal(0, 1, n) + 1.5 * y
    return y, _logit(np.clip(_expit(2.5 * z - 6), 2.5e-5, 0.985))


def test_demo_like_scores_get_their_slope_and_every_resample_a_fit():
    y, lp = demo_like()
    frame = {"study_key": [f"S{i}" for i in range(len(y))],
             "patient_key": [f"P{i // 2}" for i in range(len(y))], "split": "test",
             "y_true": y, "y_pred": _expit(lp)}
    import pandas as pd

    row = calibration_row(pd.DataFrame(frame), "A4C", "wma", 400, "patient", 7)
    ref = reference_line(y, lp, np.ones(len(y)))
    assert row["slope"] == pytest.approx(ref[1], abs=TOL) and row["reason"] == ""
    assert row["intercept"] == pytest.approx(reference_intercept(y, lp, np.ones(len(y))),
                                             abs=TOL)
    assert row["slope_n_skipped"] == 0 and row["slope_ci_low"] < ref[1] < row["slope_ci_high"]
