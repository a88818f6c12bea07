"""View-label tables: the `labels` backend, and the labelled subset the `train` backend learns.

A table has `video_key, view` (the de-identified form ingest writes). Raw view names are
normalised to A4C/A2C/PLAX/OTHER; a video labelled twice with different views is excluded
rather than guessed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from echocmr.views.decide import REASON_CONFLICTING_LABELS, REASON_NO_LABEL
from echocmr.vocab.views import PROB_COLUMNS, VIEW_CLASSES, normalise_view


class LabelTableError(ValueError):
    """The view-label table lacks a required column."""


def read_label_table(path) -> pd.DataFrame:
    """`video_key, view, conflict` per labelled video (normalised views, one row per video)."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"video_key", "view"} - set(table.columns)
    if missing:
        raise LabelTableError(f"view-label table {path} lacks column(s) {sorted(missing)}; "
                              "expected columns video_key, view")
    table = table.assign(view=table["view"].map(normalise_view),
                         video_key=table["video_key"].str.strip())
    table = table[(table["video_key"] != "") & table["view"].notna()]
    n_views = table.groupby("video_key")["view"].nunique()
    first = table.drop_duplicates("video_key").set_index("video_key")["view"]
    out = pd.DataFrame({"video_key": first.index, "view": first.to_numpy()})
    out["conflict"] = out["video_key"].map(n_views).gt(1).to_numpy()
    return out.sort_values("video_key").reset_index(drop=True)


def label_probabilities(meta: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """One-hot probabilities for labelled videos; unlabelled/conflicting ones carry a reason."""
    out = meta[["video_key", "study_key", "patient_key"]].reset_index(drop=True).copy()
    by_key = labels.set_index("video_key")
    view = out["video_key"].map(by_key["view"])
    conflict = out["video_key"].map(by_key["conflict"].astype(object)).eq(True)
    onehot = np.zeros((len(out), len(VIEW_CLASSES)))
    for i, v in enumerate(view):
        if isinstance(v, str) and not conflict.iloc[i]:
            onehot[i, VIEW_CLASSES.index(v)] = 1.0
    out[PROB_COLUMNS] = onehot
    out["reason"] = np.where(view.isna(), REASON_NO_LABEL,
                             np.where(conflict, REASON_CONFLICTING_LABELS, ""))
    return out


def labelled_in_store(meta: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Labelled, unambiguous videos that passed ingest: video_key, patient_key, view."""
    ok = labels[~labels["conflict"]]
    merged = meta[["video_key", "patient_key"]].merge(ok[["video_key", "view"]], on="video_key")
    return merged.sort_values("video_key").reset_index(drop=True)
