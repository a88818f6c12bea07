"""Vectorised bootstrap of AUROC, MAE, R2 and Bland-Altman statistics.

AUROC is the Mann-Whitney statistic with midranks for ties, i.e. exactly what scikit-learn's
`roc_auc_score` computes (its trapezoids over tied scores give the same half-credit). The scores
are sorted once; each resample is a row of observation counts (see `resample.Draws`), so a
resample's AUROC is an integer sum over tie groups:

    2 * sum_g pos_g * (2 * neg_before_g + neg_g)   /   (4 * W_pos * W_neg)

computed for a whole chunk of resamples with `np.add.reduceat` and `np.cumsum`. Integer
arithmetic until the final division keeps it equal to the reference loop to ~1e-16.

Resamples holding one class only have no AUROC: they are skipped (NaN) and counted, never
silently replaced. The interval is the 2.5th-97.5th percentile of the valid replicates (a 95%
interval; some reference code reports 5th-95th, a 90% interval, under the name 95% CI), and only
when at most MAX_SKIPPED_SHARE (1%) of the resamples were skipped: beyond that the percentiles
would describe a selected subset of resamples (those that happened to hold both classes, or a
fit), not the bootstrap distribution, so the interval is n/a with the count (`Interval.reason`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from echocmr.stats.resample import Draws, chunk_rows
from echocmr.vocab import reasons

CI_LEVEL = 0.95
MAX_SKIPPED_SHARE = 0.01  # the most resamples without a replicate a reported CI may rest on


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap interval and the resampling bookkeeping."""

    estimate: float
    ci_low: float
    ci_high: float
    n_resamples: int
    n_skipped: int
    reason: str = ""  # why the interval is n/a although the estimate exists ('' otherwise)


def percentile_ci(replicates: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float, int]:
    """(low, high, n_skipped): percentile interval over the finite replicates."""
    replicates = np.asarray(replicates, dtype=float)
    valid = replicates[np.isfinite(replicates)]
    skipped = int(replicates.size - valid.size)
    if valid.size == 0:
        return float("nan"), float("nan"), skipped
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(valid, [tail, 100.0 - tail])
    return float(low), float(high), skipped


def too_many_skipped(n_skipped: int, n_resamples: int) -> bool:
    return n_skipped > MAX_SKIPPED_SHARE * n_resamples


def ruled_ci(replicates: np.ndarray, name: str, why: str = "one class",
             level: float = CI_LEVEL) -> tuple[float, float, int, str]:
    """(low, high, n_skipped, reason): the percentile interval when at most MAX_SKIPPED_SHARE of
    the replicates are missing, else NaN bounds and a reason naming `name`, the count and `why`
    (what made a resample skip)."""
    low, high, skipped = percentile_ci(replicates, level)
    size = int(np.asarray(replicates).size)
    if not too_many_skipped(skipped, size):
        return low, high, skipped, ""
    return (float("nan"), float("nan"), skipped,
            reasons.ci_withheld(name, skipped, size, why, MAX_SKIPPED_SHARE))


def interval(estimate: float, replicates: np.ndarray, level: float = CI_LEVEL,
             name: str = "AUROC", why: str = "one class") -> Interval:
    """The estimate with its percentile interval under the skip rule (`ruled_ci`)."""
    low, high, skipped, reason = ruled_ci(replicates, name, why, level)
    if not np.isfinite(estimate):
        reason = ""  # the row's own reason says why the estimate is missing
    return Interval(float(estimate), low, high, int(np.asarray(replicates).size), skipped,
                    reason)


# --- AUROC -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _RankedScores:
    """Scores sorted once, with tie groups, shared by every resample."""

    order: np.ndarray  # observation order by ascending score
    is_pos: np.ndarray  # (n_obs,) int64 in sorted order
    group_starts: np.ndarray  # start index of each tie group in sorted order


def _rank_scores(y_true, y_score) -> _RankedScores:
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError("y_true and y_score must be 1-D arrays of the same length")
    if not np.all(np.isfinite(s)):
        raise ValueError("y_score holds NaN/inf: drop those rows before computing AUROC")
    labels = set(np.unique(y).tolist())
    if not labels <= {0, 1}:
        raise ValueError(f"y_true must be binary 0/1, got values {sorted(labels)}")
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    new_group = np.empty(s_sorted.size, dtype=bool)
    new_group[:1] = True
    new_group[1:] = s_sorted[1:] != s_sorted[:-1]
    return _RankedScores(order, y[order].astype(np.int64), np.flatnonzero(new_group))


def _auroc_from_counts(ranked: _RankedScores, counts: np.ndarray) -> np.ndarray:
    """AUROC per row of `counts` (multiplicities, original order); NaN if one class."""
    c = counts[:, ranked.order]
    pos = c * ranked.is_pos
    neg = c - pos
    pos_g = np.add.reduceat(pos, ranked.group_starts, axis=1)
    neg_g = np.add.reduceat(neg, ranked.group_starts, axis=1)
    neg_before = np.cumsum(neg_g, axis=1) - neg_g
    # Each positive beats the negatives in lower groups and ties (half credit) within its group.
    twice_wins = (pos_g * (2 * neg_before + neg_g)).sum(axis=1)
    w_pos = pos_g.sum(axis=1)
    w_neg = neg_g.sum(axis=1)
    denom = 2 * w_pos * w_neg
    out = np.full(c.shape[0], np.nan)
    ok = denom > 0
    out[ok] = twice_wins[ok] / denom[ok]
    return out


def auroc(y_true, y_score) -> float:
    """AUROC with midranks for ties (equals sklearn's roc_auc_score); NaN if only one class."""
    ranked = _rank_scores(y_true, y_score)
    return float(_auroc_from_counts(ranked, np.ones((1, ranked.order.size), dtype=np.int64))[0])


def bootstrap_auroc_replicates(y_true, y_score, draws: Draws,
                               max_cells: int = 4_000_000) -> np.ndarray:
    """AUROC of every resample in `draws` (NaN where a resample holds one class only)."""
    ranked = _rank_scores(y_true, y_score)
    if draws.n_obs != ranked.order.size:
        raise ValueError("draws were made for a different number of observations")
    step = chunk_rows(draws.n_obs, max_cells)
    out = np.empty(draws.n_resamples)
    for start in range(0, draws.n_resamples, step):
        stop = min(start + step, draws.n_resamples)
        out[start:stop] = _auroc_from_counts(ranked, draws.counts(start, stop))
    return out


def bootstrap_auroc(y_true, y_score, draws: Draws, level: float = CI_LEVEL) -> Interval:
    """AUROC of the full sample with its percentile bootstrap interval."""
    return interval(auroc(y_true, y_score), bootstrap_auroc_replicates(y_true, y_score, draws),
                    level)


# --- continuous: MAE, R2, Bland-Altman ---------------------------------------------------------

CONTINUOUS_STATS = ("mae", "r2", "bias", "loa_low", "loa_high")
CONTINUOUS_NAMES = {"mae": "MAE", "r2": "R2", "bias": "bias", "loa_low": "lower limit",
                    "loa_high": "upper limit"}
LOA_Z = 1.96


def _weighted_stats(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """MAE, R2, Bland-Altman bias and limits for each row of `weights` (float64 counts)."""
    err = p - y  # Bland-Altman difference: predicted minus measured
    yc = y - y.mean()  # centring first keeps the R2 sum of squares free of cancellation
    w = weights.sum(axis=1)
    s_y, s_yy = weights @ yc, weights @ (yc * yc)
    s_e, s_ee, s_abs = weights @ err, weights @ (err * err), weights @ np.abs(err)
    with np.errstate(divide="ignore", invalid="ignore"):
        ss_tot = s_yy - s_y * s_y / w
        r2 = np.where(ss_tot > 0, 1.0 - s_ee / ss_tot, np.nan)
        bias = s_e / w
        sd = np.sqrt(np.maximum(s_ee - s_e * s_e / w, 0.0) / (w - 1))
        sd = np.where(w > 1, sd, np.nan)
    return {"mae": s_abs / w, "r2": r2, "bias": bias,
            "loa_low": bias - LOA_Z * sd, "loa_high": bias + LOA_Z * sd}


def continuous_point(y_true, y_pred) -> dict[str, float]:
    y, p = _as_pair(y_true, y_pred)
    stats = _weighted_stats(y, p, np.ones((1, y.size)))
    return {k: float(v[0]) for k, v in stats.items()}


def _as_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError("y_true and y_pred must be 1-D arrays of the same length")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(p))):
        raise ValueError("NaN/inf in y_true or y_pred: drop those rows first")
    return y, p


def bootstrap_continuous_replicates(y_true, y_pred, draws: Draws,
                                    max_cells: int = 4_000_000) -> dict[str, np.ndarray]:
    y, p = _as_pair(y_true, y_pred)
    if draws.n_obs != y.size:
        raise ValueError("draws were made for a different number of observations")
    out = {k: np.empty(draws.n_resamples) for k in CONTINUOUS_STATS}
    step = chunk_rows(draws.n_obs, max_cells)
    for start in range(0, draws.n_resamples, step):
        stop = min(start + step, draws.n_resamples)
        stats = _weighted_stats(y, p, draws.counts(start, stop).astype(np.float64))
        for k in CONTINUOUS_STATS:
            out[k][start:stop] = stats[k]
    return out


def bootstrap_continuous(y_true, y_pred, draws: Draws,
                         level: float = CI_LEVEL) -> dict[str, Interval]:
    """MAE, R2, bias and limits of agreement, each with a percentile bootstrap interval."""
    point = continuous_point(y_true, y_pred)
    reps = bootstrap_continuous_replicates(y_true, y_pred, draws)
    return {k: interval(point[k], reps[k], level, name=CONTINUOUS_NAMES[k],
                        why="all measured values equal") for k in CONTINUOUS_STATS}
