"""run.sh: which invocations end with the HTML report (src/echocmr/runargs.py)."""

from __future__ import annotations

import pytest

from tools.runargs import wants_report


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


def test_a_target_typed_after_configfile_gets_the_call_that_works(tmp_path, monkeypatch):
    from tools.runargs import configfile_problem

    monkeypatch.chdir(tmp_path)
    (tmp_path / "site.yaml").write_text("input: {mode: site}\n")
    message = configfile_problem(["--configfile", "site.yaml", "results/ingest/manifest.csv"])
    assert "snakemake results/ingest/manifest.csv --configfile site.yaml" in message
    assert "--configfile=site.yaml" in message
    # a rule name after --configfile is a target as well
    assert "snakemake readiness --configfile site.yaml" in configfile_problem(
        ["--configfile", "site.yaml", "readiness"])
    # the forms that work are left alone
    for argv in (["results/ingest/manifest.csv", "--configfile", "site.yaml"],
                 ["--configfile=site.yaml", "results/ingest/manifest.csv"],
                 ["--configfile", "site.yaml", "--", "results/ingest/manifest.csv"],
                 ["--cores", "2"]):
        assert configfile_problem(argv) is None, argv
    assert "no such file" in configfile_problem(["--configfile", "sight.yaml"])
