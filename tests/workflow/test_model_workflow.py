"""The model rules (train, predict, fuse, baseline) through real Snakemake, on a tiny store and
tables placed at the contract paths (upstream rules are not allowed to run)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import run_snakemake

from echocmr.vocab.tasks import BINARY_TASKS, TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS
from tools.toy import make_toy_dataset

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def place_inputs(wd) -> None:
    """Contract-shaped upstream outputs under wd/results."""
    toy = make_toy_dataset(wd / "toy", n_patients=24, n_frames=12, size=16, shards=2, seed=5)
    res = wd / "results"
    for shard_dir in toy["shard_dirs"]:  # toy stores are laid out as the crop rule writes them
        shutil.copytree(shard_dir, res / shard_dir.relative_to(wd / "toy"))
    targets = {"views": "views/views.csv", "labels": "cohort/labels.csv",
               "split": "cohort/study_split.csv", "manifest": "ingest/manifest.csv",
               "clinical": "cohort/valid/clinical.csv",
               "echo_reports": "cohort/valid/echo_reports.csv"}
    for name, rel in targets.items():
        (res / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(toy[name], res / rel)


def test_model_rules_write_the_contract_files(workflow_dir):
    place_inputs(workflow_dir)
    targets = ([f"results/predictions/fused/{t}.csv" for t in TASKS]
               + [f"results/predictions/baseline/{t}.csv" for t in BINARY_TASKS])
    run_snakemake(workflow_dir, "--configfile", "config/presets/test.yaml",
                  "--allowed-rules", "train", "predict", "fuse", "baseline", "--", *targets,
                  timeout=900)
    res = workflow_dir / "results"
    cols = ["study_key", "patient_key", "split", "y_true", "y_pred"]
    for view in ANALYSIS_VIEWS:
        metrics = pd.read_csv(res / "model" / view / "multitask" / "metrics.csv")
        assert len(metrics) == 2 and {"train_loss", "val_auroc_wma", "val_mae_t1"} <= set(
            metrics.columns)
        for task in TASKS:
            study = pd.read_csv(res / "predictions" / view / f"{task}.csv")
            video = pd.read_csv(res / "predictions" / view / f"{task}.videos.csv")
            assert list(study.columns) == cols and list(video.columns) == ["video_key", *cols]
            assert set(study["split"]) == {"val", "test"}
            assert study["study_key"].is_unique
    for task in TASKS:
        fused = pd.read_csv(res / "predictions" / "fused" / f"{task}.csv")
        assert list(fused.columns) == cols and set(fused["split"]) == {"test"}
        patterns = pd.read_csv(res / "predictions" / "fused" / f"{task}.views.csv")
        assert patterns["n_test"].sum() == len(fused)
    for task in BINARY_TASKS:
        base = pd.read_csv(res / "predictions" / "baseline" / f"{task}.csv")
        assert list(base.columns) == cols
    log = (res / "logs" / "model" / "train" / "A4C" / "multitask.log").read_text()
    assert "epoch 2" in log and "best epoch" in log


def test_per_task_mode_plans_24_models_with_the_same_prediction_files(workflow_dir):
    place_inputs(workflow_dir)
    (workflow_dir / "two_shards.yaml").write_text("ingest:\n  shards: 2\n")
    targets = ([f"results/predictions/fused/{t}.csv" for t in TASKS]
               + [f"results/predictions/{v}/{t}.videos.csv" for v in ANALYSIS_VIEWS for t in TASKS])
    proc = run_snakemake(workflow_dir, "-n", "--configfile", "config/presets/paper.yaml",
                         "two_shards.yaml", "--allowed-rules", "train", "predict", "fuse",
                         "--", *targets)
    out = proc.stdout + proc.stderr
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["train"] == 24 and counts["predict"] == 24 and counts["fuse"] == 8, out[-3000:]
    assert "results/model/PLAX/ecv/best.pt" in out
