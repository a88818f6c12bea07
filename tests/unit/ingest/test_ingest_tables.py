"""Pseudonymised tables: same keys and offsets as the images, intervals kept, bad rows named."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from echocmr import keys
from echocmr.ingest.tables import (
    CMR_VALUES,
    OUT_COLUMNS,
    TableError,
    pseudonymise_tables,
)

SECRET = "tables-secret"


def _write(tmp_path, name, rows, columns):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.fixture
def raw(tmp_path):
    cmr_cols = ["mrn", "cmr_date", *CMR_VALUES]
    base = {c: "1" if c.startswith("lge") else "normal" for c in CMR_VALUES if c[:3] in
            ("wm_", "lge")}
    base.update(t1_native_ms="1012", t2_ms="51", ecv_pct="", lvef_pct="55", hematocrit_pct="41")
    cmr = [{"mrn": "00012345", "cmr_date": "2020-03-10", **base},
           {"mrn": "00012345", "cmr_date": "2021-01-02", **base},
           {"mrn": "77700001", "cmr_date": "2019-12-31", **base},
           {"mrn": "", "cmr_date": "2019-12-31", **base},
           {"mrn": "77700002", "cmr_date": "31/12/2019", **base}]
    clinical = [dict(mrn="00012345", patient_name="Doe, Jane", birth_date="1925-06-01", sex="F",
                     race="Asian", bmi="22.5", hypertension="1", hyperlipidemia="0",
                     diabetes="0"),
                dict(mrn="77700001", patient_name="Roe, Richard", birth_date="1960-01-01",
                     sex="M", race="Other", bmi="", hypertension="0", hyperlipidemia="1",
                     diabetes="1"),
                dict(mrn="77700003", patient_name="Poe, Edgar", birth_date="never", sex="M",
                     race="Other", bmi="30", hypertension="0", hyperlipidemia="0", diabetes="0")]
    echo = [dict(mrn="00012345", accession_number="ACC1", study_date="2020-03-01",
                 echo_lvef_pct="50"),
            dict(mrn="77700001", accession_number="", study_date="20191220", echo_lvef_pct="")]
    views = [dict(sop_instance_uid="1.2.3.4", view="A4C"), dict(sop_instance_uid="", view="A2C")]
    return {
        "cmr_reports": _write(tmp_path, "cmr", cmr, cmr_cols),
        "clinical": _write(tmp_path, "clinical", clinical, list(clinical[0])),
        "echo_reports": _write(tmp_path, "echo", echo, list(echo[0])),
        "view_labels": _write(tmp_path, "views", views, list(views[0])),
    }


def test_columns_keys_and_no_identifiers(raw):
    tables, rejected = pseudonymise_tables(raw, SECRET)
    for name, df in tables.items():
        assert list(df.columns) == OUT_COLUMNS[name]
        text = df.to_csv(index=False)
        for value in ("00012345", "77700001", "Doe", "Jane", "1925", "ACC1", "1.2.3.4"):
            assert value not in text, f"{value!r} in {name}"
    pk = keys.pseudonym(SECRET, "patient", "00012345")
    assert set(tables["cmr_reports"]["patient_key"]) >= {pk}
    assert tables["echo_reports"].iloc[0]["accession_key"] == keys.pseudonym(SECRET, "accession",
                                                                             "ACC1")
    assert tables["view_labels"].iloc[0]["video_key"] == keys.pseudonym(SECRET, "video",
                                                                         "1.2.3.4")
    assert tables["cmr_reports"]["t1_native_ms"].tolist()[0] == "1012"  # values untouched


def test_echo_cmr_interval_unchanged(raw):
    tables, _ = pseudonymise_tables(raw, SECRET)
    pk = keys.pseudonym(SECRET, "patient", "00012345")
    cmr = tables["cmr_reports"][tables["cmr_reports"]["patient_key"] == pk]
    echo = tables["echo_reports"][tables["echo_reports"]["patient_key"] == pk]
    shifted = (dt.date.fromisoformat(echo.iloc[0]["study_date"])
               - dt.date.fromisoformat(cmr.iloc[0]["cmr_date"])).days
    assert shifted == (dt.date(2020, 3, 1) - dt.date(2020, 3, 10)).days
    assert cmr.iloc[0]["cmr_date"] != "2020-03-10"


def test_age_at_first_cmr_capped(raw):
    tables, _ = pseudonymise_tables(raw, SECRET)
    clinical = tables["clinical"].set_index("patient_key")
    assert clinical.loc[keys.pseudonym(SECRET, "patient", "00012345"), "age_years"] == 90  # 94
    assert clinical.loc[keys.pseudonym(SECRET, "patient", "77700001"), "age_years"] == 59


def test_rejected_rows_named_without_content(raw):
    _, rejected = pseudonymise_tables(raw, SECRET)
    got = {(r.table, r.row_number, r.reason) for r in rejected.itertuples()}
    assert got == {("cmr_reports", 4, "missing_mrn"), ("cmr_reports", 5, "bad_date:cmr_date"),
                   ("clinical", 3, "bad_date:birth_date"),
                   ("view_labels", 2, "missing_uid_or_view")}
    assert list(rejected.columns) == ["table", "row_number", "reason"]


def test_missing_column_fails_fast(raw, tmp_path):
    pd.DataFrame({"mrn": ["1"], "study_date": ["2020-01-01"]}).to_csv(tmp_path / "bad.csv",
                                                                      index=False)
    with pytest.raises(TableError, match="echo_reports lacks columns"):
        pseudonymise_tables({**raw, "echo_reports": tmp_path / "bad.csv"}, SECRET)
