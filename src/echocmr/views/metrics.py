"""How good the view classifier is, on videos it never saw: accuracy and confusion matrix.

The reference is the synthetic truth file (synthetic export) or the held-out labelled videos
(site data). Videos used to fit the classifier never enter the reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from echocmr.keys import pseudonym
from echocmr.views.decide import REASON_CONFLICTING_LABELS, REASON_NO_LABEL
from echocmr.vocab.views import VIEW_CLASSES, normalise_view

METRICS_COLUMNS = ["metric", "true_view", "predicted_view", "value", "reference"]
_TRUTH_VIEW_COLUMNS = ("view", "true_view")


def truth_reference(truth_csv: str | Path, secret: str) -> pd.DataFrame:
    """`video_key, true_view` from the synthetic truth file (keys derived with the run's secret).

    The key is recomputed from the SOP instance UID rather than read, so the reference follows
    whatever secret the run used.
    """
    truth = pd.read_csv(truth_csv, dtype=str, keep_default_na=False)
    view_col = next((c for c in _TRUTH_VIEW_COLUMNS if c in truth.columns), None)
    if "sop_instance_uid" not in truth.columns or view_col is None:
        raise ValueError(f"{truth_csv} lacks sop_instance_uid and a view column "
                         f"(one of {_TRUTH_VIEW_COLUMNS})")
    truth = truth[truth["sop_instance_uid"].str.strip() != ""]
    out = pd.DataFrame({
        "video_key": [pseudonym(secret, "video", uid) for uid in truth["sop_instance_uid"]],
        "true_view": truth[view_col].map(normalise_view).to_numpy(),
    })
    return out.dropna().drop_duplicates("video_key").reset_index(drop=True)


def comparable(views: pd.DataFrame, reference: pd.DataFrame,
               seen: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """Videos with both a prediction and a reference view, minus those seen in training."""
    predicted = views[~views["reason"].isin([REASON_NO_LABEL, REASON_CONFLICTING_LABELS])]
    merged = predicted.merge(reference, on="video_key", how="inner")
    merged = merged[~merged["video_key"].isin(seen)]
    return merged.sort_values("video_key").reset_index(drop=True)


def confusion(df: pd.DataFrame) -> np.ndarray:
    """Counts, rows = true view, columns = predicted view, in VIEW_CLASSES order."""
    m = np.zeros((len(VIEW_CLASSES), len(VIEW_CLASSES)), dtype=int)
    for t, p in zip(df["true_view"], df["view"], strict=True):
        m[VIEW_CLASSES.index(t), VIEW_CLASSES.index(p)] += 1
    return m


def metrics_table(df: pd.DataFrame, reference_name: str) -> pd.DataFrame:
    """Long table: n_videos, accuracy, kept_precision, per-view recall/precision, counts."""
    m = confusion(df)
    n = int(m.sum())
    rows = [("n_videos", "", "", n),
            ("accuracy", "", "", np.trace(m) / n if n else np.nan)]
    kept = df[df["status"] == "kept"]
    rows.append(("kept_precision", "", "",
                 float((kept["view"] == kept["true_view"]).mean()) if len(kept) else np.nan))
    for i, v in enumerate(VIEW_CLASSES):
        rows.append(("recall", v, "", m[i, i] / m[i].sum() if m[i].sum() else np.nan))
        rows.append(("precision", "", v, m[i, i] / m[:, i].sum() if m[:, i].sum() else np.nan))
    for i, t in enumerate(VIEW_CLASSES):
        for j, p in enumerate(VIEW_CLASSES):
            rows.append(("count", t, p, int(m[i, j])))
    out = pd.DataFrame(rows, columns=METRICS_COLUMNS[:4])
    out["value"] = out["value"].astype(float).round(6)
    out["reference"] = reference_name
    return out


def plot_confusion(df: pd.DataFrame, title: str, path: str | Path) -> None:
    """Confusion-matrix heat map with counts (rows = truth) and the accuracy in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = confusion(df)
    n = int(m.sum())
    acc = f"{np.trace(m) / n:.1%}" if n else "n/a"
    fig, ax = plt.subplots(figsize=(4.6, 4.0), dpi=120)
    ax.imshow(m / np.maximum(m.sum(axis=1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(VIEW_CLASSES)):
        for j in range(len(VIEW_CLASSES)):
            frac = m[i, j] / max(m[i].sum(), 1)
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if frac > 0.5 else "black", fontsize=9)
    ax.set_xticks(range(len(VIEW_CLASSES)), VIEW_CLASSES)
    ax.set_yticks(range(len(VIEW_CLASSES)), VIEW_CLASSES)
    ax.set_xlabel("predicted view")
    ax.set_ylabel("reference view")
    ax.set_title(f"{title}\naccuracy {acc} on {n} unseen videos", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
