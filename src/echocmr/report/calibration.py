"""Reliability plot: one panel per binary task, the fused model's binned predicted probability
against the observed rate, with its calibration intercept and slope (95% CI) in the panel and,
beside each CI, the share of bootstrap resamples without a fit (a CI needs at most 1%)."""

from __future__ import annotations

import math

import pandas as pd

from echocmr.logutil import script_logging
from echocmr.report import style
from echocmr.stats.calibration import reliability_bins
from echocmr.stats.evaluate import read_predictions

LABELS = {"wma": "Wall motion", "lge": "Scar (LGE)", "t1_abnormal": "Native T1",
          "t2_abnormal": "T2", "ecv_abnormal": "ECV"}


def _reason_for(row: pd.Series, name: str) -> str:
    """The part of the row's reason about `name` (`slope n/a: ...`), else the whole reason."""
    reason = row.get("reason", "")
    reason = reason if isinstance(reason, str) else ""
    parts = [p for p in reason.split("; ") if p.startswith(f"{name} n/a")]
    return parts[0] if parts else reason


def skipped_share(row: pd.Series, name: str) -> str:
    """'0.2% skipped': the resamples without a fit of `name` (per parameter; older tables: the
    row's n_skipped)."""
    skipped = row.get(f"{name}_n_skipped", row.get("n_skipped"))
    total = row.get("n_resamples")
    if skipped is None or not total or pd.isna(skipped):
        return ""
    return f"{float(skipped) / float(total):.1%} skipped"


def estimate_text(row: pd.Series, name: str, digits: int = 2) -> str:
    """'0.58 (0.31-0.92; 0.2% skipped)', '0.58 (CI n/a: 3.1% skipped)' under the 1% rule, or
    'n/a: <why>' when the fit itself is n/a."""
    value = row[name]
    if pd.isna(value):
        why = _reason_for(row, name)
        return f"n/a: {why.removeprefix(f'{name} n/a: ')}" if why else "n/a"
    share = skipped_share(row, name)
    if pd.notna(row[f"{name}_ci_low"]) and pd.notna(row[f"{name}_ci_high"]):
        text = style.fmt_ci(value, row[f"{name}_ci_low"], row[f"{name}_ci_high"], digits)
        return f"{text[:-1]}; {share})" if share else text
    return f"{value:.{digits}f} (CI n/a: {share})" if share else f"{value:.{digits}f}"


def panel_text(row: pd.Series) -> str:
    """Intercept and slope with their CIs and skipped shares, or n/a with the row's reason."""
    reason = row.get("reason", "")
    if math.isnan(row["slope"]) and math.isnan(row["intercept"]):
        return f"n/a: {reason}" if isinstance(reason, str) and reason else ""
    return "\n".join(f"{name} {estimate_text(row, name)}" for name in ("intercept", "slope"))


def reliability_figure(fused: dict[str, str], table: pd.DataFrame, png: str, pdf: str,
                       banner: str | None = None) -> None:
    import matplotlib.pyplot as plt

    style.apply()
    tasks = list(fused)
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.0 * len(tasks), 3.2), squeeze=False)
    rows = table[table["source"] == "fused"].set_index("task")
    for ax, task in zip(axes[0], tasks, strict=True):
        bins = reliability_bins(read_predictions(fused[task]))
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
        if len(bins):
            ax.plot(bins["mean_predicted"], bins["observed_rate"], "o-", ms=3)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Predicted probability", title=LABELS[task])
        if task in rows.index:
            ax.text(0.03, 0.97, panel_text(rows.loc[task]), transform=ax.transAxes, va="top",
                    fontsize=7, wrap=True)
    axes[0][0].set_ylabel("Observed rate")
    fig.tight_layout()
    style.save(fig, png, pdf, banner)



def run_calibration(smk) -> None:
    """Script entry of `rule calibration`: calibration intercept and slope with bootstrap CIs
    (every binary source) and a reliability plot of the fused model per task."""
    from echocmr.stats.calibration import calibration_table

    with script_logging(smk) as log:
        tables = {tuple(k.split("__")): v for k, v in smk.input.items()}
        table = calibration_table(tables, n_boot=smk.params.n_bootstrap,
                                  unit=smk.params.unit, seed=smk.params.seed)
        table.to_csv(smk.output.csv, index=False, float_format="%.6g")
        fused = {task: path for (source, task), path in tables.items() if source == "fused"}
        reliability_figure(fused, table, smk.output.png, smk.output.pdf,
                           style.data_banner(smk.params.synthetic))
        log.info("calibration of %d prediction tables", len(table))
