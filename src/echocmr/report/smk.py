"""The evaluate and report side of the rules files: `ReportPaths` (the prediction tables each
statistics and figure rule reads), built once as `REPORT_PATHS = ReportPaths(SCOPE)` (the
`echocmr.<stage>.smk` pattern: echocmr.ingest.smk), and the report categories and tables."""

from __future__ import annotations

from dataclasses import dataclass

from echocmr.model.scope import Scope
from echocmr.vocab.tasks import (
    BINARY_TASKS,
    CONTINUOUS_TASKS,
    MAPPING_BINARY_TASKS,
    TASKS,
    VIEW_SPECIFIC,
)
from echocmr.vocab.views import ANALYSIS_VIEWS

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


def predictions(pairs, scope: Scope | None = None) -> dict[str, str]:
    """Named prediction tables `{source}__{task}` -> contract path, for a rule's input; with a
    `scope`, only the pairs it scores (a bundle's models: echocmr.model.scope)."""
    return {f"{source}__{task}": f"results/predictions/{source}/{task}.csv"
            for source, task in pairs if scope is None or scope.scored(source, task)}


def evaluated_pairs() -> list[tuple[str, str]]:
    # Every view and the fused model for all tasks; the clinical baseline is a logistic model of
    # the binary outcomes, evaluated beside them.
    return ([(s, t) for s in [*ANALYSIS_VIEWS, "fused"] for t in TASKS]
            + [("baseline", t) for t in BINARY_TASKS])


def compared_pairs() -> list[tuple[str, str]]:
    """Every view, the fused model and the baseline, binary tasks."""
    return [(s, t) for s in [*ANALYSIS_VIEWS, "fused", "baseline"] for t in BINARY_TASKS]


@dataclass(frozen=True, eq=False)
class ReportPaths:
    """The inputs of the evaluate and report rules for this run's `scope` (all models, or a
    bundle's: echocmr.model.scope)."""

    scope: Scope

    def evaluate_inputs(self) -> dict[str, str]:
        return predictions(evaluated_pairs(), self.scope)

    def fusion_pattern_inputs(self) -> dict[str, str]:
        """The fuse rule's view-pattern tables `fusion__{task}`: how each fused study was scored."""
        return {f"fusion__{t}": f"results/predictions/fused/{t}.views.csv"
                for t in self.scope.tasks}

    def delong_inputs(self) -> dict[str, str]:
        return predictions(compared_pairs(), self.scope)

    def calibration_inputs(self) -> dict[str, str]:
        """Test predictions of every view, the fused model and the baseline, binary tasks."""
        return predictions(compared_pairs(), self.scope)

    def operating_point_inputs(self) -> dict[str, str]:
        """`{split}__{source}__{task}` -> prediction table holding that split. View and baseline
        tables hold val and test; the fused val predictions (in-sample) are a file of their own."""
        out = {}
        for source in [*ANALYSIS_VIEWS, "fused", "baseline"]:
            for task in BINARY_TASKS:
                if not self.scope.scored(source, task):
                    continue
                test = f"results/predictions/{source}/{task}.csv"
                out[f"test__{source}__{task}"] = test
                out[f"val__{source}__{task}"] = (
                    f"results/predictions/fused/{task}.val.csv" if source == "fused" else test)
        return out

    def figure1_inputs(self) -> dict[str, str]:
        pairs = [(s, t) for t in VIEW_SPECIFIC for s in [*ANALYSIS_VIEWS, "fused"]]
        return {"binary": "results/metrics/binary.csv", **predictions(pairs, self.scope)}

    def supp_figure1_inputs(self) -> dict[str, str]:
        tasks = [*MAPPING_BINARY_TASKS, *CONTINUOUS_TASKS]
        return {"binary": "results/metrics/binary.csv",
                "continuous": "results/metrics/continuous.csv",
                **predictions([("fused", t) for t in tasks], self.scope)}

    def bland_altman_inputs(self) -> dict[str, str]:
        return {"continuous": "results/metrics/continuous.csv",
                **predictions([("fused", t) for t in CONTINUOUS_TASKS], self.scope)}
