"""Path helpers for workflow/rules/evaluate.smk and report.smk (kept out of the rules files)."""

from __future__ import annotations

from echocmr.model.tasks import (
    BINARY_TASKS,
    CONTINUOUS_TASKS,
    MAPPING_BINARY_TASKS,
    TASKS,
    VIEW_SPECIFIC,
    VIEWS,
)

REPORT_CAT = {
    "qc": "1. Data flow and QC",
    "cohort": "2. Cohort (Table 1)",
    "views": "3. View classification",
    "model": "4. Model training",
    "results": "5. Results",
    "replication": "6. Replication",
    "run": "7. Run record",
}
# Tables shown in the HTML report as pages (a CSV would only be a download link there) and the
# run record; name -> report category. Rendered by `rule report_assets`.
REPORT_TABLES = {
    "qc_flow": "qc",
    "table1": "cohort",
    "view_metrics": "views",
    "metrics_binary": "results",
    "metrics_continuous": "results",
    "delong": "results",
    "operating_points": "results",
    "replication": "replication",
    "config_used": "run",
    "software_versions": "run",
}


def predictions(pairs) -> dict[str, str]:
    """Named prediction tables `{source}__{task}` -> contract path, for a rule's input."""
    return {f"{source}__{task}": f"results/predictions/{source}/{task}.csv"
            for source, task in pairs}


def evaluate_inputs() -> dict[str, str]:
    # Every view and the fused model for all tasks; the clinical baseline is a logistic model of
    # the binary outcomes, evaluated beside them.
    pairs = [(s, t) for s in [*VIEWS, "fused"] for t in TASKS]
    return predictions(pairs + [("baseline", t) for t in BINARY_TASKS])


def fusion_pattern_inputs() -> dict[str, str]:
    """The fuse rule's view-pattern tables `fusion__{task}`: how each fused study was scored."""
    return {f"fusion__{t}": f"results/predictions/fused/{t}.views.csv" for t in TASKS}


def delong_inputs() -> dict[str, str]:
    return predictions([(s, t) for s in [*VIEWS, "fused", "baseline"] for t in BINARY_TASKS])


def calibration_inputs() -> dict[str, str]:
    """Test predictions of every view, the fused model and the baseline, binary tasks."""
    return predictions([(s, t) for s in [*VIEWS, "fused", "baseline"] for t in BINARY_TASKS])


def operating_point_inputs() -> dict[str, str]:
    """`{split}__{source}__{task}` -> prediction table holding that split. View and baseline
    tables hold val and test; the fused val predictions (in-sample) are a file of their own."""
    out = {}
    for source in [*VIEWS, "fused", "baseline"]:
        for task in BINARY_TASKS:
            test = f"results/predictions/{source}/{task}.csv"
            out[f"test__{source}__{task}"] = test
            out[f"val__{source}__{task}"] = (
                f"results/predictions/fused/{task}.val.csv" if source == "fused" else test)
    return out


def figure1_inputs() -> dict[str, str]:
    pairs = [(s, t) for t in VIEW_SPECIFIC for s in [*VIEWS, "fused"]]
    return {"binary": "results/metrics/binary.csv", **predictions(pairs)}


def supp_figure1_inputs() -> dict[str, str]:
    tasks = [*MAPPING_BINARY_TASKS, *CONTINUOUS_TASKS]
    return {"binary": "results/metrics/binary.csv",
            "continuous": "results/metrics/continuous.csv",
            **predictions([("fused", t) for t in tasks])}


def bland_altman_inputs() -> dict[str, str]:
    return {"continuous": "results/metrics/continuous.csv",
            **predictions([("fused", t) for t in CONTINUOUS_TASKS])}
