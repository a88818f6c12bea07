"""Table 1: rows, formats and levels by hand; truth recovery on a synthetic cohort."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from cohort_tables import (
    CLINICAL_COLUMNS,
    ECHO_COLUMNS,
    MANIFEST_COLUMNS,
    PAPER_ROWS,
    TRUTH,
    VIEWS_COLUMNS,
    Cohort,
    blank_cmr,
    key,
    make_cohort,
    run_cohort_stage,
)


def hand_cohort() -> Cohort:
    pa, pb, pc, pd_ = (key("P", x) for x in "ABCD")
    clinical = pd.DataFrame([
        [pa, 60, "F", "Asian", 25, 1, 0, 0],
        [pb, 40, "M", "Black", 30, 0, 1, 1],
        [pc, 50, "F", "Caucasian", "", 0, 0, 0],
        [pd_, 80, "M", "Other", 20, 1, 1, 1],  # no CMR in window: not in the cohort
    ], columns=CLINICAL_COLUMNS)
    cmr = pd.DataFrame([
        blank_cmr(pa, key("C", "A1"), "2020-01-01", lvef_pct=50, wm_14="akinetic"),
        blank_cmr(pa, key("C", "A2"), "2021-01-01", lvef_pct=40, t1_native_ms=1100),
        blank_cmr(pb, key("C", "B1"), "2020-05-10", lvef_pct=60, t1_native_ms=1000, t2_ms=60,
                  ecv_pct=35, lge_05=1),
        {**blank_cmr(pc, key("C", "C1"), "2020-07-01"), **{f"wm_{i:02d}": "" for i in
                                                          range(1, 18)}},
        blank_cmr(pd_, key("C", "D1"), "2019-01-01", lvef_pct=30),
    ])
    studies = [  # patient, study, date, views, echo LVEF
        (pa, "A1", "2020-01-03", ["A4C", "PLAX"], 45), (pa, "A2", "2021-01-01", ["A4C"], 35),
        (pb, "B1", "2020-05-05", ["A2C", "PLAX"], 55), (pc, "C1", "2020-07-10", ["A4C"], ""),
        (pd_, "D1", "2020-01-01", ["A4C"], 20),
    ]
    manifest, views, echo = [], [], []
    for patient, name, date, study_views, lvef in studies:
        sk, ak = key("S", name), key("A", name)
        for view in study_views:
            vk = key("V", name, view)
            manifest.append({**dict.fromkeys(MANIFEST_COLUMNS, ""), "patient_key": patient,
                             "study_key": sk, "video_key": vk, "accession_key": ak,
                             "study_date": date, "status": "included"})
            views.append({**dict.fromkeys(VIEWS_COLUMNS, ""), "video_key": vk, "study_key": sk,
                          "patient_key": patient, "view": view, "status": "kept"})
        echo.append([patient, ak, date, lvef])
    return Cohort(pd.DataFrame(manifest), pd.DataFrame(views), cmr, clinical,
                  pd.DataFrame(echo, columns=ECHO_COLUMNS))


def test_hand_computed_table1(tmp_path):
    table = run_cohort_stage(hand_cohort(), tmp_path).set_index("key")
    assert table.index.tolist() == PAPER_ROWS
    value = table["value"].fillna("")
    assert value["age"] == "50.0 (10.0)"
    assert table.loc["bmi", "characteristic"] == "BMI (N=2)" and value["bmi"] == "27.5 (3.5)"
    assert value["female"] == "2 (66.7%)"
    assert value["race"] == "" and value["race_american_indian"] == "0 (0.0%)"
    assert value["race_asian"] == "1 (33.3%)" and value["race_other"] == "0 (0.0%)"
    assert value["diabetes"] == "1 (33.3%)"
    # CMR rows: per patient, earliest paired CMR that has the value
    assert table.loc["cmr_lvef", "characteristic"] == "CMR LVEF, mean (SD) (N=2)"
    assert value["cmr_lvef"] == "55.0 (7.1)"
    assert value["t1"] == "1,050.0 (70.7)"  # patient A's T1 comes from the second CMR
    assert table.loc["t1", "characteristic"] == "Native T1 (ms), mean (SD) (N=2)"
    assert value["t2"] == "60.0 (NA)" and value["t1_abnormal"] == "1 (50.0%)"
    assert table.loc["t2_abnormal", "characteristic"] == "T2 >= 58 ms"
    assert value["ecv_abnormal"] == "1 (100.0%)"
    assert table.loc["wma_global", "characteristic"] == \
        "Global wall motion abnormality (CMR) (N=2)"
    assert value["wma_global"] == "1 (50.0%)"
    assert value["lge_global"] == "1 (33.3%)"
    assert value["echo_studies"] == "4 studies from 3 patients"
    assert value["echo_lvef"] == "45.0 (10.0)"
    assert table.loc["echo_lvef", "characteristic"] == "Echocardiogram LVEF, mean (SD) (N=3)"
    assert value["view_a4c"] == "3 studies from 2 patients"
    assert value["view_a2c"] == "1 studies from 1 patients"
    assert value["view_plax"] == "2 studies from 2 patients"
    interval = table.loc["interval_days"]  # intervals 2, 0, -5, 9
    assert (interval["estimate"], interval["q1"], interval["q3"]) == (1.0, -1.25, 3.75)
    assert value["interval_days"] == "1 (-1.2 to 3.8)"

    md = (tmp_path / "results/table1.md").read_text()
    assert "| Characteristic | Unique Patients (N = 3) |" in md
    assert "| Native T1 >= 1060 ms | 1 (50.0%) |" in md
    html = (tmp_path / "results/table1.html").read_text()
    assert "Native T1 &gt;= 1060 ms" in html and "4 studies from 3 patients" in html
    qc = pd.read_csv(tmp_path / "results/qc/cohort.csv", keep_default_na=False)
    assert qc[["step", "n_in", "n_out"]].values.tolist() == [["paired", 5, 4], ["adults", 4, 4],
                                                             ["in analysis", 4, 4]]


def test_thresholds_from_config_reach_labels_and_table1(tmp_path):
    config = {"thresholds": {"t1": 1050, "t2": 58, "ecv": 33}}
    table = run_cohort_stage(hand_cohort(), tmp_path, cohort_config=config).set_index("key")
    assert table.loc["t1_abnormal", "characteristic"] == "Native T1 >= 1050 ms"
    labels = pd.read_csv(tmp_path / "results/cohort/labels.csv")
    by_t1 = labels.dropna(subset=["t1"]).set_index("t1")["t1_abnormal"]
    assert by_t1.to_dict() == {1000.0: 0, 1100.0: 1}


def within(observed, expected, se, k=4.0):
    return abs(observed - expected) <= k * se


def test_table1_recovers_the_generators_truth(tmp_path):
    table = run_cohort_stage(make_cohort(1200, seed=11), tmp_path).set_index("key")

    def mean_ok(row, mean, sd):
        r = table.loc[row]
        assert within(r["estimate"], mean, sd / math.sqrt(r["n"])), (row, r["estimate"], mean)
        assert r["sd"] == pytest.approx(sd, rel=0.15), (row, r["sd"], sd)

    def share_ok(row, p):
        r = table.loc[row]
        assert within(r["estimate"] / 100, p, math.sqrt(p * (1 - p) / r["N"])), (row, r, p)

    mean_ok("age", TRUTH["age_mean"], TRUTH["age_sd"])
    mean_ok("t1", TRUTH["t1_mean"], TRUTH["t1_sd"])
    mean_ok("t2", TRUTH["t2_mean"], TRUTH["t2_sd"])
    mean_ok("ecv", TRUTH["ecv_mean"], TRUTH["ecv_sd"])
    mean_ok("cmr_lvef", TRUTH["cmr_lvef_mean"], TRUTH["cmr_lvef_sd"])
    mean_ok("echo_lvef", TRUTH["echo_lvef_mean"], TRUTH["echo_lvef_sd"])
    share_ok("female", TRUTH["female"])
    for race, p in TRUTH["race"].items():
        share_ok("race_" + race.lower().replace(" ", "_"), p)
    for column in ("hypertension", "hyperlipidemia", "diabetes"):
        share_ok(column, TRUTH[column])
    share_ok("wma_global", TRUTH["wma"])
    share_ok("lge_global", TRUTH["lge"])
    p_t1 = 1 - 0.5 * (1 + math.erf((1060 - TRUTH["t1_mean"]) / (TRUTH["t1_sd"] * math.sqrt(2))))
    share_ok("t1_abnormal", p_t1)
    # echo dates are drawn uniformly within +-45 days of a CMR: pairs are those within 30
    interval = table.loc["interval_days"]
    assert abs(interval["estimate"]) <= 3 and -20 <= interval["q1"] <= -10 <= 10 <= \
        interval["q3"] <= 20
    assert table.loc["t1", "n"] < table.loc["cmr_lvef", "n"]  # T1 measured in a subset
