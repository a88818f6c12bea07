"""Evaluation of prediction tables (contract columns) without Snakemake."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from echocmr.stats import evaluate


def predictions(tmp_path, name, n=60, seed=0, binary=True, shift=1.0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(int) if binary else rng.normal(50, 6, n)
    frame = pd.DataFrame({
        "study_key": [f"S{i:012x}" for i in range(n)],
        "patient_key": [f"P{i // 2:012x}" for i in range(n)],
        "split": ["test"] * (n - 10) + ["val"] * 10,
        "y_true": y,
        "y_pred": shift * y + rng.normal(0, 1, n),
    })
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_read_predictions_keeps_complete_test_rows(tmp_path):
    path, frame = predictions(tmp_path, "a")
    frame.loc[0, "y_pred"] = np.nan
    frame.to_csv(path, index=False)
    out = evaluate.read_predictions(path)
    assert len(out) == 49 and (out["split"] == "test").all()
    frame.loc[1, "study_key"] = frame.loc[2, "study_key"]
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match="study_key repeated"):
        evaluate.read_predictions(path)


def test_evaluate_tables_rows(tmp_path):
    bin_path, bin_frame = predictions(tmp_path, "wma")
    cont_path, _ = predictions(tmp_path, "t2", binary=False)
    binary, continuous = evaluate.evaluate_tables(
        {("A4C", "wma"): bin_path, ("A4C", "t2"): cont_path}, {"wma"}, 300, "patient", 1)
    row = binary.iloc[0]
    test = bin_frame[bin_frame["split"] == "test"]
    assert row["auroc"] == pytest.approx(roc_auc_score(test["y_true"], test["y_pred"]))
    assert row["ci_low"] < row["auroc"] < row["ci_high"] and row["n"] == 50
    assert row["n_patients"] == 25 and row["n_skipped"] == 0
    assert list(continuous.columns) == evaluate.CONTINUOUS_COLUMNS
    again, _ = evaluate.evaluate_tables({("A4C", "wma"): bin_path}, {"wma"}, 300, "patient", 1)
    assert again.equals(binary)  # same seed -> same table


def test_one_class_test_split_gives_undefined_auroc(tmp_path):
    path, frame = predictions(tmp_path, "lge")
    frame["y_true"] = 0
    frame.to_csv(path, index=False)
    binary, _ = evaluate.evaluate_tables({("PLAX", "lge"): path}, {"lge"}, 200, "study", 1)
    assert np.isnan(binary.loc[0, "auroc"]) and binary.loc[0, "n_skipped"] == 200


def test_delong_pairs_on_common_studies(tmp_path):
    model, _ = predictions(tmp_path, "model", shift=2.0, seed=1)
    base_path, base = predictions(tmp_path, "base", shift=0.2, seed=1)
    base.iloc[5:].to_csv(base_path, index=False)  # the baseline misses 5 studies
    table = evaluate.delong_table({("fused", "wma"): model}, {"wma": base_path})
    row = table.iloc[0]
    assert row["n"] == 45 and row["model"] == "fused" and row["reference"] == "baseline"
    assert row["auroc_model"] > row["auroc_reference"] and 0 <= row["p_value"] < 0.05


def test_binary_rows_carry_a_permutation_p_that_separates_signal_from_null(tmp_path):
    signal, _ = predictions(tmp_path, "wma", n=80, shift=2.0)
    null, _ = predictions(tmp_path, "t2_abnormal", n=80, seed=4, shift=0.0)
    binary, _ = evaluate.evaluate_tables(
        {("A4C", "wma"): signal, ("A4C", "t2_abnormal"): null}, {"wma", "t2_abnormal"}, 200,
        "patient", 1, n_perm=999)
    by_task = binary.set_index("task")
    assert by_task.loc["wma", "perm_p"] == 0.001  # no permutation reaches a strong signal
    assert by_task.loc["t2_abnormal", "perm_p"] > 0.05
    assert by_task.loc["wma", "n_permutations"] == 999
    assert list(binary.columns) == evaluate.BINARY_COLUMNS
