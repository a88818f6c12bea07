"""Report library pieces without Snakemake: Table 2 layout, replication verdicts, QC flow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

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


def test_verdicts_follow_the_documented_rule():
    narrow = (0.80, 0.78, 0.82)
    # difference CI -0.02 +/- 1.96 * sqrt(2) * 0.0102 = (-0.048, 0.008): inside +/-0.05
    assert replication.verdict(narrow, (0.78, 0.76, 0.80), 0.05) == replication.CONSISTENT
    # overlapping CIs, yet the difference's CI (0.0003, 0.08) excludes 0
    assert replication.verdict(narrow, (0.84, 0.81, 0.87), 0.05) == replication.INCONSISTENT
    # a wide reproduced CI (few test studies): includes 0, reaches past the margin
    assert replication.verdict(narrow, (0.78, 0.60, 0.95), 0.05) == replication.INCONCLUSIVE
    # no published interval (R2): the published value is taken as exact
    assert replication.verdict((0.04, None, None), (0.1, 0.0, 0.2), 0.05) == (
        replication.INCONCLUSIVE)
    assert replication.verdict(narrow, (0.8, None, None), 0.05) == replication.NO_INTERVAL
    assert replication.verdict(narrow, (None, None, None), 0.05).startswith("not")


def test_difference_ci_combines_the_two_standard_errors():
    z = norm.ppf(0.975)
    diff, low, high = replication.difference((0.70, 0.60, 0.80), (0.75, 0.70, 0.80))
    se = np.hypot(0.2 / (2 * z), 0.1 / (2 * z))
    assert diff == pytest.approx(0.05)
    assert (low, high) == pytest.approx((0.05 - z * se, 0.05 + z * se))


def test_difference_ci_covers_zero_95_percent_of_the_time_when_both_estimate_one_value():
    rng = np.random.default_rng(0)
    se_pub, se_rep, half = 0.013, 0.04, norm.ppf(0.975)
    covered = []
    for pub, rep in zip(rng.normal(0.8, se_pub, 4000), rng.normal(0.8, se_rep, 4000)):
        _, low, high = replication.difference((pub, pub - half * se_pub, pub + half * se_pub),
                                              (rep, rep - half * se_rep, rep + half * se_rep))
        covered.append(low <= 0 <= high)
    assert np.mean(covered) == pytest.approx(0.95, abs=0.01)  # Monte Carlo SE 0.0034


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
    # female: 41.0% (N 1000) vs 41.8% (N 1453), difference CI -4.7 to 3.2 points, margin 4.2
    assert list(rep["verdict"]) == [replication.INCONSISTENT, replication.INCONCLUSIVE_TABLE1]
    assert rep.loc[1, "reproduced"] == pytest.approx(41.0) and rep["counts"].all()
    synthetic = replication.replication_table(published, empty, empty, table1, synthetic=True)
    assert (synthetic["verdict"] == replication.SYNTHETIC).all()
    assert not synthetic["counts"].any()  # drawn from the paper's numbers: not a replication


def test_replication_page_rounds_as_the_paper_and_leads_with_the_verdict():
    published = {"table2": {"wma": {"fused": [0.873, 0.816, 0.922]}},
                 "continuous": {"t2": {"r2": [0.002, None, None], "mae": [5.39, 5.07, 5.71]}}}
    binary = pd.DataFrame({"source": ["fused"], "task": ["wma"], "auroc": [0.848035],
                           "ci_low": [0.77123], "ci_high": [0.91456], "reason": [""]})
    continuous = pd.DataFrame({"source": ["fused"], "task": ["t2"], "r2": [-0.031234],
                               "r2_ci_low": [-0.1], "r2_ci_high": [0.01], "mae": [5.87654],
                               "mae_ci_low": [5.2], "mae_ci_high": [6.6], "reason": [""]})
    table = replication.replication_table(published, binary, continuous, None)
    page = replication.replication_display(table)
    assert list(page.columns)[0] == "Verdict"
    assert page.loc[0, "Reproduced (95% CI)"] == "0.848 (0.771 to 0.915)"
    assert page.loc[0, "Item"] == "AUROC WMA, three-view fusion"
    assert page.loc[1, "Published (95% CI)"] == "0.002"
    assert page.loc[2, "Reproduced (95% CI)"] == "5.88 (5.20 to 6.60)"
    # fits 1400 px: widest cell of each column at ~7.5 px a character (13 px DejaVu Sans)
    # plus 20 px padding, with the longest verdict in the first column
    widest = [max(page[c].str.len().max(), len(c), len(replication.INCONCLUSIVE) * (i == 0))
              for i, c in enumerate(page.columns)]
    assert sum(7.5 * w + 20 for w in widest) < 1400


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
