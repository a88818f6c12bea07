"""Operating points: Youden threshold on validation, sensitivity/specificity/PPV/NPV on test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, roc_curve

from echocmr.report.tables import operating_points_display
from echocmr.stats import resample
from echocmr.stats.operating import (
    COLUMNS,
    operating_points_table,
    operating_replicates,
    operating_row,
    youden_threshold,
)
from echocmr.vocab.reasons import NO_BUNDLE_THRESHOLD, NO_TEST_STUDY


def test_youden_threshold_halfway_below_the_best_cut():
    threshold, j = youden_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    # J = 0.5 at cut 0.8 and at 0.35: the higher cut wins, halfway to the next score (0.4).
    assert threshold == pytest.approx(0.6) and j == pytest.approx(0.5)
    assert np.isnan(youden_threshold([1, 1], [0.2, 0.3])[0])


def test_youden_matches_the_roc_curve_maximum():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(y + rng.normal(0, 1, 300), 1)  # ties
    threshold, j = youden_threshold(y, s)
    fpr, tpr, _ = roc_curve(y, s)
    assert j == pytest.approx(np.max(tpr - fpr))
    pred = s >= threshold
    assert pred[y == 1].mean() - pred[y == 0].mean() == pytest.approx(j)


def test_replicates_match_a_reference_loop():
    rng = np.random.default_rng(1)
    patient = np.repeat(np.arange(20), rng.integers(1, 4, 20))
    y = rng.integers(0, 2, patient.size)
    s = y + rng.normal(0, 1, patient.size)
    draws = resample.draw(patient, 20, 40, seed=2)
    reps = operating_replicates(y, s, 0.5, draws)
    for b in range(40):
        idx = draws.indices(b)
        tn, fp, fn, tp = confusion_matrix(y[idx], s[idx] >= 0.5, labels=[0, 1]).ravel()
        for name, num, den in (("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp),
                               ("ppv", tp, tp + fp), ("npv", tn, tn + fn)):
            if den == 0:
                assert np.isnan(reps[name][b])
            else:
                assert reps[name][b] == pytest.approx(num / den)


def _predictions(tmp_path, name, seed, shift):
    rng = np.random.default_rng(seed)
    n = 200
    y = (rng.random(n) < 0.4).astype(int)
    frame = pd.DataFrame({"study_key": [f"S{i:04d}" for i in range(n)],
                          "patient_key": [f"P{i // 2:04d}" for i in range(n)],
                          "split": np.where(np.arange(n) < 80, "val", "test"),
                          "y_true": y, "y_pred": shift * y + rng.normal(0, 1, n)})
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_operating_points_table(tmp_path):
    path, frame = _predictions(tmp_path, "a4c", 3, 2.0)
    table = operating_points_table({("A4C", "wma"): (path, path)}, 500, "patient", 7)
    assert list(table.columns) == COLUMNS
    row = table.iloc[0]
    val, test = frame[frame["split"] == "val"], frame[frame["split"] == "test"]
    threshold, _ = youden_threshold(val["y_true"], val["y_pred"])
    assert row["threshold"] == pytest.approx(threshold) and row["n_val"] == 80
    pred = test["y_pred"] >= threshold
    tn, fp, fn, tp = confusion_matrix(test["y_true"], pred).ravel()
    assert (row["tp"], row["fp"], row["tn"], row["fn"]) == (tp, fp, tn, fn)
    assert row["sensitivity"] == pytest.approx(tp / (tp + fn))
    assert row["npv"] == pytest.approx(tn / (tn + fn))
    for m in ("sensitivity", "specificity", "ppv", "npv"):
        assert row[f"{m}_ci_low"] <= row[m] <= row[f"{m}_ci_high"]
    assert row["n_patients"] == 60 and row["n_resamples"] == 500 and row["reason"] == ""
    again = operating_points_table({("A4C", "wma"): (path, path)}, 500, "patient", 7)
    assert again.equals(table)  # same seed, same resamples


# ---- why an operating point (or one of its measures) is n/a: the `reason` column -------------

def _frame(split, rows):
    return pd.DataFrame([(f"S{split[0]}{i}", f"P{split[0]}{i}", split, y, s)
                         for i, (y, s) in enumerate(rows)],
                        columns=["study_key", "patient_key", "split", "y_true", "y_pred"])


VAL = _frame("val", [(0, 0.1), (0, 0.3), (1, 0.6), (1, 0.8)])  # threshold 0.45
TEST = _frame("test", [(0, 0.2), (1, 0.7), (0, 0.5), (1, 0.4)])


def test_four_test_studies_give_measures_but_no_intervals():
    # 4 studies: 8-16% of resamples leave a denominator empty, more than the 1% a CI may skip.
    row = operating_row(VAL, TEST, "A4C", "wma", 50, "study", 1)
    assert row["threshold"] == pytest.approx(0.45)
    assert row["sensitivity"] == 0.5 and row["specificity"] == 0.5
    assert np.isnan(row["sensitivity_ci_low"]) and np.isnan(row["npv_ci_high"])
    assert row["reason"].startswith("sensitivity CI n/a: 4 of 50 resamples (8.0%) skipped "
                                    "(no positive), more than the 1% allowed; specificity CI n/a")


def test_no_threshold_when_validation_lacks_a_class_or_a_study():
    row = operating_row(VAL[VAL["y_true"] == 0], TEST, "A4C", "wma", 50, "study", 1)
    assert row["reason"] == "no positive validation study (2 negative)"
    assert np.isnan(row["threshold"]) and np.isnan(row["sensitivity"])
    row = operating_row(VAL.iloc[:0], TEST, "A4C", "wma", 50, "study", 1)
    assert row["reason"] == "no validation study with a prediction"


def test_an_untrained_model_has_no_test_study():
    row = operating_row(VAL, TEST.iloc[:0], "PLAX", "lge", 50, "study", 1)
    assert row["reason"] == NO_TEST_STUDY and np.isnan(row["specificity"])


def measure_gaps(reason: str) -> str:
    """The reasons a measure itself is n/a, without the withheld intervals of these tiny
    test splits (tests above)."""
    return "; ".join(part for part in reason.split("; ") if " CI n/a: " not in part)


def test_one_test_class_makes_only_its_measure_na():
    row = operating_row(VAL, TEST[TEST["y_true"] == 0], "A4C", "wma", 50, "study", 1)
    assert measure_gaps(row["reason"]) == "sensitivity n/a: no positive test study (2 negative)"
    assert np.isnan(row["sensitivity"]) and row["specificity"] == 0.5


def test_a_threshold_that_calls_no_test_study_positive_leaves_ppv_na():
    low = TEST.assign(y_pred=0.01)
    row = operating_row(VAL, low, "A4C", "wma", 50, "study", 1)
    assert measure_gaps(row["reason"]) == "ppv n/a: no test study at or above the threshold"
    assert np.isnan(row["ppv"]) and row["npv"] == 0.5
    both = operating_row(VAL, low[low["y_true"] == 1], "A4C", "wma", 50, "study", 1)
    assert measure_gaps(both["reason"]) == ("specificity n/a: no negative test study (2 positive); "
                                            "ppv n/a: no test study at or above the threshold")


def test_a_bundle_without_a_threshold_for_the_model_is_named(tmp_path):
    path, _ = _predictions(tmp_path, "a2c", 4, 2.0)
    table = operating_points_table({("A2C", "wma"): (path, path)}, 20, "study", 1,
                                   thresholds={"A4C": {"wma": 0.5}})
    assert list(table["reason"]) == [NO_BUNDLE_THRESHOLD] and table["threshold"].isna().all()


def test_the_display_names_why_a_measure_is_na(tmp_path):
    rows = [operating_row(VAL, TEST, "A4C", "wma", 20, "study", 1),
            operating_row(VAL, TEST[TEST["y_true"] == 0], "fused", "wma", 20, "study", 1)]
    path = tmp_path / "operating_points.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    shown = operating_points_display(pd.read_csv(path))  # as the report reads it
    assert [measure_gaps(r) for r in shown["Why n/a"]] == [
        "", "sensitivity n/a: no positive test study (2 negative)"]
    assert shown["Sensitivity (95% CI)"].iloc[1] == "n/a"
