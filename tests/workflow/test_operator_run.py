"""What a site operator sees, on one finished small run (test preset, planted table defects):
each long rule says what it does, per-file stages show progress in the terminal, dropped table
rows are counted in the summary the run prints, and the finished project moved to another
folder has nothing to rerun."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import copy_workflow, run_snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(project folder, terminal output) of one whole test-preset study."""
    wd = copy_workflow(tmp_path_factory.mktemp("operator") / "project")
    (wd / "defects.yaml").write_text("simulate: {table_defects: 1}\n")
    proc = run_snakemake(wd, "--configfile", "config/presets/test.yaml", "defects.yaml",
                         timeout=1500)
    return wd, proc.stdout + proc.stderr


def test_per_file_stages_show_progress_in_the_terminal(finished):
    _, terminal = finished
    for stage in ("inventory", "de-identify shard 0", "crop shard 0", "view classify"):
        assert re.search(rf"^\[{stage}\] (\d+)/\1 files, [\d.]+/s, ETA 0:00$", terminal,
                         re.M), stage
    progress = [line for line in terminal.splitlines() if line.startswith("[")]
    assert not [line for line in progress if "/raw/" in line or ".dcm" in line]


def test_dropped_rows_are_counted_in_the_summary_the_run_prints(finished):
    wd, terminal = finished
    rejected = pd.read_csv(wd / "results/deid/tables/rejected_rows.csv")
    assert len(rejected) > 0  # the planted defects
    line = (wd / "results/summary.md").read_text().splitlines()[2]
    assert line.startswith(f"Dropped table rows: {len(rejected)} row(s) dropped")
    assert line in terminal  # printed when the run ends
    for reason in set(rejected["reason"]):
        assert f"| {reason} |" in (wd / "results/summary.md").read_text()
    qc_page = (wd / "results/report/qc_flow.html").read_text()
    assert "Dropped table rows" in qc_page


def test_a_moved_project_has_nothing_to_rerun(finished):
    """No absolute path in a rule's inputs or params: Snakemake records them with each output,
    and a changed one reruns the job (a cluster's other mount point would retrain)."""
    wd, _ = finished
    moved = wd.parent.parent / "moved" / "project"
    moved.parent.mkdir()
    os.rename(wd, moved)  # as `mv`: same files, same times, another folder
    try:
        proc = run_snakemake(moved, "-n", "--configfile", "config/presets/test.yaml",
                             "defects.yaml")
        assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]
        recorded = "".join(p.read_text() for p in (moved / ".snakemake/metadata").iterdir())
        assert str(wd) not in recorded
    finally:
        os.rename(moved, wd)
        Path(moved.parent).rmdir()
