"""The cohort stage on the simulator's table-level cohort recovers the generator's truth.

`echocmr.simulate.cohort.build_cohort` draws patients, CMRs, echo studies and the file plan with
known planted values (no pixels). Here those raw tables are put into the de-identified contract
shape (pseudonyms and per-patient date shift exactly as docs/ARCHITECTURE.md describes; views
taken as perfectly classified), then the cohort stage runs on them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from cohort_tables import Cohort, run_cohort_stage

from echocmr.keys import SYNTHETIC_DEMO_SECRET, date_offset_days, pseudonym
from echocmr.simulate import cohort as simcohort
from echocmr.simulate import settings

SECRET = SYNTHETIC_DEMO_SECRET
MAIN_VIEWS = ("A4C", "A2C", "PLAX")


def shift(dates: pd.Series, mrns: pd.Series) -> list[str]:
    return [(pd.Timestamp(d) + pd.Timedelta(days=date_offset_days(SECRET, m))).strftime(
        "%Y-%m-%d") for d, m in zip(dates, mrns)]


def deidentified(sim) -> Cohort:
    """Contract-shaped de-identified tables, manifest and views of a simulated cohort."""
    pk = {m: pseudonym(SECRET, "patient", m) for m in sim.patients["mrn"]}
    cmr = simcohort.cmr_reports_table(sim)
    cmr.insert(1, "cmr_key", [pseudonym(SECRET, "cmr", f"{m}|{d}")
                              for m, d in zip(cmr["mrn"], cmr["cmr_date"])])
    cmr["cmr_date"] = shift(cmr["cmr_date"], cmr["mrn"])
    cmr.insert(0, "patient_key", cmr.pop("mrn").map(pk))

    p = sim.patients
    clinical = pd.DataFrame({
        "patient_key": p["mrn"].map(pk), "age_years": p["age_years"].clip(upper=90),
        "sex": p["sex"], "race": p["race"], "bmi": p["bmi"],
        "hypertension": p["hypertension"], "hyperlipidemia": p["hyperlipidemia"],
        "diabetes": p["diabetes"],
    })
    echo = simcohort.echo_reports_table(sim)
    echo = pd.DataFrame({
        "patient_key": echo["mrn"].map(pk),
        "accession_key": [pseudonym(SECRET, "accession", a) for a in echo["accession_number"]],
        "study_date": shift(echo["study_date"], echo["mrn"]),
        "echo_lvef_pct": echo["echo_lvef_pct"],
    })

    st = sim.studies.set_index("study_index")
    v = sim.videos
    study_key = v["study_index"].map(lambda i: pseudonym(SECRET, "study", st.loc[i, "study_uid"]))
    video_key = [pseudonym(SECRET, "video", u) for u in v["sop_instance_uid"]]
    manifest = pd.DataFrame({
        "patient_key": v["mrn"].map(pk), "study_key": study_key, "video_key": video_key,
        "accession_key": [pseudonym(SECRET, "accession", a) for a in v["accession_number"]],
        "study_date": shift(v["study_index"].map(st["study_date"]), v["mrn"]),
        # the header's age at the echo (inventory); the generator keeps one age per patient
        "age_years": v["mrn"].map(p.set_index("mrn")["age_years"]).clip(upper=90),
        "status": np.where(v["kind"] == "damaged", "excluded", "included"),
    })
    analysis = (v["kind"] == "cine") & v["view"].isin(MAIN_VIEWS)
    views = pd.DataFrame({
        "video_key": video_key, "study_key": study_key, "patient_key": v["mrn"].map(pk),
        "view": np.where(analysis, v["view"], "OTHER"),
        "status": np.where(analysis, "kept", "excluded"),
    })
    return Cohort(manifest, views, cmr, clinical, echo)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    sim = simcohort.build_cohort(settings.SimSettings.from_config({"n_patients": 700}, seed=17))
    root = tmp_path_factory.mktemp("sim")
    table = run_cohort_stage(deidentified(sim), root).set_index("key")
    return sim, root / "results", table


def test_pairs_and_intervals_match_the_generator(simulated):
    sim, results, _ = simulated
    st = sim.studies
    st = st.assign(study_key=[pseudonym(SECRET, "study", u) for u in st["study_uid"]])
    truth = st[st["paired"]].set_index("study_key")
    pairs = pd.read_csv(results / "cohort/pairs.csv").set_index("study_key")
    assert set(pairs.index) == set(truth.index)
    assert (pairs["interval_days"] == truth.loc[pairs.index, "interval_days"]).all()
    excluded = pd.read_csv(results / "cohort/excluded_rows.csv")
    assert excluded.empty  # the simulator's tables are clean: nothing may be rejected


def test_labels_match_the_planted_findings(simulated):
    sim, results, _ = simulated
    labels = pd.read_csv(results / "cohort/labels.csv").set_index("study_key")
    pairs = pd.read_csv(results / "cohort/pairs.csv").set_index("study_key")
    cmrs = sim.cmrs.assign(cmr_key=[pseudonym(SECRET, "cmr", f"{m}|{d:%Y-%m-%d}")
                                    for m, d in zip(sim.cmrs["mrn"], sim.cmrs["cmr_date"])])
    cmrs = cmrs.set_index("cmr_key").loc[pairs["cmr_key"]]
    cmrs.index = pairs.index
    for view in MAIN_VIEWS:
        expected = cmrs.apply(lambda c, v=view: simcohort.view_wma(c, v), axis=1)
        expected = expected.where(cmrs["has_wm"])
        got = labels.loc[cmrs.index, f"wma_{view.lower()}"]
        assert got.isna().equals(expected.isna())
        assert (got.dropna() == expected.dropna()).all(), view
    t1 = cmrs["t1_native_ms"].where(cmrs["has_t1"])
    assert np.allclose(labels.loc[cmrs.index, "t1"], t1, equal_nan=True)
    assert (labels.loc[cmrs.index, "t1_abnormal"].dropna() == (t1.dropna() >= 1060)).all()


def test_table1_matches_the_generators_truth(simulated):
    sim, results, table = simulated
    # the analysed studies: paired with a CMR that reports at least one finding
    flags = ["has_wm", "has_lge", "has_t1", "has_t2", "has_ecv"]
    reported = sim.cmrs.set_index(["patient_index", "cmr_number"])[flags].any(axis=1)
    st = sim.studies[sim.studies["paired"]]
    st = st[reported.loc[list(zip(st["patient_index"], st["nearest_cmr_number"]))].to_numpy()]
    studies = table.loc["echo_studies"]
    assert (studies["n"], studies["N"]) == (len(st), st["patient_index"].nunique())
    assert table.loc["interval_days", "estimate"] == np.median(st["interval_days"])
    assert table.loc["echo_lvef", "estimate"] == pytest.approx(st["echo_lvef_pct"].mean())
    cines = sim.videos[(sim.videos["kind"] == "cine")]
    for view in MAIN_VIEWS:
        with_view = set(cines.loc[cines["view"] == view, "study_index"])
        assert table.loc[f"view_{view.lower()}", "n"] == st["study_index"].isin(with_view).sum()

    def share_ok(row, p):  # within 4 binomial standard errors of the generating probability
        r = table.loc[row]
        assert abs(r["estimate"] / 100 - p) <= 4 * math.sqrt(p * (1 - p) / r["N"]), (row, r)

    share_ok("female", 0.418)
    share_ok("hypertension", 0.377)
    share_ok("hyperlipidemia", 0.285)
    share_ok("diabetes", 0.165)
    share_ok("race_caucasian", 973 / 1453)
    share_ok("wma_global", 0.483)
    share_ok("lge_global", 0.49)
    n = studies["N"]
    assert abs(table.loc["t1", "N"] / n - 1116 / 1453) <= 4 * math.sqrt(0.18 / n)
    for row, mean, sd in (("age", 56.0, 17.9), ("t1", 1020.7, 72.1), ("t2", 48.7, 6.1),
                          ("ecv", 28.4, 5.7)):
        r = table.loc[row]
        assert abs(r["estimate"] - mean) <= 4 * sd / math.sqrt(r["n"]) + 0.01 * mean, (row, r)
        assert r["sd"] == pytest.approx(sd, rel=0.2), (row, r)
