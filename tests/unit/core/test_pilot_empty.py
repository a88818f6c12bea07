"""Pilot-size exports (issue 12): every stage takes empty and tiny inputs, writes its contract
files and says what is missing instead of raising. Library level, real tiny stores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from echocmr.ingest import paths as ingest_paths
from echocmr.media.store import StoreWriter
from echocmr.model.data import view_table
from echocmr.model.predict import STUDY_COLUMNS, predict_videos, write_predictions
from echocmr.model.train import TrainSettings, fit, training_shortfall
from echocmr.report import figures, summary
from echocmr.report.replication import na_reasons, replication_figure, replication_table
from echocmr.report.tables import table2, table2_markdown
from echocmr.stats.evaluate import evaluate_tables
from echocmr.views.stage import SHARD_COLUMNS, classify_shard, write_views
from echocmr.vocab.reasons import NO_TEST_STUDY
from tools.toy import make_toy_dataset

torch.set_num_threads(1)
TINY = dict(layers=[1, 1, 1, 1], width=4, frames=4, period=2, resolution=16, batch_size=4,
            max_epochs=1)


@pytest.fixture(scope="module")
def no_train_split(tmp_path_factory):
    """Four patients: the toy split sends two to test and two to val, none to train."""
    return make_toy_dataset(tmp_path_factory.mktemp("pilot"), n_patients=4, n_frames=12,
                            size=16, shards=1, seed=1)


def test_shortfall_names_the_counts_and_the_minimum():
    assert training_shortfall(5, 2) == ""
    assert training_shortfall(1, 3) == "not trained: 1 labelled training videos, need 2"
    assert training_shortfall(4, 0) == "not trained: 0 labelled validation videos, need 1"


def test_a_model_without_training_videos_is_written_as_not_trained(no_train_split, tmp_path):
    toy = no_train_split
    table = view_table(toy["views"], toy["labels"], toy["split"], "A4C", ["wma", "t2"])
    metrics = fit(table, toy["shard_dirs"], ["wma", "t2"], TrainSettings(**TINY), tmp_path,
                  seed=7, progress=False)
    written = pd.read_csv(tmp_path / "metrics.csv")
    assert list(written["reason"]) == ["not trained: 0 labelled training videos, need 2"]
    assert metrics["reason"].iloc[0] == written["reason"].iloc[0]
    saved = torch.load(tmp_path / "best.pt", weights_only=False)
    assert saved["trained"] is False and saved["tasks"] == ["wma", "t2"]

    # predict: no scores, and the contract's prediction tables with their columns only
    scored = table[table["split"].isin(["val", "test"])]
    videos = predict_videos(tmp_path / "best.pt", scored, toy["shard_dirs"], "first", 2, "cpu")
    assert len(videos) == len(scored) and videos["pred_wma"].isna().all()
    study_csv, video_csv = tmp_path / "wma.csv", tmp_path / "wma.videos.csv"
    assert write_predictions(videos, "wma", study_csv, video_csv) == 0
    assert list(pd.read_csv(study_csv).columns) == STUDY_COLUMNS
    assert pd.read_csv(study_csv).empty and pd.read_csv(video_csv).empty


def test_an_empty_shard_classifies_to_an_empty_table_and_decides_with_the_rest(tmp_path):
    empty, full = ingest_paths.shard_dirs(tmp_path / "crop", 2)
    StoreWriter(empty, 16, 16).close()
    probs = classify_shard(str(empty), "train", weights=str(tmp_path / "never_read.pt"))
    assert probs.empty and list(probs.columns) == SHARD_COLUMNS
    probs.to_csv(tmp_path / "s0.csv", index=False)
    other = pd.DataFrame([{"video_key": "V1", "study_key": "S1", "patient_key": "P1",
                           "p_A4C": 0.97, "p_A2C": 0.01, "p_PLAX": 0.01, "p_OTHER": 0.01,
                           "reason": ""}], columns=SHARD_COLUMNS)
    other.to_csv(tmp_path / "s1.csv", index=False)
    write_views([tmp_path / "s0.csv", tmp_path / "s1.csv"], 0.5, tmp_path / "views.csv",
                tmp_path / "qc.csv")
    views = pd.read_csv(tmp_path / "views.csv")
    assert list(views["video_key"]) == ["V1"] and views["status"].iloc[0] == "kept"


def _predictions(tmp_path, name, rows):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, columns=STUDY_COLUMNS).to_csv(path, index=False)
    return str(path)


def _pilot_metrics(tmp_path):
    """Metrics of a pilot: A4C WMA has no test study, fused WMA one class, T1 one study."""
    empty = _predictions(tmp_path, "empty", [])
    negatives = _predictions(tmp_path, "neg", [("S1", "P1", "test", 0, 0.2),
                                               ("S2", "P2", "test", 0, 0.4)])
    one = _predictions(tmp_path, "one", [("S1", "P1", "test", 1010.0, 1000.0)])
    return evaluate_tables({("A4C", "wma"): empty, ("fused", "wma"): negatives,
                            ("fused", "t1"): one}, {"wma"}, n_boot=20, unit="study", seed=1)


def test_metrics_say_why_they_are_na(tmp_path):
    binary, continuous = _pilot_metrics(tmp_path)
    reasons = binary.set_index("source")["reason"]
    assert reasons["A4C"] == NO_TEST_STUDY
    assert reasons["fused"] == "no positive test study (2 negative)"
    assert binary["auroc"].isna().all()
    assert continuous["reason"].iloc[0] == "1 test study with a prediction, need 2"


def test_table2_and_replication_read_na_with_the_reason(tmp_path):
    binary, continuous = _pilot_metrics(tmp_path)
    table = table2(binary)
    assert len(table) == 20 and (table["auroc_95ci"] == "n/a").all()
    assert (table["reason"] != "").all()
    row = table[(table["source"] == "fused") & (table["task"] == "wma")].iloc[0]
    assert row["reason"] == "no positive test study (2 negative)"
    assert table[(table["source"] == "PLAX")]["reason"].eq("not evaluated (no metrics row)").all()
    assert "n/a: no positive test study (2 negative) [n=2, 0 pos.]" in table2_markdown(table)
    published = {"table2": {"wma": {"A4C": [0.817, 0.791, 0.843]}},
                 "continuous": {"t1": {"r2": [0.2, None, None]}}}
    rep = replication_table(published, binary, continuous, None)
    assert list(rep["verdict"]) == [f"n/a: {NO_TEST_STUDY}",
                                    "n/a: 1 test study with a prediction, need 2"]
    assert na_reasons(rep) == [NO_TEST_STUDY, "1 test study with a prediction, need 2"]
    replication_figure(rep, str(tmp_path / "replication.png"))  # n/a rows draw, not raise
    assert (tmp_path / "replication.png").stat().st_size > 0


def test_figures_draw_a_panel_naming_what_is_missing(tmp_path, monkeypatch):
    binary, continuous = _pilot_metrics(tmp_path)
    empty = pd.DataFrame(columns=STUDY_COLUMNS)
    preds = {(s, t): empty for s in ("A4C", "A2C", "PLAX", "fused")
             for t in ("wma", "lge", "t1", "t2", "ecv")}
    drawn, original = [], figures._missing_panel
    monkeypatch.setattr(figures, "_missing_panel",
                        lambda ax, reasons: (drawn.append(reasons), original(ax, reasons)))
    figures.figure1(binary, preds, str(tmp_path / "f1.png"), str(tmp_path / "f1.pdf"))
    figures.bland_altman(continuous, preds, str(tmp_path / "ba.png"), str(tmp_path / "ba.pdf"))
    assert (tmp_path / "f1.png").stat().st_size > 0 and (tmp_path / "ba.pdf").exists()
    # figure 1 A (WMA): fused, A4C, A2C, PLAX in the legend's order; B (scar): no row at all
    assert drawn[0] == ["no positive test study (2 negative)", NO_TEST_STUDY,
                        "not evaluated", "not evaluated"]
    assert drawn[1] == ["not evaluated"] * 4
    assert drawn[2:] == [["1 test study with a prediction, need 2"], ["not evaluated"],
                         ["not evaluated"]]


def _summary_inputs(included=True, kept_views=("A4C", "A2C", "PLAX"), in_analysis=5):
    manifest = pd.DataFrame({"status": ["included" if included else "excluded", "excluded"]})
    views = pd.DataFrame({"view": list(kept_views), "status": "kept", "reason": ""})
    cohort = pd.DataFrame([("paired", 5, 5, "", 0),
                           ("adults", 5, in_analysis, "younger than cohort.min_age at the echo",
                            5 - in_analysis),
                           ("in analysis", in_analysis, in_analysis, "", 0)],
                          columns=["step", "n_in", "n_out", "reason", "n_excluded"])
    return manifest, views, cohort


def test_summary_of_a_complete_run_says_nothing_is_missing():
    manifest, views, cohort = _summary_inputs()
    metrics = pd.DataFrame({"source": ["A4C"], "task": ["wma"], "auroc": [0.8], "reason": [""]})
    curves = {"A4C/multitask": pd.DataFrame({"epoch": [1, 2], "val_loss": [0.7, 0.6]})}
    split = pd.DataFrame({"study_key": ["S1", "S2", "S3"], "split": ["train", "val", "test"]})
    out = summary.summary_table(manifest, views, cohort, split, curves, metrics, metrics.iloc[:0])
    assert out.empty
    assert summary.NOTHING_MISSING in summary.summary_markdown(out)


def test_summary_of_a_pilot_names_each_stage_what_is_missing_and_what_to_add(tmp_path):
    manifest, views, cohort = _summary_inputs(kept_views=("A4C",), in_analysis=0)
    binary, continuous = _pilot_metrics(tmp_path)
    curves = {"A2C/multitask": pd.DataFrame(
        {"epoch": [0], "reason": ["not trained: 0 labelled training videos, need 2"]})}
    split = pd.DataFrame({"study_key": ["S1", "S2"], "split": ["train", "train"]})
    out = summary.summary_table(manifest, views, cohort, split, curves, binary, continuous)
    assert list(out["stage"]) == ["views", "views", "cohort", "cohort", "model", "evaluate",
                                  "evaluate", "evaluate"]
    assert out["missing"].iloc[3] == "no study in val or test (2 train, 0 val, 0 test)"
    assert out["what_to_add"].str.len().gt(20).all()
    cohort_row = out.iloc[2]
    assert "adults: 5 younger than cohort.min_age" in cohort_row["missing"]
    assert cohort_row["what_to_add"] == summary.ADD_ADULTS
    assert out[out["stage"] == "model"]["affected"].iloc[0] == "A2C/multitask"
    advice = dict(zip(out["missing"], out["what_to_add"], strict=True))
    assert advice["no positive test study (2 negative)"] == summary.ADD_TEST_CLASSES
    assert advice[NO_TEST_STUDY] == summary.ADD_TEST
    md = summary.summary_markdown(out)
    assert "no kept A2C cine" in md and NO_TEST_STUDY in md


def test_external_summary_states_the_all_test_split_as_by_design_not_as_a_gap(tmp_path):
    """External mode has no train or val split by design: the summary says so above the
    table and lists no cohort gap; a training run with the same split still gets the gap."""
    manifest, views, cohort = _summary_inputs()
    split = pd.DataFrame({"study_key": ["S1", "S2", "S3"], "split": "test"})
    metrics = pd.DataFrame({"source": ["A4C"], "task": ["wma"], "auroc": [0.8], "reason": [""]})
    args = (manifest, views, cohort, split, {}, metrics, metrics.iloc[:0])
    external = summary.summary_table(*args, external=True)
    assert external.empty
    notes = summary.design_notes(split, external=True)
    assert notes == [summary.EXTERNAL_SPLIT.format(n=3)] and "by design" in notes[0]
    md = summary.summary_markdown(external, notes=notes)
    assert notes[0] in md and summary.NOTHING_MISSING in md and "no study in" not in md
    page = tmp_path / "summary.html"
    summary.write_summary(external, tmp_path / "s.csv", tmp_path / "s.md", page, notes=notes)
    assert "by design" in page.read_text()
    trained = summary.summary_table(*args)
    assert list(trained["missing"]) == ["no study in train or val (0 train, 0 val, 3 test)"]
    assert summary.design_notes(split) == []


def test_summary_of_an_export_with_no_usable_file():
    manifest, views, cohort = _summary_inputs(included=False, kept_views=(), in_analysis=0)
    cohort["n_out"] = 0
    out = summary.summary_table(manifest, views, cohort, pd.DataFrame(columns=["split"]), {},
                                pd.DataFrame(), pd.DataFrame())
    assert out["stage"].iloc[0] == "ingest"
    assert "2 files, none included" in out["missing"].iloc[0]
    assert np.array_equal(out["stage"].unique(), ["ingest", "views", "cohort"])


def _tiny_readiness():
    """The readiness report of six A4C-only studies with A4C and global WMA grades only."""
    from echocmr.cohort.readiness import NEEDED_LABELS, readiness_table

    studies = [f"S{i}" for i in range(6)]
    views = pd.DataFrame({"study_key": studies, "view": "A4C", "status": "kept"})
    labels = pd.DataFrame({c: np.nan for c in NEEDED_LABELS}, index=range(6))
    labels["study_key"], labels["patient_key"] = studies, [f"P{i}" for i in range(6)]
    labels["wma_a4c"] = labels["wma_global"] = [1, 0, 1, 0, 1, 0]
    return readiness_table(views, labels, {"fractions": [0.8, 0.1, 0.1]}, {})


def test_summary_repeats_the_readiness_verdicts_of_the_cells_it_cannot_power(tmp_path):
    manifest, views, cohort = _summary_inputs()
    readiness = _tiny_readiness()
    split = pd.DataFrame({"study_key": ["S1", "S2", "S3"], "split": ["train", "val", "test"]})
    out = summary.summary_table(manifest, views, cohort, split, {}, pd.DataFrame(),
                                pd.DataFrame(), readiness)
    assert set(out["stage"]) == {"readiness"}
    advice = dict(zip(out["missing"], out["what_to_add"], strict=True))
    affected = dict(zip(out["missing"], out["affected"], strict=True))
    too_few = ("too few: 0.3 test positives expected (< 8); 0.3 test negatives expected (< 8)")
    assert affected[too_few] == "A4C/wma, fused/wma" and advice[too_few] == summary.ADD_POWER
    assert advice["no labelled study"] == summary.ADD_STUDIES
    unpaired = "no paired study with a cine of this view"
    assert affected[unpaired] == "A2C (every task), PLAX (every task)"
    assert advice[unpaired] == summary.ADD_PAIRS
    # an export with nothing paired: one row for every cell, not 32
    empty = summary.readiness_rows(_tiny_readiness().assign(verdict=unpaired))
    assert [r["affected"] for r in empty] == [f"every view and task ({len(readiness)})"]


def test_summary_page_shows_each_cells_verdict_beside_what_the_run_computed(tmp_path):
    binary, continuous = _pilot_metrics(tmp_path)
    computed = binary.iloc[:1].assign(source="A4C", task="lge", auroc=0.8, ci_low=0.7,
                                      ci_high=0.9, reason="")
    cells = summary.cell_table(_tiny_readiness(), pd.concat([binary, computed]), continuous)
    assert list(cells.columns) == summary.CELL_COLUMNS and len(cells) == 32
    by_cell = cells.set_index(["view", "task"])
    assert by_cell.loc[("A4C", "wma"), "this run"] == f"n/a: {NO_TEST_STUDY}"
    assert by_cell.loc[("fused", "wma"), "this run"] == "n/a: no positive test study (2 negative)"
    assert by_cell.loc[("A4C", "lge"), "this run"] == "AUROC 0.800 (0.700\u20130.900)"
    assert by_cell.loc[("A4C", "lge"), "readiness"] == "no labelled study"
    assert by_cell.loc[("PLAX", "wma"), "this run"] == "not evaluated (no metrics row)"
    md = summary.summary_markdown(pd.DataFrame(columns=summary.COLUMNS), cells)
    assert summary.NOTHING_MISSING in md and f"## {summary.CELLS_TITLE}" in md
    assert "| fused | wma | too few: 0.3 test positives expected" in md
    page = tmp_path / "summary.html"
    summary.write_summary(pd.DataFrame(columns=summary.COLUMNS), tmp_path / "s.csv",
                          tmp_path / "s.md", page, cells)
    assert page.read_text().count("<table>") == 2 and "no labelled study" in page.read_text()


def test_summary_files_tolerate_an_empty_readiness_table(tmp_path):
    """A pilot export: header-only or empty contract files give a summary, not an error."""
    manifest, views, cohort = _summary_inputs()
    split = pd.DataFrame({"study_key": ["S1", "S2", "S3"], "split": ["train", "val", "test"]})
    paths = {}
    for name, frame in (("manifest", manifest), ("views", views), ("cohort", cohort),
                        ("split", split), ("binary", pd.DataFrame(columns=["source", "task"])),
                        ("continuous", pd.DataFrame(columns=["source", "task"]))):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    for content in ("view,task,verdict\n", ""):
        (tmp_path / "readiness.csv").write_text(content)
        out, cells, notes = summary.summary_files(
            paths["manifest"], paths["views"], paths["cohort"], paths["split"], [],
            paths["binary"], paths["continuous"], tmp_path / "readiness.csv")
        assert out.empty and cells.empty and notes == []
        assert summary.CELLS_TITLE not in summary.summary_markdown(out, cells)


def test_the_summary_is_printed_only_by_the_run_that_wrote_it(tmp_path):
    md = tmp_path / "summary.md"
    md.write_text(summary.summary_markdown(pd.DataFrame(columns=summary.COLUMNS)))
    written = md.stat().st_mtime
    assert summary.NOTHING_MISSING in summary.written_since(md, written - 1)
    assert summary.written_since(md, written + 1) == ""
    assert summary.written_since(tmp_path / "absent.md", 0) == ""


def test_no_labelled_video_gives_an_untrained_view_classifier_and_excluded_videos(tmp_path):
    from echocmr.views.stage import write_view_classifier
    from echocmr.views.train import TrainSettings as ViewSettings

    toy = make_toy_dataset(tmp_path / "toy", n_patients=2, n_frames=6, size=16, shards=1)
    labels = tmp_path / "view_labels.csv"
    pd.DataFrame(columns=["video_key", "view"]).to_csv(labels, index=False)
    ckpt, split, history = (tmp_path / n for n in ("views.pt", "split.csv", "history.csv"))
    write_view_classifier([str(d) for d in toy["shard_dirs"]], str(labels),
                          ViewSettings(frames=2), str(ckpt), str(split), str(history))
    reason = pd.read_csv(history)["reason"].iloc[0]
    assert reason == ("view classifier not trained: 0 labelled videos in the store "
                      "(input.view_labels), need 1")
    probs = classify_shard(str(toy["shard_dirs"][0]), "train", weights=str(ckpt))
    assert len(probs) == 6 and (probs["reason"] == reason).all()
    probs.to_csv(tmp_path / "s0.csv", index=False)
    write_views([tmp_path / "s0.csv"], 0.5, tmp_path / "views.csv", tmp_path / "qc.csv")
    views = pd.read_csv(tmp_path / "views.csv")
    assert (views["status"] == "excluded").all()
    rows = summary.views_rows(views)
    assert rows[0]["missing"] == reason and rows[0]["what_to_add"] == summary.ADD_VIEW_LABELS
    assert [r["missing"] for r in rows[1:]] == [f"no kept {v} cine" for v in ("A4C", "A2C", "PLAX")]


def test_training_curves_name_a_model_that_was_not_trained(tmp_path, monkeypatch):
    drawn, original = [], figures._missing_panel
    monkeypatch.setattr(figures, "_missing_panel",
                        lambda ax, reasons: (drawn.append(reasons), original(ax, reasons)))
    curves = {"A4C/multitask": pd.DataFrame(
        {"epoch": [0], "train_loss": [np.nan], "val_loss": [np.nan],
         "reason": ["not trained: 0 labelled validation videos, need 1"]}),
        "A2C/multitask": pd.DataFrame({"epoch": [1, 2], "train_loss": [0.9, 0.8],
                                       "val_loss": [0.95, 0.9], "val_auroc_wma": [0.5, 0.6]})}
    figures.training_curves(curves, str(tmp_path / "curves.png"))
    assert drawn == [["multitask not trained: 0 labelled validation videos, need 1"]]
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_pairing_an_export_without_a_kept_cine_gives_no_study():
    from echocmr.cohort.pair import echo_studies

    manifest = pd.DataFrame(columns=["study_key", "study_date", "status"], dtype=str)
    views = pd.DataFrame(columns=["video_key", "study_key", "patient_key", "view", "status"],
                         dtype=str)
    studies = echo_studies(manifest, views)
    assert studies.empty and list(studies.columns) == ["study_key", "patient_key", "echo_date"]


def test_baseline_without_an_analysable_study_writes_empty_predictions(no_train_split, tmp_path):
    from echocmr.model.stage import fit_or_apply_baseline

    toy = no_train_split
    labels = pd.read_csv(toy["labels"]).iloc[:0]
    labels.to_csv(tmp_path / "labels.csv", index=False)
    split = pd.read_csv(toy["split"]).iloc[:0]
    split.to_csv(tmp_path / "split.csv", index=False)
    outs = {t: tmp_path / f"{t}.csv" for t in ("wma", "lge")}
    fit_or_apply_baseline(tmp_path / "labels.csv", tmp_path / "split.csv", toy["manifest"],
                          toy["echo_reports"], toy["clinical"], outs, tmp_path / "models.json")
    for path in outs.values():
        frame = pd.read_csv(path)
        assert frame.empty and list(frame.columns) == STUDY_COLUMNS
