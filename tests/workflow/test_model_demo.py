"""End-to-end assertions on the model deliverables of the shared demo run."""

from __future__ import annotations

import pandas as pd
import pytest

from echocmr.vocab.tasks import BINARY_TASKS, TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

pytestmark = [pytest.mark.slow, pytest.mark.workflow]
COLUMNS = ["study_key", "patient_key", "split", "y_true", "y_pred"]


def test_demo_writes_every_prediction_file(demo_run):
    res = demo_run / "results"
    for view in ANALYSIS_VIEWS:
        metrics = pd.read_csv(res / "model" / view / "multitask" / "metrics.csv")
        assert {"train_loss", "val_loss", "time_s", "samples_per_s",
                "peak_mem_mb"} <= set(metrics.columns)
        assert metrics["best"].sum() >= 1
        for task in TASKS:
            preds = pd.read_csv(res / "predictions" / view / f"{task}.csv")
            assert list(preds.columns) == COLUMNS
            assert set(preds["split"]) <= {"val", "test"} and len(preds) > 0
            assert preds["study_key"].is_unique
            if task in BINARY_TASKS:
                assert preds["y_pred"].between(0, 1).all()
                assert set(preds["y_true"]) <= {0, 1}
    for task in TASKS:
        fused = pd.read_csv(res / "predictions" / "fused" / f"{task}.csv")
        patterns = pd.read_csv(res / "predictions" / "fused" / f"{task}.views.csv")
        assert list(fused.columns) == COLUMNS and set(fused["split"]) <= {"test"}
        assert patterns["n_test"].sum() >= len(fused)
    for task in BINARY_TASKS:
        base = pd.read_csv(res / "predictions" / "baseline" / f"{task}.csv")
        assert list(base.columns) == COLUMNS


def test_demo_training_log_has_progress_and_no_identifiers(demo_run):
    log = (demo_run / "results" / "logs" / "model" / "train" / "A4C" / "multitask.log")
    text = log.read_text()
    assert "epoch 1" in text and "best epoch" in text


def test_demo_recovers_the_planted_pattern_of_table2(demo_run):
    """Issue 13: the default run shows the study working. Wall motion is planted (walls move
    less), T1/T2/ECV are not: the fused WMA AUROC's 95% CI lies above 0.70 (issue 13's bar;
    the default seed's lower bound is 0.803, seed 7's 0.797, seed 11's 0.687 would miss it:
    docs/model.md), the fused T1, T2 and ECV CIs cover 0.5, and every Table 2 cell has at
    least 8 positive and 8 negative test studies (no cell n/a)."""
    metrics = pd.read_csv(demo_run / "results" / "metrics" / "binary.csv")
    sources = [*ANALYSIS_VIEWS, "fused"]
    cells = metrics[metrics["source"].isin(sources)].set_index(["source", "task"])
    assert len(cells) == 4 * len(BINARY_TASKS)
    thin = cells[(cells["n_pos"] < 8) | (cells["n_neg"] < 8)]
    assert thin.empty, f"Table 2 cells with < 8 positives or negatives:\n{thin}"
    wma = cells.loc[("fused", "wma")]
    assert wma["ci_low"] > 0.70, f"planted WMA not recovered: {wma.to_dict()}"
    for task in ("t1_abnormal", "t2_abnormal", "ecv_abnormal"):
        null = cells.loc[("fused", task)]
        assert null["ci_low"] <= 0.5 <= null["ci_high"], (
            f"{task} has no planted effect but its fused CI excludes 0.5: {null.to_dict()}")
