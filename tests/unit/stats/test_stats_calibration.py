"""Calibration rows (results/metrics/calibration.csv) say why an intercept or slope is n/a, and the
reliability plot names it on the panel. The fits themselves:
tests/unit/stats/test_stats_logistic.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.report.calibration import panel_text, reliability_figure
from echocmr.stats.calibration import COLUMNS, calibration_row, calibration_table
from echocmr.vocab.reasons import NO_TEST_STUDY


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


def _row(**values):
    base = dict(source="fused", task="wma", intercept=0.1, intercept_ci_low=-0.2,
                intercept_ci_high=0.4, slope=0.6, slope_ci_low=0.3, slope_ci_high=0.9,
                n_resamples=10_000, intercept_n_skipped=0, slope_n_skipped=12, n_skipped=12,
                reason="")
    return pd.Series({**base, **values})


def test_the_panel_gives_each_ci_its_skipped_share_or_why_it_is_withheld():
    assert panel_text(_row()) == ("intercept 0.10 (-0.20 to 0.40; 0.0% skipped)\n"
                                  "slope 0.60 (0.30\u20130.90; 0.1% skipped)")
    withheld = _row(slope_ci_low=np.nan, slope_ci_high=np.nan, slope_n_skipped=312,
                    reason="slope CI n/a: 312 of 10000 resamples (3.1%) skipped (...)")
    assert panel_text(withheld).endswith("slope 0.60 (CI n/a: 3.1% skipped)")
    separated = _row(slope=np.nan, slope_ci_low=np.nan, slope_ci_high=np.nan,
                     reason="slope n/a: no finite fit (the scores separate the classes)")
    assert panel_text(separated).endswith(
        "slope n/a: no finite fit (the scores separate the classes)")


def test_the_summary_shows_every_binary_cell_its_calibration_slope():
    from echocmr.report import summary

    readiness = pd.DataFrame({"view": ["fused", "A4C", "A2C"], "task": ["wma", "wma", "t1"],
                              "verdict": ["estimable"] * 3})
    binary = pd.DataFrame({"source": ["fused", "A4C"], "task": ["wma", "wma"],
                           "auroc": [0.85, 0.8], "ci_low": [0.8, np.nan],
                           "ci_high": [0.9, np.nan],
                           "reason": ["", "AUROC CI n/a: 200 of 10000 resamples (2.0%) "
                                      "skipped (one class), more than the 1% allowed"]})
    continuous = pd.DataFrame(columns=["source", "task", "mae", "r2", "reason"])
    calibration = pd.DataFrame([_row(), _row(source="A4C", slope=np.nan, intercept=np.nan,
                                             reason=NO_TEST_STUDY)])
    cells = summary.cell_table(readiness, binary, continuous, calibration).set_index("view")
    assert list(cells.columns) == ["task", "readiness", "this run", summary.SLOPE_COLUMN]
    assert cells.loc["fused", summary.SLOPE_COLUMN] == "0.60 (0.30\u20130.90; 0.1% skipped)"
    assert cells.loc["A4C", summary.SLOPE_COLUMN] == f"n/a: {NO_TEST_STUDY}"
    assert cells.loc["A2C", summary.SLOPE_COLUMN] == ""  # continuous task: no calibration
    assert cells.loc["A4C", "this run"].startswith("AUROC 0.800 (AUROC CI n/a: 200 of 10000")
