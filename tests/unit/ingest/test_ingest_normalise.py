"""Header normalisation in one place (echocmr.ingest.normalise): the manifest, the de-identified
header and the pseudonymised tables read identifiers and dates the same way, so a multi-valued
AccessionNumber and a padded PatientID key and join as the site expects."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from ingest_fixtures import make_dataset, write
from pydicom.multival import MultiValue

from echocmr import keys
from echocmr.cohort.accession import study_echo_lvef
from echocmr.deid.header import deidentify_header
from echocmr.ingest.inventory import InventorySettings, build_manifest
from echocmr.ingest.normalise import identifier, identifier_values, parse_date
from echocmr.ingest.tables import RAW_COLUMNS, pseudonymise_tables

SECRET = "a-test-secret-for-normalisation-0123456789"


@pytest.mark.parametrize("value, expected", [
    ("20190503", dt.date(2019, 5, 3)),
    ("2019.05.03", dt.date(2019, 5, 3)),           # ACR-NEMA DA, still in old archives
    ("2019-05-03", dt.date(2019, 5, 3)),
    ("2019/05/03", dt.date(2019, 5, 3)),
    ("20190503101530.123456+0900", dt.date(2019, 5, 3)),  # a DT in a date slot
    ("2019-05-03 10:15:00", dt.date(2019, 5, 3)),  # spreadsheet export with a time
    ("2019-05-03T10:15", dt.date(2019, 5, 3)),
    ("20190503 ", dt.date(2019, 5, 3)),            # DA padded to even length
    ("20190503\\20190504", dt.date(2019, 5, 3)),   # multi-valued: the first
    ("２０１９０５０３", dt.date(2019, 5, 3)),       # full-width digits (ISO 2022 IR 87)
    ("03/05/2019", None),                           # day- or month-first: never guessed
    ("20190230", None), ("2019-0503", None), ("201905031", None), ("", None), (None, None),
])
def test_date_forms(value, expected):
    assert parse_date(value) == expected


def test_identifier_values_padding_and_multiple_values():
    assert identifier_values(MultiValue(str, ["PR123456 ", "US123456"])) == \
        ["PR123456", "US123456"]
    assert identifier_values("PR123456\\US123456") == ["PR123456", "US123456"]
    assert identifier_values(" 0012345678\x00") == ["0012345678"]   # leading zeros are kept
    assert identifier_values("１２３４５６７８") == ["12345678"]
    assert identifier_values("A1\\A1\\") == ["A1"]
    assert identifier_values(None) == [] and identifier_values("  ") == []
    assert identifier(" 0012345678 ") == "0012345678"
    assert identifier(MultiValue(str, ["X1", "X2"])) == "X1\\X2"


@pytest.fixture
def export(tmp_path):
    """Two studies: one with AccessionNumber PR\\US and a PatientID padded with spaces, one
    plain; the echo report names only the second value of the first."""
    root = tmp_path / "dicom"
    multi = make_dataset(n_frames=8, study="1.2.3.4.5.200", sop="1.2.3.4.5.200.1.1",
                         ids={"mrn": "0012345678", "accession": "PR20190503001",
                              "study_date": "20190503"})
    multi.AccessionNumber = ["PR20190503001", "US20190503001"]
    multi.PatientID = " 0012345678  "
    write(multi, root / "a.dcm")
    plain = make_dataset(n_frames=8, study="1.2.3.4.5.201", sop="1.2.3.4.5.201.1.1",
                         ids={"mrn": "0098765432", "accession": "US20190601007",
                              "study_date": "20190601"})
    write(plain, root / "b.dcm")
    tables = tmp_path / "tables"
    tables.mkdir()
    def table(name, **cols):
        df = pd.DataFrame(cols)
        for col in RAW_COLUMNS[name]:
            df[col] = df[col] if col in df else ""
        df.to_csv(tables / f"{name}.csv", index=False)

    table("echo_reports", mrn=["0012345678 ", "0098765432"],
          accession_number=[" US20190503001", "US20190601007"],
          study_date=["2019-05-03 09:12:00", "20190601"], echo_lvef_pct=["41", "63"])
    table("cmr_reports", mrn=["0012345678"], cmr_date=["2019.05.20"])
    table("clinical", mrn=["0012345678"], birth_date=["19600101"])
    return root, {name: tables / f"{name}.csv"
                  for name in ("echo_reports", "cmr_reports", "clinical")}


def test_manifest_tables_and_header_agree(export):
    root, paths = export
    manifest = build_manifest(root, InventorySettings(secret=SECRET, n_shards=1, min_frames=4))
    assert (manifest["status"] == "included").all()
    multi = manifest[manifest["study_key"] == keys.pseudonym(SECRET, "study", "1.2.3.4.5.200")]
    # value by value, never the list's Python text
    assert multi["accession_key"].iloc[0] == keys.pseudonyms(
        SECRET, "accession", ["PR20190503001", "US20190503001"])
    assert multi["patient_key"].iloc[0] == keys.pseudonym(SECRET, "patient", "0012345678")
    import pydicom
    header = deidentify_header(pydicom.dcmread(root / "a.dcm"), SECRET)
    assert list(header.AccessionNumber) == keys.split_keys(multi["accession_key"].iloc[0])
    assert header.PatientID == multi["patient_key"].iloc[0]

    tables, rejected = pseudonymise_tables(paths, SECRET)
    assert rejected.empty
    echo = tables["echo_reports"]
    assert set(echo["patient_key"]) == set(manifest["patient_key"])
    # the same per-patient shift in the table and the manifest (times of day ignored)
    assert set(echo["study_date"]) == set(manifest["study_date"])
    echo["echo_lvef_pct"] = pd.to_numeric(echo["echo_lvef_pct"])
    lvef = study_echo_lvef(manifest, echo)
    assert lvef.to_dict() == {multi["study_key"].iloc[0]: 41.0,
                              keys.pseudonym(SECRET, "study", "1.2.3.4.5.201"): 63.0}


def test_a_multi_valued_report_cell_joins_too():
    manifest = pd.DataFrame({"study_key": ["S1"], "status": ["included"],
                             "accession_key": ["Aaaa"]})
    echo = pd.DataFrame({"accession_key": ["Abbb;Aaaa"], "echo_lvef_pct": [55.0]})
    assert study_echo_lvef(manifest, echo).to_dict() == {"S1": 55.0}
