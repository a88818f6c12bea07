"""Contract-shaped upstream tables for the cohort tests (docs/ARCHITECTURE.md).

`make_cohort` draws a small hospital at the table level: de-identified cmr_reports, clinical and
echo_reports, the ingest manifest and views.csv, with known generating parameters (TRUTH), so
Table 1 can be checked against the generator within sampling error. It is a test fixture, not the
project's simulator (`echocmr.simulate` draws the full DICOM export).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from conftest import REPO

from echocmr.cohort import stage
from echocmr.vocab.segments import WALL_MOTION_GRADES

MANIFEST_COLUMNS = [
    "file_key", "patient_key", "study_key", "video_key", "shard", "sop_class", "modality",
    "n_frames", "rows", "columns", "transfer_syntax", "photometric", "fps", "file_bytes",
    "accession_key", "study_date", "age_years", "status", "reason",
]
VIEWS_COLUMNS = ["video_key", "study_key", "patient_key", "view", "p_A4C", "p_A2C", "p_PLAX",
                 "p_OTHER", "confidence", "status", "reason"]
WM = [f"wm_{i:02d}" for i in range(1, 18)]
LGE = [f"lge_{i:02d}" for i in range(1, 18)]
CMR_COLUMNS = ["patient_key", "cmr_key", "cmr_date", *WM, *LGE, "t1_native_ms", "t2_ms",
               "ecv_pct", "lvef_pct", "hematocrit_pct"]
CLINICAL_COLUMNS = ["patient_key", "age_years", "sex", "race", "bmi", "hypertension",
                    "hyperlipidemia", "diabetes"]
ECHO_COLUMNS = ["patient_key", "accession_key", "study_date", "echo_lvef_pct"]

# Generating parameters (the paper's Table 1 values).
TRUTH = {
    "age_mean": 56.0, "age_sd": 17.9, "bmi_mean": 26.2, "bmi_sd": 4.0, "female": 0.418,
    "race": {"American Indian": 0.006, "Asian": 0.086, "Black": 0.142, "Caucasian": 0.670,
             "Other": 0.096},
    "hypertension": 0.377, "hyperlipidemia": 0.285, "diabetes": 0.165,
    "cmr_lvef_mean": 49.2, "cmr_lvef_sd": 12.0, "t1_mean": 1020.7, "t1_sd": 72.1,
    "t2_mean": 48.7, "t2_sd": 6.1, "ecv_mean": 28.4, "ecv_sd": 5.7,
    "p_t1": 0.77, "p_t2": 0.74, "p_ecv": 0.65, "wma": 0.483, "lge": 0.49,
    "echo_lvef_mean": 48.0, "echo_lvef_sd": 12.0,
}


def key(prefix: str, *parts) -> str:
    return prefix + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


def blank_cmr(patient_key: str, cmr_key: str, cmr_date: str, **values) -> dict:
    """One cmr_reports row, all segments normal/no LGE unless `values` says otherwise."""
    row = {c: "" for c in CMR_COLUMNS}
    row.update(patient_key=patient_key, cmr_key=cmr_key, cmr_date=cmr_date)
    row.update({c: "normal" for c in WM})
    row.update({c: "0" for c in LGE})
    row.update({k: str(v) for k, v in values.items()})
    return row


@dataclass
class Cohort:
    manifest: pd.DataFrame
    views: pd.DataFrame
    cmr_reports: pd.DataFrame
    clinical: pd.DataFrame
    echo_reports: pd.DataFrame
    truth: dict = field(default_factory=lambda: dict(TRUTH))

    def write(self, root) -> dict:
        """Write at the contract paths under `root`; returns {name: path}."""
        paths = {
            "manifest": root / "results/ingest/manifest.csv",
            "views": root / "results/views/views.csv",
            "cmr_reports": root / "results/deid/tables/cmr_reports.csv",
            "clinical": root / "results/deid/tables/clinical.csv",
            "echo_reports": root / "results/deid/tables/echo_reports.csv",
        }
        for name, path in paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            getattr(self, name).to_csv(path, index=False)
        return paths


def _clinical_row(rng, pk) -> dict:
    races, probs = zip(*TRUTH["race"].items())
    return {
        "patient_key": pk,
        "age_years": round(float(np.clip(rng.normal(TRUTH["age_mean"], TRUTH["age_sd"]), 18, 90))),
        "sex": "F" if rng.random() < TRUTH["female"] else "M",
        "race": races[rng.choice(len(races), p=np.asarray(probs) / sum(probs))],
        "bmi": round(float(np.clip(rng.normal(TRUTH["bmi_mean"], TRUTH["bmi_sd"]), 12, 70)), 1),
        **{c: int(rng.random() < TRUTH[c]) for c in ("hypertension", "hyperlipidemia",
                                                      "diabetes")},
    }


def _cmr_row(rng, pk, i, date) -> dict:
    values = {}
    if rng.random() < TRUTH["p_t1"]:
        values["t1_native_ms"] = round(float(rng.normal(TRUTH["t1_mean"], TRUTH["t1_sd"])), 1)
    if rng.random() < TRUTH["p_t2"]:
        values["t2_ms"] = round(float(rng.normal(TRUTH["t2_mean"], TRUTH["t2_sd"])), 1)
    if rng.random() < TRUTH["p_ecv"]:
        values["ecv_pct"] = round(float(rng.normal(TRUTH["ecv_mean"], TRUTH["ecv_sd"])), 1)
    values["lvef_pct"] = round(float(np.clip(rng.normal(TRUTH["cmr_lvef_mean"],
                                                        TRUTH["cmr_lvef_sd"]), 5, 90)), 1)
    values["hematocrit_pct"] = round(float(rng.normal(40, 4)), 1)
    row = blank_cmr(pk, key("C", pk, i), date.strftime("%Y-%m-%d"), **values)
    if rng.random() < TRUTH["wma"]:
        for s in rng.choice(17, size=rng.integers(1, 5), replace=False):
            row[WM[s]] = WALL_MOTION_GRADES[rng.integers(1, 4)]
    if rng.random() < TRUTH["lge"]:
        for s in rng.choice(17, size=rng.integers(1, 5), replace=False):
            row[LGE[s]] = "1"
    return row


def _study_rows(rng, pk, j, date, age, shard_count=2):
    """Manifest rows, views rows and the echo report of one echo study (age: header age)."""
    sk, ak = key("S", pk, j), key("A", pk, j)
    manifest, views = [], []
    wanted = [v for v, p in (("A4C", 0.9), ("A2C", 0.75), ("PLAX", 0.9), ("OTHER", 1.0))
              if rng.random() < p]
    for k, view in enumerate(wanted):
        vk = key("V", sk, k)
        manifest.append({**{c: "" for c in MANIFEST_COLUMNS}, "file_key": key("F", vk),
                         "patient_key": pk, "study_key": sk, "video_key": vk,
                         "shard": int(sk[1:], 16) % shard_count, "modality": "US",
                         "accession_key": ak, "study_date": date.strftime("%Y-%m-%d"),
                         "age_years": age, "status": "included"})
        views.append({**{c: "" for c in VIEWS_COLUMNS}, "video_key": vk, "study_key": sk,
                      "patient_key": pk, "view": view, "confidence": 0.9,
                      "status": "kept" if view != "OTHER" else "excluded",
                      "reason": "" if view != "OTHER" else "not an analysis view"})
    lvef = round(float(np.clip(rng.normal(TRUTH["echo_lvef_mean"], TRUTH["echo_lvef_sd"]), 5,
                               90)), 1)
    report = {"patient_key": pk, "accession_key": ak, "study_date": date.strftime("%Y-%m-%d"),
              "echo_lvef_pct": lvef}
    return manifest, views, report


def make_cohort(n_patients: int = 300, seed: int = 0) -> Cohort:
    """A contract-shaped cohort: 1-2 CMRs and 1-3 echo studies per patient, echo dates within
    +-45 days of one of the patient's CMRs (so some fall outside a 30-day window)."""
    rng = np.random.default_rng(seed)
    clinical, cmrs, manifest, views, echo = [], [], [], [], []
    base = pd.Timestamp("2015-01-01")
    for p in range(n_patients):
        pk = key("P", seed, p)
        clinical.append(_clinical_row(rng, pk))
        age = clinical[-1]["age_years"]
        cmr_dates = [base + pd.Timedelta(days=int(rng.integers(0, 3000)))]
        if rng.random() < 0.2:
            cmr_dates.append(cmr_dates[0] + pd.Timedelta(days=int(rng.integers(200, 900))))
        cmrs += [_cmr_row(rng, pk, i, d) for i, d in enumerate(cmr_dates)]
        for j in range(int(rng.integers(1, 4))):
            anchor = cmr_dates[rng.integers(len(cmr_dates))]
            date = anchor + pd.Timedelta(days=int(rng.integers(-45, 46)))
            m, v, e = _study_rows(rng, pk, j, date, age)
            manifest += m
            views += v
            echo.append(e)
    return Cohort(
        manifest=pd.DataFrame(manifest, columns=MANIFEST_COLUMNS),
        views=pd.DataFrame(views, columns=VIEWS_COLUMNS),
        cmr_reports=pd.DataFrame(cmrs, columns=CMR_COLUMNS),
        clinical=pd.DataFrame(clinical, columns=CLINICAL_COLUMNS),
        echo_reports=pd.DataFrame(echo, columns=ECHO_COLUMNS),
    )


PAPER_ROWS = [
    "age", "bmi", "female", "race", "race_american_indian", "race_asian", "race_black",
    "race_caucasian", "race_other", "hypertension", "hyperlipidemia", "diabetes", "cmr_lvef",
    "t1", "t2", "ecv", "t1_abnormal", "t2_abnormal", "ecv_abnormal", "wma_global", "lge_global",
    "echo_studies", "echo_lvef", "view_a4c", "view_a2c", "view_plax", "interval_days",
]


def run_cohort_stage(cohort: Cohort, root, cohort_config=None, seed=1,
                     min_age=18) -> pd.DataFrame:
    """Every cohort rule's logic on contract files under `root`; returns table1.csv."""
    cohort_config = cohort_config or {}
    paths = cohort.write(root)
    out = root / "results"
    schemas = {n: REPO / f"workflow/schemas/{n}.schema.yaml" for n in stage.TABLES}
    valid = {n: out / f"cohort/valid/{n}.csv" for n in stage.TABLES}
    stage.write_valid_tables({n: paths[n] for n in stage.TABLES}, schemas, valid,
                             out / "cohort/excluded_rows.csv")
    stage.write_pairs(paths["manifest"], paths["views"], valid["cmr_reports"], 30,
                      out / "cohort/pairs.csv", out / "cohort/pair_qc.csv",
                      clinical=valid["clinical"], min_age=min_age)
    stage.write_labels(out / "cohort/pairs.csv", valid["cmr_reports"], cohort_config,
                       out / "cohort/labels.csv")
    stage.write_split(out / "cohort/labels.csv", out / "cohort/pair_qc.csv", cohort_config, seed,
                      out / "cohort/split.csv", out / "cohort/study_split.csv",
                      out / "qc/cohort.csv")
    stage.write_table1(out / "cohort/study_split.csv", out / "cohort/pairs.csv",
                       valid["cmr_reports"], valid["clinical"], valid["echo_reports"],
                       paths["manifest"], paths["views"], cohort_config, out / "table1.csv",
                       out / "table1.md", out / "table1.html")
    return pd.read_csv(out / "table1.csv", keep_default_na=False, na_values=[""])
