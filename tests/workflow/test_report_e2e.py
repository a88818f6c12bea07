"""Report stage on the whole demo study (shared `demo_run`) and the DAG of one deliverable."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import planned_jobs, run_snakemake
from test_report_workflow import console_errors, run_chromium

from echocmr.report.deliverables import report_targets
from echocmr.report.qc_flow import check_flow
from echocmr.report.tables import TABLE2_COLUMNS


@pytest.mark.workflow
def test_table2_from_a_fresh_results_folder_plans_only_what_it_needs(workflow_dir):
    proc = run_snakemake(workflow_dir, "-n", "results/table2.csv")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["evaluate"] == 1 and jobs["table2"] == 1
    not_needed = {"delong", "figure1", "supp_figure1", "bland_altman", "replication", "qc_flow",
                  "training_curves", "report_assets", "audit", "table1"}
    assert not (not_needed & set(jobs)), sorted(not_needed & set(jobs))


@pytest.mark.slow
@pytest.mark.workflow
def test_demo_tables_figures_and_replication(demo_run):
    res = demo_run / "results"
    table2 = pd.read_csv(res / "table2.csv")
    assert list(table2.columns) == TABLE2_COLUMNS and len(table2) == 20
    assert list(table2["source"]) == ["A4C", "A2C", "PLAX", "fused"] * 5
    scored = table2.dropna(subset=["auroc"])
    assert len(scored) >= 10  # most cells of the demo have both classes in the test split
    with_ci = scored.dropna(subset=["ci_low"])  # withheld: over 1% one-class resamples
    assert (with_ci["ci_low"] <= with_ci["auroc"]).all()
    assert (with_ci["auroc"] <= with_ci["ci_high"]).all()
    withheld = scored.loc[scored["ci_low"].isna(), "reason"]
    assert withheld.fillna("").astype(str).str.contains("AUROC CI n/a: ").all()
    binary = pd.read_csv(res / "metrics" / "binary.csv")
    assert (binary["n_resamples"] == 10_000).all() and (binary["unit"] == "patient").all()
    rep = pd.read_csv(res / "replication.csv")
    assert len(rep) == 20 + 6 + 16
    verdicts = r"consistent|inconsistent|inconclusive|not counted: synthetic|not reproduced|n/a: "
    assert rep["verdict"].str.match(verdicts).all()
    flow = pd.read_csv(res / "qc" / "flow.csv", keep_default_na=False)
    check_flow(flow)
    for name in ("figure1", "supp_figure1", "bland_altman"):
        assert (res / f"{name}.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
@pytest.mark.workflow
@pytest.mark.browser
def test_demo_html_report_loads_without_script_errors(demo_run):
    run_snakemake(demo_run, *report_targets())
    run_snakemake(demo_run, "--report", "results/report.html", *report_targets())
    dom, log = run_chromium(demo_run / "results" / "report.html", 10_000)
    assert console_errors(log) == []
    rendered = re.sub(r"<script.*?</script>", "", dom, flags=re.S)  # what the app drew
    for category in ("1. Data flow and QC", "5. Results", "6. Replication", "7. Run record"):
        assert category in rendered
