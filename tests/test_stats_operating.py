"""Operating points: Youden threshold on validation, sensitivity/specificity/PPV/NPV on test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, roc_curve

from echocmr.stats import resample
from echocmr.stats.operating import (
    COLUMNS,
    operating_points_table,
    operating_replicates,
    youden_threshold,
)


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
    assert row["n_patients"] == 60 and row["n_resamples"] == 500
    again = operating_points_table({("A4C", "wma"): (path, path)}, 500, "patient", 7)
    assert again.equals(table)  # same seed, same resamples
