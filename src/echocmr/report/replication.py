"""Published numbers (config `report.published`) beside the reproduced ones, with a verdict.

Verdict per row, from the difference reproduced - published and its 95% CI (docs/results.md,
"Replication table"): each CI gives its estimate's SE as (high - low) / (2 x 1.96), the two SEs
combine as independent (different cohorts), and

- `inconsistent`: the difference's CI excludes 0;
- `consistent`: it includes 0 and lies within +/- the equivalence margin (`report.equivalence`:
  absolute on the 0-1 scale of AUROC and R2, relative to the published value otherwise);
- `inconclusive (too few test studies to tell)`: it includes 0 but reaches past the margin.

Where the paper prints no interval (R2) the published value counts as exact (SE 0); Table 1
intervals are derived (normal-theory CI of a mean, Wilson CI of a proportion). Table 1 values are
read by `key` from the cohort stage's `results/table1.csv`. On synthetic input the generator
draws the cohort from the paper's own Table 1, so those rows are labelled as such and not counted
(`counts`: False); Table 2 rows then check the planted effects, not the paper.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from echocmr.logutil import script_logging
from echocmr.report import style
from echocmr.report.tables import SOURCES, VIDEO_LABELS

plt = style.plt
COLUMNS = ["group", "item", "verdict", "counts", "published", "published_ci_low",
           "published_ci_high", "reproduced", "reproduced_ci_low", "reproduced_ci_high",
           "difference", "difference_ci_low", "difference_ci_high", "margin", "decimals"]
Z95 = 1.959963984540054
TASK_LABELS = {"wma": "WMA", "lge": "Scar", "t1_abnormal": "Abnormal T1",
               "t2_abnormal": "Abnormal T2", "ecv_abnormal": "Abnormal ECV",
               "t1": "T1", "t2": "T2", "ecv": "ECV"}
CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"
INCONCLUSIVE = "inconclusive (too few test studies to tell)"
INCONCLUSIVE_TABLE1 = "inconclusive (too few patients to tell)"
SYNTHETIC = "not counted: synthetic input drawn from the paper's Table 1"
NO_INTERVAL = "no interval to compare"
COUNTED = (CONSISTENT, INCONSISTENT, INCONCLUSIVE, INCONCLUSIVE_TABLE1)
EQUIVALENCE = {"auroc": 0.05, "relative": 0.10}  # schema defaults of report.equivalence


def _f(x) -> float:
    return float("nan") if x is None else float(x)


def se_from_ci(low: float, high: float) -> float:
    """SE of an estimate from its two-sided 95% CI (0 when there is none: taken as exact)."""
    low, high = _f(low), _f(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return 0.0
    return (high - low) / (2.0 * Z95)


def difference(pub: tuple, rep: tuple) -> tuple[float, float, float]:
    """Reproduced - published with its 95% CI, the two estimates independent."""
    diff = _f(rep[0]) - _f(pub[0])
    half = Z95 * math.hypot(se_from_ci(pub[1], pub[2]), se_from_ci(rep[1], rep[2]))
    return diff, diff - half, diff + half


def verdict(pub: tuple, rep: tuple, margin: float, reason: str = "",
            inconclusive: str = INCONCLUSIVE) -> str:
    """The documented rule for published vs reproduced (estimate, low, high); `reason`: why the
    reproduced estimate is missing, when the metrics say (`n/a: <reason>`)."""
    if not math.isfinite(_f(rep[0])):
        return f"n/a: {reason}" if reason else "not reproduced (no estimate)"
    if not (math.isfinite(_f(rep[1])) and math.isfinite(_f(rep[2]))):
        return NO_INTERVAL
    _, low, high = difference(pub, rep)
    if low > 0 or high < 0:
        return INCONSISTENT
    if -margin <= low and high <= margin:
        return CONSISTENT
    return inconclusive


def decimals(*values) -> int:
    """Decimal places the paper prints (as the config spells its numbers; at most 3)."""
    places = [len(repr(float(v)).split(".")[1].rstrip("0")) for v in values
              if v is not None and math.isfinite(float(v))]
    return min(max(places, default=0), 3)


def _row(group, item, pub, rep, margin: float, places: int, reason: str = "",
         synthetic: bool = False) -> dict:
    inconclusive = INCONCLUSIVE_TABLE1 if group == "table1" else INCONCLUSIVE
    text = verdict(pub, rep, margin, reason, inconclusive)
    has_interval = math.isfinite(_f(rep[0])) and text != NO_INTERVAL
    if synthetic and math.isfinite(_f(rep[0])):
        text = SYNTHETIC
    diff = difference(pub, rep) if has_interval else (float("nan"),) * 3
    return {"group": group, "item": item, "verdict": text, "counts": text in COUNTED,
            "published": _f(pub[0]), "published_ci_low": _f(pub[1]),
            "published_ci_high": _f(pub[2]), "reproduced": _f(rep[0]),
            "reproduced_ci_low": _f(rep[1]), "reproduced_ci_high": _f(rep[2]),
            "difference": diff[0], "difference_ci_low": diff[1], "difference_ci_high": diff[2],
            "margin": margin, "decimals": places}


def metrics_reason(metrics: pd.DataFrame, key: tuple[str, str]) -> str:
    """The evaluate stage's `reason` for a (source, task) metrics row ('' when none)."""
    if key not in metrics.index:
        return "not evaluated (no metrics row)"
    reason = metrics.loc[key].get("reason", "")
    return reason if isinstance(reason, str) else ""


def table2_rows(published: dict, binary: pd.DataFrame, equivalence: dict) -> list[dict]:
    rows = []
    metrics = binary.set_index(["source", "task"])
    for task, by_source in published.items():
        for source in SOURCES:
            if source not in by_source:
                continue
            rep = ((metrics.loc[(source, task), "auroc"], metrics.loc[(source, task), "ci_low"],
                    metrics.loc[(source, task), "ci_high"]) if (source, task) in metrics.index
                   else (None, None, None))
            item = f"AUROC {TASK_LABELS.get(task, task)}, {VIDEO_LABELS[source]}"
            pub = by_source[source]
            rows.append(_row("table2", item, pub, rep, equivalence["auroc"], decimals(*pub),
                             metrics_reason(metrics, (source, task))))
    return rows


def continuous_rows(published: dict, continuous: pd.DataFrame, equivalence: dict) -> list[dict]:
    rows = []
    metrics = continuous.set_index(["source", "task"])
    for task, stats in published.items():
        for stat, pub in stats.items():
            key = ("fused", task)
            rep = ((metrics.loc[key, stat], metrics.loc[key, f"{stat}_ci_low"],
                    metrics.loc[key, f"{stat}_ci_high"]) if key in metrics.index
                   else (None, None, None))
            label = "R\u00b2" if stat == "r2" else stat.upper()
            margin = (equivalence["auroc"] if stat == "r2"  # R2 shares AUROC's 0-1 scale
                      else equivalence["relative"] * abs(_f(pub[0])))
            rows.append(_row("continuous", f"{label} {TASK_LABELS.get(task, task)}, global",
                             pub, rep, margin, decimals(*pub), metrics_reason(metrics, key)))
    return rows


# --- Table 1 ---------------------------------------------------------------------------------


def mean_ci(mean: float, sd: float, n: float) -> tuple[float, float, float]:
    """Mean with its normal-theory 95% interval, mean +/- 1.96 SD / sqrt(N)."""
    if not (n and n > 0 and math.isfinite(sd)):
        return mean, float("nan"), float("nan")
    half = Z95 * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def wilson_ci(count: float, n: float) -> tuple[float, float, float]:
    """Proportion (in %) with its Wilson 95% interval."""
    if not n or n <= 0:
        return float("nan"), float("nan"), float("nan")
    p = count / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return 100 * p, 100 * (centre - half), 100 * (centre + half)


def published_table1(item: dict) -> tuple[float, float, float]:
    if item["kind"] == "mean":
        return mean_ci(item["mean"], item["sd"], item["n"])
    return wilson_ci(item["count"], item["n"])


def reproduced_table1(item: dict, table1: pd.DataFrame | None) -> tuple[float, float, float]:
    """From the cohort stage's machine-readable Table 1 (key, estimate, sd, n, N columns)."""
    none = (None, None, None)
    if table1 is None or "key" not in table1.columns:
        return none
    hit = table1[table1["key"] == item["key"]]
    if hit.empty:
        return none
    row = hit.iloc[0]
    if item["kind"] == "mean":
        if not math.isfinite(_f(row["estimate"])):
            return none
        return mean_ci(float(row["estimate"]), _f(row["sd"]), _f(row["n"]))
    if pd.isna(row["n"]) or pd.isna(row["N"]):
        return none
    return wilson_ci(float(row["n"]), float(row["N"]))


def table1_rows(published: list[dict], table1: pd.DataFrame | None, equivalence: dict,
                synthetic: bool = False) -> list[dict]:
    """`synthetic`: the generator drew the cohort from these very numbers (not a replication)."""
    rows = []
    for item in published:
        unit = "" if item["kind"] == "mean" else " (%)"
        pub = published_table1(item)
        places = max(decimals(item["mean"]), 1) if item["kind"] == "mean" else 1
        rows.append(_row("table1", f"{item['label']}{unit}", pub,
                         reproduced_table1(item, table1),
                         equivalence["relative"] * abs(pub[0]), places, synthetic=synthetic))
    return rows


def replication_table(published: dict, binary: pd.DataFrame, continuous: pd.DataFrame,
                      table1: pd.DataFrame | None, equivalence: dict | None = None,
                      synthetic: bool = False) -> pd.DataFrame:
    equivalence = {**EQUIVALENCE, **(equivalence or {})}
    rows = (table2_rows(published.get("table2", {}), binary, equivalence)
            + continuous_rows(published.get("continuous", {}), continuous, equivalence)
            + table1_rows(published.get("table1", []), table1, equivalence, synthetic))
    return pd.DataFrame(rows, columns=COLUMNS)


# --- the report's page: rounded as the paper prints, verdict first -----------------------------

DISPLAY_COLUMNS = ["Verdict", "Item", "Published (95% CI)", "Reproduced (95% CI)",
                   "Difference (95% CI)"]


def _ci_text(estimate, low, high, places: int) -> str:
    if not math.isfinite(_f(estimate)):
        return "n/a"
    text = f"{estimate:.{places}f}"
    if math.isfinite(_f(low)) and math.isfinite(_f(high)):
        text += f" ({low:.{places}f} to {high:.{places}f})"
    return text


def replication_display(table: pd.DataFrame) -> pd.DataFrame:
    """The replication table for reading: verdict first, short item names, each number rounded
    to the decimals the paper prints for it."""
    rows = []
    for r in table.itertuples():
        places = int(r.decimals)
        rows.append([
            r.verdict,
            r.item.replace(VIDEO_LABELS["fused"], "three-view fusion"),
            _ci_text(r.published, r.published_ci_low, r.published_ci_high, places),
            _ci_text(r.reproduced, r.reproduced_ci_low, r.reproduced_ci_high, places),
            _ci_text(r.difference, r.difference_ci_low, r.difference_ci_high, places),
        ])
    return pd.DataFrame(rows, columns=DISPLAY_COLUMNS)


def verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """How many rows got each verdict, the rows that count as replication first."""
    counts = table.groupby(["counts", "verdict"], sort=False).size().reset_index(name="rows")
    counts = counts.sort_values("counts", ascending=False, kind="stable")
    return pd.DataFrame({"Verdict": counts["verdict"], "Rows": counts["rows"],
                         "Counted as replication": counts["counts"].map({True: "yes",
                                                                         False: "no"})})


VERDICT_COLOURS = {CONSISTENT: "#2ca02c", INCONSISTENT: "#d62728", INCONCLUSIVE: "#ff7f0e",
                   INCONCLUSIVE_TABLE1: "#ff7f0e"}
LEGEND = [("#2ca02c", "consistent"), ("#d62728", "inconsistent"), ("#ff7f0e", "inconclusive"),
          ("0.75", "not counted (synthetic input) or no interval")]


def _verdict_colour(verdict_text: str) -> str:
    return VERDICT_COLOURS.get(verdict_text, "0.75")


def replication_figure(table: pd.DataFrame, png: str, pdf: str | None = None) -> None:
    """Forest plot: AUROC and R2 on their 0-1 scale (left); MAE and Table 1 rows relative to
    the published value (right), so quantities with different units share one axis."""
    style.apply()
    unit_scale = (table["group"] == "table2") | table["item"].str.startswith("R\u00b2")
    auc = table[unit_scale]
    other = table[~unit_scale]
    reasons = na_reasons(table)
    note = 0.25 if reasons else 0.0  # inches for the line saying why rows read n/a
    height = 0.6 + note + 0.16 * max(len(auc), len(other), 1)
    fig, axes = plt.subplots(1, 2, figsize=(style.DOUBLE_COLUMN, height))
    _forest(axes[0], auc, relative=False)
    axes[0].set_xlabel("AUROC or R\u00b2 (95% CI)")
    axes[0].axvline(0.5, lw=0.5, color="0.7", ls=":")
    _forest(axes[1], other, relative=True)
    axes[1].set_xlabel("Difference from published value (%)")
    axes[1].axvline(0.0, lw=0.5, color="0.7", ls=":")
    handles = [plt.Line2D([], [], color="0.55", marker="s", ms=3, lw=1, label="Published"),
               *(plt.Line2D([], [], color=colour, marker="o", ms=3, lw=1, label=label)
                 for colour, label in LEGEND)]
    fig.legend(handles=handles, loc="upper center", ncol=5, frameon=False, fontsize=5.5,
               bbox_to_anchor=(0.5, 1.0))
    if reasons:  # why rows read n/a (the metrics' reasons), once each
        fig.text(0.01, 0.005, "n/a: " + "; ".join(reasons), fontsize=5, color="0.3",
                 va="bottom", wrap=True)
    fig.tight_layout(rect=(0, note / height, 1, 1 - 0.3 / height), w_pad=1.0)
    style.save(fig, png, pdf)


def na_reasons(table: pd.DataFrame) -> list[str]:
    """The distinct reasons of the `n/a: <reason>` verdicts, in table order."""
    verdicts = table["verdict"].astype(str)
    return list(dict.fromkeys(v.removeprefix("n/a: ") for v in verdicts if v.startswith("n/a: ")))


def _forest(ax, rows: pd.DataFrame, relative: bool) -> None:
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if rows.empty:
        ax.set_yticks([])
        return
    y = np.arange(len(rows))[::-1].astype(float)
    for yi, r in zip(y, rows.itertuples()):
        scale = (100.0 / r.published) if relative and r.published else 1.0
        shift = 100.0 if relative else 0.0
        pub = np.array([r.published, r.published_ci_low, r.published_ci_high]) * scale - shift
        rep = np.array([r.reproduced, r.reproduced_ci_low, r.reproduced_ci_high]) * scale - shift
        ax.plot(pub[1:], [yi + 0.17] * 2, color="0.55", lw=1)
        ax.plot(pub[0], yi + 0.17, "s", color="0.55", ms=2.5)
        colour = _verdict_colour(r.verdict)
        if not np.isfinite(rep[0]):  # no reproduced estimate: say so on the row
            ax.annotate("n/a", xy=(pub[0], yi - 0.17), fontsize=5, color="0.4", ha="center",
                        va="center")
            continue
        ax.plot(rep[1:], [yi - 0.17] * 2, color=colour, lw=1)
        ax.plot(rep[0], yi - 0.17, "o", color=colour, ms=2.5)
    ax.set_yticks(y)
    labels = rows["item"].str.replace("Logistic regression using three views", "three-view fusion")
    ax.set_yticklabels(labels, fontsize=5.5)
    ax.set_ylim(-0.7, len(rows) - 0.3)


def run_replication(smk) -> None:
    """Script entry of `rule replication`: published vs reproduced numbers with both CIs and a
    verdict, as a table and a figure."""
    with script_logging(smk) as log:
        table = replication_table(
            smk.params.published,
            pd.read_csv(smk.input.binary),
            pd.read_csv(smk.input.continuous),
            pd.read_csv(smk.input.table1),
            equivalence=dict(smk.params.equivalence),
            synthetic=smk.params.synthetic,
        )
        table.to_csv(smk.output.csv, index=False, float_format="%.6g")
        replication_figure(table, smk.output.png)
        log.info("%d rows; verdicts: %s", len(table), table["verdict"].value_counts().to_dict())
