"""The PHI catalogue leaves placeholders and dictionary words out (they identify no one and
stopped real exports on false positives) and keeps specific names; a failed audit's values go to
an operator-only file outside results/."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest
from conftest import pydicom_testdata
from ingest_fixtures import IDENTIFIERS, make_dataset, write

from echocmr import keys
from echocmr.audit.files import Hit, build_catalogue, hits_frame, scan_tree, write_private_detail
from echocmr.audit.generic_values import is_generic

SECRET = keys.SYNTHETIC_DEMO_SECRET

# Our own outputs are full of ordinary words: the false positives of a real pilot export.
OWN_TEXT = ("default_fps: 30\nsplit (default 80/10/10%)\nRadiology and Cardiology reports\n"
            "Echo Lab export; station unknown; none; anonymous; here; our department\n")


@pytest.mark.parametrize("value", ["DEFAULT", "UNKNOWN", "ANONYMOUS", "NONE", "Radiology",
                                   "Cardiology", "Echo Lab", "ULTRASOUND", "Our Department"])
def test_placeholders_and_dictionary_words_are_generic(value):
    assert is_generic(value)


@pytest.mark.parametrize("value", ["GRAYMOOR CARDIAC HOSPITAL", "ECHO-ROOM-42", "ECHO1",
                                   "St. John's Memorial", "Mercy General Hospital",
                                   "JFK IMAGING CENTER", "St Mary Hospital"])
def test_specific_names_are_not_generic(value):
    assert not is_generic(value)


def test_a_person_name_of_two_dictionary_words_stays_an_identifier():
    assert is_generic("ROSE WHITE")  # as an institution: two ordinary words
    assert not is_generic("ROSE WHITE", max_words=1)  # as a person: the full name is kept


def _placeholder_export(root, extra: dict) -> None:
    ds = make_dataset(n_frames=2)
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    write(ds, root / "IM0001.dcm")


def test_placeholder_headers_give_no_hit_and_specific_ones_still_do(tmp_path):
    _placeholder_export(tmp_path / "raw", {
        "InstitutionName": "Radiology", "InstitutionalDepartmentName": "DEFAULT",
        "StationName": "UNKNOWN", "ReferringPhysicianName": "ANONYMOUS",
        "PerformingPhysicianName": "DEFAULT^PHYSICIAN", "OperatorsName": "NONE",
        "InstitutionAddress": "UNKNOWN"})
    cat = build_catalogue(tmp_path / "raw", {}, SECRET)
    assert cat.n_generic >= 7
    results = tmp_path / "results"
    results.mkdir()
    (results / "config_used.yaml").write_text(OWN_TEXT)
    assert scan_tree(cat, results) == []
    # The patient's name and the MRN are still there; and a generic part inside a specific
    # phrase does not hide the phrase.
    (results / "leak.md").write_text(f"{IDENTIFIERS['mrn']} seen at default physician\n")
    kinds = {h.identifier_type for h in scan_tree(cat, results)}
    assert kinds == {"mrn", "person_name"}


def test_a_specific_department_or_station_is_matched_as_a_whole_phrase(tmp_path):
    _placeholder_export(tmp_path / "raw", {"InstitutionalDepartmentName": "GRAYMOOR ECHO LAB",
                                           "StationName": "ECHO-ROOM-42"})
    cat = build_catalogue(tmp_path / "raw", {}, SECRET)
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.md").write_text("the echo lab of graymoor\n")  # words, not the phrase
    assert scan_tree(cat, results) == []
    (results / "b.md").write_text("exported by Graymoor Echo-Lab on echo room 42\n")
    hits = scan_tree(cat, results)
    assert {(h.file, h.identifier_type) for h in hits} == {("b.md", "institution"),
                                                          ("b.md", "device")}


REAL_FILES = {  # pydicom-data file: the placeholder or the name its header holds
    "rtplan.dcm": "InstitutionName 'Here', OperatorsName 'operator'",
    "RG1_J2KI.dcm": "InstitutionalDepartmentName 'Our Department', AccessionNumber "
                    "'exam Number', ReferringPhysicianName 'ward'",
    "waveform_ecg.dcm": "PatientName 'Anonymous'",
    "CT_small.dcm": "InstitutionName 'JFK IMAGING CENTER'",
    "JPEG-lossy.dcm": "InstitutionName \"St. John's Memorial\"",
}


def test_real_public_headers_placeholders_out_names_in(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in REAL_FILES:
        os.symlink(pydicom_testdata(name), raw / name)
    cat = build_catalogue(raw, {}, SECRET)
    for generic in ("HERE", "OPERATOR", "OUR DEPARTMENT", "EXAM NUMBER", "WARD", "ANONYMOUS"):
        assert generic not in cat.global_ids
    assert cat.global_ids["JFK IMAGING CENTER"] == "institution"
    assert cat.global_ids["ST JOHN S MEMORIAL"] == "institution"
    results = tmp_path / "results"
    results.mkdir()
    (results / "summary.md").write_text(OWN_TEXT + "exam number 3 of the ward; operator\n")
    assert scan_tree(cat, results) == []
    (results / "leak.csv").write_text("site\nSt John's Memorial\n")
    assert [h.identifier_type for h in scan_tree(cat, results)] == ["institution"]


def test_private_detail_holds_the_values_the_shareable_table_does_not(tmp_path):
    hits = [Hit("table2.csv", "line 2", "mrn", "55512345"),
            Hit("table2.csv", "line 2", "mrn", "55512346")]
    table = hits_frame(hits)
    assert list(table.columns) == ["file", "location", "identifier_type"] and len(table) == 1
    detail = write_private_detail(hits, tmp_path)
    rows = pd.read_csv(detail, dtype=str)
    assert rows["value"].tolist() == ["55512345", "55512346"]
    assert rows[["file", "location"]].values.tolist() == [["table2.csv", "line 2"]] * 2
    assert stat.S_IMODE(detail.stat().st_mode) == 0o600


def test_an_institution_of_two_dictionary_words_stays_an_identifier(tmp_path):
    """`Mercy Hospital` names a real place: only a one-word placeholder institution is generic."""
    from echocmr.audit.files import Catalogue, catalogue_dicom

    ds = make_dataset(encoding="native", n_frames=2)
    ds.InstitutionName = "Mercy Hospital"
    ds.InstitutionalDepartmentName = "Echo Lab"
    path = tmp_path / "IM1.dcm"
    write(ds, path)
    cat = Catalogue(secret=SECRET)
    catalogue_dicom(cat, path)
    cat.finalise()
    assert cat.find("sent from mercy hospital today") == ["institution"]
    assert cat.find("the echo lab") == []


def test_a_date_element_equal_to_an_mrn_is_a_date_not_that_mrn(tmp_path):
    """A shifted date can spell an 8-digit MRN (`20150211` was both in a demo run): in a DA or
    DT element it is a date; the same number anywhere else is still that MRN."""
    ds = make_dataset(n_frames=2)
    ds.PatientID = "20150211"
    write(ds, tmp_path / "raw" / "IM0001.dcm")
    cat = build_catalogue(tmp_path / "raw", {}, SECRET)
    results = tmp_path / "results"
    out = make_dataset(n_frames=2)
    for keyword in ("PatientID", "PatientName", "AccessionNumber", "InstitutionName",
                    "OperatorsName", "StationName", "StudyID", "PatientBirthDate"):
        if keyword in out:
            delattr(out, keyword)
    out.StudyDate = out.ContentDate = "20150211"
    out.AcquisitionDateTime = "20150211093000"
    write(out, results / "deid" / "IM0001.dcm")
    assert [h for h in scan_tree(cat, results) if h.identifier_type == "mrn"] == []
    out.PatientComments = "20150211"
    write(out, results / "deid" / "IM0001.dcm")
    assert {(h.location, h.identifier_type) for h in scan_tree(cat, results)} >= {
        ("header PatientComments", "mrn")}
