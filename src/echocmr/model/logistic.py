"""Weighted logistic maximum likelihood for many weightings at once, with a safeguarded Newton
solver and an exact account of why a fit does not exist.

Used by calibration (`calibration.py`): the intercept y ~ a + offset(lp) and the slope
y ~ a + b * lp, refitted in every bootstrap resample, each resample a row of observation counts.

Why not plain Newton: full Newton steps on the logistic log-likelihood can overshoot when the
linear predictor spans a wide range (probabilities near 0 or 1), oscillate and run off to
infinity on data whose maximum likelihood is finite. Here every step is a Newton direction,
capped in length, followed by step halving until the log-likelihood rises enough (Armijo),
started from a point of finite log-likelihood (slope: the null model, the weighted event rate
and b = 0; intercept: a = 0). The log-likelihood is concave, so this converges wherever the
maximum exists.

Why a fit does not exist is decided from the data, not from a solver running off (Albert and
Anderson 1984): the maximum exists and is unique exactly when both classes are present, the
scores are not all equal (slope fits) and the classes overlap. For one score the overlap test
is exact and cheap: the classes are (quasi-completely) separated when every positive scores at
or above every negative, or at or below; only then does the likelihood keep rising as |b| grows.
A fit that exists but did not meet the tolerance in the iteration budget is reported as such.
`separable` is the same test for several inputs (a linear programme), for the fusion fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

OK, ONE_CLASS, CONSTANT, SEPARATED, NOT_CONVERGED = range(5)
# What each status means, for `reasons` (no finite fit exists / the solver fell short).
STATUS_WORDS = {ONE_CLASS: "one class", CONSTANT: "all scores equal",
                SEPARATED: "the scores separate the classes",
                NOT_CONVERGED: "did not converge"}
MAX_ITER = 200
STEP_TOL = 1e-10  # largest Newton step (parameter units) taken as converged
MAX_HALVINGS = 60
ARMIJO = 1e-4
MAX_STEP = 10.0  # longest step (logit units) one iteration may try
ROUNDING = 1e-13


@dataclass(frozen=True)
class Fits:
    """One fit per weight row: `coef` (R, k), NaN where `status` is not OK."""

    coef: np.ndarray
    status: np.ndarray  # (R,) int: OK, ONE_CLASS, CONSTANT, SEPARATED, NOT_CONVERGED

    def counts(self) -> dict[int, int]:
        """How many rows ended with each status other than OK."""
        return {s: int((self.status == s).sum()) for s in STATUS_WORDS if (self.status == s).any()}


def _loglik(eta: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted log-likelihood per row; logaddexp keeps it finite for any eta."""
    return (w * (y * eta - np.logaddexp(0.0, eta))).sum(1)




def _newton_direction(grad: np.ndarray, hess: np.ndarray) -> np.ndarray:
    """Solve H d = g row by row for k = 1 or 2 in closed form (NaN where H is singular)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if grad.shape[1] == 1:
            return grad / hess[:, 0, :]
        h00, h01, h11 = hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]
        det = h00 * h11 - h01 * h01
        return np.stack([(h11 * grad[:, 0] - h01 * grad[:, 1]) / det,
                         (h00 * grad[:, 1] - h01 * grad[:, 0]) / det], axis=1)


def _line_search(beta, direction, slope, ll, y, x, offset, w
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step halving from the full Newton step until the log-likelihood rises by at least
    ARMIJO * t * (gradient . direction); returns (new beta, its log-likelihood, whether a step
    was accepted)."""
    t = np.ones(len(beta))
    new, ll_out = beta.copy(), ll.copy()
    pending = np.arange(len(beta))
    for _ in range(MAX_HALVINGS):
        trial = beta[pending] + t[pending, None] * direction[pending]
        ll_new = _loglik(offset + trial @ x.T, y, w[pending])
        # The rounding allowance lets a step at the optimum, where the rise is below the
        # precision of the sum, finish instead of halving to nothing.
        allowance = ROUNDING * (1.0 + np.abs(ll[pending]))
        good = ll_new >= ll[pending] + ARMIJO * t[pending] * slope[pending] - allowance
        new[pending[good]], ll_out[pending[good]] = trial[good], ll_new[good]
        pending = pending[~good]
        if not len(pending):
            break
        t[pending] *= 0.5
    accepted = np.ones(len(beta), dtype=bool)
    accepted[pending] = False
    return new, ll_out, accepted


def newton(y, x, offset, w, start, max_iter: int = MAX_ITER) -> tuple[np.ndarray, np.ndarray]:
    """Maximise sum_i w_ri [y_i eta_ri - log(1 + exp(eta_ri))], eta = offset + x @ beta_r, for
    every weight row r at once (x: (n, k), k <= 2). Returns (beta (R, k), converged (R,)).
    Only rows still moving are evaluated; callers pass rows whose maximum exists."""
    beta = np.array(start, dtype=float)
    ll = _loglik(offset + beta @ x.T, y, w)  # carried from each accepted step to the next
    converged = np.zeros(len(beta), dtype=bool)
    active = np.arange(len(beta))
    for _ in range(max_iter):
        if not len(active):
            break
        wa, b = w[active], beta[active]
        eta = offset + b @ x.T
        # expit of eta and of -eta: both tails keep their relative precision (1 - p would
        # round a probability near 1 to 0 and stall the step far from the maximum)
        p, q = expit(eta), expit(-eta)
        grad = (wa * (y - p)) @ x
        hess = np.einsum("rn,ni,nj->rij", wa * p * q, x, x)
        direction = _newton_direction(grad, hess)
        finite = np.isfinite(direction).all(1)
        direction[~finite] = 0.0
        # Where every probability sits in a far tail the Hessian all but vanishes and the
        # Newton step is astronomically long: cap it so step halving can reach a useful size.
        length = np.abs(direction).max(1, initial=0.0)
        direction *= np.minimum(1.0, MAX_STEP / np.maximum(length, MAX_STEP))[:, None]
        small = finite & (np.abs(direction).max(1) <= STEP_TOL)
        # A row whose Newton step is undefined or cannot raise the likelihood has stalled:
        # it stops, counted as not converged.
        stalled = ~finite
        step = np.flatnonzero(finite & ~small)
        if len(step):
            moved, ll_moved, accepted = _line_search(
                b[step], direction[step], (grad[step] * direction[step]).sum(1),
                ll[active[step]], y, x, offset, wa[step])
            beta[active[step]], ll[active[step]] = moved, ll_moved
            stalled[step[~accepted]] = True
        beta[active[small]] = b[small] + direction[small]
        converged[active[small]] = True
        active = active[~small & ~stalled]
    return beta, converged


def _weighted_extremes(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise min and max of `values` over the entries where `mask` (R, n) holds."""
    return (np.where(mask, values, np.inf).min(1), np.where(mask, values, -np.inf).max(1))


def existence(y: np.ndarray, score: np.ndarray | None, w: np.ndarray) -> np.ndarray:
    """Status of each weight row before fitting: ONE_CLASS, CONSTANT (slope fits), SEPARATED
    (slope fits: every drawn positive at or above every drawn negative, or at or below), OK.
    `score` None: an intercept-only fit (with offset), which exists whenever both classes do."""
    drawn = w > 0
    pos, neg = drawn & (y == 1), drawn & (y == 0)
    status = np.full(len(w), OK)
    if score is not None:
        pos_lo, pos_hi = _weighted_extremes(score, pos)
        neg_lo, neg_hi = _weighted_extremes(score, neg)
        all_lo, all_hi = _weighted_extremes(score, drawn)
        status[(neg_hi <= pos_lo) | (pos_hi <= neg_lo)] = SEPARATED
        status[all_lo == all_hi] = CONSTANT
    status[~pos.any(1) | ~neg.any(1)] = ONE_CLASS
    return status


def _event_logit(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    rate = (w @ y) / w.sum(1)
    with np.errstate(divide="ignore"):
        return np.log(rate / (1 - rate))


def _fit(y, x, offset, w, start) -> Fits:
    """Newton on the rows whose maximum exists; NaN and a status for the others."""
    score = x[:, 1] if x.shape[1] == 2 else None
    status = existence(y, score, w)
    coef = np.full((len(w), x.shape[1]), np.nan)
    ok = np.flatnonzero(status == OK)
    if len(ok):
        beta, converged = newton(y, x, offset, w[ok], start[ok])
        coef[ok[converged]] = beta[converged]
        status[ok[~converged]] = NOT_CONVERGED
    return Fits(coef, status)


def fit_offset_intercept(y, offset, w) -> Fits:
    """a per weight row: y ~ a + offset(offset). Starts at a = 0, the predictions as they are
    (finite log-likelihood for any offsets)."""
    y, offset, w = np.asarray(y, float), np.asarray(offset, float), np.atleast_2d(w)
    return _fit(y, np.ones((len(y), 1)), offset, w, np.zeros((len(w), 1)))


def fit_line(y, score, w) -> Fits:
    """(a, b) per weight row: y ~ a + b * score. Starts at the null model (a = logit of the
    event rate, b = 0), whose log-likelihood is finite whatever the scores."""
    y, score, w = np.asarray(y, float), np.asarray(score, float), np.atleast_2d(w)
    start = np.stack([np.nan_to_num(_event_logit(y, w)), np.zeros(len(w))], axis=1)
    return _fit(y, np.column_stack([np.ones(len(y)), score]), np.zeros(len(y)), w, start)


def separable(x: np.ndarray, y: np.ndarray) -> bool:
    """True when some linear score a + x @ b puts every positive at or above, and every
    negative at or below, zero with at least one strictly off it: complete or quasi-complete
    separation, where an unpenalised logistic fit has no finite maximum. The linear programme
    of Konis (2007): maximise the summed signed margins over a box; positive only if separable."""
    from scipy.optimize import linprog

    y = np.asarray(y).astype(bool)
    if y.all() or not y.any():
        return True
    design = np.column_stack([np.ones(len(y)), np.asarray(x, float)])
    signed = design * np.where(y, 1.0, -1.0)[:, None]
    res = linprog(-signed.sum(0), A_ub=-signed, b_ub=np.zeros(len(y)),
                  bounds=[(-1, 1)] * design.shape[1], method="highs")
    return bool(res.status == 0 and -res.fun > 1e-9 * max(1.0, np.abs(signed).sum()))
