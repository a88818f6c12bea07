"""End to end: the whole study on the embedded synthetic default, as `bash run.sh` runs it."""

from __future__ import annotations

import filecmp

import pandas as pd
import pytest
from conftest import copy_workflow, run_snakemake

DELIVERABLES = [
    "results/table1.csv", "results/table1.md", "results/table1.html",
    "results/table2.csv", "results/table2.md", "results/table2.html",
    "results/figure1.png", "results/figure1.pdf",
    "results/supp_figure1.png", "results/supp_figure1.pdf",
    "results/bland_altman.png", "results/replication.csv",
    "results/qc/flow.csv", "results/qc/flow.png",
    "results/ingest/manifest.csv", "results/audit/phi_audit.csv",
    "results/metrics/binary.csv", "results/metrics/continuous.csv", "results/metrics/delong.csv",
]


@pytest.mark.slow
@pytest.mark.workflow
def test_demo_builds_every_deliverable(demo_run):
    missing = [p for p in DELIVERABLES if not (demo_run / p).is_file()]
    assert not missing, missing
    empty = [p for p in DELIVERABLES if (demo_run / p).stat().st_size == 0]
    assert not empty, empty


@pytest.mark.slow
@pytest.mark.workflow
def test_demo_every_input_file_is_accounted_for(demo_run):
    manifest = pd.read_csv(demo_run / "results/ingest/manifest.csv")
    # Snakemake marks a directory() output with `.snakemake_timestamp`; it is not an input file.
    n_files = sum(1 for p in (demo_run / "synthetic/raw/dicom").rglob("*")
                  if p.is_file() and p.name != ".snakemake_timestamp")
    assert len(manifest) == n_files
    excluded = manifest[manifest["status"] == "excluded"]
    assert excluded["reason"].notna().all() and (excluded["reason"] != "").all()


@pytest.mark.slow
@pytest.mark.workflow
def test_demo_is_up_to_date_after_the_run(demo_run):
    """A second invocation has nothing to do: outputs are complete and not spuriously stale."""
    proc = run_snakemake(demo_run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.workflow
def test_same_seed_gives_byte_identical_tables(tmp_path):
    """Same config + same seed on CPU = byte-identical tables (two independent runs)."""
    tables = ["results/table1.csv", "results/table2.csv", "results/metrics/binary.csv",
              "results/metrics/continuous.csv", "results/ingest/manifest.csv",
              "results/cohort/labels.csv", "results/cohort/study_split.csv"]
    runs = []
    for name in ("a", "b"):
        wd = copy_workflow(tmp_path / name)
        # targets first: --configfile takes every following argument as a config file
        run_snakemake(wd, *tables, "--configfile", "config/presets/test.yaml")
        runs.append(wd)
    differing = [t for t in tables if not filecmp.cmp(runs[0] / t, runs[1] / t, shallow=False)]
    assert not differing, differing
