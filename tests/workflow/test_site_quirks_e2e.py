"""The `site_quirks` preset end to end (issue 12): a tiny pilot export with an empty shard, a
multi-valued accession, an identity conflict, a child, partial grading, a linear probe and stills
for some studies only runs through real Snakemake to rc 0, and every file and row is accounted
for: the manifest names every raw file, the QC flow adds up, every n/a says why and the run
summary says what is missing and what to add."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import copy_workflow, run_snakemake

from echocmr.report.qc_flow import check_flow

PRESET = "config/presets/site_quirks.yaml"
SHARDS = 4  # ingest.shards of the preset


@pytest.fixture(scope="module")
def quirks_run(tmp_path_factory) -> Path:
    wd = copy_workflow(tmp_path_factory.mktemp("quirks") / "wf")
    proc = run_snakemake(wd, "--configfile", PRESET, timeout=900)  # raises unless rc 0
    (wd / "run_output.txt").write_text(proc.stdout + proc.stderr)
    return wd


def _csv(wd: Path, rel: str) -> pd.DataFrame:
    return pd.read_csv(wd / rel, keep_default_na=False, na_values=[""])


@pytest.mark.slow
@pytest.mark.workflow
def test_every_raw_file_is_in_the_manifest_included_or_with_a_reason(quirks_run):
    # Snakemake marks a directory() output with `.snakemake_timestamp`: not a file of the export
    raw = [p for p in (quirks_run / "synthetic/raw/dicom").rglob("*")
           if p.is_file() and p.name != ".snakemake_timestamp"]
    manifest = _csv(quirks_run, "results/ingest/manifest.csv")
    assert len(manifest) == len(raw) and manifest["file_key"].is_unique
    assert set(manifest["status"]) == {"included", "excluded"}
    excluded = manifest[manifest["status"] == "excluded"]
    assert excluded["reason"].notna().all() and (excluded["reason"] != "").all()
    # the planted quirks reach the manifest as such
    quirks = _csv(quirks_run, "synthetic/truth/quirks.csv")
    conflict = quirks.loc[quirks["quirk"] == "identity_conflict", "study_key"].iloc[0]
    of_conflict = manifest[manifest["study_key"] == conflict]
    assert (of_conflict["status"] == "excluded").all()  # every file (a damaged one: its damage)
    assert (of_conflict["reason"] == "identity_conflict").sum() >= len(of_conflict) - 1
    multi = quirks.loc[quirks["quirk"] == "multi_accession", "study_key"].iloc[0]
    assert manifest.loc[manifest["study_key"] == multi, "accession_key"].str.count(";").eq(1).all()
    assert (manifest["age_years"] < 18).any()
    assert "single_frame" in set(manifest["reason"])  # the stills
    videos = _csv(quirks_run, "synthetic/truth/videos.csv")
    linear = videos.loc[videos["layout"] == "linear_probe", "file_key"]
    assert len(linear) and linear.isin(manifest.loc[manifest["status"] == "included",
                                                    "file_key"]).any()


@pytest.mark.slow
@pytest.mark.workflow
def test_partial_grading_leaves_that_view_unlabelled(quirks_run):
    quirks = _csv(quirks_run, "synthetic/truth/quirks.csv")
    labels = _csv(quirks_run, "results/cohort/labels.csv").set_index("patient_key")
    partial = quirks[(quirks["quirk"] == "partial_grading")
                     & quirks["patient_key"].isin(labels.index)]
    assert len(partial), "no partially graded patient reached the labels"
    for row in partial.itertuples():
        view = row.detail.split(" the ")[1].split(" segments")[0].lower()  # "... the A2C ..."
        assert labels.loc[[row.patient_key], f"wma_{view}"].isna().all()  # cohort: strict


@pytest.mark.slow
@pytest.mark.workflow
def test_an_empty_shard_and_the_qc_flow_adds_up(quirks_run):
    deid = [_csv(quirks_run, f"results/deid/shards-{SHARDS}/shard-{i}.csv")
            for i in range(SHARDS)]
    views = [_csv(quirks_run, f"results/views/shards-{SHARDS}/shard-{i}.csv")
             for i in range(SHARDS)]
    assert any(d.empty for d in deid) and any(v.empty for v in views)
    # every video row is kept or excluded with a named reason, stage by stage
    deid_rows = pd.concat(deid, ignore_index=True)
    assert deid_rows.loc[deid_rows["status"] != "included", "reason"].notna().all()
    decided = _csv(quirks_run, "results/views/views.csv")
    assert len(decided) == sum(len(v) for v in views)
    assert decided.loc[decided["status"] == "excluded", "reason"].notna().all()
    flow = _csv(quirks_run, "results/qc/flow.csv")
    flow["reason"] = flow["reason"].fillna("")
    check_flow(flow)  # raises naming any step whose counts do not add up
    first = flow.iloc[0]
    assert first["n_in"] == len(_csv(quirks_run, "results/ingest/manifest.csv"))
    steps = list(dict.fromkeys(flow["step"]))
    assert steps[-3:] == ["paired", "adults", "in analysis"]


@pytest.mark.slow
@pytest.mark.workflow
def test_every_empty_deliverable_says_why(quirks_run):
    table2 = _csv(quirks_run, "results/table2.csv")
    assert len(table2) == 20
    na = table2[table2["auroc"].isna()]
    assert len(na) > 0 and (na["auroc_95ci"] == "n/a").all()
    assert na["reason"].notna().all() and (na["reason"].str.len() > 5).all()
    assert "n/a: " in (quirks_run / "results/table2.md").read_text()
    binary = _csv(quirks_run, "results/metrics/binary.csv")
    assert binary.loc[binary["auroc"].isna(), "reason"].notna().all()
    for name, value in (("delong", "p_value"), ("operating_points", "sensitivity"),
                        ("calibration", "slope")):
        table = _csv(quirks_run, f"results/metrics/{name}.csv")
        assert len(table) and table.loc[table[value].isna(), "reason"].notna().all(), name
    replication = _csv(quirks_run, "results/replication.csv")
    missing = replication[replication["reproduced"].isna() & (replication["group"] != "table1")]
    assert missing["verdict"].str.startswith("n/a: ").all()
    card = json.loads((quirks_run / "results/model/bundle/model_card.json").read_text())
    untrained = {m["view"]: m["reason"] for m in card["untrained_models"]}
    assert untrained and not set(untrained) & {m["view"] for m in card["models"]}
    for view in ("A4C", "A2C", "PLAX"):
        metrics = _csv(quirks_run, f"results/model/{view}/multitask/metrics.csv")
        if "reason" in metrics and metrics["reason"].notna().any():
            assert metrics["reason"].iloc[0].startswith("not trained: ")
            assert untrained[view] == metrics["reason"].iloc[0]  # the bundle lists it so
            predictions = _csv(quirks_run, f"results/predictions/{view}/wma.csv")
            assert predictions.empty
    for figure in ("figure1.png", "supp_figure1.png", "bland_altman.png", "calibration.png"):
        assert (quirks_run / "results" / figure).stat().st_size > 0
    assert _csv(quirks_run, "results/audit/phi_audit.csv").empty


@pytest.mark.slow
@pytest.mark.workflow
def test_the_summary_names_what_is_missing_and_what_to_add(quirks_run):
    summary = _csv(quirks_run, "results/summary.csv")
    assert {"model", "evaluate"} <= set(summary["stage"])
    assert summary["what_to_add"].notna().all()
    assert summary.loc[summary["stage"] == "model", "missing"].str.startswith(
        "not trained: ").all()
    # a handful of studies in the analysis: no scored test study, and the root cause named
    # (all sent to train, or the models untrained so nothing was predicted)
    assert summary["missing"].str.startswith(
        ("no study in val or test", "no test study with a prediction")).any()
    md = (quirks_run / "results/summary.md").read_text()
    assert "not trained" in md and "what to add" in md
    assert "readiness" in set(summary["stage"])  # a 4-patient export powers no cell
    assert "## Readiness and result per view and task" in md
    assert md.strip() in (quirks_run / "run_output.txt").read_text()  # printed at the end
    cohort_qc = _csv(quirks_run, "results/qc/cohort.csv")
    assert "younger than cohort.min_age at the echo" in set(cohort_qc["reason"].dropna())


@pytest.mark.slow
@pytest.mark.workflow
def test_placeholder_headers_pass_the_phi_audit_and_operator_files_stay_outside(quirks_run):
    """Placeholder department, institution, station and physician fields (a real pilot export
    stopped on `DEFAULT`) are in the raw headers, and the audit passes all the same; the
    secret's fingerprint is in results/, the key-to-path map outside it."""
    import pydicom

    quirks = _csv(quirks_run, "synthetic/truth/quirks.csv")
    assert (quirks["quirk"] == "placeholder_headers").sum() == 2
    departments = set()
    for path in (quirks_run / "synthetic/raw/dicom").rglob("*.dcm"):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - the export's damaged files
            continue
        departments.add(str(ds.get("InstitutionalDepartmentName", "")))
    assert len(departments - {""}) == 2  # two studies, two placeholder departments
    assert _csv(quirks_run, "results/audit/phi_audit.csv").empty
    log = (quirks_run / "results/logs/audit/audit.log").read_text()
    assert "placeholder or dictionary value(s) left out" in log
    assert (quirks_run / "results/ingest/secret_fingerprint.txt").is_file()
    assert (quirks_run / "private/echocmr_file_keys.csv").is_file()
    assert not list((quirks_run / "results").rglob("echocmr_*"))
