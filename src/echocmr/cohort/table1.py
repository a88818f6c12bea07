"""Table 1 of the paper: patient characteristics, CMR and echo findings of the analysed cohort.

Cohort = the studies of study_split.csv (paired, at least one label, assigned to a split) and
their patients. Levels, as in the paper's "Unique Patients" column:
- clinical rows (age, BMI, sex, race, comorbidities): one value per patient;
- CMR rows (LVEF, T1, T2, ECV, their dichotomised counts, global WMA and scar): one value per
  patient, from the patient's EARLIEST paired CMR that has that value (a patient whose first CMR
  lacks T1 still counts for T1 with a later one), with the N of patients that have it;
- echo rows: study level (echo LVEF over studies with a report value; "X studies from Y
  patients" per view: studies with a kept video of that view); the echo-CMR interval over studies.
Percentages use the patients with a known value as denominator.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from echocmr.cohort.accession import study_echo_lvef
from echocmr.cohort.labels import MAPPING_LABELS, cmr_labels
from echocmr.vocab.views import ANALYSIS_VIEWS

TABLE1_COLUMNS = [
    "key", "characteristic", "value", "statistic", "estimate", "sd", "q1", "q3", "n", "N", "unit",
]
RACES = ["American Indian", "Asian", "Black", "Caucasian", "Other"]
VIEW_LABELS = {"A4C": "A4c videos", "A2C": "A2c videos", "PLAX": "Plax videos"}
FOOTNOTE = (
    "Mean (SD); n (%). CMR rows: per patient, earliest paired CMR with the value. Echo LVEF and "
    "interval: per echo study. CMR: Cardiac Magnetic Resonance; LVEF: Left Ventricular Ejection "
    "Fraction; BMI: Body Mass Index; ECV: Extracellular Volume; SD: Standard Deviation; "
    "IQR: interquartile range."
)


def fmt_int(n: int) -> str:
    return f"{int(n):,}"


def fmt_num(x: float, decimals: int = 1) -> str:
    return "NA" if x is None or pd.isna(x) else f"{x:,.{decimals}f}"


def fmt_days(x: float) -> str:
    """Days as in the paper ("2", "-2"): whole numbers without decimals, halves with one."""
    return fmt_num(x, 0 if float(x).is_integer() else 1)


def _row(key, characteristic, value, statistic, estimate=np.nan, sd=np.nan, q1=np.nan,
         q3=np.nan, n=np.nan, N=np.nan, unit="patients") -> dict:  # noqa: N803
    return dict(key=key, characteristic=characteristic, value=value, statistic=statistic,
                estimate=estimate, sd=sd, q1=q1, q3=q3, n=n, N=N, unit=unit)


def mean_sd_row(key: str, label: str, values: pd.Series, unit: str = "patients",
                show_n: bool = True) -> dict:
    values = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    n = len(values)
    mean = values.mean() if n else np.nan
    sd = values.std(ddof=1) if n > 1 else np.nan
    text = f"{label} (N={fmt_int(n)})" if show_n else label
    return _row(key, text, f"{fmt_num(mean)} ({fmt_num(sd)})", "mean_sd", mean, sd, n=n, N=n,
                unit=unit)


def n_pct_row(key: str, label: str, flags: pd.Series, show_n: bool = False) -> dict:
    """n (%) of True among the known values of `flags` (bool/0-1 with missing)."""
    known = flags.dropna().astype(float)
    n, denominator = int(known.sum()), len(known)
    pct = 100 * n / denominator if denominator else np.nan
    text = f"{label} (N={fmt_int(denominator)})" if show_n else label
    return _row(key, text, f"{fmt_int(n)} ({fmt_num(pct)}%)", "n_pct", pct, n=n, N=denominator)


def studies_row(key: str, label: str, studies: pd.DataFrame) -> dict:
    n_studies, n_patients = len(studies), studies["patient_key"].nunique()
    value = f"{fmt_int(n_studies)} studies from {fmt_int(n_patients)} patients"
    return _row(key, label, value, "studies_patients", n_studies, n=n_studies, N=n_patients,
                unit="studies")


def median_iqr_row(key: str, label: str, values: pd.Series) -> dict:
    values = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if values.empty:
        return _row(key, label, "NA", "median_iqr", n=0, N=0, unit="studies")
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    value = f"{fmt_days(median)} ({fmt_days(q1)} to {fmt_days(q3)})"
    return _row(key, label, value, "median_iqr", median, q1=q1, q3=q3, n=len(values),
                N=len(values), unit="studies")



def patient_cmr_values(pairs: pd.DataFrame, cmr: pd.DataFrame, thresholds: dict,
                       segments: dict | None, segment_missing: str) -> pd.DataFrame:
    """Per patient: lvef, t1, t2, ecv, *_abnormal, wma_global, lge_global from the earliest
    paired CMR that has each value."""
    labels = cmr_labels(cmr, segments=segments, thresholds=thresholds,
                        segment_missing=segment_missing)
    labels["lvef"] = pd.to_numeric(cmr["lvef_pct"], errors="coerce").astype("Float64").values
    used = pairs[["patient_key", "cmr_key", "cmr_date"]].drop_duplicates("cmr_key")
    used = used.join(labels, on="cmr_key").sort_values(["patient_key", "cmr_date", "cmr_key"])
    columns = ["lvef", *MAPPING_LABELS, "wma_global", "lge_global"]
    # GroupBy.first skips missing values: the earliest CMR that HAS the value, per column
    return used.groupby("patient_key")[columns].first()


def build_table1(
    study_split: pd.DataFrame,
    pairs: pd.DataFrame,
    cmr: pd.DataFrame,
    clinical: pd.DataFrame,
    echo_reports: pd.DataFrame,
    manifest: pd.DataFrame,
    views: pd.DataFrame,
    thresholds: dict,
    segments: dict | None = None,
    segment_missing: str = "strict",
) -> pd.DataFrame:
    """Table 1 as a machine-readable DataFrame (TABLE1_COLUMNS), rows in the paper's order."""
    studies = study_split[["study_key", "patient_key"]].drop_duplicates("study_key")
    patients = pd.Index(sorted(studies["patient_key"].unique()), name="patient_key")
    clin = clinical.drop_duplicates("patient_key").set_index("patient_key").reindex(patients)
    cohort_pairs = pairs[pairs["study_key"].isin(studies["study_key"])]
    cmr_values = patient_cmr_values(cohort_pairs, cmr, thresholds, segments,
                                    segment_missing).reindex(patients)

    def partial(column):  # show (N=..) on clinical rows only when some patients lack the value
        return bool(clin[column].isna().any())

    rows = [
        mean_sd_row("age", "Age, mean (SD)", clin["age_years"], show_n=partial("age_years")),
        mean_sd_row("bmi", "BMI", clin["bmi"], show_n=partial("bmi")),
        n_pct_row("female", "Gender, female", clin["sex"].map({"F": 1.0, "M": 0.0}),
                  show_n=partial("sex")),
        _row("race", "Race/ethnicity", "", "header"),
    ]
    race = clin["race"]
    for name in RACES:
        flags = (race == name).astype(float).where(race.notna())
        rows.append(n_pct_row("race_" + name.lower().replace(" ", "_"), name, flags,
                              show_n=partial("race")))
    for column, label in (("hypertension", "Hypertension"), ("hyperlipidemia", "Hyperlipidemia"),
                          ("diabetes", "Diabetes")):
        rows.append(n_pct_row(column, label, clin[column], show_n=partial(column)))
    rows += [
        mean_sd_row("cmr_lvef", "CMR LVEF, mean (SD)", cmr_values["lvef"]),
        mean_sd_row("t1", "Native T1 (ms), mean (SD)", cmr_values["t1"]),
        mean_sd_row("t2", "T2 (ms), mean (SD)", cmr_values["t2"]),
        mean_sd_row("ecv", "ECV (%), mean (SD)", cmr_values["ecv"]),
        n_pct_row("t1_abnormal", f"Native T1 >= {thresholds['t1']:g} ms",
                  cmr_values["t1_abnormal"]),
        n_pct_row("t2_abnormal", f"T2 >= {thresholds['t2']:g} ms", cmr_values["t2_abnormal"]),
        n_pct_row("ecv_abnormal", f"ECV >= {thresholds['ecv']:g}%", cmr_values["ecv_abnormal"]),
        n_pct_row("wma_global", "Global wall motion abnormality (CMR)", cmr_values["wma_global"],
                  show_n=True),
        n_pct_row("lge_global", "Global scar finding (CMR)", cmr_values["lge_global"],
                  show_n=True),
        studies_row("echo_studies", "Total Echocardiogram studies paired with CMR", studies),
    ]
    echo_lvef = studies["study_key"].map(study_echo_lvef(manifest, echo_reports))
    rows.append(mean_sd_row("echo_lvef", "Echocardiogram LVEF, mean (SD)", echo_lvef,
                            unit="studies", show_n=bool(echo_lvef.isna().any())))
    kept = views[(views["status"] == "kept")]
    for view in ANALYSIS_VIEWS:
        with_view = kept.loc[kept["view"] == view, "study_key"]
        rows.append(studies_row(f"view_{view.lower()}", VIEW_LABELS[view],
                                studies[studies["study_key"].isin(with_view)]))
    intervals = cohort_pairs["interval_days"]
    rows.append(median_iqr_row("interval_days", "Echo-CMR interval (days), median (IQR)",
                               intervals))
    table = pd.DataFrame(rows, columns=TABLE1_COLUMNS)
    table[["n", "N"]] = table[["n", "N"]].astype("Int64")
    table[["estimate", "sd", "q1", "q3"]] = table[["estimate", "sd", "q1", "q3"]].round(6)
    return table


def n_patients(table: pd.DataFrame) -> int:
    return int(table.loc[table["key"] == "echo_studies", "N"].iloc[0])


def to_markdown(table: pd.DataFrame) -> str:
    header = f"Unique Patients (N = {fmt_int(n_patients(table))})"
    lines = [
        "# Table 1: Baseline patient characteristics, CMR and echocardiogram findings",
        "",
        f"| Characteristic | {header} |",
        "|---|---|",
    ]
    for row in table.itertuples():
        label = f"&nbsp;&nbsp;{row.characteristic}" if row.key.startswith("race_") else \
            row.characteristic
        lines.append(f"| {label} | {row.value} |")
    return "\n".join([*lines, "", FOOTNOTE, ""])


def to_html(table: pd.DataFrame) -> str:
    header = f"Unique Patients (N = {fmt_int(n_patients(table))})"
    body = []
    for row in table.itertuples():
        indent = ' class="indent"' if row.key.startswith("race_") else ""
        body.append(f"<tr><td{indent}>{html.escape(row.characteristic)}</td>"
                    f"<td>{html.escape(str(row.value))}</td></tr>")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Table 1</title>',
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ccc;padding:4px 12px;text-align:left}"
        "td.indent{padding-left:28px}caption{font-weight:bold;margin-bottom:8px}</style>",
        "</head><body><table>",
        "<caption>Table 1: Baseline patient characteristics, CMR and echocardiogram findings"
        "</caption>",
        f"<thead><tr><th>Characteristic</th><th>{html.escape(header)}</th></tr></thead>",
        "<tbody>", *body, "</tbody></table>",
        f"<p><small>{html.escape(FOOTNOTE)}</small></p>",
        "</body></html>", "",
    ])
