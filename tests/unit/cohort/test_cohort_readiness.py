"""Readiness report (`results/readiness.{csv,md}`): counts per view and task, the expected test
split, the Hanley-McNeil AUROC CI half-width at the published AUROC. The `snakemake readiness`
dry run: tests/workflow/test_readiness_workflow.py."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml
from conftest import REPO

from echocmr.cohort import readiness as rd
from echocmr.vocab.tasks import TASKS

SPLIT = {"method": "patient_stratified", "fractions": [0.8, 0.1, 0.1]}
PUBLISHED = yaml.safe_load((REPO / "config" / "config.yaml").read_text())[
    "report"]["published"]["table2"]


# ---- Hanley-McNeil ----------------------------------------------------------------------------

def test_hanley_mcneil_matches_a_hand_computation():
    # A = 0.85, 20 positives, 80 negatives:
    # Q1 = 0.85 / 1.15 = 0.739130, Q2 = 2 * 0.7225 / 1.85 = 0.781081, A^2 = 0.7225
    # numerator = 0.1275 + 19 * 0.016630 + 79 * 0.058581 = 5.071384
    # SE = sqrt(5.071384 / 1600) = 0.056299
    se = rd.hanley_mcneil_se(0.85, 20, 80)
    assert se == pytest.approx(0.056299, abs=1e-6)
    assert rd.ci_half_width(se) == pytest.approx(1.96 * 0.056299, abs=1e-6)


def test_hanley_mcneil_shrinks_with_n_and_is_nan_without_a_class_or_an_auroc():
    assert rd.hanley_mcneil_se(0.8, 80, 320) == pytest.approx(
        rd.hanley_mcneil_se(0.8, 20, 80) / 2, rel=0.05)  # ~1/sqrt(n)
    assert math.isnan(rd.hanley_mcneil_se(0.8, 0, 50))
    assert math.isnan(rd.hanley_mcneil_se(0.8, 50, 0.5))
    assert math.isnan(rd.hanley_mcneil_se(math.nan, 50, 50))


# ---- split share and published AUROC ---------------------------------------------------------

def test_test_share_follows_the_split_config():
    assert rd.test_share(SPLIT) == pytest.approx(0.1)
    assert rd.test_share({"method": "random", "fractions": [0.6, 0.1, 0.3]}) == pytest.approx(0.3)
    assert rd.test_share({"method": "external"}) == 1.0  # no training: every study is test


def test_published_auroc_reads_the_replication_tables_values():
    assert rd.published_auroc(PUBLISHED, "wma", "fused") == pytest.approx(0.873)
    assert rd.published_auroc(PUBLISHED, "lge", "A2C") == pytest.approx(0.591)
    assert math.isnan(rd.published_auroc(PUBLISHED, "t1", "A4C"))  # continuous: no AUROC
    assert math.isnan(rd.published_auroc({}, "wma", "A4C"))


# ---- counts ----------------------------------------------------------------------------------

def _views() -> pd.DataFrame:
    rows = [
        ("v1", "S1", "A4C", "kept"), ("v2", "S1", "A4C", "kept"), ("v3", "S1", "PLAX", "kept"),
        ("v4", "S2", "A4C", "kept"), ("v5", "S2", "A2C", "excluded"),
        ("v6", "S3", "A2C", "kept"), ("v7", "S3", "OTHER", "kept"),
        ("v8", "S9", "A4C", "kept"),  # a study that was not paired
    ]
    return pd.DataFrame(rows, columns=["video_key", "study_key", "view", "status"])


def _labels() -> pd.DataFrame:
    frame = pd.DataFrame({"study_key": ["S1", "S2", "S3"], "patient_key": ["P1", "P1", "P2"]})
    for column in rd.NEEDED_LABELS[2:]:
        frame[column] = math.nan
    frame["wma_a4c"] = [1, 0, math.nan]
    frame["wma_global"] = [1, 0, 0]
    frame["t1"] = [1000.0, math.nan, 1100.0]
    return frame


def _row(table: pd.DataFrame, view: str, task: str) -> pd.Series:
    return table.set_index(["view", "task"]).loc[(view, task)]


def test_counts_per_view_and_task():
    table = rd.readiness_table(_views(), _labels(), SPLIT, PUBLISHED)
    assert len(table) == 4 * len(TASKS) and list(table.columns) == rd.COLUMNS
    a4c = _row(table, "A4C", "wma")
    # S1 (2 kept A4C cines, positive) and S2 (1, negative); S9 is not paired
    assert (a4c.cines, a4c.paired_studies, a4c.labelled_studies, a4c.patients) == (3, 2, 2, 1)
    assert (a4c.positives, a4c.negatives) == (1, 1)
    assert a4c.test_positives == pytest.approx(0.1) and a4c.published_auroc == 0.817
    a2c = _row(table, "A2C", "wma")  # S2's A2C cine is excluded, S3 has no wma_a2c label
    assert (a2c.paired_studies, a2c.labelled_studies, a2c.cines) == (1, 0, 0)
    fused = _row(table, "fused", "wma")  # all views, the global label
    assert (fused.cines, fused.paired_studies, fused.positives, fused.negatives) == (5, 3, 1, 2)
    t1 = _row(table, "A4C", "t1")
    assert t1.kind == "continuous" and t1.labelled_studies == 1 and pd.isna(t1.positives)
    assert math.isnan(t1.ci_half_width)


def test_expected_test_counts_and_ci_at_the_published_auroc():
    n = 400  # 100 positives and 300 negatives, each study with one A4C cine
    views = pd.DataFrame({"video_key": [f"v{i}" for i in range(n)],
                          "study_key": [f"S{i}" for i in range(n)], "view": "A4C",
                          "status": "kept"})
    labels = pd.DataFrame({"study_key": views["study_key"],
                           "patient_key": [f"P{i}" for i in range(n)]})
    for column in rd.NEEDED_LABELS[2:]:
        labels[column] = math.nan
    labels["wma_a4c"] = [1] * 100 + [0] * 300
    row = _row(rd.readiness_table(views, labels, SPLIT, PUBLISHED), "A4C", "wma")
    assert (row.test_positives, row.test_negatives) == pytest.approx((10.0, 30.0))
    assert row.auroc_se == pytest.approx(rd.hanley_mcneil_se(0.817, 10, 30), abs=1e-4)
    assert row.ci_half_width == pytest.approx(1.96 * row.auroc_se, abs=1e-4)
    assert row.verdict == rd.ESTIMABLE
    external = rd.readiness_table(views, labels, {"method": "external"}, PUBLISHED)
    assert _row(external, "A4C", "wma").test_positives == 100


def test_verdict_names_what_is_missing():
    base = {"kind": "binary", "paired_studies": 50, "labelled_studies": 50, "positives": 40,
            "negatives": 10, "test_studies": 5.0, "test_positives": 4.0, "test_negatives": 1.0}
    assert rd.verdict({**base, "paired_studies": 0}).startswith("no paired study")
    assert rd.verdict({**base, "labelled_studies": 0}) == "no labelled study"
    assert rd.verdict({**base, "positives": 0}) == "no positives"
    short = rd.verdict(base)
    assert "4.0 test positives expected" in short and "1.0 test negatives expected" in short
    big = {**base, "test_positives": 8.0, "test_negatives": 12.0}
    assert rd.verdict(big) == rd.ESTIMABLE
    continuous = {**base, "kind": "continuous"}
    assert rd.verdict(continuous).startswith("too few test studies")


# ---- empty inputs and files ------------------------------------------------------------------

def test_empty_inputs_give_a_row_per_view_and_task_that_says_so(tmp_path):
    (tmp_path / "views.csv").write_text("")  # no header at all
    pd.DataFrame(columns=rd.NEEDED_LABELS).to_csv(tmp_path / "labels.csv", index=False)
    out = {k: tmp_path / "out" / f"readiness.{k}" for k in ("csv", "md", "html")}
    table = rd.write_readiness(tmp_path / "views.csv", tmp_path / "labels.csv", SPLIT, PUBLISHED,
                               out["csv"], out["md"], out["html"])
    assert len(table) == 4 * len(TASKS)
    assert (table["cines"] == 0).all() and (table["paired_studies"] == 0).all()
    assert table["verdict"].str.startswith("no paired study").all()
    assert len(pd.read_csv(out["csv"])) == 4 * len(TASKS)
    assert "no paired study" in out["md"].read_text() and "<table>" in out["html"].read_text()


def test_zero_positives_is_a_row_not_an_error():
    labels = _labels().assign(wma_a4c=[0, 0, math.nan])
    row = _row(rd.readiness_table(_views(), labels, SPLIT, PUBLISHED), "A4C", "wma")
    assert row.positives == 0 and row.verdict == "no positives" and math.isnan(row.auroc_se)


def test_files_hold_counts_but_no_study_or_patient_key(tmp_path):
    _views().to_csv(tmp_path / "views.csv", index=False)
    _labels().to_csv(tmp_path / "labels.csv", index=False)
    out = {k: tmp_path / f"readiness.{k}" for k in ("csv", "md", "html")}
    rd.write_readiness(tmp_path / "views.csv", tmp_path / "labels.csv", SPLIT, PUBLISHED,
                       out["csv"], out["md"], out["html"])
    for path in out.values():
        text = path.read_text()
        assert not any(key in text for key in ("S1", "S2", "S3", "P1", "P2", "v1")), path
    md = out["md"].read_text().splitlines()
    assert md[0].startswith("# Readiness") and sum(ln.startswith("| A4C |") for ln in md) == 8

