"""Cohort tables of the simulator (no pixels): Table 1 realism at paper scale, settings, schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO

from echocmr.simulate import cohort as sc
from echocmr.simulate.settings import DEFAULTS, SimSettings, SimSettingsError
from echocmr.vocab.segments import VIEW_SEGMENTS, segment_columns

WM, LGE = segment_columns("wm"), segment_columns("lge")


@pytest.fixture(scope="module")
def paper():
    """The paper preset's cohort tables (1,453 patients); about a second, no pixels."""
    with open(REPO / "config" / "presets" / "paper.yaml") as fh:
        section = yaml.safe_load(fh)["simulate"]
    return sc.build_cohort(SimSettings.from_config(section, seed=20240601))


def test_paper_scale_counts(paper):
    assert len(paper.patients) == 1453
    paired = paper.studies[paper.studies["paired"]]
    # Paper: 2,566 studies paired with CMR within 30 days.
    assert 2350 <= len(paired) <= 2800
    assert (~paper.studies["paired"]).sum() > 50  # some beyond 30 days that pairing must drop
    assert (paper.cmrs.groupby("patient_index").size() == 2).sum() > 20


def test_table1_demographics(paper):
    p = paper.patients
    assert abs(p["age_years"].mean() - 56.0) < 2.0
    assert abs(p["age_years"].std() - 17.9) < 2.0
    assert abs((p["sex"] == "F").mean() - 0.418) < 0.04
    race = p["race"].value_counts(normalize=True)
    for name, share in [("Caucasian", 0.67), ("Black", 0.142), ("Other", 0.096),
                        ("Asian", 0.086)]:
        assert abs(race[name] - share) < 0.03, name
    assert set(race.index) == set(sc.RACES)
    for col, share in [("hypertension", 0.377), ("hyperlipidemia", 0.285), ("diabetes", 0.165)]:
        assert abs(p[col].mean() - share) < 0.04, col
    assert abs(p["bmi"].mean() - 26.2) < 1.0


def test_table1_cmr_findings_and_missingness(paper):
    reports = sc.cmr_reports_table(paper)
    first = reports.drop_duplicates("mrn", keep="first")
    n = len(first)

    def present(col):
        return first[col] != ""

    # Ns of Table 1 (of 1,453): WMA read 1,405, scar 1,252, T1 1,116, T2 1,069, ECV 941.
    for col, expected in [("wm_01", 1405), ("lge_01", 1252), ("t1_native_ms", 1116),
                          ("t2_ms", 1069), ("ecv_pct", 941), ("lvef_pct", 1432)]:
        assert abs(present(col).sum() / n - expected / 1453) < 0.035, col
    wm = first.loc[present("wm_01"), WM]
    assert abs((wm != "normal").any(axis=1).mean() - 0.483) < 0.04
    lge = first.loc[present("lge_01"), LGE].astype(int)
    assert abs(lge.any(axis=1).mean() - 0.49) < 0.04
    for col, mean, sd, thr, above in [("t1_native_ms", 1020.7, 72.1, 1060, 0.256),
                                      ("t2_ms", 48.7, 6.1, 58, 0.082),
                                      ("ecv_pct", 28.4, 5.7, 33, 0.214)]:
        vals = pd.to_numeric(first.loc[present(col), col])
        assert abs(vals.mean() - mean) < 0.1 * sd * 3, col
        assert abs(vals.std() - sd) < 0.15 * sd, col
        assert abs((vals >= thr).mean() - above) < 0.04, col
    lvef = pd.to_numeric(first.loc[present("lvef_pct"), "lvef_pct"])
    assert abs(lvef.mean() - 49.2) < 2.5 and abs(lvef.std() - 17.4) < 2.5
    # ECV needs contrast: wherever ECV is reported, LGE is too.
    assert (present("lge_01") | ~present("ecv_pct")).all()


def test_echo_cmr_intervals_and_lvef(paper):
    st = paper.studies
    paired = st[st["paired"]]
    assert paired["interval_days"].median() == pytest.approx(2, abs=1)
    q1, q3 = paired["interval_days"].quantile([0.25, 0.75])
    assert -4 <= q1 <= 0 and 4 <= q3 <= 8
    assert (st.loc[~st["paired"], "interval_days"].abs() > 30).all()
    echo = pd.to_numeric(sc.echo_reports_table(paper)["echo_lvef_pct"])
    assert abs(echo.mean() - 48.0) < 3 and abs(echo.std() - 18.5) < 3
    # Echo LVEF follows the WMA burden (reduced when walls move abnormally).
    burden = paper.patients.set_index("patient_index").loc[st["patient_index"], "wma_burden"]
    assert np.corrcoef(burden.to_numpy(), st["echo_lvef_pct"].to_numpy())[0, 1] < -0.4


def test_view_presence_and_distractors(paper):
    v, n_studies = paper.videos, len(paper.studies)
    cines = v[v["kind"] == "cine"]
    for view, share in [("A4C", 0.91), ("A2C", 0.77), ("PLAX", 0.90)]:
        has = cines.loc[cines["view"] == view, "study_index"].nunique() / n_studies
        assert abs(has - share) < 0.04, view
    assert {"PSAX", "A5C", "SUBCOSTAL"} <= set(cines["view"])
    assert {"cine", "doppler", "still", "sr", "damaged"} == set(v["kind"])
    assert set(v.loc[v["kind"] != "sr", "encoding"]) >= {"jpeg_ybr422", "rgb", "mono2", "rle"}
    assert not v["rel_path"].duplicated().any()
    assert not v["sop_instance_uid"].duplicated().any()
    labels = sc.view_labels_table(paper)
    assert list(labels.columns) == ["sop_instance_uid", "view"]
    assert 0.4 < len(labels) / len(cines) < 0.6


def test_raw_table_columns_follow_the_contract(paper):
    assert list(sc.cmr_reports_table(paper).columns) == (
        ["mrn", "cmr_date", *WM, *LGE, "t1_native_ms", "t2_ms", "ecv_pct", "lvef_pct",
         "hematocrit_pct"])
    assert list(sc.clinical_table(paper).columns) == [
        "mrn", "patient_name", "birth_date", "sex", "race", "bmi", "hypertension",
        "hyperlipidemia", "diabetes"]
    assert list(sc.echo_reports_table(paper).columns) == [
        "mrn", "accession_number", "study_date", "echo_lvef_pct"]
    grades = set(sc.cmr_reports_table(paper)[WM].to_numpy().ravel()) - {""}
    assert grades == {"normal", "hypokinetic", "akinetic", "dyskinetic"}


def test_same_seed_same_tables_other_seed_other_tables():
    a = sc.build_cohort(SimSettings.from_config({"n_patients": 60}, seed=3))
    b = sc.build_cohort(SimSettings.from_config({"n_patients": 60}, seed=3))
    c = sc.build_cohort(SimSettings.from_config({"n_patients": 60}, seed=4))
    pd.testing.assert_frame_equal(a.videos, b.videos)
    pd.testing.assert_frame_equal(sc.cmr_reports_table(a), sc.cmr_reports_table(b))
    assert not sc.cmr_reports_table(a).equals(sc.cmr_reports_table(c))


def test_knobs_change_the_plan():
    s = SimSettings.from_config({"n_patients": 30, "views": ["A4C"],
                                 "distractors": {"enabled": False},
                                 "damaged": {"truncated": 0, "zero_bytes": 0, "not_dicom": 0},
                                 "frames": {"min": 40, "max": 40}}, seed=1)
    v = sc.build_cohort(s).videos
    assert set(v["kind"]) == {"cine"} and set(v["view"]) == {"A4C"}
    assert (v["n_frames"] == 40).all()
    assert v["fps"].between(30, 60).all()
    beats = v["n_frames"] / v["fps"] * v["heart_rate_bpm"] / 60
    assert beats.between(1.5 - 0.05, 3.0 + 0.05).mean() > 0.9


def test_wrong_settings_fail_with_the_key():
    with pytest.raises(SimSettingsError, match="simulate.n_patientz"):
        SimSettings.from_config({"n_patientz": 3}, seed=1)
    with pytest.raises(SimSettingsError, match="simulate.views"):
        SimSettings.from_config({"views": ["A3C"]}, seed=1)
    with pytest.raises(SimSettingsError, match="frames.min"):
        SimSettings.from_config({"frames": {"min": 50, "max": 40}}, seed=1)


def _schema_defaults(node):
    if node.get("type") == "object" and "properties" in node:
        return {k: _schema_defaults(v) for k, v in node["properties"].items()}
    return node.get("default")


def test_schema_defaults_match_library_defaults():
    with open(REPO / "workflow" / "schemas" / "config.schema.yaml") as fh:
        schema = yaml.safe_load(fh)
    assert _schema_defaults(schema["properties"]["simulate"]) == DEFAULTS


def test_site_quirks_are_planted_and_recorded_only_when_asked():
    """simulate.quirks (issue 12): each quirk is where truth/quirks.csv says; off = no change."""
    from echocmr.simulate.quirks import quirks_truth

    clean = sc.build_cohort(SimSettings.from_config({"n_patients": 6}, seed=5))
    quirky = sc.build_cohort(SimSettings.from_config(
        {"n_patients": 6, "quirks": {"children": 1, "multi_accession": 1,
                                     "identity_conflict": 1, "partial_grading": 1}}, seed=5))
    assert clean.quirks == {"children": [], "multi_accession": [], "identity_conflict": [],
                            "partial_grading": [], "placeholder_headers": []}
    assert "header_mrn" not in clean.videos and "wm_ungraded" not in clean.cmrs
    assert "placeholder_department" not in clean.studies
    child = quirky.patients.set_index("patient_index").loc[quirky.quirks["children"][0]]
    assert child["age_years"] < 18
    age_at_cmr = (child["first_cmr_date"] - child["birth_date"]).days / 365.25
    assert 6 <= age_at_cmr < 18
    multi = quirky.studies.set_index("study_index").loc[quirky.quirks["multi_accession"][0]]
    assert multi["accession_number"].count("\\") == 1
    reports = sc.echo_reports_table(quirky)
    assert multi["accession_number"].split("\\")[0] in set(reports["accession_number"])
    conflict = quirky.videos.set_index("video_index").loc[quirky.quirks["identity_conflict"][0]]
    assert conflict["header_mrn"] != conflict["mrn"]
    assert conflict["header_mrn"] in set(quirky.patients["mrn"])
    row, view = quirky.quirks["partial_grading"][0]
    report = sc.cmr_reports_table(quirky).loc[row]
    assert all(report[f"wm_{s:02d}"] == "" for s in VIEW_SEGMENTS[view])
    assert any(report[c] != "" for c in segment_columns("wm"))
    truth = quirks_truth(quirky, quirky.quirks, "s3cret")
    assert sorted(truth["quirk"]) == ["children", "identity_conflict", "multi_accession",
                                      "partial_grading"]
    assert truth["patient_key"].str.match(r"^P[0-9a-f]{12}$").all()
    # the clean draws are untouched by the quirks (their own random stream)
    assert clean.studies["study_uid"].equals(quirky.studies["study_uid"])


def test_placeholder_headers_reach_the_dicom_fields_of_their_studies_only():
    """simulate.quirks.placeholder_headers: the department, institution, station and physician
    fields of the chosen studies' files hold placeholders; the other studies' are untouched."""
    from echocmr.simulate import dicomio
    from echocmr.simulate.export import header_for
    from echocmr.simulate.quirks import PLACEHOLDER_DEPARTMENTS

    cohort = sc.build_cohort(SimSettings.from_config(
        {"n_patients": 6, "quirks": {"placeholder_headers": 2}}, seed=5))
    chosen = set(cohort.quirks["placeholder_headers"])
    assert len(chosen) == 2
    patients = cohort.patients.set_index("patient_index")
    studies = cohort.studies.set_index("study_index", drop=False)
    seen = set()
    for video in cohort.videos.to_dict("records"):
        study = studies.loc[video["study_index"]].to_dict()
        h = header_for(video, patients.loc[study["patient_index"]].to_dict(), study)
        ds = dicomio.base_dataset(h, "1.2.840.10008.5.1.4.1.1.3.1", "US", "1.2.840.10008.1.2.1")
        if video["study_index"] in chosen:
            assert ds.InstitutionalDepartmentName in PLACEHOLDER_DEPARTMENTS
            assert (ds.InstitutionName, ds.StationName) == ("UNKNOWN", "UNKNOWN")
            assert str(ds.ReferringPhysicianName) == "ANONYMOUS"
            seen.add(ds.InstitutionalDepartmentName)
        else:
            assert "InstitutionalDepartmentName" not in ds and ds.InstitutionName != "UNKNOWN"
    assert len(seen) == 2
