"""Calibration rows (results/metrics/calibration.csv) say why an intercept or slope is n/a, and the
reliability plot names it on the panel. The fits themselves: tests/test_stats_logistic.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.report.calibration import panel_text, reliability_figure
from echocmr.stats.calibration import COLUMNS, calibration_row, calibration_table
from echocmr.stats.reasons import NO_TEST_STUDY


def _frame(y, p):
    n = len(y)
    return pd.DataFrame({"study_key": [f"S{i}" for i in range(n)],
                         "patient_key": [f"P{i // 2}" for i in range(n)], "split": "test",
                         "y_true": y, "y_pred": p})


def overlapping(n=40, seed=0):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(float)
    return _frame(y, 1 / (1 + np.exp(-(y - 0.5 + rng.normal(0, 1, n)))))


def test_a_computed_calibration_has_no_reason():
    row = calibration_row(overlapping(), "A4C", "wma", 50, "patient", 1)
    assert row["reason"] == "" and np.isfinite(row["slope"]) and np.isfinite(row["intercept"])


def test_no_test_study_and_one_class_are_named():
    row = calibration_row(overlapping().iloc[:0], "PLAX", "wma", 50, "patient", 1)
    assert row["reason"] == NO_TEST_STUDY and np.isnan(row["slope"])
    negatives = overlapping()[lambda f: f["y_true"] == 0]
    row = calibration_row(negatives, "A4C", "wma", 50, "patient", 1)
    assert row["reason"] == "no positive test study (20 negative)"
    assert np.isnan(row["intercept"]) and row["n_skipped"] == 50


def test_scores_that_separate_the_classes_leave_the_slope_na():
    y = np.r_[np.zeros(10), np.ones(10)]
    p = np.r_[np.linspace(0.1, 0.4, 10), np.linspace(0.6, 0.9, 10)]
    row = calibration_row(_frame(y, p), "fused", "wma", 50, "study", 1)
    assert np.isnan(row["slope"]) and np.isfinite(row["intercept"])
    assert row["reason"] == "slope n/a: no finite fit (the scores separate the classes)"


def test_the_table_and_the_plot_carry_the_reason(tmp_path):
    paths = {}
    for name, frame in (("computed", overlapping()), ("empty", overlapping().iloc[:0])):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    table = calibration_table({("fused", "wma"): paths["computed"],
                               ("fused", "lge"): paths["empty"]}, 30, "patient", 2)
    assert list(table.columns) == COLUMNS and list(table["reason"]) == ["", NO_TEST_STUDY]
    rows = table.set_index("task")
    assert panel_text(rows.loc["lge"]) == f"n/a: {NO_TEST_STUDY}"
    assert panel_text(rows.loc["wma"]).startswith("intercept ")
    reliability_figure({"wma": paths["computed"], "lge": paths["empty"]}, table,
                       str(tmp_path / "calibration.png"), str(tmp_path / "calibration.pdf"))
    assert (tmp_path / "calibration.png").stat().st_size > 0
