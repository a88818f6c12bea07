"""Table 2 of the paper (AUROC, 95% CI, per CMR parameter and echo view): CSV, Markdown, HTML."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from echocmr.logutil import script_logging
from echocmr.report.style import data_banner, fmt_ci
from echocmr.vocab.fusion import BUNDLE_MEAN_METHOD, MEAN_METHOD, method_counts
from echocmr.vocab.tasks import VIEW_SPECIFIC
from echocmr.vocab.views import ANALYSIS_VIEWS

VIDEO_LABELS = {"A4C": "A4c view", "A2C": "A2c view", "PLAX": "PLAX view",
                "fused": "Logistic regression using three views"}
SOURCES = (*ANALYSIS_VIEWS, "fused")

# (section, task, parameter label per source) in the paper's row order.
TABLE2_LAYOUT = [
    ("Wall motion abnormalities", "wma",
     {"A4C": "WMA in A4c region", "A2C": "WMA in A2c region", "PLAX": "WMA in PLAX region",
      "fused": "Global WMA"}),
    ("Myocardial scar", "lge",
     {"A4C": "Scar in A4c region", "A2C": "Scar in A2c region", "PLAX": "Scar in PLAX region",
      "fused": "Global scar"}),
    ("Relaxometry parameters", "t1_abnormal", dict.fromkeys(SOURCES, "Native T1 value (ms)")),
    ("Relaxometry parameters", "t2_abnormal", dict.fromkeys(SOURCES, "T2 value (ms)")),
    ("Relaxometry parameters", "ecv_abnormal", dict.fromkeys(SOURCES, "ECV fraction (%)")),
]
TABLE2_COLUMNS = ["section", "parameter", "video", "task", "source", "n", "n_pos", "auroc",
                  "ci_low", "ci_high", "auroc_95ci", "fusion_method", "note", "reason"]
NOT_EVALUATED = "not evaluated (no metrics row)"
MEAN_LABEL = "Mean of available views (regression not fitted)"
BUNDLE_MEAN_LABEL = "Mean of available views (no regression in the bundle)"
# Why a fused study got the mean of its views: the training run could not fit its pattern, or
# the bundle has no regression for it (a released-weights bundle has none at all).
MEAN_CAUSES = {
    MEAN_METHOD: "too few validation studies with their view pattern to fit the regression",
    BUNDLE_MEAN_METHOD: "no fusion regression for their view pattern in the bundle",
}
FALLBACK_MARK = "\u2020"  # dagger: the fused row is not (only) the fitted regression


def _mean_parts(method: str, n_mean: int, n: int) -> list[str]:
    """One footnote clause per cause of the mean-of-views studies (training-run cause when
    `fusion_method` does not name one)."""
    counts = {m: k for m, k in method_counts(method).items() if m in MEAN_CAUSES and k}
    if not counts:
        counts = {MEAN_METHOD: n_mean}
    return [f"{k} of {n} test studies scored by the mean of their available views "
            f"({MEAN_CAUSES[m]})" for m, k in counts.items()]


def _fusion_note(m, n: int) -> tuple[str, str, str]:
    """(video label, fusion_method, footnote) for a fused metrics row: the usual label, daggered
    when some studies were not scored by the fitted regression, replaced when none was."""
    label = VIDEO_LABELS["fused"]
    method = "" if m is None or pd.isna(m.get("fusion_method", np.nan)) else str(
        m["fusion_method"])
    n_mean = m.get("n_mean_of_views", np.nan) if m is not None else np.nan
    n_mean = 0 if pd.isna(n_mean) else int(n_mean)
    fallback_fit = "fallback" in method
    if n_mean == 0 and not fallback_fit:
        return label, method, ""
    parts = _mean_parts(method, n_mean, n) if n_mean else []
    if fallback_fit:
        parts.append("the unpenalised regression fell back to L2 for some view patterns")
    if n and n_mean >= n:
        only_bundle = method_counts(method).get(BUNDLE_MEAN_METHOD, 0) >= n
        label = BUNDLE_MEAN_LABEL if only_bundle else MEAN_LABEL
    return f"{label} {FALLBACK_MARK}", method, "; ".join(parts)


def na_reason(m) -> str:
    """Why a metrics row has no AUROC or no CI ('' when it has both): its `reason` (for a CI,
    more than 1% of the resamples held one class), or that no row exists."""
    if m is None:
        return NOT_EVALUATED
    reason = m.get("reason", "")
    if np.isfinite(float(m["auroc"])):
        withheld = not np.isfinite(float(m["ci_low"]))
        return str(reason) if withheld and isinstance(reason, str) else ""
    return str(reason) if isinstance(reason, str) and reason else "AUROC undefined"


def table2(binary: pd.DataFrame) -> pd.DataFrame:
    """20 rows (5 parameters x 3 views + three-view fusion) from `results/metrics/binary.csv`.

    A (source, task) with no metrics row still gets its row, with empty numbers, so the table
    keeps the paper's structure whatever the data hold. A fused row whose test studies were not
    all scored by the fitted regression (`n_mean_of_views` > 0, or an L2 fallback) carries a
    dagger and a `note` with the cause; when every study got the mean of its views the row is
    labelled so (and, when the bundle had no regression for any of them, says that).
    """
    metrics = binary.set_index(["source", "task"])
    rows = []
    for section, task, parameters in TABLE2_LAYOUT:
        for source in SOURCES:
            m = metrics.loc[(source, task)] if (source, task) in metrics.index else None

            def get(k, m=m):
                return float(m[k]) if m is not None else float("nan")

            n = int(m["n"]) if m is not None else 0
            video, method, note = VIDEO_LABELS[source], "", ""
            if source == "fused":
                video, method, note = _fusion_note(m, n)
            rows.append({
                "section": section, "parameter": parameters[source],
                "video": video, "task": task, "source": source,
                "n": n,
                "n_pos": int(m["n_pos"]) if m is not None else 0,
                "auroc": get("auroc"), "ci_low": get("ci_low"), "ci_high": get("ci_high"),
                "auroc_95ci": fmt_ci(get("auroc"), get("ci_low"), get("ci_high")),
                "fusion_method": method, "note": note, "reason": na_reason(m),
            })
    return pd.DataFrame(rows, columns=TABLE2_COLUMNS)


def _display_rows(table: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(kind, parameter, video, auroc) with a section heading before each section, as printed."""
    out, section, parameter = [], None, None
    for r in table.itertuples():
        if r.section != section:
            section, parameter = r.section, None
            out.append(("section", r.section, "", ""))
        shown = r.parameter if r.parameter != parameter and r.source != "fused" else ""
        parameter = r.parameter
        reason = getattr(r, "reason", "")
        value = f"{r.auroc_95ci}: {reason}" if isinstance(reason, str) and reason else r.auroc_95ci
        out.append(("row", shown, r.video, f"{value} [n={r.n}, {r.n_pos} pos.]"))
    return out


TITLE = ("Table 2: Diagnostic accuracy of deep learning for predicting wall motion abnormalities, "
         "myocardial scar, and abnormal tissue composition by echocardiographic view "
         "(held-out test set; AUROC with 95% bootstrap CI)")


def footnotes(table: pd.DataFrame) -> list[str]:
    """One line per fused row that is not (only) the fitted regression."""
    notes = table[table["note"].fillna("") != ""] if "note" in table else table.iloc[:0]
    return [f"{FALLBACK_MARK} {r.parameter}: {r.note}." for r in notes.itertuples()]


def table2_markdown(table: pd.DataFrame, banner: str | None = None) -> str:
    """Table 2 in Markdown; a run on the synthetic export says so above it (`banner`)."""
    lines = [f"> **{banner}**", ""] if banner else []
    lines += [f"**{TITLE}**", "", "| CMR parameter | Video | AUROC (95% CI) |", "|---|---|---|"]
    for kind, parameter, video, value in _display_rows(table):
        if kind == "section":
            lines.append(f"| **{parameter}** | | |")
        else:
            lines.append(f"| {parameter} | {video} | {value} |")
    notes = footnotes(table)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def table2_html(table: pd.DataFrame, banner: str | None = None) -> str:
    body = []
    for kind, parameter, video, value in _display_rows(table):
        if kind == "section":
            body.append(f'<tr class="section"><th colspan="3">{html.escape(parameter)}</th></tr>')
        else:
            body.append(f"<tr><td>{html.escape(parameter)}</td><td>{html.escape(video)}</td>"
                        f"<td>{html.escape(value)}</td></tr>")
    notes = footnotes(table)
    if notes:
        body.append('<tr class="notes"><td colspan="3">'
                    + "<br>".join(html.escape(n) for n in notes) + "</td></tr>")
    page = HTML_PAGE.format(title=html.escape(TITLE), header="<tr><th>CMR parameter</th>"
                            "<th>Video</th><th>AUROC (95% CI)</th></tr>", body="\n".join(body))
    if banner:  # above the table, white on red as on the figures
        page = page.replace("<body>", f'<body><p class="banner">{html.escape(banner)}</p>', 1)
    return page


HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 13px; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 3px 10px; text-align: left; border-bottom: 1px solid #ddd; }}
tr.section th {{ background: #f2f2f2; }}
caption {{ caption-side: top; font-weight: bold; text-align: left; padding-bottom: 6px; }}
p.banner {{ background: #b03a2e; color: white; font-weight: bold; padding: 4px 10px;
            display: inline-block; }}
</style></head>
<body><table><caption>{title}</caption>
<thead>{header}</thead>
<tbody>
{body}
</tbody></table></body></html>
"""


SOURCE_LABELS = {**VIDEO_LABELS, "baseline": "Clinical baseline (echo LVEF, age, sex)"}
TASK_LABELS = {task: section if task in VIEW_SPECIFIC else parameters["fused"]
               for section, task, parameters in TABLE2_LAYOUT}
TASK_LABELS.update({"t1_abnormal": "Native T1 >= threshold", "t2_abnormal": "T2 >= threshold",
                    "ecv_abnormal": "ECV >= threshold"})


def _pct_ci(estimate: float, low: float, high: float) -> str:
    if not np.isfinite(estimate):
        return "n/a"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{100 * estimate:.1f}%"
    return f"{100 * estimate:.1f}% ({100 * low:.1f}\u2013{100 * high:.1f})"


def operating_points_display(frame: pd.DataFrame) -> pd.DataFrame:
    """operating_points.csv as clinicians read it: percentages with 95% CIs, counts, and why a
    measure reads n/a (the `reason` column; empty when all were computed)."""
    rows = []
    for r in frame.to_dict("records"):
        rows.append({
            "Finding": TASK_LABELS.get(r["task"], r["task"]),
            "Model": SOURCE_LABELS.get(r["source"], r["source"]),
            "Threshold (validation Youden)": ("n/a" if pd.isna(r["threshold"])
                                              else f"{r['threshold']:.3g}"),
            "Test studies (positive)": f"{r['n']} ({r['n_pos']})",
            "TP / FP / TN / FN": ("n/a" if pd.isna(r["tp"]) else
                                  f"{int(r['tp'])} / {int(r['fp'])} / {int(r['tn'])} / "
                                  f"{int(r['fn'])}"),
            **{label: _pct_ci(float(r[m]), float(r[f"{m}_ci_low"]), float(r[f"{m}_ci_high"]))
               for m, label in (("sensitivity", "Sensitivity (95% CI)"),
                                ("specificity", "Specificity (95% CI)"),
                                ("ppv", "PPV (95% CI)"), ("npv", "NPV (95% CI)"))},
            "Why n/a": _text(r.get("reason")),
        })
    return pd.DataFrame(rows)


def _text(value) -> str:
    """A CSV cell as text: '' for an empty (NaN) cell."""
    return value if isinstance(value, str) else ""


TABLE_HTML = """<br><table><caption>{title}</caption>
<thead>{header}</thead>
<tbody>
{body}
</tbody></table>"""


def _frame_parts(frame: pd.DataFrame) -> dict[str, str]:
    header = "<tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns) + "</tr>"
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in row)
        + "</tr>" for row in frame.itertuples(index=False))
    return {"header": header, "body": body}


def frame_html(frame: pd.DataFrame, title: str, more=()) -> str:
    """A plain standalone HTML page for any table (report assets); `more`: further
    (frame, title) tables on the same page, below the first."""
    page = HTML_PAGE.format(title=html.escape(title), **_frame_parts(frame))
    extra = "".join(TABLE_HTML.format(title=html.escape(t), **_frame_parts(f)) for f, t in more)
    return page.replace("</body>", f"{extra}</body>") if extra else page


def run_table2(smk) -> None:
    """Script entry of `rule table2`: AUROC (95% CI) per CMR parameter and echo view, as CSV,
    Markdown and HTML."""
    with script_logging(smk):
        table = table2(pd.read_csv(smk.input.binary))
        table.to_csv(smk.output.csv, index=False, float_format="%.6f")
        banner = data_banner(smk.params.synthetic)
        with open(smk.output.md, "w") as handle:
            handle.write(table2_markdown(table, banner))
        with open(smk.output.html, "w") as handle:
            handle.write(table2_html(table, banner))
