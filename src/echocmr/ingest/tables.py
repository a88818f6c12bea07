"""Pseudonymise the CMR, clinical, echo-report and view-label tables with the DICOM keys.

The same keyed hashes as the images (`echocmr.keys`) and the same per-patient date offset, so
joins keep working and echo-CMR intervals are unchanged. Names, MRNs, birth dates and accession
numbers never leave this module; birth date becomes age at first CMR (capped at 90).
Values of the measurements are untouched: their ranges are the cohort stage's business.
A row that cannot be keyed (no MRN, unparseable date) goes to `rejected_rows.csv` with the table,
its 1-based data row number and a reason, never with its content; so does a CMR or echo report
dated outside `cohort.period` (`outside_study_period`), checked here on the raw dates because the
shifted ones no longer say.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from echocmr import keys
from echocmr.ingest import reasons as R
from echocmr.ingest.normalise import MAX_AGE_YEARS, age_at, identifier, identifier_values
from echocmr.ingest.normalise import parse_date as parse_da
from echocmr.logutil import script_logging
from echocmr.study_period import StudyPeriod

log = logging.getLogger(__name__)

SEGMENTS = [f"{i:02d}" for i in range(1, 18)]
CMR_VALUES = ([f"wm_{s}" for s in SEGMENTS] + [f"lge_{s}" for s in SEGMENTS]
              + ["t1_native_ms", "t2_ms", "ecv_pct", "lvef_pct", "hematocrit_pct"])
CLINICAL_VALUES = ["sex", "race", "bmi", "hypertension", "hyperlipidemia", "diabetes"]
RAW_COLUMNS = {
    "cmr_reports": ["mrn", "cmr_date", *CMR_VALUES],
    "clinical": ["mrn", "birth_date", *CLINICAL_VALUES],
    "echo_reports": ["mrn", "accession_number", "study_date", "echo_lvef_pct"],
    "view_labels": ["sop_instance_uid", "view"],
}
OUT_COLUMNS = {
    "cmr_reports": ["patient_key", "cmr_key", "cmr_date", *CMR_VALUES],
    "clinical": ["patient_key", "age_years", *CLINICAL_VALUES],
    "echo_reports": ["patient_key", "accession_key", "study_date", "echo_lvef_pct"],
    "view_labels": ["video_key", "view"],
}
REJECTED_COLUMNS = ["table", "row_number", "reason"]


class TableError(ValueError):
    """An input table is unusable as a whole (missing columns); the message names the fix."""


@dataclass
class Keyer:
    secret: str
    max_shift_days: int = keys.DATE_SHIFT_MAX_DAYS
    period: StudyPeriod | None = None  # cohort.period on the raw dates

    def in_period(self, day: dt.date) -> bool:
        return self.period is None or self.period.contains(day)

    def patient(self, mrn: str) -> str:
        return keys.pseudonym(self.secret, "patient", mrn)

    def shift(self, mrn: str, day: dt.date) -> str:
        offset = keys.date_offset_days(self.secret, mrn, self.max_shift_days)
        return (day + dt.timedelta(days=offset)).isoformat()


def read_raw_table(path: str | Path, name: str) -> pd.DataFrame:
    """Read as text (no type guessing: '0123' stays '0123'); fail fast on missing columns."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in RAW_COLUMNS[name] if c not in df.columns]
    if missing:
        raise TableError(f"input table {name} lacks columns {missing}; expected the columns in "
                         "docs/ARCHITECTURE.md (Raw input).")
    extra = [c for c in df.columns if c not in RAW_COLUMNS[name] and c != "patient_name"]
    if extra:  # may hold identifiers: never copied, only counted
        log.info("%s: %d column(s) outside the contract dropped", name, len(extra))
    df = df.apply(lambda col: col.str.strip())
    for col in ("mrn", "sop_instance_uid"):  # the same normalisation as the DICOM headers
        if col in df.columns:
            df[col] = df[col].map(identifier)
    return df


class Rejections:
    def __init__(self):
        self.rows: list[dict] = []

    def add(self, table: str, index: int, reason: str) -> None:
        self.rows.append(dict(table=table, row_number=index + 1, reason=reason))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=REJECTED_COLUMNS)


def _keyed_rows(df: pd.DataFrame, table: str, date_col: str | None, k: Keyer, rej: Rejections):
    """Yield (index, row, mrn, date) for rows with an MRN and (if asked) a parseable date inside
    the study period."""
    for i, row in df.iterrows():
        mrn = row.get("mrn", "")
        if not mrn:
            rej.add(table, i, "missing_mrn")
            continue
        day = None
        if date_col:
            day = parse_da(row[date_col])
            if day is None:
                rej.add(table, i, f"bad_date:{date_col}")
                continue
            if not k.in_period(day):
                rej.add(table, i, R.OUTSIDE_STUDY_PERIOD)
                continue
        yield i, row, mrn, day


def cmr_table(df: pd.DataFrame, k: Keyer, rej: Rejections) -> pd.DataFrame:
    out = []
    for _, row, mrn, day in _keyed_rows(df, "cmr_reports", "cmr_date", k, rej):
        rec = dict(patient_key=k.patient(mrn),
                   cmr_key=keys.pseudonym(k.secret, "cmr", f"{mrn}|{day.isoformat()}"),
                   cmr_date=k.shift(mrn, day))
        rec.update({c: row[c] for c in CMR_VALUES})
        out.append(rec)
    return pd.DataFrame(out, columns=OUT_COLUMNS["cmr_reports"])


def first_dates(df: pd.DataFrame, date_col: str, k: Keyer) -> dict[str, dt.date]:
    """Earliest parseable date per MRN inside the study period (raw dates; the age reference,
    so age is at the first CMR the study keeps)."""
    firsts: dict[str, dt.date] = {}
    for mrn, value in zip(df["mrn"], df[date_col]):
        day = parse_da(value)
        if mrn and day and k.in_period(day) and (mrn not in firsts or day < firsts[mrn]):
            firsts[mrn] = day
    return firsts


def clinical_table(df: pd.DataFrame, k: Keyer, rej: Rejections,
                   reference: dict[str, dt.date]) -> pd.DataFrame:
    """One row per patient: age at first CMR (else first echo), capped; name and birth dropped."""
    out = []
    for i, row, mrn, _ in _keyed_rows(df, "clinical", None, k, rej):
        age = ""
        if row["birth_date"]:
            birth = parse_da(row["birth_date"])
            if birth is None:
                rej.add("clinical", i, "bad_date:birth_date")
                continue
            ref = reference.get(mrn)
            if ref is not None:
                if ref < birth:
                    rej.add("clinical", i, "birth_date_after_reference_date")
                    continue
                age = min(age_at(birth, ref), MAX_AGE_YEARS)
        rec = dict(patient_key=k.patient(mrn), age_years=age)
        rec.update({c: row[c] for c in CLINICAL_VALUES})
        out.append(rec)
    return pd.DataFrame(out, columns=OUT_COLUMNS["clinical"])


def echo_table(df: pd.DataFrame, k: Keyer, rej: Rejections) -> pd.DataFrame:
    out = []
    for _, row, mrn, day in _keyed_rows(df, "echo_reports", "study_date", k, rej):
        accessions = identifier_values(row["accession_number"])
        out.append(dict(
            patient_key=k.patient(mrn),
            accession_key=keys.pseudonyms(k.secret, "accession", accessions),
            study_date=k.shift(mrn, day), echo_lvef_pct=row["echo_lvef_pct"]))
    return pd.DataFrame(out, columns=OUT_COLUMNS["echo_reports"])


def view_label_table(df: pd.DataFrame, k: Keyer, rej: Rejections) -> pd.DataFrame:
    out = []
    for i, row in df.iterrows():
        if not row["sop_instance_uid"] or not row["view"]:
            rej.add("view_labels", i, "missing_uid_or_view")
            continue
        out.append(dict(video_key=keys.pseudonym(k.secret, "video", row["sop_instance_uid"]),
                        view=row["view"]))
    return pd.DataFrame(out, columns=OUT_COLUMNS["view_labels"])


def pseudonymise_tables(paths: dict[str, str | Path | None], secret: str,
                        max_shift_days: int = keys.DATE_SHIFT_MAX_DAYS,
                        period: StudyPeriod | None = None,
                        ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """All four tables (view_labels may be None -> empty) and the rejected rows; `period`:
    cohort.period (None = no restriction)."""
    k, rej = Keyer(secret, max_shift_days, period), Rejections()
    raw = {name: read_raw_table(p, name) for name, p in paths.items() if p}
    reference = first_dates(raw["echo_reports"], "study_date", k)
    reference.update(first_dates(raw["cmr_reports"], "cmr_date", k))  # first CMR wins when known
    out = {
        "cmr_reports": cmr_table(raw["cmr_reports"], k, rej),
        "clinical": clinical_table(raw["clinical"], k, rej, reference),
        "echo_reports": echo_table(raw["echo_reports"], k, rej),
        "view_labels": (view_label_table(raw["view_labels"], k, rej) if "view_labels" in raw
                        else pd.DataFrame(columns=OUT_COLUMNS["view_labels"])),
    }
    for name, df in out.items():
        log.info("%s: %d rows written", name, len(df))
    log.info("rejected rows: %d", len(rej.rows))
    return out, rej.frame()



def run_deidentify_tables(smk) -> None:
    """Script entry of `rule deidentify_tables`: raw CMR/clinical/echo/view-label tables ->
    pseudonymised tables."""
    from echocmr.keys import secret_from
    from echocmr.study_period import study_period

    with script_logging(smk):
        secret = secret_from(smk.params.secret, smk.params.synthetic)
        inputs = {name: smk.input.get(name)
                  for name in ("cmr_reports", "clinical", "echo_reports", "view_labels")}
        max_shift = int(smk.params.ingest.get("date_shift_max_days", keys.DATE_SHIFT_MAX_DAYS))
        tables, rejected = pseudonymise_tables(inputs, secret, max_shift,
                                               period=study_period(smk.params.period))
        for name, df in tables.items():
            Path(smk.output[name]).parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(smk.output[name], index=False)
        rejected.to_csv(smk.output.rejected, index=False)
