"""Identity conflicts are reported, not silently dropped: a study UID under two PatientIDs gets
the manifest reason `identity_conflict`, a table key under two patients goes to
results/cohort/excluded_rows.csv with a reason naming the conflict, and row numbers are integers."""

from __future__ import annotations

import pandas as pd
from cohort_tables import ECHO_COLUMNS, key
from conftest import REPO
from ingest_fixtures import make_dataset, write

from echocmr.cohort.validate import validate_files
from echocmr.ingest import reasons as R
from echocmr.ingest.inventory import InventorySettings, build_manifest, inventory_qc

SECRET = "a-test-secret-for-identity-conflicts-0123456789"
SCHEMAS = REPO / "workflow" / "schemas"


def test_a_study_under_two_patient_ids_is_an_identity_conflict(tmp_path):
    root = tmp_path / "dicom"
    study = "1.2.840.113619.2.391.6789.1554102345.12"
    write(make_dataset(n_frames=8, study=study, sop=study + ".1.1", ids={"mrn": "0012345678"}),
          root / "a" / "1.dcm")
    write(make_dataset(n_frames=8, study=study, sop=study + ".1.2", ids={"mrn": "0012345687"}),
          root / "b" / "2.dcm")
    still = make_dataset(n_frames=1, study=study, sop=study + ".1.3", ids={"mrn": "0012345678"})
    write(still, root / "a" / "3.dcm")  # would be single_frame: the conflict comes first
    write(make_dataset(n_frames=8, study="1.2.3.4.5.300", sop="1.2.3.4.5.300.1.1"),
          root / "c" / "4.dcm")
    manifest = build_manifest(root, InventorySettings(secret=SECRET, n_shards=1, min_frames=4))
    conflict = manifest[manifest["reason"] == R.IDENTITY_CONFLICT]
    assert len(conflict) == 3 and conflict["study_key"].nunique() == 1
    assert conflict["patient_key"].nunique() == 2
    assert (manifest["status"] == R.INCLUDED).sum() == 1
    qc = inventory_qc(manifest)
    row = qc[(qc["step"] == "readable") & (qc["reason"] == R.IDENTITY_CONFLICT)]
    assert row["n_excluded"].tolist() == [3]


def _write(path, rows, columns):
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def test_conflicting_table_rows_are_excluded_with_the_conflict_named(tmp_path):
    pa, pb = key("P", "a"), key("P", "b")
    acc, other = key("A", 1), key("A", 2)
    echo = _write(tmp_path / "echo.csv", [
        [pa, acc, "2019-05-03", "55"],      # row 1: accession under patient a ...
        [pb, acc, "2019-05-03", "60"],      # row 2: ... and under patient b: a conflict
        [pa, other, "2019-06-01", "50"],    # row 3: same accession twice, same patient
        [pa, other, "2019-06-01", "50"],    # row 4
    ], ECHO_COLUMNS)
    clinical_columns = ["patient_key", "age_years", "sex", "race", "bmi", "hypertension",
                        "hyperlipidemia", "diabetes"]
    clinical = _write(tmp_path / "clinical.csv", [[pa, "54", "F", "", "", "", "", ""]],
                      clinical_columns)
    valid, excluded = validate_files({
        "echo_reports": (echo, SCHEMAS / "echo_reports.schema.yaml"),
        "clinical": (clinical, SCHEMAS / "clinical.schema.yaml"),  # no exclusions
    })
    assert valid["echo_reports"].empty
    reasons = dict(zip(excluded["row"], excluded["reason"]))
    assert reasons[1] == reasons[2] == \
        "accession_key: identity conflict (one accession_key under 2 patient_keys)"
    assert reasons[3] == reasons[4] == "accession_key: duplicated"
    assert excluded["row"].dtype == "int64"
    assert excluded.to_csv(index=False).splitlines()[1].split(",")[1] == "1"
