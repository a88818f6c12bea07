"""`snakemake readiness` (dry run) schedules the cohort's labels and no model job, and the study's
deliverables include the readiness report. Its numbers:
tests/unit/cohort/test_cohort_readiness.py."""

from __future__ import annotations

import pytest
from conftest import planned_jobs, run_snakemake


@pytest.mark.workflow
def test_readiness_target_plans_labels_but_no_model_job(workflow_dir):
    proc = run_snakemake(workflow_dir, "-n", "readiness")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert {"crop", "views_decide", "pair", "labels", "readiness"} <= set(jobs)
    model_or_later = {"split", "train", "predict", "fuse", "baseline", "bundle", "evaluate",
                      "table1", "table2", "audit"}
    assert not (model_or_later & set(jobs)), sorted(model_or_later & set(jobs))
    # and the study's deliverables (so the audit) include it
    proc = run_snakemake(workflow_dir, "-n", "results/audit/phi_audit.csv")
    assert planned_jobs(proc.stdout + proc.stderr).get("readiness") == 1
