"""The study's released weights through the whole external workflow (issue 15 item 3): a bundle
built with `from-released` from torchvision r2plus1d_18 models in the released layout (random
weights, made here) holds WMA and scar models only and no baseline; the `test` preset's tiny
synthetic site is evaluated with it through Table 2. Only the bundle's models are predicted and
fused, nothing is trained, and every other task reads `n/a: not in the bundle`."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
import torch
from conftest import VENV_BIN, copy_workflow, run_snakemake
from torchvision.models.video import r2plus1d_18

from echocmr.report.tables import BUNDLE_MEAN_LABEL, FALLBACK_MARK
from echocmr.vocab.reasons import NO_BUNDLE_BASELINE, NOT_IN_BUNDLE
from echocmr.vocab.tasks import TASKS, VIEW_SPECIFIC
from echocmr.vocab.views import ANALYSIS_VIEWS

pytestmark = [pytest.mark.slow, pytest.mark.workflow]

# What the released table holds: WMA in two views (so fusion has a pattern of two), scar in one.
RELEASED = [("A4C", "wma"), ("A2C", "wma"), ("A4C", "lge")]
# Through Table 2 and what reads the same metrics (not the PHI audit and the HTML report).
TARGETS = ["results/table2.csv", "results/figure1.png", "results/supp_figure1.png",
           "results/bland_altman.png", "results/replication.csv", "results/summary.csv",
           "results/metrics/delong.csv", "results/metrics/calibration.csv",
           "results/metrics/operating_points.csv", "results/training_curves.png"]


def released_checkpoint(path, seed: int) -> None:
    """A checkpoint in the released layout: r2plus1d_18, one output, keys prefixed `m.`."""
    torch.manual_seed(seed)
    net = r2plus1d_18(weights=None, num_classes=1)
    torch.save({"m." + k: v for k, v in net.state_dict().items()}, path)


@pytest.fixture(scope="module")
def released_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("released")
    wf = copy_workflow(root / "wf")
    rows = ["view,task,file"]
    for i, (view, task) in enumerate(RELEASED):
        released_checkpoint(root / f"{view.lower()}_{task}.pt", seed=i)
        rows.append(f"{view},{task},{view.lower()}_{task}.pt")
    (root / "released.csv").write_text("\n".join(rows) + "\n")
    subprocess.run([str(VENV_BIN / "python"), "-m", "echocmr.model.bundle", "from-released",
                    str(root / "released.csv"), str(root / "released_bundle")], check=True,
                   cwd=wf)
    # A smaller site than the preset's (each 16-frame 112x112 r2plus1d_18 pass is slow on CPU).
    (root / "released.yaml").write_text(
        f"model:\n  mode: external\n  bundle: {root / 'released_bundle'}\n  threads: 2\n"
        "simulate:\n  n_patients: 6\n")
    proc = run_snakemake(wf, *TARGETS, "--configfile", "config/presets/test.yaml",
                         str(root / "released.yaml"), timeout=1200)
    return wf / "results", proc.stdout + proc.stderr


def test_only_the_bundles_models_are_predicted_and_nothing_is_trained(released_run):
    res, out = released_run
    assert "rule train:" not in out and "localrule train:" not in out
    assert "rule baseline:" not in out and not (res / "predictions/baseline").exists()
    predicted = {(p.parent.name, p.stem) for p in (res / "predictions").glob("*/*.csv")
                 if p.parent.name in ANALYSIS_VIEWS and "." not in p.stem}
    assert predicted == set(RELEASED)
    fused = {p.stem for p in (res / "predictions/fused").glob("*.csv") if "." not in p.stem}
    assert fused == set(VIEW_SPECIFIC)


def test_table2_evaluates_wma_and_scar_and_names_the_missing_tasks(released_run):
    res, _ = released_run
    table = pd.read_csv(res / "table2.csv", keep_default_na=False)
    held = {*RELEASED, *(("fused", t) for t in VIEW_SPECIFIC)}
    for row in table.itertuples():
        if (row.source, row.task) in held:
            # random weights: a number, or n/a for a reason of this site's test split
            assert row.reason != NOT_IN_BUNDLE, row
            assert row.reason or row.auroc_95ci[0].isdigit(), row
        else:
            assert row.reason == NOT_IN_BUNDLE, row
    assert {(s, t) for s, t in zip(table["source"], table["task"], strict=True)} >= held
    # no fusion coefficients in a released bundle: the footnote says so, not a failed fit
    fused = table[(table["source"] == "fused") & table["task"].isin(VIEW_SPECIFIC)]
    for row in fused[fused["n"] > 0].itertuples():
        assert row.video == f"{BUNDLE_MEAN_LABEL} {FALLBACK_MARK}", row
        assert "in the bundle" in row.note and "too few" not in row.note, row
    continuous = pd.read_csv(res / "metrics/continuous.csv")
    assert set(continuous["reason"]) == {NOT_IN_BUNDLE}
    n_sources = len(ANALYSIS_VIEWS) + 1  # the views and fused
    assert len(continuous) == n_sources * (len(TASKS) - len(table["task"].unique()))


def test_model_vs_baseline_is_skipped_for_want_of_a_baseline(released_run):
    res, _ = released_run
    delong = pd.read_csv(res / "metrics/delong.csv")
    held = delong[[(m, t) in RELEASED or (m == "fused" and t in VIEW_SPECIFIC)
                   for m, t in zip(delong["model"], delong["task"], strict=True)]]
    assert len(held) == len(RELEASED) + len(VIEW_SPECIFIC)
    assert set(held["reason"]) == {NO_BUNDLE_BASELINE}
    assert set(delong.drop(held.index)["reason"]) == {NOT_IN_BUNDLE}
    binary = pd.read_csv(res / "metrics/binary.csv")
    assert set(binary.loc[binary["source"] == "baseline", "reason"]) == {NO_BUNDLE_BASELINE}


def test_summary_and_replication_say_what_the_bundle_lacks(released_run):
    res, _ = released_run
    summary = pd.read_csv(res / "summary.csv")
    assert NOT_IN_BUNDLE in set(summary["missing"])
    # the all-test split of external mode is by design, not a gap
    assert not summary["missing"].str.startswith("no study in").any()
    assert "by design" in (res / "summary.md").read_text()
    readiness = pd.read_csv(res / "readiness.csv")
    for row in readiness.itertuples():
        held = (row.view, row.task) in RELEASED or (row.view == "fused"
                                                    and row.task in VIEW_SPECIFIC)
        assert (row.verdict == f"n/a: {NOT_IN_BUNDLE}") != held, row
    replication = pd.read_csv(res / "replication.csv")
    assert len(replication) > 0
