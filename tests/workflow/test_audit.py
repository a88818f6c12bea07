"""PHI gate: planted leaks are found by type and place, never printed; clean trees pass."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from conftest import copy_workflow, run_snakemake
from ingest_fixtures import IDENTIFIERS, make_dataset, write

from echocmr import keys
from echocmr.audit.files import build_catalogue, failure_message, scan_tree
from echocmr.deid.pixels import deidentify_file
from echocmr.ingest.paths import shard_path

SECRET = keys.SYNTHETIC_DEMO_SECRET
MRN = IDENTIFIERS["mrn"]
PKEY = keys.pseudonym(SECRET, "patient", MRN)


def _raw_export(root: Path) -> dict:
    """Raw DICOM tree (folder named by MRN, as real exports do) and the four tables."""
    write(make_dataset(encoding="native", n_frames=4), root / "dicom" / MRN / "IM1.dcm")
    tables = {
        "cmr_reports": pd.DataFrame({"mrn": [MRN], "cmr_date": ["2020-01-20"]}),
        "clinical": pd.DataFrame({"mrn": [MRN], "patient_name": ["QUIMBY, HORTENSE"],
                                  "birth_date": ["1927-03-14"]}),
        "echo_reports": pd.DataFrame({"mrn": [MRN], "accession_number": ["ACC-99887766"],
                                      "study_date": ["2020-01-15"]}),
        "view_labels": pd.DataFrame({"sop_instance_uid": ["1.2.3.4.5.100.1.1"],
                                     "view": ["A4C"]}),
    }
    paths = {}
    for name, df in tables.items():
        paths[name] = root / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    return paths


@pytest.fixture
def clean_results(tmp_path):
    """A results/ tree built the honest way: de-identified DICOM, keyed CSV, a binary file."""
    tables = _raw_export(tmp_path / "raw")
    res = tmp_path / "results"
    deid = res / "deid" / "shard-0" / PKEY / "S000000000000" / "V000000000000.dcm"
    deidentify_file(tmp_path / "raw" / "dicom" / MRN / "IM1.dcm", deid, SECRET)
    offset = keys.date_offset_days(SECRET, MRN)
    shifted = (dt.date(2020, 1, 15) + dt.timedelta(days=offset)).isoformat()
    (res / "ingest").mkdir(parents=True)
    (res / "ingest" / "manifest.csv").write_text(
        f"patient_key,study_date,t1\n{PKEY},{shifted},1004\n")
    (res / "logs").mkdir()
    (res / "logs" / "job.log").write_text("processed 1 file\n")
    np.save(res / "frames.npy", np.zeros((2, 2), np.uint8))
    catalogue = build_catalogue(tmp_path / "raw" / "dicom", tables, SECRET)
    return res, catalogue


def test_clean_tree_passes(clean_results):
    res, catalogue = clean_results
    assert len(catalogue) > 10
    assert scan_tree(catalogue, res) == []


def test_planted_leaks_found_by_type_and_place_never_printed(clean_results):
    res, catalogue = clean_results
    (res / "table1.csv").write_text(f"patient,age\n{MRN},54\n")
    (res / "logs" / "job.log").write_text("warning: QUIMBY^HORTENSE could not be read\n")
    (res / "notes.md").write_text(f"{PKEY} was scanned on 2020-01-15\n")  # own original date
    (res / "other.md").write_text("2020-01-15 is an ordinary date without a patient\n")
    (res / "deid" / f"{MRN}.txt").write_text("x\n")  # identifier in a file name
    dcm = next(res.rglob("V*.dcm"))
    ds = pydicom.dcmread(dcm)
    item = pydicom.Dataset()
    item.InstitutionName = IDENTIFIERS["institution"]
    ds.ReferencedStudySequence = pydicom.Sequence([item])  # nested leak
    ds.save_as(dcm)
    np.save(res / f"{IDENTIFIERS['accession']}.npy", np.zeros(1))
    hits = scan_tree(catalogue, res)
    got = {(h.file, h.location, h.identifier_type) for h in hits}
    assert ("table1.csv", "line 2", "mrn") in got
    assert ("logs/job.log", "line 1", "person_name") in got
    assert ("notes.md", "line 1", "date") in got
    assert ("deid/<mrn>", "file or folder name", "mrn") in got  # whole component hidden
    assert ("<accession_number>", "file or folder name", "accession_number") in got
    assert any(h.location == "header InstitutionName" and h.identifier_type == "institution"
               for h in hits)
    assert not any(h.file == "other.md" for h in hits)
    message = failure_message(hits)
    for value in IDENTIFIERS.values():
        assert value not in message and value.replace("^", " ") not in message
    assert "2020-01-15" not in message and "QUIMBY" not in message


def _audit_workflow(tmp_path: Path) -> Path:
    """A workflow copy whose audit inputs exist (raw export + contract deliverables)."""
    wd = copy_workflow(tmp_path / "wf")
    raw = wd / "synthetic" / "raw"
    tables = _raw_export(raw)
    tables["view_labels"].rename(raw / "view_labels.csv")
    for name in ("cmr_reports", "clinical", "echo_reports"):
        tables[name].rename(raw / f"{name}.csv")
    import yaml
    config = yaml.safe_load((wd / "config" / "config.yaml").read_text())
    n_shards = int(config["ingest"]["shards"])
    for shard in range(n_shards):
        Path(shard_path(wd / "results" / "deid", n_shards, shard)).mkdir(parents=True)
        crop = Path(shard_path(wd / "results" / "crop", n_shards, shard))
        crop.mkdir(parents=True)
        (crop / "index.csv").write_text("video_key\n")
    # The deliverables of `rule all` are inputs too: ask Snakemake which are missing and
    # create stand-ins, so the list lives in one place (common.smk DELIVERABLES).
    proc = run_snakemake(wd, "results/audit/phi_audit.csv", "--allowed-rules", "audit",
                         "--dry-run", check=False)
    text = proc.stdout + proc.stderr
    if "affected files:" in text:
        block = text.split("affected files:", 1)[1].splitlines()[1:]
        for line in block:
            if not line.startswith("        ") or not line.strip().startswith("results/"):
                break
            path = wd / line.strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix in (".png", ".jpg"):  # figures are read as images (OCR)
                from PIL import Image
                Image.new("RGB", (64, 48), "white").save(path)
            else:
                path.write_text("a,b\n1,2\n")
    return wd


@pytest.mark.workflow
def test_audit_rule_fails_on_a_leak_without_printing_it(tmp_path):
    wd = _audit_workflow(tmp_path)
    args = ("results/audit/phi_audit.csv", "--allowed-rules", "audit")
    run_snakemake(wd, *args)  # clean: passes and writes an empty table
    table = pd.read_csv(wd / "results" / "audit" / "phi_audit.csv")
    assert table.empty
    (wd / "results" / "table2.csv").write_text(f"a,b\n{MRN},2\n")
    shutil.rmtree(wd / "results" / "audit")
    proc = run_snakemake(wd, *args, check=False)
    assert proc.returncode != 0
    log = (wd / "results" / "logs" / "audit" / "audit.log").read_text()
    assert "table2.csv [line 2]: mrn" in log
    for text in (proc.stdout, proc.stderr, log):
        assert MRN not in text
    # The values go to the operator-only folder (outside results/), which the error names.
    detail = wd / "private" / "echocmr_audit_detail.csv"
    assert f"Operator-only detail (values, never share): {detail.resolve()}" in proc.stderr
    row = pd.read_csv(detail, dtype=str).iloc[0].to_dict()
    assert row == {"value": MRN, "identifier_type": "mrn", "file": "table2.csv",
                   "location": "line 2"}
    assert str(detail) not in log and not list((wd / "results").rglob("*detail*"))


def _report_page(embedded_csv: str, page_text: str = "Snakemake Report") -> str:
    """A page shaped like Snakemake's self-contained report: a table embedded as a data URI."""
    import base64
    payload = base64.b64encode(embedded_csv.encode()).decode()
    return (f"<html><body><p>{page_text}</p><script>var files = {{\"results/table2.csv\": "
            f"{{\"data\": \"data:text/csv;charset=utf8;filename=table2.csv;base64,{payload}\"}}}};"
            "</script></body></html>\n")


def test_report_audit_decodes_embedded_tables(clean_results):
    res, catalogue = clean_results
    (res / "report.html").write_text(_report_page("a,b\n1,2\n"))
    assert scan_tree(catalogue, res) == []
    # An MRN inside an embedded table is invisible to a byte search of the page (base64)...
    (res / "report.html").write_text(_report_page(f"a,b\n{MRN},2\n"))
    assert MRN not in (res / "report.html").read_text()
    hits = scan_tree(catalogue, res)
    assert [(h.file, h.location, h.identifier_type) for h in hits] == [
        ("report.html", "embedded table2.csv line 2", "mrn")]
    # ...and the page's own text is searched as well.
    (res / "report.html").write_text(_report_page("a,b\n", page_text="QUIMBY, HORTENSE"))
    assert {h.identifier_type for h in scan_tree(catalogue, res)} == {"person_name"}


@pytest.mark.workflow
def test_audit_report_rule_fails_on_a_leak_in_the_report(tmp_path):
    wd = _audit_workflow(tmp_path)
    report = wd / "results" / "report.html"
    report.write_text(_report_page("a,b\n1,2\n"))
    args = ("results/audit/report_audit.csv", "--allowed-rules", "audit_report")
    run_snakemake(wd, *args)
    assert pd.read_csv(wd / "results" / "audit" / "report_audit.csv").empty
    report.write_text(_report_page(f"a,b\n{MRN},2\n"))
    proc = run_snakemake(wd, *args, check=False)
    assert proc.returncode != 0
    log = (wd / "results" / "logs" / "audit" / "report_audit.log").read_text()
    assert "embedded table2.csv line 2]: mrn" in log and "Do not share" in log
    for text in (proc.stdout, proc.stderr, log):
        assert MRN not in text


def _audit_job(plan: str) -> str:
    """The audit job's block of a dry run's plan (up to the next job or the stats)."""
    return re.split(r"\n(?=rule |Job stats)", plan.split("rule audit:", 1)[1], maxsplit=1)[0]


def test_audit_workers_set_the_audit_jobs_processes(workflow_dir):
    """`audit.workers` is the audit job's thread count (its pixel-reading processes): the one
    knob that lets the last, single job of a hospital-scale run use the node's cores."""
    overlay = workflow_dir / "workers.yaml"
    overlay.write_text("audit:\n  workers: 3\n")
    target = "results/audit/phi_audit.csv"
    plan = run_snakemake(workflow_dir, target, "-n", "--cores", "8", "--configfile",
                         str(overlay)).stdout
    assert "threads: 3" in _audit_job(plan)
    default = run_snakemake(workflow_dir, target, "-n", "--cores", "8").stdout
    assert "threads: 4" in _audit_job(default)
