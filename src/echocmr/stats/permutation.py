"""Permutation p-value of an AUROC against chance (0.5), by patient.

A bootstrap CI that straddles 0.5 does not say how surprising the estimate is under "the score
knows nothing of the label"; this p-value does. Labels are permuted between patients with the
same number of test studies (each takes over the other's labels, study by study), so a patient's
studies keep their shared label and every permuted data set has the same clustering and the same
positive count as the real one: exact under the null that patients are exchangeable given their
study count and the score carries no information about the label. With `unit: study` every study
is its own patient and this is the ordinary label permutation.

The scores and their midranks stay fixed, so a permuted AUROC is one dot product with the
ranks: thousands of permutations cost one (n_permutations x n_studies) matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def permuted_label_sources(patients, n_permutations: int, rng) -> np.ndarray:
    """(n_permutations, n) study indices: row b gives, for each study, the study whose label it
    takes in permutation b (a study of another patient of the same size, same position)."""
    _, patient = np.unique(np.asarray(patients).astype(str), return_inverse=True)
    n = patient.size
    order = np.argsort(patient, kind="stable")  # studies grouped by patient
    sizes = np.bincount(patient)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    sources = np.empty((n_permutations, n), dtype=np.int64)
    for size in np.unique(sizes):
        same = np.flatnonzero(sizes == size)
        members = order[starts[same][:, None] + np.arange(size)]  # (patients, size) studies
        shuffled = rng.permuted(np.tile(np.arange(same.size), (n_permutations, 1)), axis=1)
        sources[:, members.ravel()] = members[shuffled].reshape(n_permutations, -1)
    return sources


def auroc_permutation_p(y_true, y_score, patients, n_permutations: int, seed: int) -> float:
    """Two-sided permutation p of AUROC == 0.5: (1 + #{|A_perm - 0.5| >= |A - 0.5|}) / (1 + B)."""
    y = np.asarray(y_true).astype(int)
    ranks = rankdata(np.asarray(y_score, dtype=float))  # midranks: ties count half, as AUROC
    m, n = int(y.sum()), int(y.size - y.sum())
    if m == 0 or n == 0:
        return float("nan")
    rng = np.random.default_rng(seed)
    permuted = y[permuted_label_sources(patients, n_permutations, rng)]

    def auroc(labels):
        return (labels @ ranks - m * (m + 1) / 2.0) / (m * n)

    observed = abs(auroc(y) - 0.5)
    # The tolerance keeps permutations that tie the observed AUROC (same rank sum) in.
    extreme = np.abs(auroc(permuted) - 0.5) >= observed - 1e-12
    return float((1 + extreme.sum()) / (1 + n_permutations))
