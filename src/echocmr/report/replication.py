"""Published numbers (config `report.published`) beside the reproduced ones, with a verdict.

On the synthetic export this reads as a check of the planted effects; on a site's data it is the
replication. Verdict per row: the two 95% CIs overlap or not. Where the paper gives no interval
(R2, Table 1 summaries) the published interval is derived when possible (Table 1: normal-theory
CI of a mean, Wilson CI of a proportion) and otherwise the published point is tested against the
reproduced interval. Table 1 values are read by `key` from the cohort stage's machine-readable
`results/table1.csv` (estimate, sd, n, N).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from echocmr.logutil import script_logging
from echocmr.report import style
from echocmr.report.tables import SOURCES, VIDEO_LABELS

plt = style.plt
COLUMNS = ["group", "item", "published", "published_ci_low", "published_ci_high", "reproduced",
           "reproduced_ci_low", "reproduced_ci_high", "overlap", "verdict"]
Z95 = 1.959963984540054
TASK_LABELS = {"wma": "WMA", "lge": "Scar", "t1_abnormal": "Abnormal T1",
               "t2_abnormal": "Abnormal T2", "ecv_abnormal": "Abnormal ECV",
               "t1": "T1", "t2": "T2", "ecv": "ECV"}


def _f(x) -> float:
    return float("nan") if x is None else float(x)


def verdict(pub: tuple[float, float, float], rep: tuple[float, float, float],
            reason: str = "") -> tuple[object, str]:
    """(overlap flag or None, verdict text) for published vs reproduced (estimate, low, high);
    `reason`: why the reproduced estimate is missing, when the metrics say (`n/a: <reason>`)."""
    p, pl, ph = (_f(v) for v in pub)
    r, rl, rh = (_f(v) for v in rep)
    if not math.isfinite(r):
        return None, f"n/a: {reason}" if reason else "not reproduced (no estimate)"
    if math.isfinite(pl) and math.isfinite(ph) and math.isfinite(rl) and math.isfinite(rh):
        overlap = bool(rl <= ph and pl <= rh)
        return overlap, "CIs overlap" if overlap else "CIs do not overlap"
    if math.isfinite(rl) and math.isfinite(rh):
        inside = bool(rl <= p <= rh)
        return inside, ("published value inside reproduced CI" if inside
                        else "published value outside reproduced CI")
    if math.isfinite(pl) and math.isfinite(ph):
        inside = bool(pl <= r <= ph)
        return inside, ("reproduced value inside published CI" if inside
                        else "reproduced value outside published CI")
    return None, "no interval to compare"


def _row(group, item, pub, rep, reason: str = "") -> dict:
    overlap, text = verdict(pub, rep, reason)
    return {"group": group, "item": item, "published": _f(pub[0]),
            "published_ci_low": _f(pub[1]), "published_ci_high": _f(pub[2]),
            "reproduced": _f(rep[0]), "reproduced_ci_low": _f(rep[1]),
            "reproduced_ci_high": _f(rep[2]), "overlap": overlap, "verdict": text}


def metrics_reason(metrics: pd.DataFrame, key: tuple[str, str]) -> str:
    """The evaluate stage's `reason` for a (source, task) metrics row ('' when none)."""
    if key not in metrics.index:
        return "not evaluated (no metrics row)"
    reason = metrics.loc[key].get("reason", "")
    return reason if isinstance(reason, str) else ""


def table2_rows(published: dict, binary: pd.DataFrame) -> list[dict]:
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
            rows.append(_row("table2", item, by_source[source], rep,
                             metrics_reason(metrics, (source, task))))
    return rows


def continuous_rows(published: dict, continuous: pd.DataFrame) -> list[dict]:
    rows = []
    metrics = continuous.set_index(["source", "task"])
    for task, stats in published.items():
        for stat, pub in stats.items():
            key = ("fused", task)
            rep = ((metrics.loc[key, stat], metrics.loc[key, f"{stat}_ci_low"],
                    metrics.loc[key, f"{stat}_ci_high"]) if key in metrics.index
                   else (None, None, None))
            label = "R\u00b2" if stat == "r2" else stat.upper()
            rows.append(_row("continuous", f"{label} {TASK_LABELS.get(task, task)}, global",
                             pub, rep, metrics_reason(metrics, key)))
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


def table1_rows(published: list[dict], table1: pd.DataFrame | None) -> list[dict]:
    rows = []
    for item in published:
        unit = "" if item["kind"] == "mean" else " (%)"
        rows.append(_row("table1", f"{item['label']}{unit}", published_table1(item),
                         reproduced_table1(item, table1)))
    return rows


def replication_table(published: dict, binary: pd.DataFrame, continuous: pd.DataFrame,
                      table1: pd.DataFrame | None) -> pd.DataFrame:
    rows = (table2_rows(published.get("table2", {}), binary)
            + continuous_rows(published.get("continuous", {}), continuous)
            + table1_rows(published.get("table1", []), table1))
    return pd.DataFrame(rows, columns=COLUMNS)


def _verdict_colour(overlap) -> str:
    return "#2ca02c" if overlap is True else ("#d62728" if overlap is False else "0.5")


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
               plt.Line2D([], [], color="#2ca02c", marker="o", ms=3, lw=1,
                          label="Reproduced: CIs overlap"),
               plt.Line2D([], [], color="#d62728", marker="o", ms=3, lw=1,
                          label="Reproduced: no overlap")]
    fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False, fontsize=6,
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
        colour = _verdict_colour(r.overlap)
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
        )
        table.to_csv(smk.output.csv, index=False, float_format="%.6g")
        replication_figure(table, smk.output.png)
        log.info("%d rows; verdicts: %s", len(table), table["verdict"].value_counts().to_dict())
