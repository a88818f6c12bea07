"""The seed spread (docs/seed_spread.md): the assembler on small Table 2 files of the real
layout (values checked by hand arithmetic), and the driver's real Snakemake dry runs, one DAG
per seed in its own working folder."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from echocmr.report import seed_spread as ss
from echocmr.report.style import fmt_ci
from echocmr.report.tables import table2
from echocmr.vocab.tasks import BINARY_TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

REPO = Path(__file__).resolve().parents[2]
SEEDS = [11, 12, 13]
# Fused WMA per seed: mean 0.86, deviations -0.06, 0, +0.06 -> sample SD sqrt(2 * 0.0036 / 2)
WMA = {11: 0.80, 12: 0.86, 13: 0.92}
HALF = 0.105  # CI half-width: 0.6x - HALF is off 0.5 on every seed (no tie at the boundary)


def metrics_rows(seed: int) -> list[dict]:
    """binary.csv-like rows for every Table 2 cell: AUROC 0.6 + 0.01 * seed offset, CI +-HALF;
    fused WMA from WMA; the fused T1 null's CI misses 0.5 on seed 13 only."""
    rows = []
    for source in [*ANALYSIS_VIEWS, "fused"]:
        for task in BINARY_TASKS:
            auroc = 0.6 + 0.01 * (seed - 11)
            if (source, task) == ("fused", "wma"):
                auroc = WMA[seed]
            if (source, task) == ("fused", "t1_abnormal"):
                auroc = {11: 0.45, 12: 0.55, 13: 0.62}[seed]
            rows.append({"source": source, "task": task, "n": 100 + seed, "n_pos": 30,
                         "auroc": auroc, "ci_low": auroc - HALF, "ci_high": auroc + HALF})
    return rows


def finished_seed(runs: Path, seed: int, rows: list[dict] | None = None,
                  config: dict | None = None) -> Path:
    """What a finished seed leaves: results/table2.csv, results/config_used.yaml, the marker."""
    results = ss.seed_dir(runs, seed) / "results"
    results.mkdir(parents=True)
    table = table2(pd.DataFrame(rows or metrics_rows(seed)))
    table.to_csv(results / "table2.csv", index=False, float_format="%.6f")
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    (results / "config_used.yaml").write_text(yaml.safe_dump({**base, **(config or {}),
                                                              "seed": seed}))
    (ss.seed_dir(runs, seed) / ss.FINISHED_MARKER).write_text(f"seed {seed}\n")
    return results


def row(spread: pd.DataFrame, task: str, source: str) -> pd.Series:
    return spread[(spread["task"] == task) & (spread["source"] == source)].iloc[0]


def test_default_seeds_are_the_configs_and_the_next_two():
    seed = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["seed"]
    assert ss.default_seeds(ss.config_seed(REPO)) == [seed, seed + 1, seed + 2]


def test_spread_per_row_matches_hand_arithmetic(tmp_path):
    for seed in SEEDS:
        finished_seed(tmp_path, seed)
    spread = ss.assemble(tmp_path, SEEDS, tmp_path / "seed_spread.md")
    assert len(spread) == 20  # Table 2's rows: 5 tasks x (3 views + fused)
    wma = row(spread, "wma", "fused")
    assert [wma[f"auroc_{s}"] for s in SEEDS] == pytest.approx([0.80, 0.86, 0.92])
    assert (wma["min"], wma["max"], wma["n_seeds"]) == (pytest.approx(0.80),
                                                        pytest.approx(0.92), 3)
    assert wma["sd"] == pytest.approx(0.06, abs=1e-9)
    view = row(spread, "lge", "A2C")  # 0.60, 0.61, 0.62: SD = 0.01
    assert (view["min"], view["max"]) == (pytest.approx(0.60), pytest.approx(0.62))
    assert view["sd"] == pytest.approx(0.01, abs=1e-9)
    assert view[f"ci_low_{12}"] == pytest.approx(0.505) and view[f"n_{13}"] == 113
    # the CSV beside the runs holds the same numbers
    csv = pd.read_csv(tmp_path / "seed_spread.csv")
    assert csv.loc[(csv["task"] == "wma") & (csv["source"] == "fused"), "sd"].iloc[0] \
        == pytest.approx(0.06, abs=1e-6)


def test_null_tasks_count_the_cis_that_cover_half(tmp_path):
    for seed in SEEDS:
        finished_seed(tmp_path, seed)
    spread = ss.assemble(tmp_path, SEEDS, tmp_path / "seed_spread.md")
    t1 = row(spread, "t1_abnormal", "fused")  # CIs 0.345-0.555, 0.445-0.655, 0.515-0.725
    assert bool(t1["null_task"]) and t1["n_ci_cover_half"] == 2
    assert not row(spread, "wma", "fused")["null_task"]
    # every other null cell covers 0.5 on seed 11 only (0.495-0.705; seed 12 from 0.505)
    assert row(spread, "ecv_abnormal", "PLAX")["n_ci_cover_half"] == 1
    text = (tmp_path / "seed_spread.md").read_text()
    # 12 null rows x 3 seeds = 36 CIs: fused T1 covers on 2 seeds, the other 11 rows on 1
    assert "13 of 36 CIs (rows x seeds) cover 0.5" in text
    assert "Fused T1: 0.450\u20130.620 over 3 seeds, CI covers 0.5 in 2 of 3" in text


def test_a_cell_without_auroc_counts_only_the_seeds_that_gave_one(tmp_path):
    for seed in SEEDS:
        rows = metrics_rows(seed)
        if seed == 12:  # seed 12: no positive test study for T2 in PLAX
            cell = next(r for r in rows if (r["source"], r["task"]) == ("PLAX", "t2_abnormal"))
            cell.update(auroc=math.nan, ci_low=math.nan, ci_high=math.nan,
                        reason="no positive test study (3 negative)")
        finished_seed(tmp_path, seed, rows)
    spread = ss.assemble(tmp_path, SEEDS, tmp_path / "seed_spread.md")
    t2 = row(spread, "t2_abnormal", "PLAX")  # 0.60 and 0.62: SD = 0.02 / sqrt(2)
    assert t2["n_seeds"] == 2 and t2["sd"] == pytest.approx(0.02 / math.sqrt(2), abs=1e-9)
    assert (t2["min"], t2["max"]) == (pytest.approx(0.60), pytest.approx(0.62))
    assert "| T2 value (ms) | PLAX view | 0.600 (0.495\u20130.705) | n/a | 0.620" in \
        (tmp_path / "seed_spread.md").read_text()


def test_markdown_names_the_seeds_and_the_unfinished_one(tmp_path):
    for seed in SEEDS[:2]:
        finished_seed(tmp_path, seed)
    ss.seed_dir(tmp_path, 13).mkdir()  # started, never finished: no marker
    spread = ss.assemble(tmp_path, SEEDS, tmp_path / "seed_spread.md")
    text = (tmp_path / "seed_spread.md").read_text()
    assert "Seeds: 11, 12 (not finished, so not included: 13)." in text
    assert "| CMR parameter | Video | seed 11 | seed 12 | min\u2013max | SD |" in text
    wma = row(spread, "wma", "fused")
    assert fmt_ci(0.80, 0.80 - HALF, 0.80 + HALF) in text
    assert fmt_ci(0.86, 0.86 - HALF, 0.86 + HALF) in text
    assert "Fused wall motion abnormality (planted): 0.800\u20130.860 over 2 seeds" in text
    assert wma["sd"] == pytest.approx(0.06 / math.sqrt(2), abs=1e-9)  # |0.80 - 0.86| / sqrt 2
    assert "preset `demo`, seeds 11, 12, input synthetic" in text
    assert "13" not in text.split("**Table 2")[1]  # no column of the unfinished seed


def test_the_file_says_on_which_seeds_the_phi_audit_failed(tmp_path):
    header = "file,location,identifier_type\n"
    for seed in SEEDS:
        audit = finished_seed(tmp_path, seed) / "audit" / "phi_audit.csv"
        audit.parent.mkdir()
        audit.write_text(header)
    ss.assemble(tmp_path, SEEDS, tmp_path / "seed_spread.md")
    assert "passed on every seed" in (tmp_path / "seed_spread.md").read_text()
    (ss.seed_dir(tmp_path, 12) / "results" / "audit" / "phi_audit.csv").unlink()  # failed run
    (ss.seed_dir(tmp_path, 13) / "results" / "audit" / "phi_audit.csv").write_text(
        header + "deid/x.dcm,header StudyDate,mrn\n")
    ss.assemble(tmp_path, SEEDS, tmp_path / "seed_spread.md")
    assert "PHI audit: not passed on seed 12, 13 (" in (tmp_path / "seed_spread.md").read_text()


def test_seeds_of_different_configs_are_not_one_spread(tmp_path):
    finished_seed(tmp_path, 11)
    finished_seed(tmp_path, 12, config={"preset": "signal"})
    with pytest.raises(ValueError, match=r"seeds \[12\] ran another config than seed 11"):
        ss.assemble(tmp_path, [11, 12], tmp_path / "seed_spread.md")


def test_no_finished_seed_is_an_error_not_an_empty_file(tmp_path):
    with pytest.raises(SystemExit, match="no finished seed"):
        ss.assemble(tmp_path, SEEDS, tmp_path / "seed_spread.md")
    assert not (tmp_path / "seed_spread.md").exists()


def test_command_runs_the_checkouts_snakefile_in_the_seeds_folder(tmp_path):
    cmd = ss.snakemake_command(REPO, tmp_path / "seed-5", 5, "2", False, ["--keep-going"])
    assert cmd[cmd.index("--directory") + 1] == str(tmp_path / "seed-5")
    assert cmd[cmd.index("--config") + 1] == "seed=5"
    assert cmd[cmd.index("-s") + 1] == str(REPO / "Snakefile")
    assert cmd[-1] == "--keep-going" and "-n" not in cmd
    assert ss.snakemake_command(REPO, tmp_path, 5, "2", True, [])[-1] == "-n"


def test_runs_get_the_checkouts_library_and_sleeping_openmp_threads(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = ss.snakemake_env(REPO)
    assert env["PYTHONPATH"].split(":") == [str(REPO / "src"), "/elsewhere"]
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the caller's own choice stands
    assert ss.snakemake_env(REPO)["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.workflow
def test_driver_dry_runs_three_separate_dags(tmp_path, capfd):
    """Real Snakemake, -n: each seed gets its own DAG in its own folder, nothing is run; a
    finished seed is not even dry-run again."""
    runs = tmp_path / "runs"
    outputs = {}
    for seed in SEEDS:
        said = ss.run_seed(REPO, runs, seed, "1", dry_run=True)
        outputs[seed] = capfd.readouterr()
        assert said == f"seed {seed}: dry run ({(runs / f'seed-{seed}').resolve()})"
    for seed, out in outputs.items():
        text = out.out + out.err
        assert "This was a dry-run" in text and "rule simulate:" in text, text[-3000:]
        assert "extended by additional config specified via the command line" in text
        folder = ss.seed_dir(runs, seed)
        assert (folder / ".snakemake").is_dir()  # its own Snakemake state
        assert not (folder / "results").exists() and not (folder / "synthetic").exists()
        assert not (folder / ss.FINISHED_MARKER).exists()  # a dry run finishes nothing
    assert sorted(p.name for p in runs.iterdir()) == [f"seed-{s}" for s in SEEDS]
    (ss.seed_dir(runs, 11) / ss.FINISHED_MARKER).write_text("seed 11\n")
    said = ss.run_seed(REPO, runs, 11, "1", dry_run=True)
    assert said.startswith("seed 11: finished before, not rerun")
    assert "Building DAG" not in capfd.readouterr().err
