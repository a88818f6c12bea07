"""Comparison of two AUROCs on the same studies, respecting the resampling unit.

`evaluate.unit: study` treats studies as independent: DeLong's test (`delong.py`), as before.

`evaluate.unit: patient` (the default): patients often contribute several echo studies, which
share the patient's anatomy, image quality and label, so a test that treats them as independent
understates the variance of the AUROC difference (a simulation with 1-5 studies per patient
sharing a patient effect rejected a true null 2-3 times too often with plain DeLong,
`tests/.../test_stats_compare.py`). The clustered test is Obuchowski's (1997): DeLong's structural
components summed per patient, with a Student-t reference (`obuchowski.py`). It keeps the
type-I error at 0.043-0.053 for 50-200 test patients and prevalence 0.1-0.5, where the
patient-bootstrap z-test (`bootstrap_difference`, kept for comparison) was liberal at the tissue
tasks' test sizes (0.07-0.09 at 60-76 patients and prevalence 0.15-0.28).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from echocmr.stats.bootstrap import CI_LEVEL, _auroc_from_counts, _rank_scores, percentile_ci
from echocmr.stats.delong import delong_test
from echocmr.stats.obuchowski import clustered_test
from echocmr.stats.resample import Draws, chunk_rows

METHODS = {"study": "DeLong", "patient": "Obuchowski clustered (patients)"}
BOOTSTRAP_METHOD = "cluster bootstrap (patients)"


@dataclass(frozen=True)
class Comparison:
    method: str
    auc1: float
    auc2: float
    diff: float  # auc1 - auc2
    se: float
    z: float
    p_value: float  # two-sided
    ci_low: float  # interval of the difference (NaN for DeLong)
    ci_high: float
    n_resamples: int  # 0 for DeLong
    n_skipped: int


def _z_and_p(diff: float, se: float) -> tuple[float, float]:
    if se > 0:
        z = diff / se
        return float(z), float(2.0 * norm.sf(abs(z)))
    # Identical rankings in every resample: no evidence of a difference (or an infinite z).
    return (0.0, 1.0) if diff == 0 else (float(np.sign(diff) * np.inf), 0.0)


def paired_auroc_replicates(y_true, score1, score2, draws: Draws,
                            max_cells: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
    """AUROC of both scores in every resample of `draws` (the count matrix is built once)."""
    r1, r2 = _rank_scores(y_true, score1), _rank_scores(y_true, score2)
    if draws.n_obs != r1.order.size:
        raise ValueError("draws were made for a different number of observations")
    out1, out2 = np.empty(draws.n_resamples), np.empty(draws.n_resamples)
    step = chunk_rows(draws.n_obs, max_cells)
    for start in range(0, draws.n_resamples, step):
        stop = min(start + step, draws.n_resamples)
        counts = draws.counts(start, stop)
        out1[start:stop] = _auroc_from_counts(r1, counts)
        out2[start:stop] = _auroc_from_counts(r2, counts)
    return out1, out2


def bootstrap_difference(y_true, score1, score2, draws: Draws,
                         level: float = CI_LEVEL) -> Comparison:
    """Bootstrap test of AUROC(score1) == AUROC(score2) over the resamples in `draws`."""
    y = np.asarray(y_true).astype(int)
    ones = np.ones((1, y.size), dtype=np.int64)
    auc1 = float(_auroc_from_counts(_rank_scores(y, score1), ones)[0])
    auc2 = float(_auroc_from_counts(_rank_scores(y, score2), ones)[0])
    rep1, rep2 = paired_auroc_replicates(y, score1, score2, draws)
    reps = rep1 - rep2  # NaN in the same (one-class) resamples for both scores
    low, high, skipped = percentile_ci(reps, level)
    valid = reps[np.isfinite(reps)]
    se = float(np.std(valid, ddof=1)) if valid.size > 1 else float("nan")
    if draws.n_units > 1:  # the bootstrap variance is (n-1)/n of the unbiased one
        se *= float(np.sqrt(draws.n_units / (draws.n_units - 1)))
    diff = auc1 - auc2
    z, p = _z_and_p(diff, se) if np.isfinite(se) else (float("nan"), float("nan"))
    return Comparison(BOOTSTRAP_METHOD, auc1, auc2, diff, se, z, p, low, high,
                      draws.n_resamples, skipped)


def delong_comparison(y_true, score1, score2) -> Comparison:
    res = delong_test(y_true, score1, score2)
    return Comparison(METHODS["study"], res.auc1, res.auc2, res.diff, res.se, res.z,
                      res.p_value, float("nan"), float("nan"), 0, 0)


def obuchowski_comparison(y_true, score1, score2, patients) -> Comparison:
    res = clustered_test(y_true, score1, score2, patients)
    return Comparison(METHODS["patient"], res.auc1, res.auc2, res.diff, res.se, res.t,
                      res.p_value, res.ci_low, res.ci_high, 0, 0)


def compare(y_true, score1, score2, unit: str, patients=None) -> Comparison:
    """The test `evaluate.unit` asks for: DeLong by study, Obuchowski's clustered test by
    patient (`patients`: the patient of each study)."""
    if unit == "study":
        return delong_comparison(y_true, score1, score2)
    if unit == "patient":
        if patients is None:
            raise ValueError("the clustered comparison needs the patient of each study")
        return obuchowski_comparison(y_true, score1, score2, patients)
    raise ValueError(f"evaluate.unit={unit!r}: use one of {', '.join(METHODS)}")
