"""Evaluate prediction tables (the model stage's contract) on the held-out test split.

Reads `results/predictions/<source>/<task>.csv` (study_key, patient_key, split, y_true, y_pred)
and writes one metrics row per (source, task): AUROC for binary tasks; MAE, R2 and Bland-Altman
bias / limits of agreement for continuous tasks; each with a 95% percentile bootstrap interval
(n/a, with the count in `reason`, when over 1% of the resamples had no value: `bootstrap.ruled_ci`).
Fused rows also say how their test studies were scored (`fusion_method`, `n_mean_of_views`, from
the fuse rule's pattern table). The model-vs-baseline comparison (`comparison_table`, written to
`results/metrics/delong.csv`) follows `evaluate.unit`: DeLong by study, or Obuchowski's
clustered test by patient (`compare.py`).
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from echocmr.logutil import script_logging
from echocmr.stats import bootstrap, resample
from echocmr.stats.compare import compare
from echocmr.stats.permutation import auroc_permutation_p
from echocmr.vocab import reasons
from echocmr.vocab.reasons import (
    NO_SHARED_STUDY,
    binary_shortfall,
    continuous_shortfall,
    too_few_patients,
)

log = logging.getLogger(__name__)

PRED_COLUMNS = ["study_key", "patient_key", "split", "y_true", "y_pred"]
FUSION_COLUMNS = ["fusion_method", "n_mean_of_views"]  # fused rows only; empty for the others
# perm_p: two-sided permutation p of AUROC == 0.5, labels permuted between patients
# (echocmr.stats.permutation); the null cells' evidence beside their CI.
BINARY_COLUMNS = ["source", "task", "unit", "n", "n_pos", "n_neg", "n_patients", "auroc",
                  "ci_low", "ci_high", "perm_p", "n_permutations", "n_resamples", "n_skipped",
                  *FUSION_COLUMNS, "reason"]
N_PERMUTATIONS = 2000  # schema default of evaluate.n_permutations
CONTINUOUS_STATS = bootstrap.CONTINUOUS_STATS
CONTINUOUS_COLUMNS = (["source", "task", "unit", "n", "n_patients"]
                      + [f"{s}{suffix}" for s in CONTINUOUS_STATS
                         for suffix in ("", "_ci_low", "_ci_high")]
                      + ["n_resamples", "n_skipped", *FUSION_COLUMNS, "reason"])
# results/metrics/delong.csv (name kept for its consumers): one model-vs-baseline test per row.
# `method`: "DeLong" (unit study) or "Obuchowski clustered (patients)" (unit patient); diff_ci_*:
# t interval of the difference (empty for DeLong); `reason`: why the test
# is n/a (echocmr.vocab.reasons), empty when it was computed.
DELONG_COLUMNS = ["task", "model", "reference", "label_from", "method", "unit", "n", "n_patients",
                  "n_pos", "n_neg", "auroc_model", "auroc_reference", "diff", "diff_ci_low",
                  "diff_ci_high", "se", "z", "p_value", "n_resamples", "n_skipped", "reason"]


def seed_for(seed: int, *names: str) -> int:
    """A stable per-table seed: same config seed + same table -> same resamples, on any machine."""
    return int(np.random.SeedSequence([seed, zlib.crc32("/".join(names).encode())])
               .generate_state(1)[0])


def read_predictions(path: str | Path, split: str = "test") -> pd.DataFrame:
    """Rows of one split with both y_true and y_pred present (others are counted and logged)."""
    frame = pd.read_csv(path, dtype={"study_key": str, "patient_key": str, "split": str})
    missing = [c for c in PRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {PRED_COLUMNS}")
    frame = frame[frame["split"] == split]
    complete = frame["y_true"].notna() & frame["y_pred"].notna()
    if (~complete).any():
        log.warning("%s: %d %s rows without y_true or y_pred left out", path,
                    int((~complete).sum()), split)
    frame = frame[complete].reset_index(drop=True)
    if frame["study_key"].duplicated().any():
        raise ValueError(f"{path}: study_key repeated within split {split}: one row per study")
    return frame


def binary_row(frame: pd.DataFrame, source: str, task: str, n_boot: int, unit: str,
               seed: int, n_perm: int = N_PERMUTATIONS) -> dict:
    y = frame["y_true"].to_numpy().astype(int)
    s = frame["y_pred"].to_numpy(dtype=float)
    row = {"source": source, "task": task, "unit": unit, "n": len(frame),
           "n_pos": int(y.sum()), "n_neg": int((1 - y).sum()),
           "n_patients": int(frame["patient_key"].nunique()), "n_resamples": n_boot}
    reason = binary_shortfall(row["n_pos"], row["n_neg"])
    if reason:
        log.warning("%s/%s: %s; AUROC undefined", source, task, reason)
        return {**row, "auroc": np.nan, "ci_low": np.nan, "ci_high": np.nan, "perm_p": np.nan,
                "n_permutations": 0, "n_skipped": n_boot, "reason": reason}
    draws = resample.draw_for(frame["study_key"], frame["patient_key"], unit, n_boot,
                              seed_for(seed, source, task))
    res = bootstrap.bootstrap_auroc(y, s, draws)
    if res.n_skipped:
        log.info("%s/%s: %d of %d resamples held one class and were skipped", source, task,
                 res.n_skipped, n_boot)
    # Permute by patient under unit patient; each study is its own unit under unit study.
    units = frame["patient_key"] if unit == "patient" else frame["study_key"]
    perm_p = auroc_permutation_p(y, s, units.to_numpy(), n_perm,
                                 seed_for(seed, "permutation", source, task))
    return {**row, "auroc": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high,
            "perm_p": perm_p, "n_permutations": n_perm, "n_skipped": res.n_skipped,
            "reason": res.reason}


def continuous_row(frame: pd.DataFrame, source: str, task: str, n_boot: int, unit: str,
                   seed: int) -> dict:
    row = {"source": source, "task": task, "unit": unit, "n": len(frame),
           "n_patients": int(frame["patient_key"].nunique()), "n_resamples": n_boot}
    reason = continuous_shortfall(len(frame))
    if reason:
        log.warning("%s/%s: %s; metrics undefined", source, task, reason)
        return {**row, **{c: np.nan for c in CONTINUOUS_COLUMNS if c not in row},
                "n_skipped": n_boot, "reason": reason}
    draws = resample.draw_for(frame["study_key"], frame["patient_key"], unit, n_boot,
                              seed_for(seed, source, task))
    stats = bootstrap.bootstrap_continuous(frame["y_true"], frame["y_pred"], draws)
    for name, res in stats.items():
        row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = (
            res.estimate, res.ci_low, res.ci_high)
    row["n_skipped"] = stats["r2"].n_skipped  # R2 is undefined when all y_true are equal
    row["reason"] = reasons.join(res.reason for res in stats.values())
    return row


def absent_row(source: str, task: str, reason: str) -> dict:
    """The metrics row of a (source, task) the run has no predictions of (a model the bundle
    lacks): no studies, every statistic n/a, and why."""
    return {"source": source, "task": task, "n": 0, "n_pos": 0, "n_neg": 0, "n_patients": 0,
            "n_resamples": 0, "n_skipped": 0, "reason": reason}


def in_source_order(pairs) -> list[tuple[str, str]]:
    """(source, task) pairs as the evaluate rule lists them: views, fused, baseline; tasks in
    their home's order (unknown names last, as given)."""
    from echocmr.vocab.tasks import TASKS
    from echocmr.vocab.views import ANALYSIS_VIEWS

    sources = [*ANALYSIS_VIEWS, "fused", "baseline"]

    def rank(pair):
        source, task = pair
        return (sources.index(source) if source in sources else len(sources),
                TASKS.index(task) if task in TASKS else len(TASKS))

    return sorted(pairs, key=rank)


def evaluate_tables(tables: dict[tuple[str, str], str], binary_tasks, n_boot: int, unit: str,
                    seed: int, fusion: dict[str, str] | None = None,
                    absent: dict[tuple[str, str], str] | None = None,
                    n_perm: int = N_PERMUTATIONS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics for every (source, task) -> path; returns (binary, continuous) frames.

    `fusion` maps a task to the fuse rule's pattern table (`fused/{task}.views.csv`); fused rows
    of those tasks get `fusion_method` and `n_mean_of_views`. `absent` maps the (source, task)
    pairs without a prediction table to the reason (echocmr.model.scope); they get n/a rows in
    their place among the others.
    """
    from echocmr.model.fuse import fusion_summary

    order = in_source_order([*tables, *absent]) if absent else list(tables)
    binary, continuous = [], []
    for source, task in order:
        if (source, task) not in tables:
            row = {**absent_row(source, task, absent[(source, task)]), "unit": unit}
        elif task in binary_tasks:
            row = binary_row(read_predictions(tables[(source, task)]), source, task, n_boot,
                             unit, seed, n_perm)
        else:
            row = continuous_row(read_predictions(tables[(source, task)]), source, task,
                                 n_boot, unit, seed)
        if source == "fused" and fusion and task in fusion:
            row.update(fusion_summary(pd.read_csv(fusion[task])))
        (binary if task in binary_tasks else continuous).append(row)
    out = []
    for rows, columns in ((binary, BINARY_COLUMNS), (continuous, CONTINUOUS_COLUMNS)):
        frame = pd.DataFrame(rows, columns=columns)
        frame["n_mean_of_views"] = frame["n_mean_of_views"].astype("Int64")
        if "n_permutations" in frame:
            frame["n_permutations"] = frame["n_permutations"].astype("Int64")
        out.append(frame)
    return out[0], out[1]


def paired_comparison(model: pd.DataFrame, reference: pd.DataFrame, task: str,
                      model_name: str, reference_name: str, unit: str = "study") -> dict:
    """Model vs reference AUROC on the studies both tables scored, against the model's labels.

    A view model's label is view-specific (e.g. WMA in the A4C segments) while the baseline
    predicts the global label; both scores are judged against the model's own label so the
    comparison answers "does this model beat the baseline at its own task". With unit patient
    the test is Obuchowski's clustered one.
    """
    both = model.merge(reference[["study_key", "y_pred"]], on="study_key",
                       suffixes=("", "_ref"))
    y = both["y_true"].to_numpy().astype(int)
    row = {"task": task, "model": model_name, "reference": reference_name,
           "label_from": model_name, "unit": unit, "n": len(both),
           "n_patients": int(both["patient_key"].nunique()), "n_pos": int(y.sum()),
           "n_neg": int((1 - y).sum())}
    reason = (NO_SHARED_STUDY if len(model) and both.empty
              else binary_shortfall(row["n_pos"], row["n_neg"]))
    if reason:
        log.warning("%s vs %s, %s: %s; no comparison", model_name, reference_name, task, reason)
        return {**row, **{c: np.nan for c in DELONG_COLUMNS if c not in row}, "reason": reason}
    res = compare(y, both["y_pred"].to_numpy(float), both["y_pred_ref"].to_numpy(float), unit,
                  both["patient_key"].to_numpy())
    return {**row, "method": res.method, "auroc_model": res.auc1, "auroc_reference": res.auc2,
            "diff": res.diff, "diff_ci_low": res.ci_low, "diff_ci_high": res.ci_high,
            "se": res.se, "z": res.z, "p_value": res.p_value, "n_resamples": res.n_resamples,
            "n_skipped": res.n_skipped,
            "reason": "" if np.isfinite(res.p_value) else _patients_by_class(both)}


def _patients_by_class(both: pd.DataFrame) -> str:
    """Why a clustered test has no standard error: too few patients hold one class."""
    holds = both.groupby("y_true")["patient_key"].nunique()
    return too_few_patients(int(holds.get(1, 0)), int(holds.get(0, 0)))


def skipped_comparison(task: str, model_name: str, unit: str, reason: str) -> dict:
    """A model-vs-baseline row that could not be run: the model or the baseline is absent."""
    return {"task": task, "model": model_name, "reference": "baseline",
            "label_from": model_name, "unit": unit, "n": 0, "n_patients": 0, "n_pos": 0,
            "n_neg": 0, "reason": reason}


def delong_table(models: dict[tuple[str, str], str], baselines: dict[str, str],
                 unit: str = "study",
                 absent: dict[tuple[str, str], str] | None = None) -> pd.DataFrame:
    """Each (model source, task) against the baseline of the same task, on the test split,
    by the test `unit` asks for (see `paired_comparison`). `absent` (source, task) -> reason
    names what the run has no predictions of (echocmr.model.scope): a comparison missing its
    model or its baseline is a row with that reason."""
    absent = absent or {}
    pairs = {**models, **{k: None for k in absent if k[0] != "baseline"}}
    rows = []
    for source, task in (in_source_order(pairs) if absent else list(models)):
        skip = absent.get((source, task)) or absent.get(("baseline", task))
        if skip:
            rows.append(skipped_comparison(task, source, unit, skip))
        elif task in baselines:
            rows.append(paired_comparison(read_predictions(models[(source, task)]),
                                          read_predictions(baselines[task]), task, source,
                                          "baseline", unit))
    return pd.DataFrame(rows, columns=DELONG_COLUMNS)


comparison_table = delong_table



def run_delong(smk) -> None:
    """Script entry of `rule delong`: model-vs-baseline AUROC comparison for each video model
    (per view and fused): DeLong's test (evaluate.unit study) or Obuchowski's clustered test
    (unit patient). The file keeps its historical name, results/metrics/delong.csv;
    its `method` column names the test."""
    with script_logging(smk) as log:
        models, baselines = {}, {}
        for key in smk.input.keys():
            path = smk.input[key]
            source, task = key.split("__")
            if source == "baseline":
                baselines[task] = path
            else:
                models[(source, task)] = path
        absent = {tuple(k.split("__")): v for k, v in smk.params.absent.items()}
        table = delong_table(models, baselines, unit=smk.params.unit, absent=absent)
        table.to_csv(smk.output[0], index=False, float_format="%.6g")
        log.info("%d comparisons with the baseline (%s)", len(table),
                 ", ".join(sorted(set(table["method"].dropna()))))


def run_evaluate(smk) -> None:
    """Script entry of `rule evaluate`: AUROC / MAE / R2 / Bland-Altman with bootstrap CIs for
    every prediction table (test split)."""
    with script_logging(smk) as log:
        keys = list(smk.input.keys())
        tables = {tuple(k.split("__")): smk.input[k] for k in keys
                  if not k.startswith("fusion__")}
        fusion = {k.split("__", 1)[1]: smk.input[k] for k in keys if k.startswith("fusion__")}
        binary, continuous = evaluate_tables(
            tables,
            binary_tasks=set(smk.params.binary_tasks),
            n_boot=smk.params.n_bootstrap,
            unit=smk.params.unit,
            seed=smk.params.seed,
            fusion=fusion,
            absent={tuple(k.split("__")): v for k, v in smk.params.absent.items()},
            n_perm=smk.params.n_permutations,
        )
        binary.to_csv(smk.output.binary, index=False, float_format="%.6f")
        continuous.to_csv(smk.output.continuous, index=False, float_format="%.6f")
        log.info("%d binary and %d continuous metric rows", len(binary), len(continuous))
        for row in binary.itertuples():
            mean_of_views = 0 if pd.isna(row.n_mean_of_views) else row.n_mean_of_views
            if row.source == "fused" and mean_of_views > 0:  # NA: a task not in the bundle
                log.warning("fused %s: %d of %d test studies scored by the mean of their views "
                            "(%s)", row.task, row.n_mean_of_views, row.n, row.fusion_method)
