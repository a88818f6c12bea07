"""Per-view and global labels against hand-computed cases (issue 5)."""

from __future__ import annotations

import pandas as pd
import pytest
from cohort_tables import blank_cmr

from echocmr.cohort.labels import LABEL_COLUMNS, cmr_labels, study_labels
from echocmr.vocab.segments import VIEW_SEGMENTS

P = "P" + "a" * 12


def labels_of(mode="strict", segments=None, thresholds=None, **cells):
    """Labels of one CMR whose cells are normal/no-LGE except `cells` (None = missing)."""
    row = blank_cmr(P, "C" + "1" * 12, "2020-01-01")
    for column, value in cells.items():
        row[column] = None if value is None else value
    cmr = pd.DataFrame([row]).replace("", None)
    for c in cmr.columns:
        if c.startswith("lge_") or c in ("t1_native_ms", "t2_ms", "ecv_pct", "lvef_pct"):
            cmr[c] = pd.to_numeric(cmr[c]).astype("Float64")
    out = cmr_labels(cmr, segments=segments, thresholds=thresholds, segment_missing=mode)
    return {k: (None if pd.isna(v) else v) for k, v in out.iloc[0].items()}


def wma(labels):
    return [labels[f"wma_{v}"] for v in ("a4c", "a2c", "plax", "global")]


def lge(labels):
    return [labels[f"lge_{v}"] for v in ("a4c", "a2c", "plax", "global")]


@pytest.mark.parametrize(
    ("segment", "grade", "expected"),
    [
        ("wm_14", "akinetic", [1, 0, 0, 1]),  # apical septal: A4C only
        ("wm_01", "hypokinetic", [0, 1, 0, 1]),  # basal anterior: A2C only
        ("wm_05", "dyskinetic", [0, 0, 1, 1]),  # basal inferolateral: PLAX only
        ("wm_17", "akinetic", [1, 1, 0, 1]),  # apex: both apical views
        ("wm_08", "hypokinetic", [0, 0, 1, 1]),  # mid anteroseptal: PLAX
        ("wm_12", "normal", [0, 0, 0, 0]),
    ],
)
def test_wall_motion_per_view(segment, grade, expected):
    assert wma(labels_of(**{segment: grade})) == expected


def test_segments_no_view_shows_still_count_globally():
    shown = set().union(*map(set, VIEW_SEGMENTS.values()))
    assert shown == set(range(1, 18))  # every segment is in some view with the default mapping
    custom = {"A4C": [3, 9], "A2C": [4, 10], "PLAX": [2, 8]}
    assert wma(labels_of(segments=custom, wm_17="akinetic")) == [0, 0, 0, 1]
    assert wma(labels_of(segments=custom, wm_09="akinetic")) == [1, 0, 0, 1]


def test_lge_per_view():
    assert lge(labels_of(lge_11="1")) == [0, 0, 1, 1]  # mid inferolateral: PLAX
    assert lge(labels_of(lge_16="1", lge_13="1")) == [1, 1, 0, 1]
    assert lge(labels_of()) == [0, 0, 0, 0]


def test_all_grades_missing_makes_wma_missing_but_not_lge():
    cells = {f"wm_{i:02d}": None for i in range(1, 18)}
    out = labels_of(**cells, lge_03="1")
    assert wma(out) == [None] * 4
    assert lge(out) == [1, 0, 0, 1]


def test_partial_missingness_strict_and_observed():
    strict = labels_of(wm_02=None)  # basal anteroseptal (PLAX) not graded, rest normal
    assert wma(strict) == [0, 0, None, None]
    observed = labels_of(mode="observed", wm_02=None)
    assert wma(observed) == [0, 0, 0, 0]
    # an abnormal graded segment is positive whatever else is missing
    assert wma(labels_of(wm_02=None, wm_03="akinetic")) == [1, 0, None, 1]


def test_thresholds_are_inclusive_and_configurable():
    out = labels_of(t1_native_ms="1060", t2_ms="57.9", ecv_pct="33")
    assert (out["t1"], out["t1_abnormal"]) == (1060, 1)
    assert (out["t2"], out["t2_abnormal"]) == (57.9, 0)
    assert (out["ecv"], out["ecv_abnormal"]) == (33, 1)
    out = labels_of(thresholds={"t1": 1100, "t2": 50, "ecv": 40}, t1_native_ms="1060",
                    t2_ms="57.9", ecv_pct="33")
    assert [out["t1_abnormal"], out["t2_abnormal"], out["ecv_abnormal"]] == [0, 1, 0]


def test_missing_value_empties_that_task_only():
    out = labels_of(t1_native_ms="1100", ecv_pct="20")  # T2 not measured
    assert out["t2"] is None and out["t2_abnormal"] is None
    assert out["t1_abnormal"] == 1 and out["ecv_abnormal"] == 0
    assert wma(out) == [0, 0, 0, 0]


def test_study_labels_join_pairs_and_keep_contract_columns():
    c1 = blank_cmr(P, "C" + "1" * 12, "2020-01-01", wm_14="akinetic", t1_native_ms="1000")
    c2 = blank_cmr(P, "C" + "2" * 12, "2021-01-01", lge_05="1")
    cmr = pd.DataFrame([c1, c2]).replace("", None)
    for c in [c for c in cmr.columns if c.startswith("lge_")] + ["t1_native_ms", "t2_ms",
                                                                   "ecv_pct"]:
        cmr[c] = pd.to_numeric(cmr[c]).astype("Float64")
    pairs = pd.DataFrame({
        "study_key": ["S2", "S1", "S3"], "patient_key": [P] * 3,
        "cmr_key": [c2["cmr_key"], c1["cmr_key"], c1["cmr_key"]], "interval_days": [3, -1, 0],
    })
    out = study_labels(pairs, cmr).set_index("study_key")
    assert list(out.reset_index().columns) == LABEL_COLUMNS
    assert out.index.tolist() == ["S1", "S2", "S3"]
    assert out.loc["S1", "wma_a4c"] == 1 and out.loc["S3", "wma_a4c"] == 1
    assert out.loc["S2", "wma_a4c"] == 0 and out.loc["S2", "lge_plax"] == 1
    assert out.loc["S1", "t1"] == 1000 and pd.isna(out.loc["S2", "t1"])
    assert out.loc["S2", "interval_days"] == 3
