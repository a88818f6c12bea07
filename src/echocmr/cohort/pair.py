"""Pair each echo study with the nearest CMR of the same patient within +-window days.

Paper (Methods): "Echocardiography studies were paired with the nearest CMR study within 30 days
... labels derived from the clinical report of the temporally closest CMR if a single
echocardiography study had multiple CMRs within 30 days."

Rules here:
- candidates: every CMR of the same patient with |echo date - CMR date| <= window (inclusive);
- the smallest |interval| wins;
- tie on |interval| (one CMR d days before the echo, another d days after): the CMR BEFORE the
  echo wins (positive interval). Why: the earlier report was complete when the echo was read, the
  paper's cohort leans that way (echo on average 2 days after CMR), and a fixed rule keeps the
  pairing reproducible; it is a choice, documented in docs/cohort.md;
- still tied (two CMRs on the same day): the smaller cmr_key, only so the result is deterministic.
Several echo studies may share one CMR (each echo is paired independently).
`interval_days` = echo date minus CMR date (signed; positive = echo after CMR).
"""

from __future__ import annotations

import pandas as pd

from echocmr.cohort.qc import qc_rows

ANALYSIS_VIEWS = ("A4C", "A2C", "PLAX")
PAIR_COLUMNS = ["study_key", "patient_key", "cmr_key", "echo_date", "cmr_date", "interval_days"]
REASON_NO_DATE = "echo study date missing"
REASON_NO_CMR = "no CMR within window"


def echo_studies(manifest: pd.DataFrame, views: pd.DataFrame) -> pd.DataFrame:
    """Echo studies with at least one kept analysis-view video: study_key, patient_key, echo_date.

    The date comes from the manifest's included files of the study (the most frequent one, should
    a study's files disagree; ties -> earliest). A study with no date gets `echo_date` NaT.
    """
    kept = views[(views["status"] == "kept") & views["view"].isin(ANALYSIS_VIEWS)]
    studies = (
        kept.groupby("study_key", sort=True)["patient_key"].first().reset_index()
    )
    files = manifest[manifest["status"] == "included"][["study_key", "study_date"]].copy()
    files["study_date"] = pd.to_datetime(files["study_date"], format="%Y-%m-%d", errors="coerce")
    files = files.dropna(subset=["study_date"])
    counts = files.groupby(["study_key", "study_date"]).size().rename("n").reset_index()
    counts = counts.sort_values(["study_key", "n", "study_date"], ascending=[True, False, True])
    dates = counts.drop_duplicates("study_key").set_index("study_key")["study_date"]
    studies["echo_date"] = studies["study_key"].map(dates)
    return studies


def pair_studies(
    studies: pd.DataFrame, cmrs: pd.DataFrame, window_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (pairs with PAIR_COLUMNS, unpaired studies with study_key and reason).

    studies: study_key, patient_key, echo_date (datetime or YYYY-MM-DD);
    cmrs: patient_key, cmr_key, cmr_date (datetime or YYYY-MM-DD), already validated.
    """
    studies = studies[["study_key", "patient_key", "echo_date"]].copy()
    studies["echo_date"] = pd.to_datetime(studies["echo_date"], format="%Y-%m-%d")
    cmrs = cmrs[["patient_key", "cmr_key", "cmr_date"]].copy()
    cmrs["cmr_date"] = pd.to_datetime(cmrs["cmr_date"], format="%Y-%m-%d")

    undated = studies[studies["echo_date"].isna()]
    dated = studies[studies["echo_date"].notna()]
    candidates = dated.merge(cmrs, on="patient_key", how="inner")
    candidates["interval_days"] = (candidates["echo_date"] - candidates["cmr_date"]).dt.days
    candidates = candidates[candidates["interval_days"].abs() <= window_days].copy()
    candidates["_distance"] = candidates["interval_days"].abs()
    candidates["_after_echo"] = candidates["interval_days"] < 0  # False (CMR before) sorts first
    candidates = candidates.sort_values(["study_key", "_distance", "_after_echo", "cmr_key"])
    pairs = candidates.drop_duplicates("study_key", keep="first")[PAIR_COLUMNS].copy()
    for column in ("echo_date", "cmr_date"):
        pairs[column] = pairs[column].dt.strftime("%Y-%m-%d")
    pairs["interval_days"] = pairs["interval_days"].astype(int)

    no_cmr = dated[~dated["study_key"].isin(pairs["study_key"])]
    unpaired = pd.concat(
        [
            undated[["study_key"]].assign(reason=REASON_NO_DATE),
            no_cmr[["study_key"]].assign(reason=REASON_NO_CMR),
        ],
        ignore_index=True,
    )
    return pairs.sort_values("study_key").reset_index(drop=True), unpaired


def pair_qc(studies: pd.DataFrame, unpaired: pd.DataFrame) -> pd.DataFrame:
    """QC step "paired": echo studies with a kept analysis view -> studies paired with a CMR."""
    return qc_rows("paired", "echo studies", len(studies), unpaired["reason"])
