"""QC flow: every stage's exclusion counts, in DAG order, checked to add up at every step.

Each stage writes `step, unit, n_in, n_out, reason, n_excluded` rows (docs/ARCHITECTURE.md, "QC
accounting"); sharded stages write one file per shard, summed here by step and reason. The flow
is the concatenation in the order the files are given (the DAG order: found, readable,
[in study period,] ultrasound cines, de-identified, cropped, viewed, paired, adults, in
analysis). A step whose `n_in - sum(n_excluded) != n_out` stops the report: numbers that do not
add up are a bug.
"""

from __future__ import annotations

import textwrap

import pandas as pd

from echocmr.logutil import script_logging
from echocmr.report import style
from echocmr.vocab.qc import QC_COLUMNS

plt = style.plt
FLOW_COLUMNS = ["order", "stage", *QC_COLUMNS]


class QCFlowError(ValueError):
    """The QC counts of a step do not add up, or a stage file is malformed."""


def read_stage(paths: list[str], stage: str) -> pd.DataFrame:
    """One stage's rows; several shard files are summed by (step, unit, reason)."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path, dtype={"step": str, "unit": str, "reason": str},
                            keep_default_na=False)
        missing = [c for c in QC_COLUMNS if c not in frame.columns]
        if missing:
            raise QCFlowError(f"{path}: missing QC columns {missing}; expected {QC_COLUMNS}")
        frames.append(frame[QC_COLUMNS])
    rows = pd.concat(frames, ignore_index=True)
    for col in ("n_in", "n_out", "n_excluded"):
        rows[col] = pd.to_numeric(rows[col], errors="raise").astype(int)
    if len(paths) == 1:
        return rows.assign(stage=stage)
    step_order = list(dict.fromkeys(rows["step"]))
    # Shards: per step, n_in/n_out are summed once per shard, exclusions per reason.
    per_shard = rows.assign(shard=[i for i, f in enumerate(frames) for _ in range(len(f))])
    totals = (per_shard.drop_duplicates(["shard", "step"])
              .groupby("step", sort=False)[["n_in", "n_out"]].sum())
    reasons = rows.groupby(["step", "unit", "reason"], sort=False)["n_excluded"].sum().reset_index()
    merged = reasons.merge(totals, left_on="step", right_index=True)
    # A step with exclusions in some shards keeps only its real reasons, not the empty row.
    has_reason = merged.groupby("step")["n_excluded"].transform("sum") > 0
    merged = merged[~(has_reason & (merged["reason"] == ""))]
    merged["_order"] = merged["step"].map({s: i for i, s in enumerate(step_order)})
    merged = merged.sort_values(["_order", "reason"], kind="stable").drop(columns="_order")
    return merged[QC_COLUMNS].assign(stage=stage).reset_index(drop=True)


def check_flow(flow: pd.DataFrame) -> None:
    """Raise QCFlowError naming each step whose counts do not add up."""
    problems = []
    for (stage, step), rows in flow.groupby(["stage", "step"], sort=False):
        n_in, n_out = rows["n_in"].unique(), rows["n_out"].unique()
        if len(n_in) != 1 or len(n_out) != 1:
            problems.append(f"{stage}/{step}: rows disagree on n_in {list(n_in)} or n_out "
                            f"{list(n_out)}")
            continue
        excluded = int(rows["n_excluded"].sum())
        if int(n_in[0]) - excluded != int(n_out[0]):
            problems.append(f"{stage}/{step}: n_in {int(n_in[0])} - excluded {excluded} = "
                            f"{int(n_in[0]) - excluded}, but n_out is {int(n_out[0])}")
        if (rows["n_excluded"] < 0).any() or int(n_out[0]) < 0:
            problems.append(f"{stage}/{step}: negative counts")
    if problems:
        raise QCFlowError("QC counts do not add up:\n  " + "\n  ".join(problems))


def build_flow(stages: list[tuple[str, list[str]]]) -> pd.DataFrame:
    """Concatenate stage files (in the given DAG order), number the steps, check the counts."""
    parts = [read_stage(paths, stage) for stage, paths in stages]
    empty = [stage for (stage, _), part in zip(stages, parts) if part.empty]
    if empty:
        raise QCFlowError(f"no QC rows from stage(s) {empty}: every step writes at least one row")
    flow = pd.concat(parts, ignore_index=True)
    steps = list(dict.fromkeys(zip(flow["stage"], flow["step"])))
    flow["order"] = [steps.index(k) + 1 for k in zip(flow["stage"], flow["step"])]
    flow = flow[FLOW_COLUMNS]
    check_flow(flow)
    return flow


def flow_figure(flow: pd.DataFrame, png: str, banner: str | None = None) -> None:
    """Vertical flow chart: one box per step (n_out), exclusions by reason on the right."""
    style.apply()
    steps = flow.groupby("order", sort=True)
    n = len(steps)
    fig, ax = plt.subplots(figsize=(style.DOUBLE_COLUMN, 0.35 + 0.75 * n))
    ax.set_xlim(0, 10)
    ax.set_ylim(-n + 0.3, 0.9)
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.3", "fc": "#eef3fa", "ec": "#3b6ea8", "lw": 0.7}
    exbox = {"boxstyle": "round,pad=0.3", "fc": "#fbeeee", "ec": "#a83b3b", "lw": 0.6}
    first = flow.iloc[0]
    ax.text(2.6, 0.55, f"Input: {first['n_in']:,} {first['unit']}", ha="center", va="center",
            fontsize=6.5, bbox=box)
    for i, (_, rows) in enumerate(steps):
        r0 = rows.iloc[0]
        y = -i
        ax.annotate("", xy=(2.6, y + 0.17), xytext=(2.6, y + 0.83 if i else 0.4),
                    arrowprops={"arrowstyle": "->", "lw": 0.6})
        ax.text(2.6, y, f"{r0['step']}: {int(r0['n_out']):,} {r0['unit']}", ha="center",
                va="center", fontsize=6.5, bbox=box)
        excluded = rows[rows["n_excluded"] > 0]
        if len(excluded):
            lines = [f"{int(e.n_excluded):,} {str(e.reason).replace('_', ' ')}"
                     for e in excluded.itertuples()]
            text = "Excluded:\n" + "\n".join(textwrap.fill(line, 60) for line in lines)
            ax.annotate("", xy=(5.3, y), xytext=(4.5, y), arrowprops={"arrowstyle": "->",
                                                                      "lw": 0.5})
            ax.text(5.35, y, text, ha="left", va="center", fontsize=5.5,
                    bbox=exbox)
    style.save(fig, png, banner=banner)



def run_qc_flow(smk) -> None:
    """Script entry of `rule qc_flow`: concatenate every stage's QC counts in DAG order, check
    they add up, draw the flow chart."""
    with script_logging(smk) as log:
        def paths(stage):  # one file, or one per shard
            value = smk.input[stage]
            return [value] if isinstance(value, str) else list(value)

        stages = [(stage, paths(stage)) for stage in smk.params.stages]
        flow = build_flow(stages)
        flow.to_csv(smk.output.csv, index=False)
        flow_figure(flow, smk.output.png, style.data_banner(smk.params.synthetic))
        log.info("%d QC rows over %d steps add up", len(flow), flow["order"].nunique())
