"""The workflow stays lint-clean, snakefmt-formatted and ruff-clean (project standards)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO, copy_workflow, run_snakemake

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    proc = run_snakemake(wd, "--lint", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Congratulations" in out, out[-6000:]


def test_snakefmt_check_is_clean():
    proc = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_is_clean():
    proc = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
