"""What reruns when (issue 14): on the finished demo run, a changed config key schedules, for
changed params, exactly the rules that read it (their downstream jobs follow for changed
inputs), and an edited library module the rules whose scripts import it. Dry runs only: the
shared run's results are never touched (the edited module is restored)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import run_snakemake

from echocmr.codehash import ScriptFingerprints
from tools.params_scope import CONFIG_RECORDS

RECORDERS = set(CONFIG_RECORDS)  # rerun on any config change (cheap: they record it)
# A job's first reason only: params, or (downstream of a rerun job) its updated inputs.
JOB = re.compile(r"^rule (\w+):\n(?:    .*\n)*?    reason: (.*)$", re.MULTILINE)

# One key per rule family: the new value and the rules that read the key.
CASES = {
    "model.fuse_min_val": (7, {"fuse"}),
    "model.lr": (0.002, {"train"}),
    "model.test_clips": ("all", {"predict"}),
    "model.threads": (2, set()),
    "audit.workers": (3, set()),
    "evaluate.n_bootstrap": (500, {"evaluate", "operating_points", "calibration"}),
    "report.published": ({"table2": {"wma": {"A4C": [0.8, 0.7, 0.9]}}},
                         {"replication", "readiness"}),
    "views.threshold": (0.6, {"views_decide"}),
    "ingest.jpeg_quality": (90, {"deidentify"}),
    "ingest.crop.chroma_threshold": (21, {"crop"}),
    "cohort.window_days": (20, {"pair"}),
}


def nested(key: str, value) -> dict:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def rule_scripts(workdir: Path) -> dict[str, str]:
    """rule -> the script it runs, read from the rules files."""
    found = {}
    for smk in (workdir / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"(?m)^(?=rule )", smk.read_text()):
            script = re.search(r'"\.\./scripts/(\w+\.py)"', block)
            if block.startswith("rule ") and script:
                found[block.split()[1].rstrip(":")] = script.group(1)
    return found


def params_jobs(workdir: Path, *args: str) -> set[str]:
    """Rules of the jobs a dry run schedules because their params changed."""
    out = run_snakemake(workdir, "-n", "--rerun-triggers", "params", *args).stdout
    return {rule for rule, reason in JOB.findall(out) if "Params have changed" in reason}


def test_the_finished_run_is_up_to_date(demo_run):
    assert params_jobs(demo_run) == set()


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_changed_key_reruns_exactly_the_rules_that_read_it(demo_run, tmp_path, key):
    value, readers = CASES[key]
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump(nested(key, value)))
    jobs = params_jobs(demo_run, "--configfile", str(overlay))
    # a recorder downstream of a reader is listed for its updated input, not its params
    assert jobs - RECORDERS == readers
    if not readers:  # a key no rule reads as a param (model.threads): only the recorders
        assert jobs == RECORDERS


def test_an_edited_library_module_reruns_the_rules_whose_scripts_import_it(demo_run):
    module = demo_run / "src" / "echocmr" / "stats" / "delong.py"
    scripts = ScriptFingerprints(demo_run)
    importers = {p.name for p in scripts.scripts.glob("*.py")
                 if "echocmr.stats.delong" in scripts.modules_of(p)}
    assert "delong.py" in importers and "model_train.py" not in importers
    original = module.read_text()
    try:
        module.write_text(original + "\n_EDITED = True\n")
        jobs = params_jobs(demo_run)
        module.write_text(original + "\n# a comment only: the same code\n")
        comment_jobs = params_jobs(demo_run)
    finally:
        module.write_text(original)
    # figures are also importers, listed for their inputs (downstream of evaluate)
    assert jobs <= {r for r, script in rule_scripts(demo_run).items() if script in importers}
    assert "delong" in jobs and not jobs & {"train", "predict", "crop", "deidentify", "fuse"}
    assert comment_jobs == set()
