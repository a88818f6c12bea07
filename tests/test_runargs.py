"""run.sh: which invocations end with the HTML report (src/echocmr/runargs.py)."""

from __future__ import annotations

import pytest

from echocmr.runargs import wants_report


@pytest.mark.parametrize("argv", [
    [],
    ["--configfile", "config/presets/paper.yaml"],
    ["--cores", "2", "--rerun-incomplete", "--keep-going"],
    ["--configfile", "config/presets/signal.yaml", "--config", "seed=3"],
    ["--workflow-profile", "profiles/slurm"],
])
def test_a_full_default_run_ends_with_the_report(argv):
    assert wants_report(argv)


@pytest.mark.parametrize("argv", [
    ["-n"],
    ["--dry-run", "--configfile", "config/presets/paper.yaml"],
    ["results/table2.csv"],
    ["--cores", "2", "results/table2.csv"],
    ["--configfile", "config/presets/paper.yaml", "--", "results/table1.csv"],
    ["report_inputs"],
    ["--lint"],
    ["--report", "elsewhere.html"],
    ["--until", "evaluate"],
    ["--allowed-rules", "table2"],
    ["--dag"],
    ["--list-rules"],
    ["--summary"],
    ["--touch"],
    ["--unlock"],
    ["--delete-all-output"],
    ["--version"],
    ["--no-such-option"],
])
def test_no_report_for_dry_runs_targets_and_other_modes(argv):
    assert not wants_report(argv)
