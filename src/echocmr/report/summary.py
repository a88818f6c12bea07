"""The run summary (`results/summary.csv` + `.md`): per stage, what was missing and what to add.

A site's first run is often a small pilot export. Every stage then writes its outputs with what
it could compute and says why the rest is n/a (a model `not trained: ...`, a metric `no positive
test study`); this module gathers those reasons from the stages' own contract files, so a user
reads one short page instead of thirty logs. It reads counts and reasons only: no key, no
identifier reaches the summary. A run that lacked nothing says so in one line.

It also repeats the readiness verdicts (`results/readiness.csv`, echocmr.cohort.readiness): the
view/task cells the cohort cannot power are rows of the summary (stage `readiness`), and the
Markdown and HTML pages list every cell with its verdict beside what this run computed for it,
so a site sees in one place whether each Table 2 cell was powered, not only whether it ran.

In external mode (`model.mode: external`) there is no split: every labelled study is a test
study by design, so an all-test split is stated as such above the table, not listed as a gap.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from echocmr.cohort.readiness import ESTIMABLE, MIN_TEST_PER_CLASS, read_or_empty
from echocmr.logutil import script_logging
from echocmr.report.dropped_rows import COLUMNS as DROPPED_COLUMNS
from echocmr.report.dropped_rows import TITLE as DROPPED_TITLE
from echocmr.report.dropped_rows import dropped_counts, dropped_line, read_dropped
from echocmr.report.style import fmt_ci
from echocmr.vocab.reasons import NO_BUNDLE_BASELINE, NOT_IN_BUNDLE, is_one_class
from echocmr.vocab.views import ANALYSIS_VIEWS

COLUMNS = ["stage", "missing", "affected", "what_to_add"]
EXTERNAL_SPLIT = ("External validation (model.mode: external): no train or val split by "
                  "design; all {n} labelled studies are test studies, scored with the bundle's "
                  "models without training (docs/external.md).")
NOTHING_MISSING = "Nothing missing: every stage had the data it needs."
TITLE = "Run summary: what was missing and what to add"
CELLS_TITLE = "Readiness and result per view and task"
CELLS_CAPTION = ("Readiness: the verdict of results/readiness.md (counts of the cohort and the "
                 "test split the configured split is expected to give). This run: the metric "
                 "as computed on the test split, or why it is n/a. Calibration slope (binary "
                 "tasks): 1 is ideal, below 1 the predictions are too extreme here; beside the "
                 "95% CI the share of bootstrap resamples without a fit (a CI needs at most "
                 "1%).")
CELL_COLUMNS = ["view", "task", "readiness", "this run"]
SLOPE_COLUMN = "calibration slope"  # (95% CI; share of resamples without a fit)
READINESS_COLUMNS = ["view", "task", "verdict"]

# What a site adds to fill each kind of gap (the `what_to_add` column).
ADD_DICOM = ("multi-frame greyscale echo cines (DICOM) in input.dicom_dir; the manifest "
             "(results/ingest/manifest.csv) gives each excluded file's reason")
ADD_VIEW = "cines of this view, or view labels for them (input.view_labels; docs/views.md)"
ADD_VIEW_LABELS = ("view labels for some cines of each view (input.view_labels), or "
                   "views.backend: pretrained with views.weights (docs/views.md)")
UNTRAINED_VIEWS = "view classifier not trained"  # echocmr.views.train.fit_shortfall
ADD_PAIRS = ("CMR reports of the same patients dated within cohort.window_days of an echo "
             "study (input.cmr_reports)")
ADD_STUDIES = "more paired studies with CMR grades and values (results/readiness.md sizes them)"
ADD_ADULTS = "studies of patients aged at least cohort.min_age at the echo (docs/cohort.md)"
ADD_SPLIT = ("more patients with paired, labelled studies: the split assigns whole patients "
             "to train/val/test by cohort.split.fractions (default 80/10/10%), so val and test "
             "stay empty below about 10")
ADD_TRAINING = ("more labelled studies with cines of this view: the split sends patients to "
                "train/val/test by cohort.split.fractions (default 80/10/10%)")
ADD_TEST = ("more labelled studies, so the test split holds scored studies "
            "(results/readiness.md gives the expected test counts)")
ADD_POWER = ("more labelled studies with both classes: an AUROC with a usable CI needs about "
             f"{MIN_TEST_PER_CLASS} positive and {MIN_TEST_PER_CLASS} negative test studies "
             "(results/readiness.md gives the expected test counts)")
ADD_MODEL = ("a bundle with a model of this view and task (and, for the model-vs-baseline "
             "test, the LVEF/age/sex baseline): a bundle exported by a training run carries "
             "every one (docs/external.md)")
ADD_TEST_CLASSES = ("more labelled studies, so the test split holds both classes "
                    "(results/readiness.md gives the expected test counts)")


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _row(stage: str, missing: str, affected, what_to_add: str) -> dict:
    return {"stage": stage, "missing": missing, "affected": ", ".join(affected),
            "what_to_add": what_to_add}


def ingest_rows(manifest: pd.DataFrame) -> list[dict]:
    """No usable file at all (the QC flow names each file's reason)."""
    included = int((manifest["status"] == "included").sum())
    if included:
        return []
    return [_row("ingest", f"no usable DICOM cine ({len(manifest)} files, none included)",
                 ["all stages"], ADD_DICOM)]


def views_rows(views: pd.DataFrame) -> list[dict]:
    """A view classifier that could not be trained, and each main view with no kept cine (its
    model and Table 2 rows cannot exist)."""
    reasons = views.get("reason", pd.Series("", index=views.index)).map(_text)
    untrained = sorted(set(reasons[reasons.str.startswith(UNTRAINED_VIEWS)]))
    rows = [_row("views", reason, [f"all {len(views)} videos"], ADD_VIEW_LABELS)
            for reason in untrained]
    kept = views.loc[views["status"] == "kept", "view"].value_counts()
    return rows + [_row("views", f"no kept {view} cine", [view], ADD_VIEW)
                   for view in ANALYSIS_VIEWS if int(kept.get(view, 0)) == 0]


def cohort_rows(cohort_qc: pd.DataFrame) -> list[dict]:
    """The cohort QC steps that emptied the analysis (`results/qc/cohort.csv`)."""
    out_of = cohort_qc.groupby("step", sort=False)["n_out"].first()
    if int(out_of.get("in analysis", 1)) > 0:
        return []
    if int(out_of.get("paired", 0)) == 0:
        return [_row("cohort", "no echo study paired with a CMR", ["all models"], ADD_PAIRS)]
    steps = cohort_qc[(cohort_qc["n_excluded"] > 0) & (cohort_qc["step"] != "paired")]
    why = "; ".join(f"{r.step}: {r.n_excluded} {r.reason}" for r in steps.itertuples())
    add = ADD_ADULTS if set(steps["step"]) == {"adults"} else ADD_STUDIES
    return [_row("cohort", f"no study left in the analysis ({why or 'none labelled'})",
                 ["all models"], add)]


def split_rows(study_split: pd.DataFrame, external: bool = False) -> list[dict]:
    """A split (`results/cohort/study_split.csv`) with studies but none in train, val or test;
    none in external mode, whose all-test split is by design (`design_notes`)."""
    if study_split.empty or external:
        return []  # empty: cohort_rows says why
    counts = study_split["split"].value_counts()
    empty = [s for s in ("train", "val", "test") if int(counts.get(s, 0)) == 0]
    if not empty:
        return []
    held = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("train", "val", "test"))
    return [_row("cohort", f"no study in {' or '.join(empty)} ({held})", ["all models"],
                 ADD_SPLIT)]


def design_notes(study_split: pd.DataFrame, external: bool = False) -> list[str]:
    """What the run lacks by design, stated above the gaps: external validation's all-test
    split."""
    if not external:
        return []
    n_test = int((study_split["split"] == "test").sum()) if "split" in study_split else 0
    return [EXTERNAL_SPLIT.format(n=n_test)]


def training_rows(curves: dict[str, pd.DataFrame]) -> list[dict]:
    """Models written as not trained (`reason` in their metrics.csv), grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for name, frame in sorted(curves.items()):
        for reason in frame.get("reason", pd.Series(dtype=str)).map(_text):
            if reason:
                by_reason.setdefault(reason, []).append(name)
    return [_row("model", reason, names, ADD_TRAINING) for reason, names in by_reason.items()]


def metric_rows(metrics: pd.DataFrame, stage: str = "evaluate") -> list[dict]:
    """Metrics rows that are n/a (`reason` column of binary.csv / continuous.csv), by reason."""
    if "reason" not in metrics:
        return []
    reasons = metrics["reason"].map(_text)
    rows = []
    for reason, part in metrics[reasons != ""].groupby(reasons[reasons != ""], sort=False):
        affected = ([f"every metrics row ({len(part)})"] if len(part) == len(metrics)
                    else [f"{r.source}/{r.task}" for r in part.itertuples()])
        rows.append(_row(stage, reason, affected, _metric_advice(reason)))
    return rows


def _metric_advice(reason: str) -> str:
    """What fills a metric's gap: a bundle holding the model, both classes, or test studies."""
    if reason in (NOT_IN_BUNDLE, NO_BUNDLE_BASELINE):
        return ADD_MODEL
    return ADD_TEST_CLASSES if is_one_class(reason) else ADD_TEST


def _power_advice(verdict: str) -> str:
    """What fills a readiness gap: pairs, labels, or more studies of both classes."""
    if verdict.endswith(NOT_IN_BUNDLE):
        return ADD_MODEL
    if verdict.startswith("no paired study"):
        return ADD_PAIRS
    if verdict == "no labelled study" or verdict.startswith("too few test studies"):
        return ADD_STUDIES
    return ADD_POWER  # no positives / no negatives / too few expected test positives, negatives


def _cells(part: pd.DataFrame, readiness: pd.DataFrame) -> list[str]:
    """The view/task cells of `part`, a view named once when every one of its tasks is in it."""
    if len(part) == len(readiness):
        return [f"every view and task ({len(part)})"]
    out = []
    for view, tasks in part.groupby("view", sort=False)["task"]:
        every = len(tasks) == int((readiness["view"] == view).sum())
        out += [f"{view} (every task)"] if every else [f"{view}/{t}" for t in tasks]
    return out


def readiness_rows(readiness: pd.DataFrame) -> list[dict]:
    """The cells the readiness report (`results/readiness.csv`) finds not estimable, one row per
    verdict."""
    short = readiness[readiness["verdict"].map(_text) != ESTIMABLE]
    return [_row("readiness", verdict, _cells(part, readiness), _power_advice(verdict))
            for verdict, part in short.groupby(short["verdict"].map(_text), sort=False)]


def _computed(m: pd.Series) -> str:
    """The headline metric of a computed metrics row (AUROC; MAE and R2 for continuous)."""
    if "auroc" in m and pd.notna(m["auroc"]):
        return "AUROC " + fmt_ci(m["auroc"], m["ci_low"], m["ci_high"])
    return ", ".join(f"{label} " + fmt_ci(m[name], m[f"{name}_ci_low"], m[f"{name}_ci_high"])
                     for name, label in (("mae", "MAE"), ("r2", "R2")) if name in m)


def _estimated(m: pd.Series) -> bool:
    """Whether the row's headline estimate exists (its reason may still withhold a CI)."""
    names = ["auroc"] if "auroc" in m else ["mae", "r2"]
    return any(pd.notna(m.get(name)) for name in names)


def this_run(m: pd.Series | None) -> str:
    """What this run computed for a cell: its metric (and why a CI is n/a), `n/a: <reason>`,
    or not evaluated."""
    from echocmr.report.tables import NOT_EVALUATED

    if m is None:
        return NOT_EVALUATED
    reason = _text(m.get("reason"))
    if not reason:
        return _computed(m)
    return f"{_computed(m)} ({reason})" if _estimated(m) else f"n/a: {reason}"


def calibration_slope(c: pd.Series | None) -> str:
    """A cell's calibration slope with its CI and skipped share (results/metrics/
    calibration.csv), `n/a: <reason>`, or '' where the cell has no calibration row."""
    from echocmr.report.calibration import estimate_text

    if c is None:
        return ""
    if pd.isna(c["slope"]) and pd.isna(c["intercept"]):
        return f"n/a: {_text(c.get('reason'))}"
    return estimate_text(c, "slope")


def cell_table(readiness: pd.DataFrame, binary: pd.DataFrame, continuous: pd.DataFrame,
               calibration: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per readiness cell (view or fused, and task): its verdict and what this run computed;
    with `calibration`, also the calibration slope of every binary cell (what a model meeting
    a new site needs most, docs/external.md)."""
    by_cell = {(m["source"], m["task"]): m for frame in (binary, continuous)
               if {"source", "task"} <= set(frame.columns) for _, m in frame.iterrows()}
    rows = [{"view": r.view, "task": r.task, "readiness": _text(r.verdict),
             "this run": this_run(by_cell.get((r.view, r.task)))}
            for r in readiness.itertuples()]
    columns = list(CELL_COLUMNS)
    if calibration is not None:
        by_source = {(c["source"], c["task"]): c for _, c in calibration.iterrows()}
        for row in rows:
            row[SLOPE_COLUMN] = calibration_slope(by_source.get((row["view"], row["task"])))
        columns.append(SLOPE_COLUMN)
    return pd.DataFrame(rows, columns=columns)


def summary_table(manifest: pd.DataFrame, views: pd.DataFrame, cohort_qc: pd.DataFrame,
                  study_split: pd.DataFrame, curves: dict[str, pd.DataFrame],
                  binary: pd.DataFrame, continuous: pd.DataFrame,
                  readiness: pd.DataFrame | None = None, external: bool = False) -> pd.DataFrame:
    """One row per (stage, what was missing), in DAG order; no rows when nothing was.
    `readiness`: results/readiness.csv, whose cells that are not estimable add rows;
    `external`: external mode, whose all-test split is no gap."""
    ready = [] if readiness is None else readiness_rows(readiness)
    rows = (ingest_rows(manifest) + views_rows(views) + cohort_rows(cohort_qc)
            + split_rows(study_split, external) + ready + training_rows(curves)
            + metric_rows(pd.concat([binary, continuous])))
    return pd.DataFrame(rows, columns=COLUMNS)


def _markdown_table(frame: pd.DataFrame, head: list[str]) -> list[str]:
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(str(v) for v in row) + " |"
               for row in frame.itertuples(index=False)])


def _dropped_section(dropped: tuple[str, pd.DataFrame] | None) -> list[str]:
    """The dropped rows' counts per reason (echocmr.report.dropped_rows), below the gaps."""
    if dropped is None or dropped[1].empty:
        return []
    return ["", f"## {DROPPED_TITLE}", "", *_markdown_table(dropped[1], DROPPED_COLUMNS)]


def summary_markdown(summary: pd.DataFrame, cells: pd.DataFrame | None = None,
                     notes: list[str] = (), dropped: tuple[str, pd.DataFrame] | None = None
                     ) -> str:
    """The summary's page; `cells` (cell_table): the readiness section below the gaps;
    `notes` (design_notes): above them; `dropped`: (dropped_line, dropped_counts), the line
    right below the title (the run prints this page when it ends), the counts below the gaps."""
    lines = [f"# {TITLE}", ""] + [line for note in notes for line in (note, "")]
    if dropped is not None:
        lines += [dropped[0], ""]
    if summary.empty:
        lines.append(NOTHING_MISSING)
    else:
        lines += _markdown_table(summary, ["stage", "what was missing", "affected",
                                           "what to add"])
    lines += _dropped_section(dropped)
    if cells is not None and len(cells):
        lines += ["", f"## {CELLS_TITLE}", "", CELLS_CAPTION, "",
                  *_markdown_table(cells, list(cells.columns))]
    return "\n".join([*lines, ""])


def summary_files(manifest_csv, views_csv, cohort_qc_csv, split_csv, curve_csvs, binary_csv,
                  continuous_csv, readiness_csv, external: bool = False, calibration_csv=None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Read the stages' contract files; `curve_csvs`: the models' metrics.csv paths;
    `calibration_csv`: results/metrics/calibration.csv (optional). Returns the summary, its
    readiness cells (cell_table) and its design notes (design_notes)."""
    curves = {f"{Path(p).parent.parent.name}/{Path(p).parent.name}": pd.read_csv(p)
              for p in curve_csvs}
    binary, continuous = pd.read_csv(binary_csv), pd.read_csv(continuous_csv)
    readiness = read_or_empty(readiness_csv, READINESS_COLUMNS)
    split = pd.read_csv(split_csv)
    summary = summary_table(pd.read_csv(manifest_csv), pd.read_csv(views_csv),
                            pd.read_csv(cohort_qc_csv), split, curves, binary, continuous,
                            readiness, external)
    calibration = pd.read_csv(calibration_csv) if calibration_csv else None
    return (summary, cell_table(readiness, binary, continuous, calibration),
            design_notes(split, external))


def written_since(md, since: float) -> str:
    """The summary's text when this run wrote it (modified after `since`), else ''; what the
    workflow prints when it ends, so a pilot's run closes with what it lacked."""
    path = Path(md)
    if not path.is_file() or path.stat().st_mtime < since:
        return ""
    return f"{path.read_text().rstrip()}\n({path})\n"


def write_summary(summary: pd.DataFrame, csv, md, page=None,
                  cells: pd.DataFrame | None = None, notes: list[str] = (),
                  dropped: tuple[str, pd.DataFrame] | None = None) -> None:
    """summary.csv, summary.md and (optionally) its page for the HTML report; `cells`: the
    readiness section of the .md and the page; `notes`: the design notes (in the .md above
    the gaps, on the page in the title); `dropped`: the dropped rows (summary_markdown)."""
    from echocmr.report.tables import frame_html

    summary.to_csv(csv, index=False)
    Path(md).write_text(summary_markdown(summary, cells, notes, dropped))
    if page is not None:
        shown = summary if not summary.empty else pd.DataFrame({"summary": [NOTHING_MISSING]})
        more = [] if cells is None or cells.empty else [(cells, f"{CELLS_TITLE}. {CELLS_CAPTION}")]
        if dropped is not None:
            more.append((dropped[1], f"{dropped[0]} {DROPPED_TITLE}."))
        title = " ".join([f"{TITLE}.", *notes]) if notes else TITLE
        Path(page).write_text(frame_html(shown, title, more))


def run_summary(smk) -> None:
    """Script entry of `rule summary`: per stage, what was missing and what to add, and the
    readiness verdict of every view/task cell beside what this run computed for it
    (results/summary.md)."""
    with script_logging(smk) as log:
        summary, cells, notes = summary_files(
            smk.input.manifest,
            smk.input.views,
            smk.input.cohort_qc,
            smk.input.split,
            smk.input.curves,
            smk.input.binary,
            smk.input.continuous,
            smk.input.readiness,
            smk.params.external,
            smk.input.get("calibration"),
        )
        rejected, excluded = read_dropped(smk.input.rejected, smk.input.excluded)
        dropped = (dropped_line(rejected, excluded), dropped_counts(rejected, excluded))
        write_summary(summary, smk.output.csv, smk.output.md, smk.output.html, cells, notes,
                      dropped)
        log.info("%s", summary_markdown(summary, cells, notes, dropped))
