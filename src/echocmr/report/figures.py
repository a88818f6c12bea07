"""Figure 1, Supplementary Figure 1, Bland-Altman plots and training curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from echocmr.logutil import script_logging
from echocmr.report import style
from echocmr.stats.roc import roc_points
from echocmr.vocab.tasks import CONTINUOUS_TASKS, MAPPING_BINARY_TASKS
from echocmr.vocab.views import ANALYSIS_VIEWS

plt = style.plt


def _metric(metrics: pd.DataFrame, source: str, task: str) -> pd.Series | None:
    hit = metrics[(metrics["source"] == source) & (metrics["task"] == task)]
    return hit.iloc[0] if len(hit) else None


def missing_reason(metric) -> str:
    """What a panel lacks: the metrics row's `reason` (evaluate), or that there is no row."""
    if metric is None:
        return "not evaluated"
    reason = metric.get("reason", "")
    return reason if isinstance(reason, str) and reason else "no test predictions"


def _missing_panel(ax, reasons: list[str]) -> None:
    """Say on the panel itself why it holds no curve (a pilot export may have none)."""
    text = "n/a: " + "; ".join(dict.fromkeys(reasons))
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=6,
            wrap=True, color="0.3")


def _roc_axes(ax, title: str) -> None:
    ax.plot([0, 1], [0, 1], ls="--", lw=0.6, color="0.6")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 \u2212 specificity")
    ax.set_ylabel("Sensitivity")
    ax.set_title(title, loc="left")


def _roc_line(ax, frame: pd.DataFrame | None, metric, colour: str, label: str) -> str:
    """Draw one ROC curve; returns '' or, when it cannot be drawn, the reason."""
    if frame is None or frame.empty or metric is None or not math.isfinite(metric["auroc"]):
        reason = missing_reason(metric)
        ax.plot([], [], color=colour, label=f"{label}: n/a ({reason})")
        return reason
    fpr, tpr = roc_points(frame["y_true"], frame["y_pred"])
    text = style.fmt_ci(metric["auroc"], metric["ci_low"], metric["ci_high"])
    ax.plot(fpr, tpr, color=colour, label=f"{label}: {text}", drawstyle="default")
    return ""


def figure1(binary: pd.DataFrame, preds: dict[tuple[str, str], pd.DataFrame], png: str,
            pdf: str, banner: str | None = None) -> None:
    """ROC curves: A wall motion, B scar; global black, A4c red, A2c blue, PLAX green."""
    style.apply()
    fig, axes = plt.subplots(1, 2, figsize=(style.DOUBLE_COLUMN, 3.35))
    for ax, task, letter, title in zip(axes, ("wma", "lge"), "AB",
                                       ("Wall motion abnormality", "Myocardial scar (LGE)")):
        _roc_axes(ax, title)
        missing = [_roc_line(ax, preds.get((source, task)), _metric(binary, source, task),
                             style.SOURCE_COLOURS[source], style.SOURCE_LABELS[source])
                   for source in ("fused", *ANALYSIS_VIEWS)]
        if all(missing):
            _missing_panel(ax, missing)
        ax.legend(loc="lower right", title="AUROC (95% CI)", **style.LEGEND)
        style.panel_letter(ax, letter)
    fig.tight_layout(w_pad=2.0)
    style.save(fig, png, pdf, banner)


def _scatter(ax, frame: pd.DataFrame | None, metric, task: str) -> None:
    name, unit = style.CONTINUOUS_LABELS[task]
    ax.set_xlabel(f"Measured {name} ({unit})")
    ax.set_ylabel(f"Predicted {name} ({unit})")
    ax.set_title(name, loc="left")
    if frame is None or frame.empty:
        _missing_panel(ax, [missing_reason(metric)])
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
                 preds: dict[tuple[str, str], pd.DataFrame], png: str, pdf: str,
                 banner: str | None = None) -> None:
    """A: ROC of abnormal T1 (green), T2 (purple), ECV (orange); B-D predicted vs measured."""
    style.apply()
    fig, axes = plt.subplots(2, 2, figsize=(style.DOUBLE_COLUMN, 6.4))
    ax = axes[0, 0]
    _roc_axes(ax, "Abnormal tissue composition")
    missing = [_roc_line(ax, preds.get(("fused", task)), _metric(binary, "fused", task),
                         style.TISSUE_COLOURS[task], style.TISSUE_LABELS[task])
               for task in MAPPING_BINARY_TASKS]
    if all(missing):
        _missing_panel(ax, missing)
    ax.legend(loc="lower right", title="AUROC (95% CI)", **style.LEGEND)
    style.panel_letter(ax, "A")
    for ax, task, letter in zip(axes.ravel()[1:], CONTINUOUS_TASKS, "BCD"):
        _scatter(ax, preds.get(("fused", task)), _metric(continuous, "fused", task), task)
        style.panel_letter(ax, letter)
    fig.tight_layout(h_pad=1.5, w_pad=2.0)
    style.save(fig, png, pdf, banner)


def bland_altman(continuous: pd.DataFrame, preds: dict[tuple[str, str], pd.DataFrame], png: str,
                 pdf: str, banner: str | None = None) -> None:
    """Mean of predicted and measured vs their difference, bias and 95% limits of agreement."""
    style.apply()
    fig, axes = plt.subplots(1, 3, figsize=(style.DOUBLE_COLUMN, 2.5))
    for ax, task, letter in zip(axes, CONTINUOUS_TASKS, "ABC"):
        name, unit = style.CONTINUOUS_LABELS[task]
        ax.set_title(name, loc="left")
        ax.set_xlabel(f"Mean of predicted and measured ({unit})")
        ax.set_ylabel(f"Predicted \u2212 measured ({unit})")
        style.panel_letter(ax, letter)
        frame, metric = preds.get(("fused", task)), _metric(continuous, "fused", task)
        if frame is None or frame.empty or metric is None or not math.isfinite(metric["bias"]):
            _missing_panel(ax, [missing_reason(metric)])
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
    style.save(fig, png, pdf, banner)


def training_curves(curves: dict[str, pd.DataFrame], png: str,
                    banner: str | None = None) -> None:
    """Per view (columns): loss per epoch (top; dashed training, solid validation) and the
    validation AUROC of every binary task (bottom), one colour per model or task."""
    style.apply()
    order = {view: i for i, view in enumerate(ANALYSIS_VIEWS)}
    views = sorted({name.split("/")[0] for name in curves},
                   key=lambda v: (order.get(v, 9), v)) or ["(none)"]
    fig, axes = plt.subplots(2, len(views), figsize=(style.DOUBLE_COLUMN, 4.2), squeeze=False,
                             sharex="col")
    palette = plt.get_cmap("tab10")
    task_colour: dict[str, object] = {}
    for col, view in enumerate(views):
        ax_loss, ax_auc = axes[0, col], axes[1, col]
        ax_loss.set_title(view, loc="left")
        models = sorted(n for n in curves if n.split("/")[0] == view)
        for i, name in enumerate(models):
            frame = curves[name]
            reasons = [r for r in frame.get("reason", []) if isinstance(r, str) and r]
            if reasons:  # a model written as not trained: say so where its curve would be
                _missing_panel(ax_loss, [f"{name.split('/', 1)[1]} {reasons[0]}"])
                continue
            if frame.empty:
                continue
            x = frame["epoch"] if "epoch" in frame.columns else np.arange(1, len(frame) + 1)
            colour = palette(i % 10)
            label = name.split("/", 1)[1]
            for column, ls in (("train_loss", "--"), ("val_loss", "-")):
                if column in frame.columns:
                    ax_loss.plot(x, frame[column], ls=ls, lw=0.8, color=colour,
                                 label=label if column == "val_loss" else None)
            for column in (c for c in frame.columns if c.startswith("val_auroc")):
                task = column.removeprefix("val_auroc").lstrip("_") or label
                colour_t = task_colour.setdefault(task, palette(len(task_colour) % 10))
                ax_auc.plot(x, frame[column], lw=0.8, color=colour_t,
                            label=task if col == 0 else None)
        ax_auc.set_xlabel("Epoch")
        ax_auc.axhline(0.5, lw=0.5, ls=":", color="0.6")
        if 1 < len(models) <= 8 and ax_loss.get_legend_handles_labels()[0]:
            ax_loss.legend(frameon=False, fontsize=5)
    axes[0, 0].set_ylabel("Loss (dashed: training)")
    axes[1, 0].set_ylabel("Validation AUROC")
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.tight_layout(h_pad=1.0, w_pad=1.2, rect=(0, 0.06 if handles else 0, 1, 1))
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False,
                   fontsize=6)
    style.save(fig, png, banner=banner)



def run_figures(smk) -> None:
    """Script entry of rules figure1, supp_figure1 and bland_altman (params.figure says
    which)."""
    from echocmr.stats.evaluate import read_predictions

    with script_logging(smk):
        preds = {tuple(k.split("__")): read_predictions(smk.input[k])
                 for k in smk.input.keys() if "__" in k}
        which = smk.params.figure
        out = {"png": smk.output.png, "pdf": smk.output.pdf,
               "banner": style.data_banner(smk.params.synthetic)}
        if which == "figure1":
            figure1(pd.read_csv(smk.input.binary), preds, **out)
        elif which == "supp_figure1":
            supp_figure1(pd.read_csv(smk.input.binary), pd.read_csv(smk.input.continuous),
                         preds, **out)
        elif which == "bland_altman":
            bland_altman(pd.read_csv(smk.input.continuous), preds, **out)
        else:
            raise ValueError(f"unknown figure {which!r}")


def run_training_curves(smk) -> None:
    """Script entry of `rule training_curves`: the curves of every trained model
    (results/model/{view}/{model}/metrics.csv)."""
    from pathlib import Path

    with script_logging(smk):
        curves = {f"{Path(p).parent.parent.name}/{Path(p).parent.name}": pd.read_csv(p)
                  for p in smk.input}
        training_curves(curves, smk.output[0], style.data_banner(smk.params.synthetic))
