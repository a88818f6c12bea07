"""Pairing of echo studies with the nearest CMR (edge cases of issue 5)."""

from __future__ import annotations

import pandas as pd
import pytest

from echocmr.cohort.pair import (
    REASON_NO_CMR,
    REASON_NO_DATE,
    echo_studies,
    pair_qc,
    pair_studies,
)

P1, P2 = "P" + "1" * 12, "P" + "2" * 12


def echo(study, date, patient=P1):
    return {"study_key": study, "patient_key": patient, "echo_date": date}


def cmr(key, date, patient=P1):
    return {"patient_key": patient, "cmr_key": key, "cmr_date": date}


def run(echos, cmrs, window=30):
    pairs, unpaired = pair_studies(pd.DataFrame(echos), pd.DataFrame(cmrs), window)
    return pairs.set_index("study_key"), unpaired.set_index("study_key")


def test_window_is_inclusive_on_both_sides():
    pairs, unpaired = run(
        [echo("S_plus30", "2020-01-31"), echo("S_minus30", "2019-12-02"),
         echo("S_plus31", "2020-02-01"), echo("S_minus31", "2019-12-01")],
        [cmr("C_a", "2020-01-01")],
    )
    assert pairs.loc["S_plus30", "interval_days"] == 30
    assert pairs.loc["S_minus30", "interval_days"] == -30
    assert set(unpaired.index) == {"S_plus31", "S_minus31"}
    assert (unpaired["reason"] == REASON_NO_CMR).all()


def test_interval_is_echo_minus_cmr_signed():
    pairs, _ = run([echo("S_after", "2020-01-11"), echo("S_before", "2020-03-01", P2)],
                   [cmr("C_1", "2020-01-01"), cmr("C_2", "2020-03-04", P2)])
    assert pairs.loc["S_after", "interval_days"] == 10  # CMR before echo: positive
    assert pairs.loc["S_before", "interval_days"] == -3  # CMR after echo: negative
    assert pairs.loc["S_after", ["echo_date", "cmr_date"]].tolist() == ["2020-01-11",
                                                                        "2020-01-01"]


def test_closest_cmr_wins_among_several_in_window():
    pairs, _ = run([echo("S1", "2020-01-15")],
                   [cmr("C_far", "2020-01-01"), cmr("C_near", "2020-01-20"),
                    cmr("C_out", "2020-03-01")])
    assert pairs.loc["S1", "cmr_key"] == "C_near"
    assert pairs.loc["S1", "interval_days"] == -5


def test_tie_on_distance_prefers_the_cmr_before_the_echo():
    pairs, _ = run([echo("S1", "2020-01-15")],
                   [cmr("C_after", "2020-01-20"), cmr("C_before", "2020-01-10")])
    assert pairs.loc["S1", "cmr_key"] == "C_before"
    assert pairs.loc["S1", "interval_days"] == 5


def test_same_day_duplicates_resolve_deterministically():
    pairs, _ = run([echo("S1", "2020-01-15")],
                   [cmr("C_b", "2020-01-10"), cmr("C_a", "2020-01-10")])
    assert pairs.loc["S1", "cmr_key"] == "C_a"


def test_several_echos_may_share_one_cmr():
    pairs, _ = run([echo("S1", "2020-01-02"), echo("S2", "2020-01-20"), echo("S3", "2019-12-25")],
                   [cmr("C_1", "2020-01-01")])
    assert set(pairs.index) == {"S1", "S2", "S3"}
    assert set(pairs["cmr_key"]) == {"C_1"}


def test_only_the_same_patients_cmr_counts_and_none_in_window_is_dropped():
    pairs, unpaired = run([echo("S1", "2020-01-15", P1), echo("S2", "2021-06-01", P2)],
                          [cmr("C_other", "2020-01-15", P2), cmr("C_own_far", "2020-06-01", P1)])
    assert pairs.empty
    assert set(unpaired.index) == {"S1", "S2"}


def test_window_from_config_is_used():
    pairs, unpaired = run([echo("S1", "2020-01-08")], [cmr("C_1", "2020-01-01")], window=7)
    assert len(pairs) == 1
    pairs, unpaired = run([echo("S1", "2020-01-08")], [cmr("C_1", "2020-01-01")], window=6)
    assert pairs.empty and len(unpaired) == 1


def test_echo_studies_need_a_kept_analysis_view_and_take_the_manifest_date():
    views = pd.DataFrame([
        {"video_key": "V1", "study_key": "S_ok", "patient_key": P1, "view": "A4C",
         "status": "kept"},
        {"video_key": "V2", "study_key": "S_ok", "patient_key": P1, "view": "OTHER",
         "status": "excluded"},
        {"video_key": "V3", "study_key": "S_other_only", "patient_key": P1, "view": "OTHER",
         "status": "kept"},
        {"video_key": "V4", "study_key": "S_excluded", "patient_key": P1, "view": "PLAX",
         "status": "excluded"},
        {"video_key": "V5", "study_key": "S_nodate", "patient_key": P2, "view": "A2C",
         "status": "kept"},
    ])
    manifest = pd.DataFrame([
        {"study_key": "S_ok", "study_date": "2020-01-05", "status": "included"},
        {"study_key": "S_ok", "study_date": "2020-01-05", "status": "included"},
        {"study_key": "S_ok", "study_date": "1999-01-01", "status": "excluded"},
        {"study_key": "S_nodate", "study_date": pd.NA, "status": "included"},
    ])
    studies = echo_studies(manifest, views)
    assert studies["study_key"].tolist() == ["S_nodate", "S_ok"]
    assert studies.set_index("study_key").loc["S_ok", "echo_date"] == pd.Timestamp("2020-01-05")

    pairs, unpaired = pair_studies(studies, pd.DataFrame([cmr("C_1", "2020-01-01")]), 30)
    assert pairs["study_key"].tolist() == ["S_ok"]
    assert unpaired.set_index("study_key").loc["S_nodate", "reason"] == REASON_NO_DATE
    qc = pair_qc(studies, unpaired)
    assert qc[["step", "n_in", "n_out"]].iloc[0].tolist() == ["paired", 2, 1]
    assert (qc["n_in"] - qc["n_excluded"].sum() == qc["n_out"]).all()


@pytest.mark.parametrize("n_cmr", [0, 1])
def test_qc_has_one_empty_row_without_exclusions(n_cmr):
    echos = pd.DataFrame([echo("S1", "2020-01-01")])
    cmrs = pd.DataFrame([cmr("C_1", "2020-01-01")][:n_cmr], columns=["patient_key", "cmr_key",
                                                                      "cmr_date"])
    _, unpaired = pair_studies(echos, cmrs, 30)
    qc = pair_qc(echos, unpaired)
    assert qc["n_out"].iloc[0] == n_cmr
    if n_cmr:
        assert qc[["reason", "n_excluded"]].iloc[0].tolist() == ["", 0]
