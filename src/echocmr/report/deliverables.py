"""The study's deliverables: the files `rule all` builds and the PHI audit waits for.

This is their one home (tests/.../test_single_homes.py): `DELIVERABLES` in
workflow/rules/common.smk is `deliverables()`, the audit rule takes the same list, and
`report_targets()` names the report()-flagged files the HTML report shows.
"""

from __future__ import annotations

from echocmr.report.smk import REPORT_TABLES

PHI_AUDIT = "results/audit/phi_audit.csv"
# Written only by a run that trains its models (not in model.mode external, which reads one).
MODEL_BUNDLE_CARD = "results/model/bundle/model_card.json"

# Tables, figures and records of the study, in the order `rule all` lists them.
STUDY_FILES = (
    "results/table1.csv",
    "results/table2.csv",
    "results/figure1.png",
    "results/figure1.pdf",
    "results/supp_figure1.png",
    "results/supp_figure1.pdf",
    "results/bland_altman.png",
    "results/replication.csv",
    "results/qc/flow.csv",
    "results/qc/flow.png",
    "results/readiness.csv",
    "results/readiness.md",
    "results/summary.csv",
    "results/summary.md",
    "results/views/view_classifier_metrics.csv",
    "results/metrics/delong.csv",
    "results/metrics/operating_points.csv",
    PHI_AUDIT,
    "results/metrics/calibration.csv",
    "results/calibration.png",
)

# Figures the HTML report shows (`report()`-flagged outputs) besides its table pages.
REPORT_FIGURES = (
    "results/qc/flow.png",
    "results/table2.html",
    "results/figure1.png",
    "results/supp_figure1.png",
    "results/bland_altman.png",
    "results/replication.png",
    "results/calibration.png",
    "results/training_curves.png",
    "results/report/view_classifier_confusion.png",
)


def report_targets() -> list[str]:
    """Every report()-flagged output of the report stage (and the readiness and summary pages)."""
    return [
        *REPORT_FIGURES,
        *(f"results/report/{name}.html" for name in REPORT_TABLES),
        "results/report/readiness.html",  # the cohort stage's readiness rule writes this page
        "results/report/summary.html",  # the run summary (rule summary)
    ]


def deliverables(trains_models: bool) -> list[str]:
    """What `rule all` builds (and, through it, everything else): the study files, the model
    bundle when this run trains its models, and the report's files."""
    return [*STUDY_FILES, *([MODEL_BUNDLE_CARD] if trains_models else []), *report_targets()]
