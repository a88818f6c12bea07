"""Readiness report: can this cohort power the study, before any model is trained?

Per view (and the three-view fusion) and task: the kept cines, paired studies, labelled studies
and patients, positives and negatives; the test-set share of the configured split
(`cohort.split`: the test fraction, or every study in external mode) applied to them; and, for
binary tasks, the Hanley-McNeil (1982) standard error of the AUROC at the paper's published
AUROC for that view and task (`report.published.table2`, the values of the replication table)
with the 95% CI half-width it implies. A verdict says whether the AUROC is estimable on the
expected test split, or what is missing.

Expected test counts are the cohort counts times the test share: the split assigns whole
patients (stratified on global WMA), so the real test split differs by a few studies.
Only counts leave this module: no study or patient key is written.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path

import pandas as pd

from echocmr.logutil import script_logging
from echocmr.vocab.tasks import TASKS, global_column, is_binary, label_column
from echocmr.vocab.views import ANALYSIS_VIEWS

log = logging.getLogger("echocmr.cohort")
FUSED = "fused"
SOURCES = (*ANALYSIS_VIEWS, FUSED)
# Fewer than ~8 cases of a class make an AUROC (and its normal-theory or bootstrap CI) swing
# with every single case; a common rule of thumb for a reportable AUROC.
MIN_TEST_PER_CLASS = 8
# Continuous tasks (R2, MAE) have no classes: ask for as many test studies as 8 + 8.
MIN_TEST_STUDIES = 2 * MIN_TEST_PER_CLASS
Z_95 = 1.96
COLUMNS = ["view", "task", "kind", "cines", "paired_studies", "labelled_studies", "patients",
           "positives", "negatives", "test_share", "test_studies", "test_positives",
           "test_negatives", "published_auroc", "auroc_se", "ci_half_width", "verdict"]
ESTIMABLE = "estimable"
# The verdict's prefix for a cell the run has no model for (a bundle without it).
NOT_AVAILABLE = "n/a"


# ---- the split and the published values ------------------------------------------------------

def test_share(split_config: dict) -> float:
    """Share of studies the configured split sends to test: every one in external mode (no
    training), else the third of `cohort.split.fractions` (train, val, test)."""
    if split_config.get("method") == "external":
        return 1.0
    return float(split_config.get("fractions", [0.8, 0.1, 0.1])[2])


def published_auroc(published_table2: dict, task: str, view: str) -> float:
    """The paper's AUROC of `task` from `view` (or `fused`); NaN where none is configured."""
    value = (published_table2 or {}).get(task, {}).get(view)
    return float(value[0]) if value and value[0] is not None else math.nan


# ---- Hanley-McNeil ----------------------------------------------------------------------------

def hanley_mcneil_se(auroc: float, n_pos: float, n_neg: float) -> float:
    """Standard error of an AUROC of `auroc` on n_pos positives and n_neg negatives (Hanley &
    McNeil 1982, Radiology 143:29, exponential approximation of Q1, Q2). NaN when a class has
    fewer than one case or the AUROC is unknown."""
    if math.isnan(auroc) or n_pos < 1 or n_neg < 1:
        return math.nan
    q1 = auroc / (2 - auroc)  # two random positives both ranked above one negative
    q2 = 2 * auroc**2 / (1 + auroc)  # one positive ranked above two random negatives
    a2 = auroc**2
    variance = (auroc * (1 - auroc) + (n_pos - 1) * (q1 - a2) + (n_neg - 1) * (q2 - a2)) / (
        n_pos * n_neg)
    return math.sqrt(variance)


def ci_half_width(se: float) -> float:
    return Z_95 * se


# ---- counts ----------------------------------------------------------------------------------

def kept_cines_per_study(views: pd.DataFrame, view_names) -> pd.Series:
    """Kept cines of the given views per study_key (studies without one are absent)."""
    kept = views[(views["status"] == "kept") & views["view"].isin(list(view_names))]
    return kept.groupby("study_key").size()


def source_frame(views: pd.DataFrame, labels: pd.DataFrame, source: str) -> pd.DataFrame:
    """Paired studies with at least one kept cine of `source` (all three views for `fused`):
    their labels and a `cines` column."""
    cines = kept_cines_per_study(views, ANALYSIS_VIEWS if source == FUSED else [source])
    paired = labels[labels["study_key"].isin(cines.index)]
    return paired.assign(cines=paired["study_key"].map(cines).to_numpy())


def task_column(task: str, source: str) -> str:
    """The label a view's model learns, or the global one the fused model is scored on."""
    return global_column(task) if source == FUSED else label_column(task, source)


def count_task(paired: pd.DataFrame, task: str, source: str) -> dict:
    """Counts of one source and task over its paired studies (cines of labelled studies only:
    what the model trains and is scored on)."""
    values = pd.to_numeric(paired[task_column(task, source)], errors="coerce")
    labelled = paired[values.notna()]
    counts = {"cines": int(labelled["cines"].sum()), "paired_studies": len(paired),
              "labelled_studies": len(labelled),
              "patients": int(labelled["patient_key"].nunique())}
    if is_binary(task):
        counts["positives"] = int((values == 1).sum())
        counts["negatives"] = int((values == 0).sum())
    return counts


# ---- the verdict -----------------------------------------------------------------------------

def verdict(row: dict) -> str:
    """`estimable`, or what is missing (first the cohort, then the expected test split)."""
    if row["paired_studies"] == 0:
        return "no paired study with a cine of this view"
    if row["labelled_studies"] == 0:
        return "no labelled study"
    if row["kind"] == "continuous":
        if row["test_studies"] < MIN_TEST_STUDIES:
            return (f"too few test studies expected ({row['test_studies']:.1f} < "
                    f"{MIN_TEST_STUDIES})")
        return ESTIMABLE
    missing = [f"no {cls}" for cls in ("positives", "negatives") if row[cls] == 0]
    if missing:
        return "; ".join(missing)
    short = [f"{row[f'test_{cls}']:.1f} test {cls} expected (< {MIN_TEST_PER_CLASS})"
             for cls in ("positives", "negatives") if row[f"test_{cls}"] < MIN_TEST_PER_CLASS]
    return "too few: " + "; ".join(short) if short else ESTIMABLE


# ---- the table -------------------------------------------------------------------------------

def readiness_row(paired: pd.DataFrame, task: str, source: str, share: float,
                  published_table2: dict) -> dict:
    binary = is_binary(task)
    row = {"view": source, "task": task, "kind": "binary" if binary else "continuous",
           "positives": math.nan, "negatives": math.nan, **count_task(paired, task, source),
           "test_share": share}
    row["test_studies"] = row["labelled_studies"] * share
    row["test_positives"] = row["positives"] * share
    row["test_negatives"] = row["negatives"] * share
    auroc = published_auroc(published_table2, task, source) if binary else math.nan
    se = hanley_mcneil_se(auroc, row["test_positives"], row["test_negatives"]) if binary \
        else math.nan
    row.update(published_auroc=auroc, auroc_se=se, ci_half_width=ci_half_width(se))
    row["verdict"] = verdict(row)
    return row


def readiness_table(views: pd.DataFrame, labels: pd.DataFrame, split_config: dict,
                    published_table2: dict, absent: dict | None = None) -> pd.DataFrame:
    """One row per source (A4C, A2C, PLAX, fused) and task, COLUMNS; empty inputs give rows of
    zeros with a verdict saying so. `absent` (`source__task` -> reason: cells the run has no
    model for, echocmr.model.scope) keeps their counts, with the verdict `n/a: <reason>`."""
    share = test_share(split_config)
    rows = []
    for source in SOURCES:
        paired = source_frame(views, labels, source)
        rows += [readiness_row(paired, task, source, share, published_table2) for task in TASKS]
    for row in rows:
        reason = (absent or {}).get(f"{row['view']}__{row['task']}")
        if reason:
            row["verdict"] = f"{NOT_AVAILABLE}: {reason}"
    table = pd.DataFrame(rows, columns=COLUMNS)
    # expected counts are estimates: two decimals say enough (and keep the CSV readable)
    table = table.round({"test_studies": 2, "test_positives": 2, "test_negatives": 2,
                         "auroc_se": 4, "ci_half_width": 4})
    return table.astype({"positives": "Int64", "negatives": "Int64"})


# ---- files -----------------------------------------------------------------------------------

VIEW_COLUMNS = ["study_key", "view", "status"]
NEEDED_LABELS = ["study_key", "patient_key", *dict.fromkeys(
    task_column(t, s) for s in SOURCES for t in TASKS)]


def read_or_empty(path, columns: list[str]) -> pd.DataFrame:
    """The needed columns of a contract CSV; an empty frame with them when the file has no rows
    (or no header at all), so a site with nothing paired yet still gets its report."""
    try:
        frame = pd.read_csv(path, dtype={"study_key": str, "patient_key": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=columns)
    absent = [c for c in columns if c not in frame.columns]
    if absent and len(frame):
        raise ValueError(f"{path} lacks columns {absent}")
    return frame.reindex(columns=columns)


def _fmt(value, decimals: int) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{value:.{decimals}f}" if isinstance(value, float) else str(value)


DISPLAY = [("view", "View", 0), ("task", "Task", 0), ("cines", "Cines", 0),
           ("paired_studies", "Paired studies", 0), ("labelled_studies", "Labelled", 0),
           ("positives", "Pos", 0), ("negatives", "Neg", 0), ("test_studies", "Test studies", 1),
           ("test_positives", "Test pos", 1), ("test_negatives", "Test neg", 1),
           ("published_auroc", "Published AUROC", 3), ("ci_half_width", "CI half-width", 3),
           ("verdict", "Verdict", 0)]


def display_rows(table: pd.DataFrame) -> list[list[str]]:
    return [[_fmt(row[col], dec) for col, _, dec in DISPLAY] for _, row in table.iterrows()]


def caption(table: pd.DataFrame) -> str:
    share = table["test_share"].iloc[0] if len(table) else math.nan
    return (f"Expected test split: {_fmt(share, 2)} of the labelled studies. CI half-width: "
            f"1.96 x Hanley-McNeil SE at the published AUROC and the expected test counts. "
            f"Estimable: >= {MIN_TEST_PER_CLASS} positives and >= {MIN_TEST_PER_CLASS} negatives "
            f"expected in test (continuous tasks: >= {MIN_TEST_STUDIES} test studies).")


def to_markdown(table: pd.DataFrame) -> str:
    head = [label for _, label, _ in DISPLAY]
    lines = ["# Readiness: can this cohort power the study?", "", caption(table), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in display_rows(table)]
    return "\n".join([*lines, ""])


def to_html(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in DISPLAY)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
                     for cells in display_rows(table))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Readiness</title>',
        "<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}"
        "caption{font-weight:bold;text-align:left;padding-bottom:6px}</style>",
        "</head><body><table>",
        "<caption>Readiness: can this cohort power the study?</caption>",
        f"<thead><tr>{head}</tr></thead>", "<tbody>", body, "</tbody></table>",
        f"<p><small>{html.escape(caption(table))}</small></p>", "</body></html>", ""])


def write_readiness(views_csv, labels_csv, split_config: dict, published_table2: dict,
                    csv_out, md_out, html_out, absent: dict | None = None) -> pd.DataFrame:
    """File entry point of the readiness rule: read views and labels, write CSV, MD, HTML."""
    table = readiness_table(read_or_empty(views_csv, VIEW_COLUMNS),
                            read_or_empty(labels_csv, NEEDED_LABELS), split_config,
                            published_table2, absent)
    Path(csv_out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv_out, index=False, lineterminator="\n")
    Path(md_out).write_text(to_markdown(table))
    Path(html_out).parent.mkdir(parents=True, exist_ok=True)
    Path(html_out).write_text(to_html(table))
    estimable = table["verdict"] == ESTIMABLE
    log.info("readiness at test share %.2f: %d of %d view/task rows estimable: %s",
             test_share(split_config), estimable.sum(), len(table),
             list(table.loc[estimable, "view"] + "/" + table.loc[estimable, "task"]))
    return table



def run_readiness(smk) -> None:
    """Script entry of `rule readiness`: per view and task, the cohort's counts, the expected
    test split and the AUROC CI half-width it would give (before any training)."""
    with script_logging(smk):
        write_readiness(
            views_csv=smk.input.views,
            labels_csv=smk.input.labels,
            split_config=smk.params.split,
            published_table2=smk.params.published,
            csv_out=smk.output.csv,
            md_out=smk.output.md,
            html_out=smk.output.html,
            absent=smk.params.absent,
        )
