"""Report library pieces without Snakemake: Table 2 layout, replication verdicts, QC flow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from echocmr.model import fuse
from echocmr.report import qc_flow, replication, tables
from echocmr.report.style import fmt_ci


def test_table2_keeps_its_structure_when_rows_are_missing():
    binary = pd.DataFrame([{"source": "A4C", "task": "wma", "n": 40, "n_pos": 18,
                            "auroc": 0.8123, "ci_low": 0.7011, "ci_high": 0.9057}])
    table = tables.table2(binary)
    assert len(table) == 20 and list(table.columns) == tables.TABLE2_COLUMNS
    assert table.loc[0, "auroc_95ci"] == "0.812 (0.701\u20130.906)"
    assert (table.loc[1:, "auroc_95ci"] == "n/a").all()
    md = tables.table2_markdown(table)
    assert md.count("\n| ") == 1 + 3 + 20  # header, 3 sections, 20 rows
    assert "Native T1 value (ms)" in md and "Logistic regression using three views" in md


def fused_wma(fusion_method: str, n_mean: int, n: int = 40) -> pd.DataFrame:
    return pd.DataFrame([{"source": "fused", "task": "wma", "n": n, "n_pos": 18, "auroc": 0.7,
                          "ci_low": 0.6, "ci_high": 0.8, "fusion_method": fusion_method,
                          "n_mean_of_views": n_mean}])


def test_table2_footnote_names_a_released_bundle_s_missing_fusion_not_a_failed_fit():
    """A released-weights bundle has no fusion regression: every fused study is the mean of its
    views because the bundle lacks one, not because too few validation studies fitted it."""
    row = tables.table2(fused_wma(f"{fuse.BUNDLE_MEAN_METHOD}: 40", 40)).iloc[3]
    assert row["video"] == f"{tables.BUNDLE_MEAN_LABEL} {tables.FALLBACK_MARK}"
    assert "in the bundle" in row["note"] and "too few" not in row["note"]
    assert row["note"].startswith("40 of 40 test studies")


def test_table2_footnote_keeps_each_cause_with_its_count():
    method = (f"bundle: logistic regression: 30; {fuse.MEAN_METHOD}: 6; "
              f"{fuse.BUNDLE_MEAN_METHOD}: 4")
    row = tables.table2(fused_wma(method, 10)).iloc[3]
    assert row["video"] == f"{tables.VIDEO_LABELS['fused']} {tables.FALLBACK_MARK}"
    assert "6 of 40 test studies" in row["note"] and "too few validation" in row["note"]
    assert "4 of 40 test studies" in row["note"] and "in the bundle" in row["note"]
    trained = tables.table2(fused_wma(f"{fuse.MEAN_METHOD}: 40", 40)).iloc[3]
    assert trained["video"].startswith(tables.MEAN_LABEL) and "too few" in trained["note"]


def test_method_counts_reads_back_fusion_summary():
    patterns = pd.DataFrame({"method": ["logistic regression (L2 fallback: did not converge)",
                                        fuse.BUNDLE_MEAN_METHOD],
                             "n_test": [5, 3]})
    summary = fuse.fusion_summary(patterns)
    assert fuse.method_counts(summary["fusion_method"]) == {
        "logistic regression (L2 fallback: did not converge)": 5,
        fuse.BUNDLE_MEAN_METHOD: 3}
    assert fuse.method_counts("") == {}


def test_ci_format_with_negative_bounds():
    assert fmt_ci(-0.14, -0.6, 0.12, 2) == "-0.14 (-0.60 to 0.12)"
    assert fmt_ci(float("nan"), 0, 1) == "n/a"


def test_verdicts():
    assert replication.verdict((0.8, 0.7, 0.9), (0.85, 0.82, 0.95)) == (True, "CIs overlap")
    assert replication.verdict((0.8, 0.7, 0.9), (0.6, 0.5, 0.65))[0] is False
    assert replication.verdict((0.04, None, None), (0.1, 0.0, 0.2))[1].startswith(
        "published value inside")
    assert replication.verdict((0.8, 0.7, 0.9), (None, None, None))[1].startswith("not")


def test_wilson_and_mean_intervals():
    p, lo, hi = replication.wilson_ci(50, 100)
    assert (p, round(lo, 2), round(hi, 2)) == (50.0, 40.38, 59.62)
    mean, lo, hi = replication.mean_ci(56.0, 17.9, 1453)
    assert hi - mean == pytest.approx(1.959964 * 17.9 / np.sqrt(1453), rel=1e-6)


def test_replication_table_reads_table1_by_key():
    published = {"table1": [{"label": "Age", "key": "age", "kind": "mean", "mean": 56.0,
                             "sd": 17.9, "n": 1453},
                            {"label": "Female", "key": "female", "kind": "count", "count": 607,
                             "n": 1453}]}
    table1 = pd.DataFrame({"key": ["age", "female"], "estimate": [70.0, 41.0],
                           "sd": [2.0, np.nan], "n": [1000, 410], "N": [1000, 1000]})
    empty = pd.DataFrame(columns=["source", "task"])
    rep = replication.replication_table(published, empty, empty, table1)
    assert list(rep["verdict"]) == ["CIs do not overlap", "CIs overlap"]
    assert rep.loc[1, "reproduced"] == pytest.approx(41.0)


def write_qc(path, rows):
    pd.DataFrame(rows, columns=qc_flow.QC_COLUMNS).to_csv(path, index=False)
    return str(path)


def test_qc_flow_sums_shards_and_checks_counts(tmp_path):
    a = write_qc(tmp_path / "a.csv", [("cropped", "videos", 10, 8, "no region", 2)])
    b = write_qc(tmp_path / "b.csv", [("cropped", "videos", 5, 5, "", 0)])
    c = write_qc(tmp_path / "c.csv", [("viewed", "videos", 13, 11, "other", 1),
                                      ("viewed", "videos", 13, 11, "low confidence", 1)])
    flow = qc_flow.build_flow([("crop", [a, b]), ("views", [c])])
    assert list(flow["step"]) == ["cropped", "viewed", "viewed"]
    assert flow.loc[0, "n_in"] == 15 and flow.loc[0, "n_out"] == 13
    assert list(flow["order"]) == [1, 2, 2]
    bad = write_qc(tmp_path / "bad.csv", [("paired", "studies", 10, 9, "no CMR", 2)])
    with pytest.raises(qc_flow.QCFlowError, match="n_in 10 - excluded 2 = 8, but n_out is 9"):
        qc_flow.build_flow([("cohort", [bad])])
    missing = tmp_path / "m.csv"
    pd.DataFrame({"step": ["x"]}).to_csv(missing, index=False)
    with pytest.raises(qc_flow.QCFlowError, match="missing QC columns"):
        qc_flow.build_flow([("x", [str(missing)])])
