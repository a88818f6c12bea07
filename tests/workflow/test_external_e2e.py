"""External validation end to end: the demo run's model bundle (no extra training) is exported and
evaluated on a second synthetic site (another seed, encoding and screen-size mix) in its own
working directory (`snakemake --directory`), as docs/external.md describes; the second site
classifies views with the bundle's view classifier instead of training one."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest
from conftest import VENV_BIN, run_snakemake

from echocmr.vocab.tasks import BINARY_TASKS

pytestmark = [pytest.mark.slow, pytest.mark.workflow]

DELIVERABLES = ["results/table1.csv", "results/table2.csv", "results/figure1.png",
                "results/supp_figure1.png", "results/bland_altman.png", "results/replication.csv",
                "results/metrics/binary.csv", "results/metrics/delong.csv",
                "results/metrics/operating_points.csv", "results/metrics/calibration.csv",
                "results/calibration.png", "results/training_curves.png",
                "results/audit/phi_audit.csv"]


@pytest.fixture(scope="module")
def external_run(demo_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("external")
    bundle = root / "shared_bundle"
    subprocess.run([str(VENV_BIN / "python"), "-m", "echocmr.model.bundle", "export",
                    str(demo_run / "results/model/bundle"), str(bundle)], check=True,
                   cwd=demo_run)
    (root / "bundle.yaml").write_text(
        f"model:\n  bundle: {bundle}\n"
        "views:\n  backend: pretrained\n  weights_layout: echocmr\n"
        f"  weights: {bundle / 'views' / 'view_classifier.pt'}\n")
    site = root / "site2"
    site.mkdir()
    proc = run_snakemake(root, "-s", str(demo_run / "Snakefile"), "--directory", str(site),
                         "--configfile", str(demo_run / "config/presets/external.yaml"),
                         str(root / "bundle.yaml"), timeout=1800)
    return demo_run, site, bundle, proc.stdout + proc.stderr


def test_external_run_trains_nothing_and_writes_every_deliverable(external_run):
    demo, site, _, out = external_run
    assert "rule train:" not in out and "localrule train:" not in out
    assert not (site / "results" / "model").exists()
    missing = [p for p in DELIVERABLES if not (site / p).is_file()]
    assert not missing, missing
    assert pd.read_csv(site / "results/audit/phi_audit.csv").empty
    # the demo site's outputs are untouched by the second site's run
    assert (demo / "results/model/bundle/model_card.json").is_file()


def test_external_site_classifies_views_with_the_bundle_classifier(external_run):
    """Issue 15 item 1: no view classifier is trained at the second site; the bundle's one
    labels its videos (accuracy against the synthetic truth, every video unseen)."""
    _, site, _, out = external_run
    assert "rule views_fit:" not in out and "localrule views_fit:" not in out
    assert not (site / "results/views/model").exists()
    metrics = pd.read_csv(site / "results/views/view_classifier_metrics.csv")
    accuracy = metrics.loc[metrics["metric"] == "accuracy", "value"].iloc[0]
    n = metrics.loc[metrics["metric"] == "n_videos", "value"].iloc[0]
    print(f"second site, bundle view classifier: accuracy {accuracy:.4f} on {n:.0f} videos")
    assert n > 100 and accuracy >= 0.9, metrics


def test_external_cohort_is_all_test_and_scored_with_the_bundle(external_run):
    _, site, bundle, _ = external_run
    res = site / "results"
    split = pd.read_csv(res / "cohort/study_split.csv")
    assert set(split["split"]) == {"test"} and len(split) > 20
    card = json.loads((bundle / "model_card.json").read_text())
    for task in BINARY_TASKS:
        patterns = pd.read_csv(res / f"predictions/fused/{task}.views.csv")
        used = patterns[~patterns["method"].str.startswith("excluded")]
        assert used["method"].str.startswith(("bundle:", "mean")).all(), patterns
        fused = pd.read_csv(res / f"predictions/fused/{task}.csv")
        assert len(fused) and set(fused["split"]) == {"test"}
    ops = pd.read_csv(res / "metrics/operating_points.csv")
    fused_wma = ops[(ops["source"] == "fused") & (ops["task"] == "wma")].iloc[0]
    assert fused_wma["threshold_rule"].startswith("bundle threshold")
    assert fused_wma["threshold"] == pytest.approx(card["thresholds"]["fused"]["wma"])
    calib = pd.read_csv(res / "metrics/calibration.csv")
    assert {"intercept", "intercept_ci_low", "slope", "slope_ci_high"} <= set(calib.columns)
    assert set(calib["source"]) == {"A4C", "A2C", "PLAX", "fused", "baseline"}
    table2 = pd.read_csv(res / "table2.csv")
    assert len(table2) > 0
    # no train or val split by design: stated in the run summary, not listed as a gap
    assert "no study in" not in (res / "summary.csv").read_text()
    assert "by design" in (res / "summary.md").read_text()


def test_external_site_recovers_the_planted_wall_motion_effect(external_run):
    """Issue 15: the demo's bundle, trained at one site, finds the planted WMA effect at a
    second site (another seed, screen size and encoding mix) without training."""
    _, site, _, _ = external_run
    metrics = pd.read_csv(site / "results/metrics/binary.csv").set_index(["source", "task"])
    wma = metrics.loc[("fused", "wma")]
    assert wma["ci_low"] > 0.6, f"planted WMA not recovered externally: {wma.to_dict()}"


def test_bundle_card_carries_no_keys_of_the_training_site(external_run):
    demo, _, bundle, _ = external_run
    text = (bundle / "model_card.json").read_text()
    labels = pd.read_csv(demo / "results/cohort/labels.csv")
    keys = set(labels["study_key"]) | set(labels["patient_key"])
    assert not [k for k in keys if k in text]
    card = json.loads(text)
    assert card["training_mode"] == "multitask" and len(card["models"]) == 3
    assert set(card["fusion"]) >= set(BINARY_TASKS) and card["baseline"]["models"]
    assert {"train", "val", "test"} == set(card["training_cohort"])
    views = card["view_classifier"]
    assert views["file"] in card["files"] and views["classes"] == ["A4C", "A2C", "PLAX", "OTHER"]
    assert views["validation"]["accuracy"] >= 0.95 and views["validation"]["n_videos"] > 100


def test_external_mode_without_a_bundle_stops_before_any_job(workflow_dir):
    (workflow_dir / "ext.yaml").write_text("model:\n  mode: external\n")
    proc = run_snakemake(workflow_dir, "-n", "--configfile", "ext.yaml", check=False)
    assert proc.returncode != 0
    assert "model.bundle is not set" in proc.stdout + proc.stderr
