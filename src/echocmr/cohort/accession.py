"""Echo report -> study join through the accession number, shared by Table 1 and the baseline.

The manifest's `accession_key` and the echo report's `accession_key` hold one key per value of a
multi-valued AccessionNumber (`keys.pseudonyms`, `;`-joined), so a report row that names any one
value of a study's accession joins that study.
"""

from __future__ import annotations

import pandas as pd

from echocmr.keys import split_keys


def _exploded(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df[columns].copy()
    out["accession_key"] = out["accession_key"].map(split_keys)
    out = out.explode("accession_key").dropna(subset=["accession_key"])
    return out[out["accession_key"].astype(str).str.len() > 0]


def study_echo_lvef(manifest: pd.DataFrame, echo_reports: pd.DataFrame) -> pd.Series:
    """study_key -> echo LVEF of the report whose accession matches the most of the study's
    included files (ties: the smaller key); studies without a matching report are absent."""
    files = manifest
    if "status" in files.columns:
        files = files[files["status"] == "included"]
    files = _exploded(files.dropna(subset=["study_key"]), ["study_key", "accession_key"])
    counts = files.groupby(["study_key", "accession_key"]).size().rename("n").reset_index()
    reports = _exploded(echo_reports, ["accession_key", "echo_lvef_pct"])
    reports = reports.drop_duplicates("accession_key")
    joined = counts.merge(reports, on="accession_key", how="inner")
    joined = joined.sort_values(["study_key", "n", "accession_key"],
                                ascending=[True, False, True]).drop_duplicates("study_key")
    return pd.to_numeric(joined.set_index("study_key")["echo_lvef_pct"], errors="coerce")
