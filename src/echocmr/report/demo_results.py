"""docs/demo_results.md: the numbers the README quotes, written from a finished run's results
(Table 2 and its headline), so that what a reader sees is what a run of this checkout gives.
`tests/workflow/test_demo_results.py` compares the committed file with the suite's own demo run.

    .venv/bin/python -m echocmr.report.demo_results            # results/ -> docs/demo_results.md
    .venv/bin/python -m echocmr.report.demo_results --check    # exit 1 when they differ

Only run outputs enter the file (no date, machine or commit): the processor pin makes them the
same bytes on any x86-64 CPU, so the file is too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from echocmr.report.style import fmt_ci

NULL_TASKS = {"t1_abnormal": "T1", "t2_abnormal": "T2", "ecv_abnormal": "ECV"}
GENERATE = ("python -m echocmr.report.demo_results --results <run>/results "
            "--out docs/demo_results.md")


def _cell(table2: pd.DataFrame, source: str, task: str) -> pd.Series:
    return table2[(table2["source"] == source) & (table2["task"] == task)].iloc[0]


def _ci(row: pd.Series) -> str:
    return fmt_ci(row["auroc"], row["ci_low"], row["ci_high"])


def headline(table2: pd.DataFrame) -> list[str]:
    """The sentences the README quotes: the planted effect and the three nulls, fused."""
    wma, lge = _cell(table2, "fused", "wma"), _cell(table2, "fused", "lge")
    nulls = [f"{label} {_ci(_cell(table2, 'fused', task))}" for task, label in NULL_TASKS.items()]
    return [
        f"- Fused (three-view) wall motion abnormality, planted: AUROC **{_ci(wma)}** "
        f"({int(wma['n'])} test studies, {int(wma['n_pos'])} positive).",
        f"- Fused scar, planted weakly: {_ci(lge)}.",
        f"- Fused abnormal tissue composition, no planted effect (nulls): {'; '.join(nulls)}.",
    ]


def run_facts(config: dict) -> str:
    """Which run this is: preset, seed, processor pin, split, models, bootstrap."""
    model, evaluate = config["model"], config["evaluate"]
    fractions = "/".join(f"{round(100 * f)}" for f in config["cohort"]["split"]["fractions"])
    return (f"preset `{config['preset']}`, seed {config['seed']}, input "
            f"{config['input']['mode']}, processor pin {'on' if config.get('cpu_pin') else 'off'}; "
            f"split {fractions}% ({config['cohort']['split']['method']}), model mode "
            f"{model['mode']}, fusion penalty {model['fusion_penalty']}, "
            f"{evaluate['n_bootstrap']} bootstrap resamples by {evaluate['unit']}")


def demo_results_markdown(results_dir) -> str:
    """The file's text from a finished run's `results/` folder."""
    results = Path(results_dir)
    table2 = pd.read_csv(results / "table2.csv", keep_default_na=False,
                         na_values={c: [""] for c in ("auroc", "ci_low", "ci_high")})
    config = yaml.safe_load((results / "config_used.yaml").read_text())
    return "\n".join([
        "# Demo results",
        "",
        "Generated from a finished run by `" + GENERATE + "`; do not edit by hand. "
        "`tests/workflow/test_demo_results.py` checks it against the test suite's demo run.",
        "",
        f"Run: {run_facts(config)}.",
        "",
        *headline(table2),
        "",
        (results / "table2.md").read_text().rstrip("\n"),
        "",
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results", help="a finished run's results/ folder")
    ap.add_argument("--out", default="docs/demo_results.md")
    ap.add_argument("--check", action="store_true", help="compare, write nothing; 1 if differ")
    args = ap.parse_args(argv)
    text = demo_results_markdown(args.results)
    out = Path(args.out)
    if args.check:
        same = out.exists() and out.read_text() == text
        print(f"{out}: {'matches' if same else 'differs from'} {args.results}")
        return 0 if same else 1
    out.write_text(text)
    print(f"wrote {out} from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
