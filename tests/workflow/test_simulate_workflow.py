"""Rule simulate through real Snakemake: DAG for the demo and paper presets, a real test-preset
run, and a targeted rerun of one output."""

from __future__ import annotations

import pandas as pd
import pydicom
import pytest
from conftest import run_snakemake

TARGET = "synthetic/raw/cmr_reports.csv"


@pytest.mark.workflow
@pytest.mark.parametrize("preset", [None, "paper"])
def test_dry_run_builds_the_simulate_dag(workflow_dir, preset):
    args = ["-n", TARGET, "synthetic/truth/videos.csv"]
    if preset:
        args += ["--configfile", f"config/presets/{preset}.yaml"]
    proc = run_snakemake(workflow_dir, *args)
    out = proc.stdout + proc.stderr
    assert "simulate" in out and "1 of 1 steps" not in out  # dry-run: nothing executed
    assert not (workflow_dir / "synthetic").exists()


@pytest.mark.workflow
@pytest.mark.slow
def test_test_preset_runs_and_a_target_rerun_rebuilds_one_output(workflow_dir):
    run_snakemake(workflow_dir, TARGET, "--configfile", "config/presets/test.yaml")
    raw = workflow_dir / "synthetic" / "raw"
    videos = pd.read_csv(workflow_dir / "synthetic" / "truth" / "videos.csv",
                         keep_default_na=False)
    assert (raw / "view_labels.csv").exists() and (raw / "clinical.csv").exists()
    cine = videos[videos["kind"] == "cine"].iloc[0]
    ds = pydicom.dcmread(raw / "dicom" / cine["relative_path"])
    assert ds.pixel_array.shape[1:3] == (96, 128)
    log = workflow_dir / "results" / "logs" / "simulate" / "simulate.log"
    assert "cohort:" in log.read_text()
    before = (raw / "clinical.csv").read_bytes()
    (raw / "clinical.csv").unlink()
    run_snakemake(workflow_dir, str(raw.relative_to(workflow_dir) / "clinical.csv"),
                  "--configfile", "config/presets/test.yaml")
    assert (raw / "clinical.csv").read_bytes() == before  # same seed, same bytes


@pytest.mark.workflow
def test_a_wrong_simulate_key_fails_at_start_naming_it(workflow_dir):
    (workflow_dir / "bad.yaml").write_text("simulate:\n  n_patientz: 3\n")
    proc = run_snakemake(workflow_dir, "-n", TARGET, "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "n_patientz" in proc.stdout + proc.stderr
