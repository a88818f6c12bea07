"""Bootstrap resample draws, by study or by patient (cluster bootstrap), as count matrices.

A resample is represented by how many times each observation (study) enters it. Every
statistic here (AUROC, MAE, R2, bias) is a weighted sum over observations, so a
`(n_resamples, n_obs)` count matrix lets one matrix product or cumulative sum evaluate thousands
of resamples at once, and the same draws can be expanded to explicit index lists for a
reference loop (scikit-learn) that must give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNITS = ("study", "patient")


@dataclass(frozen=True)
class Draws:
    """Which resampling units each bootstrap resample drew (with replacement).

    `units[b]` holds the drawn unit numbers of resample b (n_units draws, full-size resamples);
    `members[u]` the observation indices belonging to unit u (a study: itself; a patient: all
    of the patient's studies).
    """

    units: np.ndarray  # (n_resamples, n_units) int32
    unit_of_obs: np.ndarray  # (n_obs,) int: unit number of each observation
    n_units: int

    @property
    def n_resamples(self) -> int:
        return self.units.shape[0]

    @property
    def n_obs(self) -> int:
        return self.unit_of_obs.shape[0]

    def counts(self, start: int, stop: int) -> np.ndarray:
        """Counts of each observation in resamples start..stop-1: `(stop-start, n_obs)` int64."""
        block = self.units[start:stop]
        rows = block.shape[0]
        offsets = (np.arange(rows, dtype=np.int64) * self.n_units)[:, None]
        unit_counts = np.bincount((block + offsets).ravel(), minlength=rows * self.n_units)
        unit_counts = unit_counts.reshape(rows, self.n_units)
        # A drawn patient brings all of its studies: each study inherits its unit's count.
        return unit_counts[:, self.unit_of_obs]

    def indices(self, b: int) -> np.ndarray:
        """Explicit observation indices of resample b (for reference loops and tests)."""
        order = np.argsort(self.unit_of_obs, kind="stable")
        starts = np.searchsorted(self.unit_of_obs[order], np.arange(self.n_units))
        stops = np.searchsorted(self.unit_of_obs[order], np.arange(self.n_units), side="right")
        return np.concatenate([order[starts[u]:stops[u]] for u in self.units[b]])


def unit_numbers(study_keys, patient_keys, unit: str) -> tuple[np.ndarray, int]:
    """Map each observation to a resampling-unit number 0..n_units-1 (first-seen order)."""
    if unit not in UNITS:
        raise ValueError(f"evaluate.unit={unit!r}: use one of {', '.join(UNITS)}")
    keys = np.asarray(study_keys if unit == "study" else patient_keys).astype(str)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    # Renumber by first appearance so the numbering does not depend on key spelling order.
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse].astype(np.int64), int(first.size)


def draw(unit_of_obs: np.ndarray, n_units: int, n_resamples: int, seed: int) -> Draws:
    """Draw `n_resamples` full-size resamples of the units with replacement."""
    if n_units < 1:
        raise ValueError("cannot bootstrap an empty sample")
    rng = np.random.default_rng(seed)
    units = rng.integers(0, n_units, size=(n_resamples, n_units), dtype=np.int32)
    return Draws(units=units, unit_of_obs=np.asarray(unit_of_obs, dtype=np.int64),
                 n_units=n_units)


def draw_for(study_keys, patient_keys, unit: str, n_resamples: int, seed: int) -> Draws:
    """Draws for a prediction table: resample studies, or patients with all their studies."""
    unit_of_obs, n_units = unit_numbers(study_keys, patient_keys, unit)
    return draw(unit_of_obs, n_units, n_resamples, seed)


def chunk_rows(n_obs: int, max_cells: int = 4_000_000) -> int:
    """Resamples per chunk so a (chunk, n_obs) int64 matrix stays near `max_cells` cells."""
    return max(1, max_cells // max(1, n_obs))
