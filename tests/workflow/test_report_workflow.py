"""Report stage through real Snakemake: evaluate -> tables, figures, replication, QC flow, and the
HTML report opened in headless Chromium.

Upstream stages are replaced by their contract files (docs/ARCHITECTURE.md) written here with
planted effects, and Snakemake is limited to this stage's rules (`--allowed-rules`), so the
test exercises the real rules, scripts and report without training any model.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import copy_workflow, preset_shards, run_snakemake

from echocmr.cpu_pin import pin_record, write_pin_record
from echocmr.ingest.paths import shard_path
from echocmr.report.deliverables import report_targets
from echocmr.report.smk import REPORT_CAT
from echocmr.report.tables import footnotes

VIEWS = ["A4C", "A2C", "PLAX"]
BINARY = ["wma", "lge", "t1_abnormal", "t2_abnormal", "ecv_abnormal"]
CONTINUOUS = ["t1", "t2", "ecv"]
MY_RULES = ["evaluate", "delong", "operating_points", "table2", "figure1", "supp_figure1",
             "bland_altman", "replication", "qc_flow", "training_curves", "report_assets",
             "readiness", "summary", "report_inputs", "calibration"]
# Planted signal: strong for wall motion, weak for scar, none for T2 (as the paper found).
EFFECT = {"wma": 2.0, "lge": 0.8, "t1_abnormal": 0.3, "t2_abnormal": 0.0, "ecv_abnormal": 0.3}
CONT = {"t1": (1020.0, 72.0), "t2": (48.7, 6.1), "ecv": (28.4, 5.7)}


def _studies(rng, n_patients=60):
    patients = [f"P{i:012x}" for i in range(n_patients)]
    rows = []
    for i, p in enumerate(patients):
        split = "test" if i % 3 else "val"
        for j in range(1 + i % 3):  # patients have 1-3 studies: the cluster bootstrap matters
            rows.append((f"S{i:06x}{j:06x}", p, split))
    return pd.DataFrame(rows, columns=["study_key", "patient_key", "split"])


def write_predictions(results: Path, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    studies = _studies(rng)
    n = len(studies)
    for task in BINARY + CONTINUOUS:
        if task in BINARY:
            y = (rng.random(n) < 0.4).astype(int)
        else:
            mean, sd = CONT[task]
            y = np.round(rng.normal(mean, sd, n), 1)
        for source in VIEWS + ["fused", "baseline"]:
            if source == "baseline" and task in CONTINUOUS:
                continue
            if task in BINARY:
                effect = EFFECT[task] * (1.3 if source == "fused" else 1.0)
                effect = 0.6 if source == "baseline" else effect
                pred = 1 / (1 + np.exp(-(effect * (y - 0.5) + rng.normal(0, 1, n))))
                pred = np.round(pred, 3)  # rounding plants ties
            else:
                mean, sd = CONT[task]
                pred = np.round(mean + 0.3 * (y - mean) + rng.normal(0, 0.8 * sd, n), 1)
            frame = studies.assign(y_true=y, y_pred=pred)
            frame.loc[rng.random(n) < 0.05, "y_pred"] = np.nan  # missing predictions are dropped
            out = results / "predictions" / source / f"{task}.csv"
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(out, index=False)
            if source == "fused":  # the fuse rule's in-sample val file and pattern table
                frame[frame["split"] == "val"].to_csv(out.with_suffix(".val.csv"), index=False)
                write_fusion_patterns(out.with_suffix(".views.csv"), task, frame)


# The fused T2 row has 6 test studies scored by the mean of their views (a fallback that Table 2
# must label); every other fused row is the fitted regression.
N_MEAN_T2 = 6


def write_fusion_patterns(path: Path, task: str, frame: pd.DataFrame) -> None:
    n_test = int(((frame["split"] == "test") & frame["y_pred"].notna()).sum())
    fit = "logistic regression" if task in BINARY else "linear regression"
    rows = [(task, "A4C+A2C+PLAX", 20, n_test, fit)]
    if task == "t2_abnormal":
        rows = [(task, "A4C+A2C+PLAX", 20, n_test - N_MEAN_T2, fit),
                (task, "PLAX", 3, N_MEAN_T2,
                 "mean of available views (too few val studies to fit)")]
    pd.DataFrame(rows, columns=["task", "views", "n_val", "n_test", "method"]).to_csv(
        path, index=False)


def write_table1(results: Path) -> None:
    rows = [
        ("age", "Age, mean (SD)", "mean_sd", 55.1, 18.0, 60, 60),
        ("female", "Gender, female", "n_pct", 40.0, np.nan, 24, 60),
        ("hypertension", "Hypertension", "n_pct", 35.0, np.nan, 21, 60),
        ("t1", "Native T1 (ms), mean (SD) (N=50)", "mean_sd", 1015.0, 70.0, 50, 50),
        ("wma_global", "Global wall motion abnormality (CMR) (N=58)", "n_pct", 50.0, np.nan,
         29, 58),
        ("echo_studies", "Total Echocardiogram studies paired with CMR", "studies_patients",
         120, np.nan, 120, 60),
    ]
    frame = pd.DataFrame(rows, columns=["key", "characteristic", "statistic", "estimate", "sd",
                                        "n", "N"])
    frame["value"] = ""
    frame.to_csv(results / "table1.csv", index=False)


def qc_rows(step, unit, n_in, exclusions):
    n_out = n_in - sum(exclusions.values())
    if not exclusions:
        return [(step, unit, n_in, n_out, "", 0)]
    return [(step, unit, n_in, n_out, reason, k) for reason, k in exclusions.items()]


def write_qc(results: Path, break_counts: bool = False) -> None:
    cols = ["step", "unit", "n_in", "n_out", "reason", "n_excluded"]
    qc = results / "qc"
    n_shards = preset_shards(None)  # the embedded default's layout (no preset in run_my_rules)
    for stage in ("deidentify", "crop"):
        Path(shard_path(qc / stage, n_shards, 0)).parent.mkdir(parents=True, exist_ok=True)
    ingest = (qc_rows("found", "files", 200, {}) + qc_rows("readable", "files", 200,
              {"not DICOM": 6, "corrupt": 4}) + qc_rows("ultrasound cines", "files", 190,
              {"still image": 20, "structured report": 10}))
    pd.DataFrame(ingest, columns=cols).to_csv(qc / "ingest.csv", index=False)
    for shard, (n, bad) in enumerate([(90, {"pixel PHI not removable": 2}), (70, {})]):
        pd.DataFrame(qc_rows("de-identified", "videos", n, bad), columns=cols).to_csv(
            shard_path(qc / "deidentify", n_shards, shard, ".csv"), index=False)
        crop_bad = {"no ultrasound region": 1} if shard == 1 else {}
        rows = qc_rows("cropped", "videos", n - sum(bad.values()), crop_bad)
        if break_counts and shard == 1:
            rows = [(s, u, i, o + 3, r, k) for s, u, i, o, r, k in rows]
        pd.DataFrame(rows, columns=cols).to_csv(shard_path(qc / "crop", n_shards, shard, ".csv"),
                                                index=False)
    pd.DataFrame(qc_rows("viewed", "videos", 157, {"other view": 40, "low confidence": 7}),
                 columns=cols).to_csv(qc / "views.csv", index=False)
    cohort = (qc_rows("paired", "studies", 70, {"no CMR within 30 days": 8})
              + qc_rows("in analysis", "studies", 62, {"no label": 2}))
    pd.DataFrame(cohort, columns=cols).to_csv(qc / "cohort.csv", index=False)


def write_views_and_models(results: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    views = results / "views"
    views.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"view": VIEWS + ["OTHER"], "precision": [0.9, 0.85, 0.95, 0.8],
                  "recall": [0.92, 0.8, 0.93, 0.85], "support": [30, 25, 28, 40]}
                 ).to_csv(views / "view_classifier_metrics.csv", index=False)
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(np.eye(4) * 20 + 2)
    fig.savefig(views / "view_classifier_confusion.png")
    plt.close(fig)
    epochs = np.arange(1, 6)
    for view in VIEWS:
        for name in BINARY + CONTINUOUS + ["multitask"]:  # per_task or multitask mode
            out = results / "model" / view / name / "metrics.csv"
            out.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"epoch": epochs, "train_loss": 1 / epochs, "val_loss": 1.2 / epochs,
                          "val_auroc": 0.5 + 0.05 * epochs}).to_csv(out, index=False)
            # the training job's processor pin record (echocmr.cpu_pin), read by report_assets
            write_pin_record(pin_record(), out.parent / "cpu_pin.json")


def write_cohort(results: Path, seed: int = 2) -> None:
    """views.csv and labels.csv, which the readiness page reads: one kept cine per view."""
    rng = np.random.default_rng(seed)
    studies = _studies(rng)
    views = pd.concat([studies.assign(view=v, status="kept") for v in VIEWS], ignore_index=True)
    views["video_key"] = [f"V{i:08x}" for i in range(len(views))]
    (results / "views").mkdir(parents=True, exist_ok=True)
    views[["video_key", "study_key", "patient_key", "view", "status"]].to_csv(
        results / "views" / "views.csv", index=False)
    labels = studies[["study_key", "patient_key"]].copy()
    for task in ("wma", "lge"):
        for column in [f"{task}_{v.lower()}" for v in VIEWS] + [f"{task}_global"]:
            labels[column] = (rng.random(len(labels)) < 0.4).astype(int)
    for task in CONTINUOUS:
        mean, sd = CONT[task]
        labels[task] = np.round(rng.normal(mean, sd, len(labels)), 1)
        labels[f"{task}_abnormal"] = (labels[task] > mean + sd).astype(int)
    (results / "cohort").mkdir(parents=True, exist_ok=True)
    labels.to_csv(results / "cohort" / "labels.csv", index=False)
    # what the run summary reads besides the metrics: the split and the manifest
    studies[["study_key", "patient_key", "split"]].to_csv(
        results / "cohort" / "study_split.csv", index=False)
    (results / "ingest").mkdir(parents=True, exist_ok=True)
    views.assign(status="included")[["study_key", "status"]].to_csv(
        results / "ingest" / "manifest.csv", index=False)
    # the dropped table rows the summary and the QC page count per reason
    (results / "deid" / "tables").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"table": ["clinical"], "row_number": [3], "reason": ["missing_mrn"]}).to_csv(
        results / "deid" / "tables" / "rejected_rows.csv", index=False)
    pd.DataFrame({"table": ["cmr_reports"], "row": [2], "patient_key": [""], "dropped": ["value"],
                  "reason": ["t1_native_ms: below minimum 500 (value dropped)"]}).to_csv(
        results / "cohort" / "excluded_rows.csv", index=False)


def write_upstream(results: Path) -> None:
    write_predictions(results)
    write_table1(results)
    write_qc(results)
    write_views_and_models(results)
    write_cohort(results)


def run_my_rules(wd: Path, *targets: str, check: bool = True, n_bootstrap: int = 500):
    overlay = wd / "report_test.yaml"
    overlay.write_text(f"evaluate:\n  n_bootstrap: {n_bootstrap}\n  unit: patient\n")
    return run_snakemake(wd, "--allowed-rules", *MY_RULES, "--configfile", str(overlay),
                         "--", *targets, check=check)


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    wd = copy_workflow(tmp_path_factory.mktemp("report") / "wf")
    write_upstream(wd / "results")
    run_my_rules(wd, "report_inputs")
    return wd


@pytest.mark.workflow
def test_qc_page_and_summary_count_the_dropped_table_rows(report_run):
    line = ("Dropped table rows: 1 row(s) dropped, 1 row(s) kept with a bad value emptied")
    qc_page = (report_run / "results/report/qc_flow.html").read_text()
    assert line in qc_page and "missing_mrn" in qc_page
    summary_md = (report_run / "results/summary.md").read_text()
    assert summary_md.splitlines()[2].startswith(line)
    assert "| cohort validation | cmr_reports | value | t1_native_ms" in summary_md


@pytest.mark.workflow
def test_table2_exact_row_structure(report_run):
    table = pd.read_csv(report_run / "results" / "table2.csv")
    assert len(table) == 20
    assert list(table["task"]) == [t for t in BINARY for _ in range(4)]
    assert list(table["source"]) == ["A4C", "A2C", "PLAX", "fused"] * 5
    assert list(table["video"][:4]) == ["A4c view", "A2c view", "PLAX view",
                                        "Logistic regression using three views"]
    assert table.loc[0, "parameter"] == "WMA in A4c region"
    assert table.loc[4, "parameter"] == "Scar in A4c region"
    # A CI is withheld (and the row says why) when over 1% of resamples held one class.
    with_ci = table["ci_low"].notna()
    withheld = table.loc[~with_ci, "reason"].fillna("").astype(str)
    assert withheld.str.contains("AUROC CI n/a: ").all()
    shown = table[with_ci]
    assert (shown["ci_low"] <= shown["auroc"]).all() and (shown["auroc"] <= shown["ci_high"]).all()
    assert shown["auroc_95ci"].str.fullmatch(r"0\.\d{3} \(0\.\d{3}\u20130\.\d{3}\)").all()
    # Planted effects come back: WMA well above chance, T2 (no signal) near it.
    wma = table[(table.task == "wma") & (table.source == "fused")].iloc[0]
    t2 = table[(table.task == "t2_abnormal") & (table.source == "fused")].iloc[0]
    assert wma.ci_low > 0.7
    assert t2.ci_low < 0.5 < t2.ci_high or abs(t2.auroc - 0.5) < 0.2
    md = (report_run / "results" / "table2.md").read_text()
    assert md.count("| **") == 3 and "Logistic regression using three views" in md
    # The fused T2 row fell back to a mean of views for some studies: marked and footnoted.
    fused = table[table["source"] == "fused"].set_index("task")
    assert fused.loc["t2_abnormal", "video"].endswith("\u2020")
    assert f"{N_MEAN_T2} of" in fused.loc["t2_abnormal", "note"]
    assert fused.loc["wma", "video"] == "Logistic regression using three views"
    assert f"\u2020 T2 value (ms): {N_MEAN_T2} of" in md
    assert "<table>" in (report_run / "results" / "table2.html").read_text()


@pytest.mark.workflow
def test_metrics_and_delong_tables(report_run):
    res = report_run / "results" / "metrics"
    binary = pd.read_csv(res / "binary.csv")
    assert set(binary["source"]) == {"A4C", "A2C", "PLAX", "fused", "baseline"}
    assert len(binary) == 4 * 5 + 5 and (binary["n_resamples"] == 500).all()
    assert (binary["unit"] == "patient").all()
    continuous = pd.read_csv(res / "continuous.csv")
    assert len(continuous) == 4 * 3
    for stat in ("mae", "r2", "bias", "loa_low", "loa_high"):
        ci = continuous[f"{stat}_ci_low"]
        assert (ci[ci.notna()] <= continuous.loc[ci.notna(), stat] + 1e-9).all()
        withheld = continuous.loc[ci.isna() & continuous[stat].notna(), "reason"]
        assert withheld.fillna("").astype(str).str.contains(" CI n/a: ").all()
    fused = binary[binary["source"] == "fused"].set_index("task")
    assert fused.loc["t2_abnormal", "n_mean_of_views"] == N_MEAN_T2
    assert "mean of available views" in fused.loc["t2_abnormal", "fusion_method"]
    assert (fused.drop(index="t2_abnormal")["n_mean_of_views"] == 0).all()
    assert binary.loc[binary["source"] != "fused", "fusion_method"].isna().all()
    delong = pd.read_csv(res / "delong.csv")
    assert len(delong) == 4 * 5 and set(delong["reference"]) == {"baseline"}
    assert delong["p_value"].between(0, 1).all()
    # unit patient: Obuchowski's clustered test (a variance formula: no resamples)
    assert set(delong["method"]) == {"Obuchowski clustered (patients)"}
    assert (delong["n_resamples"] == 0).all()
    assert (delong["diff_ci_low"] <= delong["diff"]).all()
    ops = pd.read_csv(res / "operating_points.csv")
    assert len(ops) == 5 * 5 and ops["threshold"].notna().all()
    for m in ("sensitivity", "specificity", "ppv", "npv"):
        assert ops[m].between(0, 1).all()
        ci = ops[f"{m}_ci_low"].notna()
        assert (ops.loc[ci, f"{m}_ci_low"] <= ops.loc[ci, m] + 1e-9).all()
        assert (ops.loc[ci, m] <= ops.loc[ci, f"{m}_ci_high"] + 1e-9).all()
        assert ops.loc[~ci, "reason"].fillna("").astype(str).str.contains(f"{m} CI n/a: ").all()
    assert (ops[["tp", "fp", "tn", "fn"]].sum(axis=1) == ops["n"]).all()
    wma = ops[(ops["source"] == "fused") & (ops["task"] == "wma")].iloc[0]
    assert wma["sensitivity"] + wma["specificity"] > 1.3  # planted WMA effect


@pytest.mark.workflow
def test_figures_render(report_run):
    from PIL import Image

    res = report_run / "results"
    for name in ("figure1", "supp_figure1", "bland_altman"):
        png, pdf = res / f"{name}.png", res / f"{name}.pdf"
        with Image.open(png) as im:
            assert im.size[0] > 1500  # 300 dpi at ~6.85 in
            assert len(np.unique(np.asarray(im.convert("L")))) > 20  # not blank
        head = pdf.read_bytes()
        assert head.startswith(b"%PDF") and b"/Font" in head
    for name in ("replication.png", "training_curves.png", "qc/flow.png"):
        assert (res / name).stat().st_size > 10_000


@pytest.mark.workflow
def test_replication_and_qc_flow(report_run):
    res = report_run / "results"
    rep = pd.read_csv(res / "replication.csv")
    assert len(rep) == 20 + 6 + 16
    assert set(rep["group"]) == {"table2", "continuous", "table1"}
    t2 = rep[rep["group"] == "table2"]
    assert t2["verdict"].isin(["consistent", "inconsistent",
                               "inconclusive (too few test studies to tell)"]).all()
    assert t2["counts"].all()
    # the synthetic cohort is drawn from the paper's Table 1: labelled, not counted
    age = rep[rep["item"] == "Age (years)"].iloc[0]
    assert age["reproduced"] == pytest.approx(55.1) and not age["counts"]
    assert age["verdict"] == "not counted: synthetic input drawn from the paper's Table 1"
    page = (res / "report" / "replication.html").read_text()
    assert page.index("<th>Verdict</th>") < page.index("<th>Item</th>")
    assert not re.search(r"\d\.\d{4,}", page)  # rounded as the paper prints (<= 3 decimals)
    assert "Counted as replication" in page
    missing = rep[rep["item"] == "BMI"].iloc[0]
    assert missing["verdict"].startswith("not reproduced")
    flow = pd.read_csv(res / "qc" / "flow.csv", keep_default_na=False)
    steps = list(dict.fromkeys(flow["step"]))
    assert steps == ["found", "readable", "ultrasound cines", "de-identified", "cropped",
                     "viewed", "paired", "in analysis"]
    crop = flow[flow["step"] == "cropped"]
    assert crop["n_in"].iloc[0] == 158 and crop["n_out"].iloc[0] == 157


@pytest.mark.workflow
def test_qc_flow_fails_loudly_when_counts_do_not_add_up(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    write_qc(wd / "results", break_counts=True)
    proc = run_my_rules(wd, "results/qc/flow.csv", check=False)
    assert proc.returncode != 0
    log = (wd / "results" / "logs" / "report" / "qc_flow.log").read_text()
    assert "do not add up" in log and "cropped" in log
    assert not (wd / "results" / "qc" / "flow.csv").exists()


# --- the HTML report in a real browser ---------------------------------------------------------

HARNESS = Path(__file__).resolve().parents[1] / "data" / "report_harness.html"
REPORT_FILES = {
    "results/qc/flow.png", "results/report/qc_flow.html", "results/report/table1.html",
    "results/report/view_classifier_confusion.png", "results/report/view_metrics.html",
    "results/training_curves.png", "results/figure1.png", "results/supp_figure1.png",
    "results/bland_altman.png", "results/table2.html", "results/report/metrics_binary.html",
    "results/report/metrics_continuous.html", "results/report/delong.html",
    "results/report/operating_points.html",
    "results/replication.png", "results/report/replication.html", "results/calibration.png",
    "results/report/config_used.html", "results/report/software_versions.html",
    "results/report/readiness.html", "results/report/summary.html",
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--enable-logging=stderr",
                  "--v=0"]


def run_chromium(page: Path, budget_ms: int, *extra: str) -> tuple[str, str]:
    """Load `page` in headless Chromium (fresh profile); return (DOM after scripts ran, log)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run tests/setup_system.sh (Debian package)")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra,
             f"--virtual-time-budget={budget_ms}", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=600)
    return proc.stdout, proc.stderr


def console_errors(log: str) -> list[str]:
    """Uncaught script errors and console.error messages from Chromium's log."""
    lines = [ln for ln in log.splitlines() if ":CONSOLE" in ln]
    return [ln for ln in lines if "Uncaught" in ln or "ERROR:CONSOLE" in ln]


@pytest.mark.workflow
@pytest.mark.browser
@pytest.mark.slow
def test_html_report_opens_in_chromium_and_every_item_is_reachable(report_run, tmp_path):
    wd = report_run
    run_snakemake(wd, "--allowed-rules", *MY_RULES, "--configfile",
                  str(wd / "report_test.yaml"), "--report", "results/report.html",
                  "report_inputs")
    report = wd / "results" / "report.html"
    assert report.stat().st_size > 100_000

    # 1. The page itself: scripts run (the app replaces its "Loading..." shell), no JS errors.
    dom, log = run_chromium(report, 10_000)
    assert console_errors(log) == []
    rendered = re.sub(r"<script.*?</script>", "", dom, flags=re.S)  # what the app drew
    assert "General" in rendered and "5. Results" in rendered

    # 2. A reader's walk through it: every category, every result opened (see the harness).
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(report, site / "report.html")
    shutil.copy(HARNESS, site / "harness.html")
    dom, log = run_chromium(site / "harness.html", 600_000, "--allow-file-access-from-files")
    assert console_errors(log) == []
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    import html

    walk = json.loads(html.unescape(found.group(1)))
    assert walk["errors"] == [] and walk["done"], walk["errors"]
    names = [c["name"] for c in walk["categories"]]
    assert names == ["1. Data flow and QC", "2. Cohort (Table 1)", "3. View classification",
                     "4. Model training", "5. Results", "6. Replication", "7. Run record"]
    assert names == list(REPORT_CAT.values())
    shown = [f for category in walk["categories"] for f in category["files"]]
    assert len(shown) == len(set(shown)), "an item is shown twice"
    assert set(walk["results"]) == REPORT_FILES == set(report_targets())
    for path, seen in walk["results"].items():
        if path.endswith(".png"):
            assert seen["imgs"] and seen["imgs"][0]["width"] > 100, (path, seen)
        else:
            page = seen["pages"][0]
            assert page["mime"] == "data:text/html", (path, seen)
            assert page["rows"] > 1 or page["pre"], (path, seen)
    table2 = walk["results"]["results/table2.html"]["pages"][0]
    # header, 3 section rows, 20 data rows, and one notes row when a fused row fell back to a
    # mean of views (footnoted, as report.tables.footnotes writes it)
    notes = bool(footnotes(pd.read_csv(wd / "results" / "table2.csv", keep_default_na=False)))
    assert table2["rows"] == 1 + 3 + 20 + notes


RULES = Path(__file__).resolve().parents[2] / "workflow" / "rules"
REPORT_ITEM = re.compile(r'report\(\s*"([^"]+)",(.*?)\n\s*\)', re.S)


def report_items() -> list[tuple[str, str, str]]:
    """(rules file, path, category expression) of every report()-flagged output."""
    items = []
    for smk in sorted(RULES.glob("*.smk")):
        for path, body in REPORT_ITEM.findall(smk.read_text()):
            category = re.search(r"category=([^,\n]+)", body)
            items.append((smk.name, path, category.group(1) if category else ""))
    return items


def test_report_items_use_only_the_numbered_categories():
    """One list of categories (REPORT_CAT): no rule names a category of its own."""
    items = report_items()
    assert len(items) > 20
    bad = [(f, p, c) for f, p, c in items
           if not re.fullmatch(r'REPORT_CAT\["(\w+)"\]', c)
           or re.fullmatch(r'REPORT_CAT\["(\w+)"\]', c).group(1) not in REPORT_CAT]
    assert not bad, bad


def test_each_table_and_figure_is_in_the_report_once():
    """A file rendered into the report by rule report_assets is not also flagged raw, and no two
    flagged files share a name (Table 1 was once shown as results/table1.html as well)."""
    items = report_items()
    names = [Path(p).name for _, p, _ in items]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
    assets = (RULES / "report.smk").read_text().split("rule report_assets:")[1]
    rendered = re.findall(r'^\s+\w+="(results/[^"]+)",$', assets.split("output:")[0], re.M)
    assert "results/table1.csv" in rendered
    flagged = {p for _, p, _ in items}
    assert not flagged & set(rendered), flagged & set(rendered)
