"""docs/seed_spread.md: the demo's Table 2 over several seeds, so that a reader sees how far one
seed's numbers move when the synthetic cohort and the training change with the seed.

    .venv/bin/python -m echocmr.report.seed_spread                 # run 3 seeds, then assemble
    .venv/bin/python -m echocmr.report.seed_spread --dry-run       # snakemake -n per seed only
    .venv/bin/python -m echocmr.report.seed_spread --assemble-only # tables of finished seeds

Each seed is a whole demo study (`rule all`) in its own Snakemake working directory,
`<runs>/seed-<seed>/` (`snakemake --directory`, `--config seed=<seed>`), so runs never share
`results/`, the synthetic export or Snakemake's metadata. A seed whose run finished (a marker
written after Snakemake exits 0) is not run again; an interrupted one resumes where Snakemake
left it. The assembler reads every finished seed's `results/table2.csv` and writes, per Table 2
row (view x task), each seed's AUROC with its CI and the spread of the point estimates (min,
max, sample SD) to `<runs>/seed_spread.csv` and `docs/seed_spread.md`.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from echocmr.report.demo_results import NULL_TASKS, run_facts
from echocmr.report.style import fmt_ci

RUNS_DIR = Path("runs/seeds")
OUT_MD = Path("docs/seed_spread.md")
FINISHED_MARKER = "seed_run.finished"
# Two seeds beside the config's: the next two integers (any others can be named with --seeds).
OTHER_SEED_OFFSETS = (1, 2)
ROW_KEYS = ["task", "source"]
LABELS = ["section", "parameter", "video"]
GENERATE = "python -m echocmr.report.seed_spread"


# --- running the seeds ------------------------------------------------------------------------

def default_seeds(config_seed: int) -> list[int]:
    return [config_seed, *(config_seed + k for k in OTHER_SEED_OFFSETS)]


def config_seed(repo: Path) -> int:
    return int(yaml.safe_load((repo / "config" / "config.yaml").read_text())["seed"])


def seed_dir(runs: Path, seed: int) -> Path:
    return runs / f"seed-{seed}"


def is_finished(workdir: Path) -> bool:
    return (workdir / FINISHED_MARKER).is_file()


def snakemake_command(repo: Path, workdir: Path, seed: int, cores: str, dry_run: bool,
                      extra: list[str]) -> list[str]:
    """One seed's whole study: the checkout's Snakefile run in the seed's own folder."""
    snakemake = Path(sys.executable).parent / "snakemake"
    # --config takes every word up to the next option: it goes before the free arguments.
    cmd = [str(snakemake), "-s", str(repo / "Snakefile"), "--config", f"seed={seed}",
           "--directory", str(workdir), "--cores", cores, "--rerun-incomplete", *extra]
    return [*cmd, "-n"] if dry_run else cmd


def snakemake_env(repo: Path) -> dict:
    # The checkout's own library first: the shared venv may hold echocmr installed editable
    # from another checkout, whose code the jobs would otherwise run.
    path = os.pathsep.join(p for p in (str(repo / "src"), os.environ.get("PYTHONPATH")) if p)
    # Three demos run for long, mostly beside other work: OpenMP threads that spin at each
    # barrier while their partner waits for a core made the 2-thread view classifier ~10x
    # slower on a shared 2-core machine (benchmarks/RESULTS.md, "Seed spread"). Sleeping
    # instead changes when a thread waits, not the work each does, so not the numbers.
    return {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "PYTHONPATH": path}


def run_seed(repo: Path, runs: Path, seed: int, cores: str, dry_run: bool = False,
             extra: list[str] | None = None) -> str:
    """Run (or dry-run) one seed unless it finished before; returns what happened, in words."""
    workdir = seed_dir(runs, seed).resolve()
    if is_finished(workdir):
        return f"seed {seed}: finished before, not rerun ({workdir})"
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = snakemake_command(repo, workdir, seed, cores, dry_run, list(extra or []))
    proc = subprocess.run(cmd, cwd=repo, env=snakemake_env(repo))
    if proc.returncode != 0:
        raise SystemExit(f"seed {seed}: snakemake failed ({proc.returncode}) in {workdir}")
    if dry_run:
        return f"seed {seed}: dry run ({workdir})"
    (workdir / FINISHED_MARKER).write_text(f"seed {seed}; snakemake arguments: {extra}\n")
    return f"seed {seed}: finished ({workdir})"


# --- assembling the spread --------------------------------------------------------------------

def read_table2(path: Path) -> pd.DataFrame:
    """A run's Table 2; an empty AUROC or CI (n/a) is NaN, the text columns stay strings."""
    return pd.read_csv(path, keep_default_na=False,
                       na_values={c: [""] for c in ("auroc", "ci_low", "ci_high")})


def finished_tables(runs: Path, seeds: list[int]) -> dict[int, pd.DataFrame]:
    """Table 2 of every named seed whose run finished, in the order given."""
    tables = {seed: seed_dir(runs, seed) / "results" / "table2.csv" for seed in seeds}
    return {seed: read_table2(path) for seed, path in tables.items()
            if is_finished(seed_dir(runs, seed)) and path.is_file()}


def point_spread(values: pd.Series) -> dict:
    """Min, max and sample SD of one row's point estimates over the seeds that gave one."""
    finite = values.dropna()
    return {"n_seeds": len(finite),
            "min": finite.min() if len(finite) else math.nan,
            "max": finite.max() if len(finite) else math.nan,
            "sd": finite.std(ddof=1) if len(finite) > 1 else math.nan}


def ci_covers_half(table: pd.DataFrame) -> pd.Series:
    return (table["ci_low"] <= 0.5) & (table["ci_high"] >= 0.5)


def spread_table(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """One row per Table 2 row (task x source, in Table 2's order): each seed's AUROC and CI,
    the spread of the point estimates, and for the null tasks how many seeds' CIs cover 0.5."""
    first = next(iter(tables.values()))
    out = first[LABELS + ROW_KEYS].copy()
    for seed, table in tables.items():
        cells = table.set_index(ROW_KEYS).reindex(pd.MultiIndex.from_frame(out[ROW_KEYS]))
        for col in ("auroc", "ci_low", "ci_high", "n", "n_pos"):
            out[f"{col}_{seed}"] = cells[col].to_numpy()
        out[f"covers_half_{seed}"] = ci_covers_half(cells).to_numpy()
    aurocs = out[[f"auroc_{seed}" for seed in tables]]
    spread = pd.DataFrame([point_spread(row) for _, row in aurocs.iterrows()], index=out.index)
    out = pd.concat([out, spread], axis=1)
    out["null_task"] = out["task"].isin(list(NULL_TASKS))
    out["n_ci_cover_half"] = out[[f"covers_half_{seed}" for seed in tables]].sum(axis=1)
    return out.drop(columns=[f"covers_half_{seed}" for seed in tables])


def same_config_but_seed(configs: dict[int, dict]) -> dict:
    """The seeds' shared config (seed removed); runs of different configs are not one spread."""
    stripped = {seed: {k: v for k, v in cfg.items() if k != "seed"}
                for seed, cfg in configs.items()}
    first_seed, first = next(iter(stripped.items()))
    differ = [seed for seed, cfg in stripped.items() if cfg != first]
    if differ:
        raise ValueError(f"seeds {differ} ran another config than seed {first_seed}: "
                         "not one spread")
    return first


def audit_passed(runs: Path, seed: int) -> bool:
    """The seed's PHI gate passed: the audit wrote its table and the table has no hit (a
    failed audit removes it)."""
    audit = seed_dir(runs, seed) / "results" / "audit" / "phi_audit.csv"
    return audit.is_file() and pd.read_csv(audit).empty


def audit_line(passed: dict[int, bool]) -> str:
    failed = [str(s) for s, ok in passed.items() if not ok]
    if not failed:
        return "PHI audit (`results/audit/phi_audit.csv`): passed on every seed."
    return (f"PHI audit: not passed on seed {', '.join(failed)} (their `results/` are not for "
            "sharing; Table 2 does not depend on the audit, which runs after it).")


# --- the Markdown file ------------------------------------------------------------------------

def _num(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3f}"


def _range(row: pd.Series) -> str:
    return "n/a" if row["n_seeds"] == 0 else f"{_num(row['min'])}\u2013{_num(row['max'])}"


def spread_rows_markdown(spread: pd.DataFrame, seeds: list[int]) -> list[str]:
    """Table 2's layout (section rows in bold), one column per seed, then min-max and SD."""
    lines = ["| CMR parameter | Video | " + " | ".join(f"seed {s}" for s in seeds)
             + " | min\u2013max | SD |",
             "|---|---|" + "---|" * (len(seeds) + 2)]
    section = None
    for _, row in spread.iterrows():
        if row["section"] != section:
            section = row["section"]
            lines.append(f"| **{section}** | |" + " |" * (len(seeds) + 2))
        cells = [fmt_ci(row[f"auroc_{s}"], row[f"ci_low_{s}"], row[f"ci_high_{s}"]) for s in seeds]
        lines.append(f"| {row['parameter']} | {row['video']} | " + " | ".join(cells)
                     + f" | {_range(row)} | {_num(row['sd'])} |")
    return lines


def null_summary(spread: pd.DataFrame, seeds: list[int]) -> list[str]:
    """The null tasks (nothing planted): how often their CIs cover 0.5, where the points fall."""
    nulls = spread[spread["null_task"]]
    points = nulls[[f"auroc_{s}" for s in seeds]].to_numpy().ravel()
    points = points[~pd.isna(points)]
    covered, cells = int(nulls["n_ci_cover_half"].sum()), len(nulls) * len(seeds)
    lines = [f"- Null tasks ({', '.join(NULL_TASKS.values())}; no planted effect): "
             f"{covered} of {cells} CIs (rows x seeds) cover 0.5; point estimates "
             + (f"{points.min():.3f}\u2013{points.max():.3f}, {int((points < 0.5).sum())} below "
                f"and {int((points > 0.5).sum())} above 0.5." if len(points) else "n/a.")]
    for task, label in NULL_TASKS.items():
        fused = nulls[(nulls["task"] == task) & (nulls["source"] == "fused")].iloc[0]
        lines.append(f"- Fused {label}: {_range(fused)} over {int(fused['n_seeds'])} seeds, CI "
                     f"covers 0.5 in {int(fused['n_ci_cover_half'])} of {len(seeds)}.")
    return lines


def seed_spread_markdown(spread: pd.DataFrame, seeds: list[int], missing: list[int],
                         config: dict, audits: dict[int, bool]) -> str:
    wma = spread[(spread["task"] == "wma") & (spread["source"] == "fused")].iloc[0]
    facts = run_facts({**config, "seed": ", ".join(str(s) for s in seeds)}).replace(
        "seed ", "seeds ", 1)
    covers = f"Seeds: {', '.join(str(s) for s in seeds)}"
    if missing:
        covers += f" (not finished, so not included: {', '.join(str(s) for s in missing)})"
    return "\n".join([
        "# Demo results over seeds",
        "",
        f"Generated from finished runs by `{GENERATE}`; do not edit by hand. Each seed is a "
        "whole demo run: the seed draws the synthetic cohort, the split and the training, so "
        "the spread is seed-to-seed variation of all three, not a confidence interval. "
        "SD: sample SD of the point estimates; how to read it: docs/results.md, \"Seed spread\".",
        "",
        f"{covers}.",
        "",
        f"Run: {facts}.",
        "",
        audit_line(audits),
        "",
        f"- Fused wall motion abnormality (planted): {_range(wma)} over {int(wma['n_seeds'])} "
        f"seeds (SD {_num(wma['sd'])}).",
        *null_summary(spread, seeds),
        "",
        "**Table 2 per seed: AUROC (95% CI) on each seed's held-out test split; synthetic data**",
        "",
        *spread_rows_markdown(spread, seeds),
        "",
    ])


def assemble(runs: Path, seeds: list[int], out_md: Path) -> pd.DataFrame:
    """Write `<runs>/seed_spread.csv` and the Markdown from every finished seed of `seeds`."""
    tables = finished_tables(runs, seeds)
    if not tables:
        raise SystemExit(f"no finished seed under {runs} (seeds {seeds})")
    done = list(tables)
    configs = {s: yaml.safe_load((seed_dir(runs, s) / "results" / "config_used.yaml").read_text())
               for s in done}
    config = same_config_but_seed(configs)
    spread = spread_table(tables)
    spread.to_csv(runs / "seed_spread.csv", index=False, float_format="%.6f")
    missing = [s for s in seeds if s not in tables]
    audits = {s: audit_passed(runs, s) for s in done}
    out_md.write_text(seed_spread_markdown(spread, done, missing, config, audits))
    return spread


# --- command line -----------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+",
                    help="default: config/config.yaml's seed and the next two integers")
    ap.add_argument("--runs", type=Path, default=RUNS_DIR, help="one working folder per seed here")
    ap.add_argument("--out", type=Path, default=OUT_MD)
    ap.add_argument("--cores", default=os.environ.get("CORES", "all"))
    ap.add_argument("--dry-run", action="store_true", help="snakemake -n per seed; write nothing")
    ap.add_argument("--assemble-only", action="store_true", help="run nothing; tables only")
    ap.add_argument("snakemake_args", nargs="*", help="after --: more snakemake arguments")
    args = ap.parse_args(argv)
    repo = Path.cwd()
    seeds = args.seeds or default_seeds(config_seed(repo))
    if not args.assemble_only:
        for seed in seeds:
            print(run_seed(repo, args.runs, seed, args.cores, args.dry_run, args.snakemake_args),
                  flush=True)
    if args.dry_run:
        return 0
    spread = assemble(args.runs, seeds, args.out)
    print(f"wrote {args.out} and {args.runs / 'seed_spread.csv'} "
          f"({int(spread['n_seeds'].max())} of {len(seeds)} seeds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
