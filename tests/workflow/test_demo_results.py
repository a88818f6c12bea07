"""docs/demo_results.md, the numbers the README quotes, is what a run of this checkout gives:
the tool writes it from a run's results (fast test), and the committed file equals what it
writes from the suite's own demo run (slow: the shared `demo_run`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import run_config

from echocmr.report.assets import config_yaml
from echocmr.report.demo_results import GENERATE, demo_results_markdown, main
from echocmr.report.style import SYNTHETIC_BANNER, fmt_ci
from echocmr.report.tables import table2, table2_markdown
from echocmr.vocab.tasks import BINARY_TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

REPO = Path(__file__).resolve().parents[2]
DEMO_RESULTS = REPO / "docs" / "demo_results.md"


def finished_run(results: Path) -> pd.DataFrame:
    """What table2 and report_assets leave in results/: Table 2 (CSV, Markdown) and the config."""
    rows = [{"source": s, "task": t, "n": 150, "n_pos": 40 + i, "auroc": 0.5 + 0.01 * i,
             "ci_low": 0.4 + 0.01 * i, "ci_high": 0.6 + 0.01 * i}
            for i, (s, t) in enumerate(
                (s, t) for s in [*ANALYSIS_VIEWS, "fused"] for t in BINARY_TASKS)]
    table = table2(pd.DataFrame(rows))
    results.mkdir(parents=True, exist_ok=True)
    table.to_csv(results / "table2.csv", index=False, float_format="%.6f")
    (results / "table2.md").write_text(table2_markdown(table, SYNTHETIC_BANNER))
    (results / "config_used.yaml").write_text(config_yaml(run_config(None)))
    return table


def test_demo_results_quote_the_runs_table2_and_config(tmp_path):
    table = finished_run(tmp_path / "results")
    text = demo_results_markdown(tmp_path / "results")
    fused = table[table["source"] == "fused"].set_index("task")
    for task in ("wma", "t1_abnormal", "t2_abnormal", "ecv_abnormal"):
        row = fused.loc[task]
        assert fmt_ci(row["auroc"], row["ci_low"], row["ci_high"]) in text
    assert (tmp_path / "results" / "table2.md").read_text() in text
    assert "preset `demo`, seed 20240601" in text and "split 50/20/30%" in text
    assert SYNTHETIC_BANNER in text


def test_cli_writes_then_checks(tmp_path):
    finished_run(tmp_path / "results")
    out = tmp_path / "demo_results.md"
    args = ["--results", str(tmp_path / "results"), "--out", str(out)]
    assert main([*args, "--check"]) == 1  # nothing written yet
    assert main(args) == 0 and main([*args, "--check"]) == 0
    out.write_text(out.read_text().replace("0.5", "0.6"))
    assert main([*args, "--check"]) == 1


@pytest.mark.slow
@pytest.mark.workflow
def test_docs_demo_results_is_what_the_demo_run_gives(demo_run):
    expected = demo_results_markdown(demo_run / "results")
    assert DEMO_RESULTS.read_text() == expected, (
        "docs/demo_results.md differs from this checkout's demo run; regenerate it from a "
        f"finished default run: {GENERATE}")
