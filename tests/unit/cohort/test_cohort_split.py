"""Train/val/test split: patient level, stratified, seeded; the paper's random option."""

from __future__ import annotations

import pandas as pd
import pytest
from cohort_tables import key

from echocmr.cohort.config import check_cohort_config
from echocmr.cohort.labels import TASK_LABELS
from echocmr.cohort.split import (
    SplitConfigError,
    analysis_qc,
    apportion,
    patient_split,
    split_studies,
)
from echocmr.config_checks import ConfigError


def make_labels(n_patients=400, seed=0):
    """Labels of 1-3 studies per patient; a third of the patients have WMA in every study."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        wma = int(p % 3 == 0)
        for s in range(int(rng.integers(1, 4))):
            row = {c: pd.NA for c in TASK_LABELS}
            row.update(study_key=key("S", p, s), patient_key=key("P", p), interval_days=0,
                       wma_global=wma, t1=1000.0)
            rows.append(row)
    return pd.DataFrame(rows)


def test_no_patient_crosses_splits_and_fractions_hold():
    labels = make_labels()
    out = split_studies(labels, [0.8, 0.1, 0.1], seed=7)
    assert out.groupby("patient_key")["split"].nunique().max() == 1
    share = out.drop_duplicates("patient_key")["split"].value_counts(normalize=True)
    assert share["train"] == pytest.approx(0.8, abs=0.02)
    assert share["val"] == pytest.approx(0.1, abs=0.02)
    assert share["test"] == pytest.approx(0.1, abs=0.02)
    patients = patient_split(out)
    assert patients["patient_key"].is_unique


def test_stratification_on_patient_level_wma_holds():
    labels = make_labels()
    out = split_studies(labels, [0.8, 0.1, 0.1], seed=1)
    per_patient = out.drop_duplicates("patient_key").merge(
        labels.drop_duplicates("patient_key")[["patient_key", "wma_global"]], on="patient_key")
    prevalence = per_patient.groupby("split")["wma_global"].mean()
    overall = per_patient["wma_global"].mean()
    for split in ("train", "val", "test"):
        assert prevalence[split] == pytest.approx(overall, abs=0.03)


def test_seeded_and_deterministic():
    labels = make_labels(200)
    a = split_studies(labels, [0.8, 0.1, 0.1], seed=3)
    b = split_studies(labels.sample(frac=1, random_state=5), [0.8, 0.1, 0.1], seed=3)
    assert a.equals(b)  # input row order does not matter
    c = split_studies(labels, [0.8, 0.1, 0.1], seed=4)
    assert not a["split"].equals(c["split"])


def test_random_mode_is_study_level_and_patients_can_cross():
    labels = make_labels()
    out = split_studies(labels, [0.8, 0.1, 0.1], seed=7, method="random")
    share = out["split"].value_counts(normalize=True)
    assert share["train"] == pytest.approx(0.8, abs=0.01)
    assert (out.groupby("patient_key")["split"].nunique() > 1).any()
    patients = patient_split(out)  # one row per patient and split it appears in
    assert len(patients) == len(out[["patient_key", "split"]].drop_duplicates())


def test_unlabelled_studies_are_not_split_and_counted_in_qc():
    labels = make_labels(50)
    labels.loc[labels.index[:4], ["wma_global", "t1"]] = pd.NA
    out = split_studies(labels, [0.8, 0.1, 0.1], seed=1)
    assert len(out) == len(labels) - 4
    qc = analysis_qc(labels, out)
    row = qc.iloc[0]
    assert (row["step"], row["n_in"], row["n_out"], row["n_excluded"]) == (
        "in analysis", len(labels), len(labels) - 4, 4)


@pytest.mark.parametrize(("n", "expected"), [(10, [8, 1, 1]), (3, [1, 1, 1]), (5, [3, 1, 1]),
                                              (2, [2, 0, 0]), (0, [0, 0, 0]),
                                              (101, [81, 10, 10])])
def test_apportion_reaches_every_split_when_possible(n, expected):
    assert apportion(n, [0.8, 0.1, 0.1]) == expected


def test_bad_fractions_fail_with_key_and_fix():
    with pytest.raises(SplitConfigError, match="cohort.split.fractions"):
        split_studies(make_labels(10), [0.8, 0.1], seed=1)
    with pytest.raises(ConfigError, match="sum to 1"):
        check_cohort_config({"cohort": {"split": {"fractions": [0.8, 0.3, 0.1]}}})
    with pytest.raises(ConfigError, match="val and test"):
        check_cohort_config({"cohort": {"split": {"fractions": [0.9, 0.1, 0.0]}}})
    with pytest.raises(ConfigError, match="cohort.segments.A4C"):
        check_cohort_config({"cohort": {"segments": {"A4C": [3, 3]}}})
    check_cohort_config({"cohort": {"split": {"fractions": [0.8, 0.1, 0.1]}}})
