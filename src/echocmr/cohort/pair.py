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

Adults only (paper: "adults aged over 18 years", read as 18 or older): a paired study of a
patient younger than `cohort.min_age` whole years at the echo is dropped. The age is the DICOM
header's (manifest `age_years`: PatientAge, else birth date to study date, taken before
de-identification); where the header has none, the clinical table's age at the first CMR, which
can be up to the pairing window older than the age at the echo. No age at all: dropped too,
since the criterion cannot be checked.
"""

from __future__ import annotations

import pandas as pd

from echocmr.vocab.qc import qc_rows
from echocmr.vocab.views import ANALYSIS_VIEWS

PAIR_COLUMNS = ["study_key", "patient_key", "cmr_key", "echo_date", "cmr_date", "interval_days"]
REASON_NO_DATE = "echo study date missing"
REASON_NO_CMR = "no CMR within window"
REASON_UNDER_AGE = "younger than cohort.min_age at the echo"
REASON_NO_AGE = "age at the echo unknown"


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
    # a join, not Series.map: map fails on an export with no kept cine (both sides empty)
    return studies.join(dates.rename("echo_date"), on="study_key")


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


def echo_ages(manifest: pd.DataFrame) -> pd.Series:
    """Whole years of age at the echo by study_key, from the manifest's included files (the
    youngest, should a study's files disagree); studies without any are left out."""
    files = manifest[manifest["status"] == "included"]
    ages = pd.to_numeric(files["age_years"], errors="coerce")
    return ages.groupby(files["study_key"]).min().dropna()


def exclude_minors(pairs: pd.DataFrame, echo_age: pd.Series, clinical: pd.DataFrame,
                   min_age: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (pairs of patients at least min_age at the echo, dropped study_key and reason).

    echo_age: study_key -> header age (`echo_ages`); clinical: patient_key, age_years (the
    fallback for studies without a header age)."""
    clinical_age = clinical.drop_duplicates("patient_key").set_index("patient_key")["age_years"]
    age = pairs["study_key"].map(echo_age).astype(float)
    age = age.fillna(pairs["patient_key"].map(clinical_age).astype(float))
    reason = pd.Series("", index=pairs.index)
    reason[age.isna()] = REASON_NO_AGE
    reason[age < min_age] = REASON_UNDER_AGE
    dropped = reason != ""
    excluded = pairs.loc[dropped, ["study_key"]].assign(reason=reason[dropped])
    return pairs[~dropped].reset_index(drop=True), excluded.reset_index(drop=True)


def age_qc(pairs: pd.DataFrame, dropped: pd.DataFrame) -> pd.DataFrame:
    """QC step "adults": paired echo studies -> those of patients at least cohort.min_age."""
    return qc_rows("adults", "echo studies", len(pairs), dropped["reason"])
