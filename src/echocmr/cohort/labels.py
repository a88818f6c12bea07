"""Per-view and global CMR labels of each paired echo study (docs/ARCHITECTURE.md, labels.csv).

- wma_<view>: any segment the view shows (config `cohort.segments`, default
  `echocmr.vocab.segments.VIEW_SEGMENTS`) graded hypokinetic, akinetic or dyskinetic;
  wma_global: any of the 17 segments. lge_<view> / lge_global: any of those segments with LGE = 1.
- Segment missingness (`cohort.segment_missing`):
  `strict` (default): positive as soon as one graded segment of the set is abnormal; negative only
  when EVERY segment of the set is graded and normal; otherwise missing (an ungraded segment
  could hide the abnormality, so "no abnormality" cannot be claimed).
  `observed`: positive as above; negative when at least one segment of the set is graded and none
  is abnormal; missing only when no segment of the set is graded.
  Either way, a report with no grades at all gives missing wma_* (and no LGE at all, lge_*).
- t1/t2/ecv: the CMR value, and `<task>_abnormal` = value >= threshold (`cohort.thresholds`;
  paper: T1 >= 1060 ms, T2 >= 58 ms, ECV >= 33 %). Missing value -> both empty.
A missing value empties that task only; the study stays for every other task.
"""

from __future__ import annotations

import pandas as pd

from echocmr.vocab.segments import VIEW_SEGMENTS
from echocmr.vocab.tasks import CONTINUOUS_TASKS, VIEW_SPECIFIC
from echocmr.vocab.views import ANALYSIS_VIEWS

ABNORMAL_WALL_MOTION = {"hypokinetic", "akinetic", "dyskinetic"}
KEY_COLUMNS = ["study_key", "patient_key", "interval_days"]
# wma_a4c, wma_a2c, wma_plax, wma_global, lge_a4c, ...: per view and over all 17 segments.
SEGMENT_LABELS = [f"{task}_{where}" for task in VIEW_SPECIFIC
                  for where in (*(view.lower() for view in ANALYSIS_VIEWS), "global")]
# t1, t1_abnormal, t2, ...: each CMR mapping value and whether it reaches its threshold.
MAPPING_LABELS = [column for task in CONTINUOUS_TASKS for column in (task, f"{task}_abnormal")]
LABEL_COLUMNS = [*KEY_COLUMNS, *SEGMENT_LABELS, *MAPPING_LABELS]
TASK_LABELS = [*SEGMENT_LABELS, *MAPPING_LABELS]
CONTINUOUS_SOURCE = {"t1": "t1_native_ms", "t2": "t2_ms", "ecv": "ecv_pct"}
DEFAULT_THRESHOLDS = {"t1": 1060.0, "t2": 58.0, "ecv": 33.0}
SEGMENT_MISSING_MODES = ("strict", "observed")


def _columns(prefix: str, segments: list[int]) -> list[str]:
    return [f"{prefix}_{s:02d}" for s in segments]


def any_abnormal(abnormal: pd.DataFrame, graded: pd.DataFrame, mode: str) -> pd.Series:
    """Row-wise label over a segment set: 1, 0 or <NA> (see module doc for `mode`)."""
    if mode not in SEGMENT_MISSING_MODES:
        raise ValueError(f"cohort.segment_missing={mode!r}: use one of {SEGMENT_MISSING_MODES}")
    positive = (abnormal & graded).any(axis=1)
    negative = graded.all(axis=1) if mode == "strict" else graded.any(axis=1)
    label = pd.Series(pd.NA, index=abnormal.index, dtype="Int64")
    label[negative] = 0
    label[positive] = 1
    return label


def segment_label(cmr: pd.DataFrame, kind: str, segments: list[int], mode: str) -> pd.Series:
    """WMA (`kind='wm'`) or LGE (`kind='lge'`) label of each CMR row over `segments`."""
    cells = cmr[_columns(kind, segments)]
    graded = cells.notna()
    if kind == "wm":
        abnormal = cells.isin(ABNORMAL_WALL_MOTION)
    else:
        abnormal = cells.astype("Float64").eq(1).fillna(False).astype(bool)
    return any_abnormal(abnormal, graded, mode)


def cmr_labels(
    cmr: pd.DataFrame,
    segments: dict[str, list[int]] | None = None,
    thresholds: dict[str, float] | None = None,
    segment_missing: str = "strict",
) -> pd.DataFrame:
    """Labels of each validated CMR row, indexed by cmr_key."""
    segments = segments or VIEW_SEGMENTS
    thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    out = pd.DataFrame(index=cmr.index)
    all_segments = list(range(1, 18))
    for kind, prefix in (("wm", "wma"), ("lge", "lge")):
        for view in ANALYSIS_VIEWS:
            out[f"{prefix}_{view.lower()}"] = segment_label(cmr, kind, segments[view],
                                                            segment_missing)
        out[f"{prefix}_global"] = segment_label(cmr, kind, all_segments, segment_missing)
    for task, source in CONTINUOUS_SOURCE.items():
        value = pd.to_numeric(cmr[source], errors="coerce").astype("Float64")
        out[task] = value
        out[f"{task}_abnormal"] = (value >= thresholds[task]).astype("Int64")
    out.index = cmr["cmr_key"].values
    return out


def study_labels(pairs: pd.DataFrame, cmr: pd.DataFrame, **options) -> pd.DataFrame:
    """labels.csv: one row per paired study, LABEL_COLUMNS (empty = missing for that task)."""
    per_cmr = cmr_labels(cmr, **options)
    labels = pairs[["study_key", "patient_key", "interval_days", "cmr_key"]].join(
        per_cmr, on="cmr_key"
    )
    return labels[LABEL_COLUMNS].sort_values("study_key").reset_index(drop=True)


def has_any_label(labels: pd.DataFrame) -> pd.Series:
    """True for studies with at least one non-missing task label."""
    return labels[TASK_LABELS].notna().any(axis=1)
