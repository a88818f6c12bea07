"""Table rows and values the run dropped, counted per reason, for the places a user looks: the
run summary (results/summary.md, printed when the run ends) and the report's QC page.

Two files list them row by row: ingest's `results/deid/tables/rejected_rows.csv` (a raw row that
cannot be keyed: no MRN, unparseable date, outside the study period) and the cohort's
`results/cohort/excluded_rows.csv` (a de-identified row or value that fails its schema). Only
table names, reasons and counts are shown here: neither file holds a value or an identifier.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["stage", "table", "dropped", "reason", "n"]
REJECTED = "results/deid/tables/rejected_rows.csv"
EXCLUDED = "results/cohort/excluded_rows.csv"
TITLE = "Dropped table rows and values, per reason"
STAGES = {"rejected": "de-identification", "excluded": "cohort validation"}


def _per_reason(listed: pd.DataFrame, stage: str) -> pd.DataFrame:
    """One row per (table, dropped, single reason): a row failing two rules counts under both."""
    if listed.empty:
        return pd.DataFrame(columns=COLUMNS)
    dropped = listed["dropped"] if "dropped" in listed else "row"
    reasons = listed.assign(dropped=dropped, reason=listed["reason"].astype(str).str.split("; "))
    counts = (reasons.explode("reason").groupby(["table", "dropped", "reason"]).size()
              .rename("n").reset_index())
    return counts.assign(stage=stage)[COLUMNS]


def dropped_counts(rejected: pd.DataFrame, excluded: pd.DataFrame) -> pd.DataFrame:
    """Counts per stage, table, kind (row or value) and reason, in DAG order."""
    parts = [_per_reason(rejected, STAGES["rejected"]), _per_reason(excluded, STAGES["excluded"])]
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def dropped_line(rejected: pd.DataFrame, excluded: pd.DataFrame) -> str:
    """One sentence with the totals: rows dropped, values dropped, and where they are listed."""
    kinds = excluded["dropped"] if "dropped" in excluded else pd.Series("row", excluded.index)
    rows = len(rejected) + int((kinds == "row").sum())
    values = int((kinds == "value").sum())
    if not rows and not values:
        return "Dropped table rows: none."
    return (f"Dropped table rows: {rows} row(s) dropped, {values} row(s) kept with a bad value "
            f"emptied; per reason below ({REJECTED}, {EXCLUDED} list each row).")


def read_dropped(rejected_csv, excluded_csv) -> tuple[pd.DataFrame, pd.DataFrame]:
    read = dict(dtype=str, keep_default_na=False)
    return pd.read_csv(rejected_csv, **read), pd.read_csv(excluded_csv, **read)
