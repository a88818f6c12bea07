"""Per-shard outputs are keyed by the shard count (issue 12, item 6): after a change of
`ingest.shards` the outputs of the earlier layout are inputs of no job, are neither reused nor
overwritten, are not deleted by parsing (`-n`, `--lint`), and the audit names them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import copy_workflow, preset_shards, run_snakemake

from echocmr.ingest.paths import other_layouts, shard_dirs, shard_layout, shard_path

OLD_SHARDS, NEW_SHARDS = 4, preset_shards()  # ingest.shards lowered from 4 to the test preset's
PRESET = "config/presets/test.yaml"
JOB_RE = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", re.M)


# ----------------------------------------------------------------------------- path helper


def test_shard_paths_carry_the_shard_count():
    assert shard_layout(4) == "shards-4"
    assert shard_path("results/deid", 4, 1, ".csv") == "results/deid/shards-4/shard-1.csv"
    assert shard_path("results/crop", 2) == "results/crop/shards-2/shard-{shard}"
    assert shard_dirs("results/crop", 2) == ["results/crop/shards-2/shard-0",
                                             "results/crop/shards-2/shard-1"]


def test_other_layouts_lists_earlier_counts_only(tmp_path):
    for n in (2, 4):
        Path(shard_path(tmp_path / "deid", n, 0)).mkdir(parents=True)
        Path(shard_path(tmp_path / "logs" / "crop", n, 0)).mkdir(parents=True)
    (tmp_path / "deid" / "shards-4" / "shard-0" / "shards-9").mkdir()  # inside a layout: no
    assert other_layouts(tmp_path, 2) == ["deid/shards-4", "logs/crop/shards-4"]
    assert other_layouts(tmp_path, 4) == ["deid/shards-2", "logs/crop/shards-2"]


# ----------------------------------------------------------------------------- the workflow


def planned_jobs(wd: Path, *configfiles: str) -> list[dict]:
    """Every job of the whole study's dry run: rule, wildcards and the files it names."""
    proc = run_snakemake(wd, "-n", "--configfile", *configfiles)
    jobs = []
    for match in JOB_RE.finditer(proc.stderr + proc.stdout):
        fields = dict(line.strip().split(": ", 1) for line in match.group(2).splitlines()
                      if ": " in line)
        files = {f for key in ("input", "output", "log") if fields.get(key)
                 for f in fields[key].split(", ")}
        jobs.append(dict(rule=match.group(1), wildcards=fields.get("wildcards", ""),
                         output={f for key in ("output", "log") if fields.get(key)
                                 for f in fields[key].split(", ")}, files=files))
    assert jobs, proc.stderr[-3000:]
    return jobs


def plant_outputs(wd: Path, jobs: list[dict]) -> list[Path]:
    """Stand-ins for what the per-shard jobs of an earlier run wrote."""
    planted = []
    for job in jobs:
        if "shard=" not in job["wildcards"]:
            continue
        for rel in job["output"]:
            path = wd / rel
            if path.suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("x\n")
            else:  # a folder output: de-identified DICOM, AVIs
                path.mkdir(parents=True, exist_ok=True)
            planted.append(path)
    return planted


@pytest.mark.workflow
def test_old_layout_is_read_by_nothing_and_kept(tmp_path):
    assert OLD_SHARDS != NEW_SHARDS
    wd = copy_workflow(tmp_path / "wf")
    (wd / "old_shards.yaml").write_text(f"ingest: {{shards: {OLD_SHARDS}}}\n")
    old_jobs = planned_jobs(wd, PRESET, "old_shards.yaml")
    planted = plant_outputs(wd, old_jobs)
    assert len({p.parent for p in planted if p.suffix == ".csv"}) >= 3  # deid, qc, views
    old_files = {p.relative_to(wd).as_posix() for p in planted}

    new_jobs = planned_jobs(wd, PRESET)
    named = set().union(*(job["files"] for job in new_jobs))
    # no job reads, writes or sits inside a folder of the old layout
    assert not {f for f in named for old in old_files
                if f == old or f.startswith(old + "/") or old.startswith(f + "/")}
    assert not [f for f in named if f"/{shard_layout(OLD_SHARDS)}/" in f]
    # nothing is reused: every shard of the new layout is planned afresh
    for rule in ("deidentify", "crop", "views_classify"):
        shards = sorted(j["wildcards"] for j in new_jobs if j["rule"] == rule)
        assert shards == [f"shard={s}" for s in range(NEW_SHARDS)], rule
    audit = next(j for j in new_jobs if j["rule"] == "audit")
    assert {f for f in audit["files"] if "/shard-" in f} == {
        *shard_dirs("results/deid", NEW_SHARDS),
        *(f"{d}/index.csv" for d in shard_dirs("results/crop", NEW_SHARDS))}

    # parsing deletes nothing (a clean-up at parse time would also run on -n and --lint)
    run_snakemake(wd, "--lint", "--configfile", PRESET, check=False)
    assert all(p.exists() for p in planted)
    # what the audit's log names: the old layout folders, per stage
    expected = {old.split(f"/{shard_layout(OLD_SHARDS)}/")[0].removeprefix("results/")
                + f"/{shard_layout(OLD_SHARDS)}" for old in old_files}
    assert set(other_layouts(wd / "results", NEW_SHARDS)) == expected
    assert {"deid/shards-4", "crop/shards-4", "qc/deidentify/shards-4",
            "views/shards-4"} <= expected
