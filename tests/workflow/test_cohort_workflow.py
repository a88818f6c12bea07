"""The cohort rules through real Snakemake on contract-shaped upstream files (issue 5)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from cohort_tables import PAPER_ROWS, make_cohort, run_cohort_stage
from conftest import run_snakemake

COHORT_RULES = ["validate_tables", "pair", "labels", "split", "table1"]
TARGETS = ["results/table1.csv", "results/table1.md", "results/table1.html",
           "results/qc/cohort.csv", "results/cohort/split.csv", "results/cohort/labels.csv"]
DETERMINISTIC = ["results/cohort/pairs.csv", "results/cohort/labels.csv",
                 "results/cohort/split.csv", "results/cohort/study_split.csv",
                 "results/cohort/excluded_rows.csv", "results/qc/cohort.csv",
                 "results/table1.csv", "results/table1.md", "results/table1.html"]


def cohort_with_bad_rows():
    cohort = make_cohort(80, seed=5)
    cmr = cohort.cmr_reports.astype(str)
    cmr.loc[0, "t1_native_ms"] = "50000"
    cmr.loc[1, "cmr_date"] = "2020-02-31"
    cmr.loc[2, "wm_04"] = "severe"
    cohort.cmr_reports = cmr
    clinical = cohort.clinical.astype(str)
    clinical.loc[0, "sex"] = "unknown"
    cohort.clinical = clinical
    return cohort


@pytest.mark.workflow
def test_cohort_rules_run_in_snakemake(workflow_dir, tmp_path):
    cohort = cohort_with_bad_rows()
    cohort.write(workflow_dir)
    # only the cohort rules: the contract files above stand in for ingest and views
    proc = run_snakemake(workflow_dir, *TARGETS, "--allowed-rules", *COHORT_RULES)
    assert "table1" in proc.stdout + proc.stderr

    excluded = pd.read_csv(workflow_dir / "results/cohort/excluded_rows.csv")
    assert excluded[["table", "row"]].values.tolist() == [["cmr_reports", 1], ["cmr_reports", 2],
                                                          ["cmr_reports", 3], ["clinical", 1]]
    assert excluded["reason"].str.contains("t1_native_ms: above maximum").any()
    for rule in COHORT_RULES:
        assert (workflow_dir / f"results/logs/cohort/{rule}.log").exists()

    qc = pd.read_csv(workflow_dir / "results/qc/cohort.csv", keep_default_na=False)
    for _, step in qc.groupby("step", sort=False):
        assert step["n_in"].iloc[0] - step["n_excluded"].sum() == step["n_out"].iloc[0]
    assert qc["step"].unique().tolist() == ["paired", "adults", "in analysis"]

    # the scripts run exactly the library, with the config's seed and split: same bytes
    config = yaml.safe_load((workflow_dir / "config" / "config.yaml").read_text())
    run_cohort_stage(cohort, tmp_path, cohort_config={"split": config["cohort"]["split"]},
                     seed=config["seed"])
    for path in DETERMINISTIC:
        assert (workflow_dir / path).read_bytes() == (tmp_path / path).read_bytes(), path

    again = run_snakemake(workflow_dir, *TARGETS, "--allowed-rules", *COHORT_RULES)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.workflow
def test_bad_cohort_config_fails_before_any_job(workflow_dir):
    (workflow_dir / "bad.yaml").write_text("cohort:\n  split:\n    fractions: [0.5, 0.1, 0.1]\n")
    proc = run_snakemake(workflow_dir, "-n", "results/table1.csv", "--configfile", "bad.yaml",
                         check=False)
    assert proc.returncode != 0
    assert "cohort.split.fractions" in proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.workflow
def test_demo_run_cohort_outputs(demo_run):
    """End to end on the synthetic demo: the cohort deliverables hold their invariants."""
    results = demo_run / "results"
    table = pd.read_csv(results / "table1.csv")
    assert table["key"].tolist() == PAPER_ROWS
    assert (results / "table1.md").exists() and (results / "table1.html").exists()

    pairs = pd.read_csv(results / "cohort/pairs.csv")
    assert len(pairs) > 0 and pairs["interval_days"].abs().max() <= 30
    assert pairs["study_key"].is_unique
    study_split = pd.read_csv(results / "cohort/study_split.csv")
    assert study_split.groupby("patient_key")["split"].nunique().max() == 1
    assert set(study_split["split"]) == {"train", "val", "test"}
    labels = pd.read_csv(results / "cohort/labels.csv")
    assert set(study_split["study_key"]) <= set(labels["study_key"])

    # against the simulator's truth: every pair is a true pair with the true interval, and
    # (views being classified, not known) nearly every true pair is found
    truth = pd.read_csv(demo_run / "synthetic/truth/studies.csv").set_index("study_key")
    truly_paired = truth.index[truth["paired"].astype(bool)]
    assert set(pairs["study_key"]) <= set(truly_paired)
    assert (pairs.set_index("study_key")["interval_days"]
            == truth.loc[pairs["study_key"], "interval_days"]).all()
    assert len(pairs) >= 0.9 * len(truly_paired)

    studies = table.set_index("key").loc["echo_studies"]
    assert studies["n"] == len(study_split)
    assert studies["N"] == study_split["patient_key"].nunique()
    qc = pd.read_csv(results / "qc/cohort.csv", keep_default_na=False)
    for _, step in qc.groupby("step", sort=False):
        assert step["n_in"].iloc[0] - step["n_excluded"].sum() == step["n_out"].iloc[0]
    assert qc.loc[qc["step"] == "in analysis", "n_out"].iloc[0] == len(study_split)
