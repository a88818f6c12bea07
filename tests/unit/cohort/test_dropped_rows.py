"""Dropped table rows in plain sight: counts per reason from the real rejected/excluded tables,
in the run summary (the page the run prints when it ends) and its report page."""

from __future__ import annotations

import pandas as pd
from test_cohort_validate import as_strings, cmr_row, schema

from echocmr.cohort.validate import validate_table
from echocmr.report import summary
from echocmr.report.dropped_rows import dropped_counts, dropped_line

REJECTED = pd.DataFrame({"table": ["cmr_reports", "clinical", "clinical"],
                         "row_number": ["4", "2", "7"],
                         "reason": ["unparseable_date", "missing_mrn", "missing_mrn"]})


def _excluded() -> pd.DataFrame:
    rows = [cmr_row(0), cmr_row(1, t1_native_ms="-950"), cmr_row(2, cmr_date="2020-13-45"),
            cmr_row(3, t1_native_ms="-950", ecv_pct="120"), cmr_row(3)]
    return validate_table(as_strings(rows), schema("cmr_reports"), "cmr_reports").excluded


def test_counts_per_stage_table_kind_and_reason():
    counts = dropped_counts(REJECTED, _excluded()).set_index(["stage", "table", "dropped",
                                                             "reason"])["n"]
    assert counts[("de-identification", "clinical", "row", "missing_mrn")] == 2
    assert counts[("de-identification", "cmr_reports", "row", "unparseable_date")] == 1
    t1 = "t1_native_ms: below minimum 500 (value dropped)"
    assert counts[("cohort validation", "cmr_reports", "value", t1)] == 1  # row kept
    assert counts[("cohort validation", "cmr_reports", "row", t1)] == 1  # a dropped row's too
    assert counts[("cohort validation", "cmr_reports", "row", "cmr_key: duplicated")] == 2
    text = dropped_counts(REJECTED, _excluded()).to_csv(index=False)
    assert "P0" not in text and "-950" not in text  # counts and reasons only


def test_the_line_and_the_table_are_in_the_summary_page_and_its_html(tmp_path):
    excluded = _excluded()
    line = dropped_line(REJECTED, excluded)
    # 3 rejected + bad date + 2 duplicated copies; the T1 -950 row keeps its grades
    assert line.startswith("Dropped table rows: 6 row(s) dropped, 1 row(s) kept")
    dropped = (line, dropped_counts(REJECTED, excluded))
    empty = pd.DataFrame(columns=summary.COLUMNS)
    md = summary.summary_markdown(empty, dropped=dropped)
    assert md.splitlines()[2] == line  # right below the title: the run prints this page
    assert "| de-identification | clinical | row | missing_mrn | 2 |" in md
    page = tmp_path / "s.html"
    summary.write_summary(empty, tmp_path / "s.csv", tmp_path / "s.md", page, dropped=dropped)
    assert "missing_mrn" in page.read_text() and line.split(";")[0] in page.read_text()
    none = dropped_line(REJECTED.iloc[:0], excluded.iloc[:0])
    assert none == "Dropped table rows: none."
