"""The paper's cohort rules (issue 12, item 8): study period on the raw dates at ingest, adults
only at pairing, and the config checks of `cohort.period` / `cohort.min_age`."""

from __future__ import annotations

import datetime as dt
import zlib

import pandas as pd
import pytest
from conftest import REPO, copy_workflow, run_snakemake
from ingest_fixtures import make_dataset, write

from echocmr import keys
from echocmr.cohort import stage
from echocmr.cohort.pair import (
    REASON_NO_AGE,
    REASON_UNDER_AGE,
    age_qc,
    echo_ages,
    exclude_minors,
)
from echocmr.config_checks import ConfigError, check_config
from echocmr.ingest import reasons as R
from echocmr.ingest.inventory import InventorySettings, build_manifest, file_key_of, inventory_qc
from echocmr.ingest.normalise import age_years
from echocmr.ingest.smk import period_param
from echocmr.ingest.tables import CMR_VALUES, pseudonymise_tables
from echocmr.study_period import StudyPeriod, study_period

SECRET = "cohort-rules-secret"
PAPER = StudyPeriod(dt.date(2011, 5, 1), dt.date(2022, 6, 30))


# ---- config ------------------------------------------------------------------------------

def _config(period=None, **cohort) -> dict:
    return {"input": {"mode": "synthetic"}, "secret": {}, "cohort": {"period": period, **cohort}}


def test_period_accepts_strings_yaml_dates_and_open_ends():
    assert study_period(None) is None
    assert study_period({"start": None, "end": None}) is None
    assert study_period({"start": "2011-05-01", "end": "2022-06-30"}) == PAPER
    # an unquoted YAML date loads as datetime.date: the same period, the same rule params
    assert study_period({"start": dt.date(2011, 5, 1), "end": dt.date(2022, 6, 30)}) == PAPER
    config = _config({"start": dt.date(2011, 5, 1), "end": "2022-06-30"})
    assert period_param(config) == {"start": "2011-05-01", "end": "2022-06-30"}
    assert period_param(_config()) is None
    open_end = study_period({"start": "2011-05-01", "end": None})
    assert open_end.contains(dt.date(2099, 1, 1)) and not open_end.contains(dt.date(2011, 4, 30))
    assert PAPER.contains(dt.date(2011, 5, 1)) and PAPER.contains(dt.date(2022, 6, 30))


@pytest.mark.parametrize("period,key,fix", [
    ({"start": "2022-06-30", "end": "2011-05-01"}, "cohort.period", "swap them"),
    ({"start": "01/05/2011", "end": "2022-06-30"}, "cohort.period.start", "YYYY-MM-DD"),
    ({"start": "2011-05-01", "end": "2022-02-30"}, "cohort.period.end", "YYYY-MM-DD"),
    ({"start": 2011, "end": None}, "cohort.period.start", "YYYY-MM-DD"),
])
def test_wrong_period_fails_fast_naming_key_and_fix(period, key, fix):
    with pytest.raises(ConfigError) as err:
        check_config(_config(period))
    assert key in str(err.value) and fix in str(err.value)


def test_schema_bounds_min_age(tmp_path):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    schema = str(REPO / "workflow/schemas/config.schema.yaml")
    config = {}
    validate(config, schema)  # the defaults
    assert config["cohort"]["min_age"] == 18 and config["cohort"]["period"] is None
    for bad in (-1, 91, 17.5, "18"):
        with pytest.raises(WorkflowError, match="min_age"):
            validate({"cohort": {"min_age": bad}}, schema)
    with pytest.raises(WorkflowError, match="stop"):  # a typo'd key is refused
        validate({"cohort": {"period": {"start": "2011-05-01", "stop": "2022-06-30"}}}, schema)


# ---- study period at inventory (raw DICOM dates) -------------------------------------------

def _mrn(name: str) -> str:
    return f"MRN{zlib.crc32(name.encode())}"


def _cine(root, name, study_date, n_frames=8, **header):
    """One cine of its own patient and study, dated `study_date` (DA); header: attributes to
    set, or to delete (None)."""
    i = zlib.crc32(name.encode())
    ds = make_dataset(encoding="native", n_frames=n_frames, study=f"1.2.3.9.{i}",
                      sop=f"1.2.3.9.{i}.1.1", series=f"1.2.3.9.{i}.1",
                      ids={"mrn": _mrn(name), "study_date": study_date})
    for keyword, value in header.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    write(ds, root / f"{name}.dcm")


@pytest.fixture(scope="module")
def dated_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("dated")
    _cine(root, "first_day", "20110501")
    _cine(root, "last_day", "20220630")
    _cine(root, "day_before", "20110430")
    _cine(root, "day_after", "20220701")
    _cine(root, "still_outside", "20100101", n_frames=1)  # the period is checked first
    _cine(root, "undated", "20150101", StudyDate=None, SeriesDate=None, ContentDate=None)
    _cine(root, "minor", "20150101", PatientAge="016Y")
    _cine(root, "birth_only", "20150610", PatientAge=None, PatientBirthDate="19970611")
    return root


def _by_name(manifest, root):
    return manifest.set_index("file_key").rename(
        index={file_key_of(SECRET, root, p): p.stem for p in root.glob("*.dcm")})


def test_period_excludes_files_on_their_raw_dates(dated_export):
    settings = InventorySettings(secret=SECRET, n_shards=1, min_frames=4, period=PAPER)
    manifest = build_manifest(dated_export, settings)
    rows = _by_name(manifest, dated_export)
    assert rows.loc[["day_before", "day_after", "still_outside"], "reason"].tolist() == \
        [R.OUTSIDE_STUDY_PERIOD] * 3
    inside = ["first_day", "last_day", "undated", "minor", "birth_only"]
    assert (rows.loc[inside, "status"] == R.INCLUDED).all()
    # the check used the raw date; the manifest holds only the shifted one
    offset = keys.date_offset_days(SECRET, _mrn("first_day"), 365)
    assert offset < 0 and rows.loc["first_day", "study_date"] == (
        dt.date(2011, 5, 1) + dt.timedelta(days=offset)).isoformat()

    qc = inventory_qc(manifest, period=True)
    assert list(qc["step"].drop_duplicates()) == ["found", "readable", "in study period",
                                                   "ultrasound cines"]
    step = qc[qc["step"] == "in study period"]
    assert step[["reason", "n_excluded"]].values.tolist() == [[R.OUTSIDE_STUDY_PERIOD, 3]]
    for _, rows_ in qc.groupby("step", sort=False):
        assert rows_["n_in"].iloc[0] - rows_["n_excluded"].sum() == rows_["n_out"].iloc[0]
    assert R.DESCRIPTIONS[R.OUTSIDE_STUDY_PERIOD]


def test_no_period_no_step_and_nothing_excluded_for_dates(dated_export):
    manifest = build_manifest(dated_export, InventorySettings(secret=SECRET, n_shards=1,
                                                              min_frames=4))
    rows = _by_name(manifest, dated_export)
    assert rows.loc["day_before", "status"] == R.INCLUDED
    assert rows.loc["still_outside", "reason"] == R.SINGLE_FRAME
    assert "in study period" not in set(inventory_qc(manifest)["step"])


def test_manifest_age_from_header(dated_export):
    rows = _by_name(build_manifest(dated_export, InventorySettings(
        secret=SECRET, n_shards=1, min_frames=4)), dated_export)
    assert rows.loc["minor", "age_years"] == 16
    assert rows.loc["first_day", "age_years"] == 90  # fixture says 096Y: capped
    assert rows.loc["birth_only", "age_years"] == 17  # one day before the 18th birthday
    assert age_years("018Y", None, None) == 18 and age_years("030M", None, None) == 2
    assert age_years("", "19970610", dt.date(2015, 6, 10)) == 18
    assert age_years(None, "bad", dt.date(2015, 6, 10)) is None


# ---- study period in the tables (raw report dates) ----------------------------------------

def _raw_tables(tmp_path):
    values = {c: "normal" if c.startswith("wm_") else "" for c in CMR_VALUES}
    cmr = [{"mrn": "M1", "cmr_date": d, **values} for d in
           ("2010-12-01", "2011-05-01", "2022-06-30", "2022-07-01")]
    clinical = [dict(mrn="M1", patient_name="A B", birth_date="1990-03-01", sex="F",
                     race="Other", bmi="", hypertension="", hyperlipidemia="", diabetes="")]
    echo = [dict(mrn="M1", accession_number=f"A{i}", study_date=d, echo_lvef_pct="")
            for i, d in enumerate(("2011-04-30", "2011-05-03", "2022-07-02"))]
    paths = {}
    for name, rows in (("cmr_reports", cmr), ("clinical", clinical), ("echo_reports", echo)):
        paths[name] = tmp_path / f"{name}.csv"
        pd.DataFrame(rows).to_csv(paths[name], index=False)
    return paths


def test_report_rows_outside_period_are_rejected(tmp_path):
    tables, rejected = pseudonymise_tables(_raw_tables(tmp_path), SECRET, period=PAPER)
    got = {(r.table, r.row_number, r.reason) for r in rejected.itertuples()}
    assert got == {("cmr_reports", 1, R.OUTSIDE_STUDY_PERIOD),
                   ("cmr_reports", 4, R.OUTSIDE_STUDY_PERIOD),
                   ("echo_reports", 1, R.OUTSIDE_STUDY_PERIOD),
                   ("echo_reports", 3, R.OUTSIDE_STUDY_PERIOD)}
    assert len(tables["cmr_reports"]) == 2 and len(tables["echo_reports"]) == 1
    # age at the first CMR the study keeps (2011-05-01: 21), not the 2010 one (20)
    assert tables["clinical"]["age_years"].tolist() == [21]

    tables, rejected = pseudonymise_tables(_raw_tables(tmp_path), SECRET)
    assert rejected.empty and len(tables["cmr_reports"]) == 4
    assert tables["clinical"]["age_years"].tolist() == [20]


# ---- adults only at pairing ----------------------------------------------------------------

def _pairs(*rows):
    return pd.DataFrame([{"study_key": s, "patient_key": p, "cmr_key": "C" + s}
                         for s, p in rows])


def test_exclude_minors_header_age_then_clinical_then_unknown():
    pairs = _pairs(("S_adult", "P1"), ("S_17", "P2"), ("S_18", "P2"), ("S_fallback", "P3"),
                   ("S_fallback_minor", "P4"), ("S_unknown", "P5"))
    manifest = pd.DataFrame([
        {"study_key": "S_adult", "age_years": "40", "status": "included"},
        {"study_key": "S_17", "age_years": "17", "status": "included"},
        {"study_key": "S_17", "age_years": "", "status": "included"},
        {"study_key": "S_18", "age_years": "18", "status": "included"},
        {"study_key": "S_18", "age_years": "12", "status": "excluded"},  # not an included file
        {"study_key": "S_fallback", "age_years": "", "status": "included"},
        {"study_key": "S_fallback_minor", "age_years": pd.NA, "status": "included"},
    ])
    clinical = pd.DataFrame({"patient_key": ["P1", "P2", "P3", "P4"],
                             "age_years": [40, 17, 55, 16]})  # P5: no clinical row
    kept, dropped = exclude_minors(pairs, echo_ages(manifest), clinical, 18)
    assert kept["study_key"].tolist() == ["S_adult", "S_18", "S_fallback"]
    assert dropped.set_index("study_key")["reason"].to_dict() == {
        "S_17": REASON_UNDER_AGE, "S_fallback_minor": REASON_UNDER_AGE,
        "S_unknown": REASON_NO_AGE}
    qc = age_qc(pairs, dropped)
    assert set(qc["step"]) == {"adults"} and qc["n_in"].iloc[0] == 6 and qc["n_out"].iloc[0] == 3
    assert qc["n_in"].iloc[0] - qc["n_excluded"].sum() == qc["n_out"].iloc[0]
    none_dropped = exclude_minors(pairs.iloc[:1], echo_ages(manifest), clinical, 18)[1]
    assert age_qc(pairs.iloc[:1], none_dropped)[["reason", "n_excluded"]].values.tolist() == \
        [["", 0]]


def _pair_inputs(tmp_path):
    """Contract files for write_pairs: two patients, one 17 at the echo, each with a CMR."""
    manifest = pd.DataFrame([
        {"study_key": "S1", "study_date": "2020-01-05", "age_years": "17", "status": "included"},
        {"study_key": "S2", "study_date": "2020-01-05", "age_years": "50", "status": "included"},
    ])
    views = pd.DataFrame([
        {"video_key": "V1", "study_key": "S1", "patient_key": "P1", "view": "A4C",
         "status": "kept"},
        {"video_key": "V2", "study_key": "S2", "patient_key": "P2", "view": "A4C",
         "status": "kept"},
    ])
    cmr = pd.DataFrame({"patient_key": ["P1", "P2"], "cmr_key": ["C1", "C2"],
                        "cmr_date": ["2020-01-01", "2020-01-01"]})
    clinical = pd.DataFrame({"patient_key": ["P1", "P2"], "age_years": [17, 50]})
    paths = {}
    for name, frame in (("manifest", manifest), ("views", views), ("cmr", cmr),
                        ("clinical", clinical)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


@pytest.mark.parametrize("min_age,steps,paired", [
    (18, ["paired", "adults"], ["S2"]),
    (None, ["paired"], ["S1", "S2"]),  # null: no age criterion, no step
])
def test_run_pair_applies_min_age_as_a_qc_step(tmp_path, min_age, steps, paired):
    p = _pair_inputs(tmp_path)
    stage.write_pairs(p["manifest"], p["views"], p["cmr"], 30, tmp_path / "pairs.csv",
                      tmp_path / "qc.csv", clinical=p["clinical"], min_age=min_age)
    assert pd.read_csv(tmp_path / "pairs.csv")["study_key"].tolist() == paired
    qc = pd.read_csv(tmp_path / "qc.csv", keep_default_na=False)
    assert list(qc["step"].drop_duplicates()) == steps
    if min_age is not None:
        assert qc.iloc[-1][["reason", "n_excluded"]].tolist() == [REASON_UNDER_AGE, 1]


# ---- through Snakemake: the rules get the keys; wrong values stop the run before any job -----

@pytest.mark.workflow
def test_ingest_rules_apply_the_period_in_snakemake(tmp_path, dated_export):
    wd = copy_workflow(tmp_path / "wf")
    tables = _raw_tables(tmp_path)
    (tmp_path / "secret").write_text("a-site-secret-of-enough-length-0123456789\n")
    # unquoted dates: YAML loads them as dates, the rules must get the same period
    (wd / "site.yaml").write_text(
        f"input: {{mode: site, dicom_dir: {dated_export}, cmr_reports: {tables['cmr_reports']},"
        f" clinical: {tables['clinical']}, echo_reports: {tables['echo_reports']}}}\n"
        f"secret: {{file: {tmp_path / 'secret'}}}\n"
        "ingest: {min_frames: 4}\n"
        "cohort: {period: {start: 2011-05-01, end: 2022-06-30}}\n")
    run_snakemake(wd, "results/ingest/manifest.csv", "results/deid/tables/clinical.csv",
                  "--configfile", "site.yaml")
    manifest = pd.read_csv(wd / "results/ingest/manifest.csv", keep_default_na=False)
    assert (manifest["reason"] == R.OUTSIDE_STUDY_PERIOD).sum() == 3
    qc = pd.read_csv(wd / "results/qc/ingest.csv", keep_default_na=False)
    assert "in study period" in set(qc["step"])
    rejected = pd.read_csv(wd / "results/deid/tables/rejected_rows.csv")
    assert (rejected["reason"] == R.OUTSIDE_STUDY_PERIOD).sum() == 4
    log = (wd / "results/logs/ingest/inventory.log").read_text()
    assert "MRN" not in log and "3 outside the study period" in log


@pytest.mark.workflow
def test_bad_period_stops_snakemake_and_paper_preset_parses(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    (wd / "bad.yaml").write_text("cohort:\n  period: {start: 2022-06-30, end: 2011-05-01}\n")
    proc = run_snakemake(wd, "-n", "results/ingest/manifest.csv", "--configfile", "bad.yaml",
                         check=False)
    assert proc.returncode != 0
    assert "cohort.period: start 2022-06-30 is after end 2011-05-01" in proc.stdout + proc.stderr
    proc = run_snakemake(wd, "-n", "results/ingest/manifest.csv",
                         "results/deid/tables/clinical.csv", "--configfile",
                         "config/presets/paper.yaml")
    assert "inventory" in proc.stdout and "deidentify_tables" in proc.stdout
