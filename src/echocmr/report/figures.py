"""Figure 1, Supplementary Figure 1, Bland-Altman plots and training curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from echocmr.report import style
from echocmr.stats.roc import roc_points

plt = style.plt


def _metric(metrics: pd.DataFrame, source: str, task: str) -> pd.Series | None:
    hit = metrics[(metrics["source"] == source) & (metrics["task"] == task)]
    return hit.iloc[0] if len(hit) else None


def _roc_axes(ax, title: str) -> None:
    ax.plot([0, 1], [0, 1], ls="--", lw=0.6, color="0.6")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 \u2212 specificity")
    ax.set_ylabel("Sensitivity")
    ax.set_title(title, loc="left")


def _roc_line(ax, frame: pd.DataFrame | None, metric, colour: str, label: str) -> None:
    if frame is None or frame.empty or metric is None or not math.isfinite(metric["auroc"]):
        ax.plot([], [], color=colour, label=f"{label}: n/a")
        return
    fpr, tpr = roc_points(frame["y_true"], frame["y_pred"])
    text = style.fmt_ci(metric["auroc"], metric["ci_low"], metric["ci_high"])
    ax.plot(fpr, tpr, color=colour, label=f"{label}: {text}", drawstyle="default")


def figure1(binary: pd.DataFrame, preds: dict[tuple[str, str], pd.DataFrame], png: str,
            pdf: str) -> None:
    """ROC curves: A wall motion, B scar; global black, A4c red, A2c blue, PLAX green."""
    style.apply()
    fig, axes = plt.subplots(1, 2, figsize=(style.DOUBLE_COLUMN, 3.35))
    for ax, task, letter, title in zip(axes, ("wma", "lge"), "AB",
                                       ("Wall motion abnormality", "Myocardial scar (LGE)")):
        _roc_axes(ax, title)
        for source in ("fused", "A4C", "A2C", "PLAX"):
            _roc_line(ax, preds.get((source, task)), _metric(binary, source, task),
                      style.SOURCE_COLOURS[source], style.SOURCE_LABELS[source])
        ax.legend(loc="lower right", title="AUROC (95% CI)", **style.LEGEND)
        style.panel_letter(ax, letter)
    fig.tight_layout(w_pad=2.0)
    style.save(fig, png, pdf)


def _scatter(ax, frame: pd.DataFrame | None, metric, task: str) -> None:
    name, unit = style.CONTINUOUS_LABELS[task]
    ax.set_xlabel(f"Measured {name} ({unit})")
    ax.set_ylabel(f"Predicted {name} ({unit})")
    ax.set_title(name, loc="left")
    if frame is None or frame.empty:
        ax.text(0.5, 0.5, "no test predictions", transform=ax.transAxes, ha="center")
        return
    y, p = frame["y_true"].to_numpy(float), frame["y_pred"].to_numpy(float)
    ax.scatter(y, p, s=5, alpha=0.55, color="0.2", linewidths=0)
    lo, hi = np.nanmin(np.r_[y, p]), np.nanmax(np.r_[y, p])
    pad = 0.04 * (hi - lo if hi > lo else 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ls="--", lw=0.6, color="0.5")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    if metric is not None:
        mae = style.fmt_ci(metric["mae"], metric["mae_ci_low"], metric["mae_ci_high"], 2)
        r2 = style.fmt_ci(metric["r2"], metric["r2_ci_low"], metric["r2_ci_high"], 2)
        text = (f"R\u00b2 = {r2}\n"
                f"MAE = {mae} {unit}\nn = {int(metric['n'])}")
        ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", ha="left", fontsize=6)


def supp_figure1(binary: pd.DataFrame, continuous: pd.DataFrame,
                 preds: dict[tuple[str, str], pd.DataFrame], png: str, pdf: str) -> None:
    """A: ROC of abnormal T1 (green), T2 (purple), ECV (orange); B-D predicted vs measured."""
    style.apply()
    fig, axes = plt.subplots(2, 2, figsize=(style.DOUBLE_COLUMN, 6.4))
    ax = axes[0, 0]
    _roc_axes(ax, "Abnormal tissue composition")
    for task in ("t1_abnormal", "t2_abnormal", "ecv_abnormal"):
        _roc_line(ax, preds.get(("fused", task)), _metric(binary, "fused", task),
                  style.TISSUE_COLOURS[task], style.TISSUE_LABELS[task])
    ax.legend(loc="lower right", title="AUROC (95% CI)", **style.LEGEND)
    style.panel_letter(ax, "A")
    for ax, task, letter in zip(axes.ravel()[1:], ("t1", "t2", "ecv"), "BCD"):
        _scatter(ax, preds.get(("fused", task)), _metric(continuous, "fused", task), task)
        style.panel_letter(ax, letter)
    fig.tight_layout(h_pad=1.5, w_pad=2.0)
    style.save(fig, png, pdf)


def bland_altman(continuous: pd.DataFrame, preds: dict[tuple[str, str], pd.DataFrame], png: str,
                 pdf: str) -> None:
    """Mean of predicted and measured vs their difference, bias and 95% limits of agreement."""
    style.apply()
    fig, axes = plt.subplots(1, 3, figsize=(style.DOUBLE_COLUMN, 2.5))
    for ax, task, letter in zip(axes, ("t1", "t2", "ecv"), "ABC"):
        name, unit = style.CONTINUOUS_LABELS[task]
        ax.set_title(name, loc="left")
        ax.set_xlabel(f"Mean of predicted and measured ({unit})")
        ax.set_ylabel(f"Predicted \u2212 measured ({unit})")
        style.panel_letter(ax, letter)
        frame, metric = preds.get(("fused", task)), _metric(continuous, "fused", task)
        if frame is None or frame.empty or metric is None:
            ax.text(0.5, 0.5, "no test predictions", transform=ax.transAxes, ha="center")
            continue
        y, p = frame["y_true"].to_numpy(float), frame["y_pred"].to_numpy(float)
        ax.scatter((y + p) / 2, p - y, s=4, alpha=0.55, color="0.2", linewidths=0)
        for key, ls, label in (("bias", "-", "Bias"), ("loa_low", "--", "\u22121.96 SD"),
                               ("loa_high", "--", "+1.96 SD")):
            value = metric[key]
            ax.axhline(value, ls=ls, lw=0.8, color="#d62728" if key == "bias" else "#1f77b4")
            ax.annotate(f"{label} {value:.1f}", xy=(1.0, value), xycoords=("axes fraction", "data"),
                        xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom",
                        fontsize=5.5)
    fig.tight_layout(w_pad=1.5)
    style.save(fig, png, pdf)


def training_curves(curves: dict[str, pd.DataFrame], png: str) -> None:
    """Loss (left) and every other logged metric (right) per epoch, one line per model."""
    style.apply()
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(style.DOUBLE_COLUMN, 2.9))
    colours = plt.get_cmap("tab20")
    for i, (name, frame) in enumerate(sorted(curves.items())):
        if frame.empty:
            continue
        x = frame["epoch"] if "epoch" in frame.columns else np.arange(len(frame))
        colour = colours(i % 20)
        for column in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[column])
            if column in ("epoch", "step", "lr") or not numeric:
                continue
            ax = ax_loss if "loss" in column else ax_metric
            ls = "--" if column.startswith("train") else "-"
            ax.plot(x, frame[column], ls=ls, lw=0.8, color=colour,
                    label=f"{name} {column}" if len(curves) <= 6 else None)
    for ax, title in ((ax_loss, "Loss (dashed: training)"), (ax_metric, "Validation metrics")):
        ax.set_xlabel("Epoch")
        ax.set_title(title, loc="left")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False, fontsize=5)
    fig.tight_layout(w_pad=2.0)
    style.save(fig, png)
