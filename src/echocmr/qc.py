"""QC accounting (docs/ARCHITECTURE.md, "QC accounting"): the one home of the QC table's
columns, which every stage that drops things writes, and the rows of one step."""

from __future__ import annotations

import pandas as pd

QC_COLUMNS = ["step", "unit", "n_in", "n_out", "reason", "n_excluded"]


def qc_rows(step: str, unit: str, n_in: int, excluded_reasons: pd.Series) -> pd.DataFrame:
    """QC rows of one step (docs/ARCHITECTURE.md, QC accounting): one per reason, or one empty."""
    counts = excluded_reasons.value_counts().sort_index()
    n_out = n_in - int(counts.sum())
    if counts.empty:
        return pd.DataFrame([[step, unit, n_in, n_out, "", 0]], columns=QC_COLUMNS)
    return pd.DataFrame(
        [[step, unit, n_in, n_out, reason, int(n)] for reason, n in counts.items()],
        columns=QC_COLUMNS,
    )
