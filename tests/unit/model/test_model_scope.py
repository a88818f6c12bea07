"""What a run scores (echocmr.model.scope) and the n/a rows the statistics write for the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.model.scope import Scope
from echocmr.report.smk import ReportPaths, compared_pairs, evaluated_pairs
from echocmr.stats.evaluate import delong_table, evaluate_tables
from echocmr.vocab.reasons import NO_BUNDLE_BASELINE, NOT_IN_BUNDLE
from echocmr.vocab.tasks import BINARY_TASKS, TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

RELEASED_CARD = {"models": [{"view": "A4C", "model": "wma", "tasks": ["wma"]},
                            {"view": "A2C", "model": "wma", "tasks": ["wma"]},
                            {"view": "A4C", "model": "lge", "tasks": ["lge"]}],
                 "baseline": None}


def test_a_training_run_scores_everything():
    scope = Scope.of(None)
    assert scope.tasks == list(TASKS) and scope.baseline
    assert scope.absent(evaluated_pairs()) == {}
    assert len(ReportPaths(scope).evaluate_inputs()) == len(evaluated_pairs())


def test_a_released_bundle_scores_its_models_only():
    scope = Scope.of(RELEASED_CARD)
    assert scope.tasks == ["wma", "lge"]
    assert scope.views_of("wma") == ["A4C", "A2C"] and scope.views_of("lge") == ["A4C"]
    absent = scope.absent(compared_pairs())
    assert absent["baseline__wma"] == NO_BUNDLE_BASELINE
    assert absent["PLAX__wma"] == NOT_IN_BUNDLE and absent["fused__t1_abnormal"] == NOT_IN_BUNDLE
    assert "fused__wma" not in absent and "A4C__lge" not in absent
    assert set(ReportPaths(scope).evaluate_inputs()) == {
        "A4C__wma", "A2C__wma", "A4C__lge", "fused__wma", "fused__lge"}


def predictions_csv(path, seed: int) -> str:
    rng = np.random.default_rng(seed)
    y = np.array([0, 1] * 6)
    pd.DataFrame({"study_key": [f"S{i}" for i in range(12)],
                  "patient_key": [f"P{i}" for i in range(12)], "split": "test",
                  "y_true": y, "y_pred": rng.random(12) * 0.5 + 0.4 * y}).to_csv(path,
                                                                             index=False)
    return str(path)


def test_absent_pairs_get_rows_with_their_reason_in_source_order(tmp_path):
    scope = Scope.of(RELEASED_CARD)
    tables = {(s, t): predictions_csv(tmp_path / f"{s}_{t}.csv", i)
              for i, (s, t) in enumerate(p for p in evaluated_pairs() if scope.scored(*p))}
    absent = {tuple(k.split("__")): v for k, v in scope.absent(evaluated_pairs()).items()}
    binary, continuous = evaluate_tables(tables, set(BINARY_TASKS), n_boot=20, unit="study",
                                         seed=1, absent=absent)
    assert list(zip(binary["source"], binary["task"], strict=True)) == [
        p for p in evaluated_pairs() if p[1] in BINARY_TASKS]
    computed = binary[binary["reason"].fillna("") == ""]
    assert set(zip(computed["source"], computed["task"], strict=True)) == set(tables)
    assert computed["auroc"].notna().all()
    assert set(binary.loc[binary["source"] == "baseline", "reason"]) == {NO_BUNDLE_BASELINE}
    assert len(continuous) == 4 * 3 and set(continuous["reason"]) == {NOT_IN_BUNDLE}

    models = {k: v for k, v in tables.items() if k[1] in BINARY_TASKS}
    compared = {tuple(k.split("__")): v for k, v in scope.absent(compared_pairs()).items()}
    delong = delong_table(models, {}, absent=compared)
    assert len(delong) == (len(ANALYSIS_VIEWS) + 1) * len(BINARY_TASKS)
    held = delong.set_index(["model", "task"]).loc[list(models), "reason"]
    assert set(held) == {NO_BUNDLE_BASELINE}
