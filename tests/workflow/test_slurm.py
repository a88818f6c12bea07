"""The SLURM profile on a real SLURM: a private single-node cluster on this machine.

`tests/slurm/start_slurm.sh` starts munged, slurmctld and slurmd (Debian `slurm-wlm` + `munge`,
installed by tests/setup_system.sh); the workflow then runs through
`snakemake --workflow-profile profiles/slurm` on the `test` preset up to the de-identified and
cropped videos, and every job is checked to have run inside a SLURM job. If SLURM cannot start,
the test FAILS with the daemon logs (it never skips).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import REPO, VENV_BIN, copy_workflow, preset_shards, run_snakemake

from echocmr.ingest.paths import shard_path

START = REPO / "tests" / "slurm" / "start_slurm.sh"
STOP = REPO / "tests" / "slurm" / "stop_slurm.sh"
PROFILE = REPO / "profiles" / "slurm" / "config.yaml"

SUBMITTED_RE = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
# A job block: "rule NAME:" / "localrule NAME:" and its indented fields (group jobs indent it).
RULE_BLOCK_RE = re.compile(r"^( *)(local)?rule (\w+):\n((?:\1    .*\n)*)", re.M)


def slurm_targets() -> list[str]:
    """The cheap front of the `test` preset: raw export -> manifest -> de-identified -> cropped."""
    n = preset_shards()
    return [
        "results/ingest/manifest.csv",
        *(shard_path("results/deid", n, s, ".csv") for s in range(n)),
        *(shard_path("results/crop", n, s, "/index.csv") for s in range(n)),
    ]


def _daemon_pids(state: Path) -> dict[str, int]:
    pids = {}
    for name in ("munged", "slurmctld", "slurmd"):
        f = state / "run" / f"{name}.pid"
        if f.exists() and f.read_text().strip():
            pids[name] = int(f.read_text().strip())
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node SLURM; stopped (and checked stopped) at teardown."""
    # Short path under /tmp: the munge socket path must stay under the 108-byte limit.
    state = Path(tempfile.mkdtemp(prefix="echocmr-slurm-", dir="/tmp"))
    state.chmod(0o755)
    proc = subprocess.run(["bash", str(START), str(state)], capture_output=True, text=True,
                          timeout=240)
    if proc.returncode != 0:
        subprocess.run(["bash", str(STOP), str(state)], capture_output=True, timeout=120)
        pytest.fail(
            "could not start the single-node SLURM (tests/slurm/start_slurm.sh):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-6000:]}",
            pytrace=False,
        )
    pids = _daemon_pids(state)
    assert set(pids) == {"munged", "slurmctld", "slurmd"}, pids
    try:
        yield state
    finally:
        subprocess.run(["bash", str(STOP), str(state)], capture_output=True, timeout=120)
        left = [name for name, pid in pids.items() if _alive(pid)]
        shutil.rmtree(state, ignore_errors=True)
        assert not left, f"SLURM daemons still running after teardown: {left}"


def _squeue_states(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """job id -> (state, job name), from slurmctld's memory (MinJobAge=600, no accounting)."""
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T|%j", "--jobs", ",".join(job_ids)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    rows = (line.split("|") for line in out.splitlines() if line.strip())
    return {r[0]: (r[1], r[2]) for r in rows}


def _rule_jobs(text: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(rule, wildcards) of the remote and of the local jobs a Snakemake log announces."""
    remote, local = set(), set()
    for m in RULE_BLOCK_RE.finditer(text):
        wildcards = re.search(r"^\s+wildcards: (.*)$", m.group(4), re.M)
        job = (m.group(3), wildcards.group(1) if wildcards else "")
        (local if m.group(2) else remote).add(job)
    return remote, local


def _run_on_slurm(wd: Path, targets: list[str]) -> subprocess.CompletedProcess:
    return run_snakemake(
        wd,
        "--workflow-profile", "profiles/slurm",
        "--configfile", "config/presets/test.yaml",
        # no accounting here: job states come from squeue (the documented option)
        "--slurm-status-command", "squeue",
        # a 2-CPU node: poll fast, keep every SLURM log for the checks below
        "--slurm-init-seconds-before-status-checks", "2",
        "--seconds-between-status-checks", "2",
        "--slurm-keep-successful-logs",
        # the node has the machine's CPUs: no job may ask for more
        "--max-threads", str(min(2, len(os.sched_getaffinity(0)))),
        "--jobs", "4",
        *targets,
        timeout=900,
    )


def _slurm_log_tails(wd: Path, lines: int = 40) -> str:
    """Last lines of every SLURM job log, for failure messages."""
    parts = []
    for log in sorted((wd / ".snakemake" / "slurm_logs").rglob("*.log")):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        parts.append(f"--- {log.relative_to(wd)}\n{tail}")
    return "\n".join(parts) or "(none written)"


@pytest.mark.slurm
@pytest.mark.workflow
@pytest.mark.slow
def test_front_of_workflow_runs_as_slurm_jobs(slurm_cluster, tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    targets = slurm_targets()
    try:
        proc = _run_on_slurm(wd, targets)
    except (AssertionError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"{err}\n\nSLURM job logs:\n{_slurm_log_tails(wd)}", pytrace=False)
    for target in targets:
        assert (wd / target).exists(), f"{target} missing after the SLURM run"

    logs = sorted((wd / ".snakemake" / "log").glob("*.snakemake.log"))
    assert logs, "no Snakemake log written"
    main_log = logs[-1].read_text()
    assert "Falling back to 'sacct'" not in main_log, "squeue status mode was not used"

    submitted = SUBMITTED_RE.findall(main_log)
    assert submitted, f"no job was submitted to SLURM:\n{proc.stderr[-3000:]}"
    slurm_ids = [jid for _, jid, _ in submitted]
    assert len(set(slurm_ids)) == len(slurm_ids), "a SLURM job id was reported twice"

    # 1. SLURM itself ran and finished every submitted job, under this run's job name.
    states = _squeue_states(slurm_ids)
    assert set(states) == set(slurm_ids), f"unknown to slurmctld: {set(slurm_ids) - set(states)}"
    bad = {jid: st for jid, (st, _) in states.items() if st != "COMPLETED"}
    assert not bad, f"SLURM jobs not COMPLETED: {bad}"
    assert len({name for _, name in states.values()}) == 1, "jobs of one run carry one name"

    # 2. Every non-local job of the run executed inside one of those SLURM jobs: its
    #    rule + wildcards appear in the job's SLURM log, written by slurmd as <jobid>.log.
    remote_jobs, _ = _rule_jobs(main_log)
    assert {r for r, _ in remote_jobs} >= {"crop"}, remote_jobs
    ran_in_slurm: set[tuple[str, str]] = set()
    jobs_per_slurm_job = []
    for _, jid, log_path in submitted:
        log = Path(log_path)
        assert log.name == f"{jid}.log" and log.exists(), f"SLURM log of job {jid} missing: {log}"
        text = log.read_text()
        finished = "Finished jobid" in text or "steps (100%) done" in text
        assert finished, f"job {jid} did not finish cleanly:\n{text[-2000:]}"
        # the job step announces each job ("rule"), its inner run again ("localrule")
        outer, inner = _rule_jobs(text)
        ran_in_slurm |= outer | inner
        jobs_per_slurm_job.append(len(outer | inner))
    assert remote_jobs == ran_in_slurm, (
        f"jobs not run in SLURM: {remote_jobs - ran_in_slurm}; "
        f"unexpected: {ran_in_slurm - remote_jobs}"
    )
    # 3. The profile's per-shard group batched deidentify + crop of a shard into one SLURM job.
    assert max(jobs_per_slurm_job) >= 2, "no SLURM job ran a group of jobs"
    assert any("group_shard_pipeline" in p for _, _, p in submitted), submitted


def _profile_rule_names() -> set[str]:
    profile = yaml.safe_load(PROFILE.read_text())
    names = set(profile.get("set-resources", {})) | set(profile.get("set-threads", {}))
    names |= set(profile.get("groups", {}))
    return names


def test_slurm_profile_names_only_existing_rules():
    """Snakemake silently ignores set-resources/groups for unknown rules: catch stale names."""
    proc = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--list-rules", "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rules = {ln.strip() for ln in proc.stdout.splitlines() if re.match(r"^\w+\s*$", ln)}
    stale = _profile_rule_names() - rules
    assert not stale, f"profiles/slurm/config.yaml names rules that do not exist: {stale}"


@pytest.mark.workflow
def test_slurm_profile_is_accepted_by_snakemake(workflow_dir):
    """Every key of the profile is a real option: a dry run of the whole study loads it."""
    proc = run_snakemake(workflow_dir, "--workflow-profile", "profiles/slurm", "-n",
                         "--quiet", "rules", timeout=600)
    assert re.search(r"^train\s+\d+", proc.stdout, re.M), proc.stdout[-2000:]


HEAVY_RULES = {"simulate", "inventory", "deidentify", "crop", "views_fit", "views_classify",
               "train", "predict", "evaluate", "audit"}


def _declared_localrules() -> set[str]:
    """Names in every `localrules:` directive of the Snakefile and rule files."""
    names: set[str] = set()
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        for m in re.finditer(r"^localrules:(.*(?:\n[ \t]+.*)*)", path.read_text(), re.M):
            names |= set(re.findall(r"\w+", m.group(1)))
    return names


def test_local_rules_are_cheap_and_exist():
    """Rules kept on the submit node must exist and must not be the heavy per-file/GPU ones."""
    local = _declared_localrules()
    assert not local & HEAVY_RULES, f"heavy rules declared local: {local & HEAVY_RULES}"
    rules = {r.group(1) for path in (REPO / "workflow" / "rules").glob("*.smk")
             for r in re.finditer(r"^rule (\w+):", path.read_text(), re.M)} | {"all"}
    assert local <= rules, f"localrules names unknown rules: {local - rules}"


def test_slurm_profile_uses_real_plugin_options():
    """Every plugin option the profile or docs use exists in the pinned plugin."""
    from snakemake_executor_plugin_slurm import ExecutorSettings

    fields = {f.replace("_", "-") for f in ExecutorSettings.__dataclass_fields__}
    profile = yaml.safe_load(PROFILE.read_text())
    used = {k.removeprefix("slurm-") for k in profile if k.startswith("slurm-")}
    used |= {"status-command", "init-seconds-before-status-checks", "keep-successful-logs"}
    assert used <= fields, used - fields
    assert profile["executor"] == "slurm"
    train = profile["set-resources"]["train"]
    assert "gpu" not in train and "gres" not in train, "gpu=1 comes from the rule itself"


# ---- GPU placement: the sbatch flags the real plugin builds for train and predict -----------

GPU_RULES = ("train", "predict")
PAPER_TARGET = "results/predictions/A4C/wma.csv"  # one per_task model: train + predict
PLACEMENT_DOC_RE = re.compile(r"^    (train|predict) +\| (\S+) +\| (.+)$", re.M)


class _Resources(dict):
    """A job's resources as the plugin reads them: .get(name) and attribute access."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _value(text: str):
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _dry_run_jobs(wd: Path, *profile_args: str) -> dict[str, SimpleNamespace]:
    """rule -> a job carrying the resources Snakemake resolved for it (profile, rule, config)."""
    proc = run_snakemake(wd, *profile_args, "-n", "--configfile", "config/presets/paper.yaml",
                         "--", PAPER_TARGET, timeout=600)
    jobs = {}
    for m in RULE_BLOCK_RE.finditer(proc.stdout):
        if m.group(3) not in GPU_RULES:
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", m.group(4), re.M))
        resources = _Resources((k, _value(v)) for k, v in
                               (kv.split("=", 1) for kv in fields["resources"].split(", ")))
        jobs[m.group(3)] = SimpleNamespace(name=m.group(3), resources=resources,
                                           threads=int(fields.get("threads", 1)))
    assert set(jobs) == set(GPU_RULES), proc.stdout[-3000:]
    return jobs


def placement_flags(job) -> str:
    """The sbatch line the plugin submits for `job`, without its per-run parts (job name, log,
    comment, workdir): partition, time, memory, CPUs and GPUs."""
    from snakemake_executor_plugin_slurm import Executor
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    # the executor's own partition choice (no partition file, no default partition queried)
    partition = Executor.get_partition_arg(
        SimpleNamespace(_partitions=None, _fallback_partition="", logger=None), job)
    params = {"run_uuid": "RUN", "slurm_logfile": "LOG", "comment_str": "C", "account": "",
              "partition": partition, "workdir": ""}
    call = get_submit_command(job, params) + set_gres_string(job)
    generic = "sbatch --parsable --job-name RUN --output LOG --export=ALL --comment C"
    assert call.startswith(generic), call
    return " ".join(call[len(generic):].split())


def _documented_placement() -> dict[tuple[str, str], str]:
    """(rule, profile) -> flags, from the placement table in docs/scaling.md."""
    doc = (REPO / "docs" / "scaling.md").read_text()
    return {(m.group(1), m.group(2)): m.group(3).strip() for m in PLACEMENT_DOC_RE.finditer(doc)}


@pytest.mark.workflow
def test_gpu_jobs_sbatch_flags_from_the_real_plugin_match_the_docs(workflow_dir):
    """The paper preset's train/predict jobs through the plugin's own argument builder: a named
    GPU partition, a time limit from the config (not 24 h), --gpus=1 or (gres overlay) only
    --gres; docs/scaling.md shows exactly these flags."""
    variants = {"slurm": ("--workflow-profile", "profiles/slurm"),
                "slurm-gres": ("--profile", "profiles/slurm", "--workflow-profile",
                               "profiles/slurm-gres")}
    built = {}
    for name, args in variants.items():
        for rule, job in _dry_run_jobs(workflow_dir, *args).items():
            built[(rule, name)] = placement_flags(job)
    for (_rule, name), flags in built.items():
        assert "-p gpu" in flags and "-t 1440" not in flags, flags
        if name == "slurm":
            assert "--gpus=1" in flags and "--gres" not in flags, flags
        else:
            assert "--gres=gpu:1" in flags and "--gpus" not in flags, flags
    assert _documented_placement() == built


def _preset_config(*overlays: str) -> dict:
    """config.yaml with preset overlays, and the schema's defaults (as the Snakefile loads it)."""
    from snakemake.utils import validate

    def merge(base, over):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k),
                                                                             dict) else v
        return out

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for overlay in overlays:
        config = merge(config, yaml.safe_load((REPO / overlay).read_text()))
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def test_time_limits_follow_the_preset_and_double_on_retry():
    from echocmr.model.job_time import predict_minutes, train_minutes

    demo, paper = _preset_config(), _preset_config("config/presets/paper.yaml")
    assert train_minutes(demo) == 30 and train_minutes(paper) == 70  # docs/scaling.md
    assert train_minutes(paper, attempt=2) == 140
    slower = {**paper, "model": {**paper["model"], "runtime_tflops": 5}}
    longer = {**paper, "model": {**paper["model"], "max_epochs": 200}}
    assert train_minutes(slower) > train_minutes(paper) < train_minutes(longer)
    bigger = {**paper, "model": {**paper["model"], "expected_studies": 25_000}}
    assert train_minutes(bigger) > train_minutes(paper)
    assert predict_minutes(paper) == 30
