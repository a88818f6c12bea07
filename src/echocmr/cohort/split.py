"""Train/val/test split of the labelled studies (`cohort.split`).

`patient_stratified` (default): whole patients are assigned, so no patient is in two splits
(the paper's "randomly split at an 8:1:1 ratio" does not say at which level; a study-level split
lets one patient's echos sit in train and test, which inflates test metrics). Patients are
stratified on patient-level global WMA (1 if any of their studies has wma_global = 1, 0 if all
labelled ones are 0, a third stratum when none is labelled), so every split sees both classes.
`random`: a plain random split at the STUDY level (one reading of the paper, which does not say
which level it split at); patients can then cross splits.

Only studies with at least one non-missing label are split. Both modes write the study-level
assignment (study_split.csv), which is what downstream stages read; split.csv holds the
patient-level view (one row per patient and split it appears in).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.cohort.labels import has_any_label
from echocmr.vocab.qc import qc_rows

SPLITS = ("train", "val", "test")
SPLIT_METHODS = ("patient_stratified", "random")


class SplitConfigError(ValueError):
    """cohort.split holds a value that cannot make a split."""


def check_fractions(fractions: list[float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise SplitConfigError(
            f"cohort.split.fractions={fractions}: give three non-negative numbers "
            "(train, val, test) that sum to 1, e.g. [0.8, 0.1, 0.1]"
        )


def apportion(n: int, fractions: list[float]) -> list[int]:
    """Split n items into len(fractions) counts (largest remainder), each split with a positive
    fraction getting at least one item when n allows, so small strata still reach val/test."""
    exact = np.asarray(fractions, dtype=float) * n
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    for i in order[: n - counts.sum()]:
        counts[i] += 1
    wanted = [i for i, f in enumerate(fractions) if f > 0]
    if n >= len(wanted):
        for i in wanted:
            if counts[i] == 0:
                counts[int(np.argmax(counts))] -= 1
                counts[i] = 1
    return counts.tolist()


def _assign(keys: list[str], fractions: list[float], rng: np.random.Generator) -> dict[str, str]:
    """Shuffle sorted keys with `rng` and cut them by `apportion`."""
    shuffled = [keys[i] for i in rng.permutation(len(keys))]
    counts = apportion(len(keys), fractions)
    labels = np.repeat(SPLITS, counts)
    return dict(zip(shuffled, labels))


def patient_strata(labels: pd.DataFrame) -> pd.Series:
    """Patient-level global WMA: '1' any study positive, '0' all labelled negative, 'NA' none."""
    wma = labels.groupby("patient_key")["wma_global"].agg(
        lambda s: "NA" if s.isna().all() else str(int(s.max()))
    )
    return wma.sort_index()


def split_studies(
    labels: pd.DataFrame, fractions: list[float], seed: int, method: str = "patient_stratified"
) -> pd.DataFrame:
    """study_split: study_key, patient_key, split for every study with at least one label."""
    check_fractions(fractions)
    if method not in SPLIT_METHODS:
        raise SplitConfigError(f"cohort.split.method={method!r}: use one of {SPLIT_METHODS}")
    usable = labels[has_any_label(labels)].sort_values("study_key")
    rng = np.random.default_rng(seed)
    if method == "random":
        assignment = _assign(usable["study_key"].tolist(), fractions, rng)
        split = usable["study_key"].map(assignment)
    else:
        strata = patient_strata(usable)
        assignment = {}
        for stratum in sorted(strata.unique()):
            patients = strata.index[strata == stratum].tolist()
            assignment.update(_assign(patients, fractions, rng))
        split = usable["patient_key"].map(assignment)
    out = usable[["study_key", "patient_key"]].assign(split=split.values)
    return out.reset_index(drop=True)


def patient_split(study_split: pd.DataFrame) -> pd.DataFrame:
    """split.csv: patient_key, split (one row per patient and split it appears in)."""
    order = {s: i for i, s in enumerate(SPLITS)}
    out = study_split[["patient_key", "split"]].drop_duplicates()
    out = out.assign(_o=out["split"].map(order)).sort_values(["patient_key", "_o"])
    return out.drop(columns="_o").reset_index(drop=True)


REASON_NO_LABEL = "no CMR label available"


def analysis_qc(labels: pd.DataFrame, study_split: pd.DataFrame) -> pd.DataFrame:
    """QC step "in analysis": paired studies -> studies with at least one label and a split."""
    reasons = pd.Series(REASON_NO_LABEL, index=labels.index[~has_any_label(labels)])
    in_split = labels["study_key"].isin(study_split["study_key"])
    unsplit = labels.index[has_any_label(labels) & ~in_split]
    reasons = pd.concat([reasons, pd.Series("not assigned to a split", index=unsplit)])
    return qc_rows("in analysis", "echo studies", len(labels), reasons)
