"""QC accounting (docs/ARCHITECTURE.md, "QC accounting"): the one home of the QC table's
columns, which every stage that drops things writes, and the rows of one step."""

from __future__ import annotations

import pandas as pd

QC_COLUMNS = ["step", "unit", "n_in", "n_out", "reason", "n_excluded"]


def qc_rows(step: str, unit: str, n_in: int, excluded_reasons: pd.Series,
            order: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """QC rows of one step (docs/ARCHITECTURE.md, QC accounting): one per reason, or one empty.
    Reasons named in `order` come first in that order (a stage's own vocabulary), the rest
    sorted."""
    counts = excluded_reasons.value_counts()
    first = [r for r in order if r in counts.index]
    counts = counts[first + sorted(set(counts.index) - set(first))]
    n_out = n_in - int(counts.sum())
    if counts.empty:
        return pd.DataFrame([[step, unit, n_in, n_out, "", 0]], columns=QC_COLUMNS)
    return pd.DataFrame(
        [[step, unit, n_in, n_out, reason, int(n)] for reason, n in counts.items()],
        columns=QC_COLUMNS,
    )
