# report stage rules (see docs/ARCHITECTURE.md): Table 2, figures, replication, QC flow and the
# assets of the HTML report (`snakemake --report results/report.html`).


report: "../report/workflow.rst"


import time  # noqa: E402

from echocmr.report.smk import REPORT_CAT  # noqa: E402
from echocmr.report.deliverables import report_targets  # noqa: E402
from echocmr.report.summary import written_since  # noqa: E402

RUN_STARTED = time.time()


# A run that (re)wrote the summary ends by printing it: per stage, what was missing.
onsuccess:
    print(written_since("results/summary.md", RUN_STARTED), end="")


rule table2:
    input:
        binary="results/metrics/binary.csv",
    output:
        csv="results/table2.csv",
        md="results/table2.md",
        html=report(
            "results/table2.html",
            caption="../report/table2.rst",
            category=REPORT_CAT["results"],
        ),
    log:
        "results/logs/report/table2.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the synthetic-data banner (echocmr.report.style.data_banner)
        synthetic=config["input"]["mode"] == "synthetic",
        code=CODE.of("table2.py"),
    script:
        "../scripts/table2.py"


rule figure1:
    input:
        **REPORT_PATHS.figure1_inputs(),
    output:
        png=report(
            "results/figure1.png",
            caption="../report/figure1.rst",
            category=REPORT_CAT["results"],
        ),
        pdf="results/figure1.pdf",
    log:
        "results/logs/report/figure1.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the synthetic-data banner (echocmr.report.style.data_banner)
        synthetic=config["input"]["mode"] == "synthetic",
        figure="figure1",
        code=CODE.of("figures.py"),
    script:
        "../scripts/figures.py"


rule supp_figure1:
    input:
        **REPORT_PATHS.supp_figure1_inputs(),
    output:
        png=report(
            "results/supp_figure1.png",
            caption="../report/supp_figure1.rst",
            category=REPORT_CAT["results"],
        ),
        pdf="results/supp_figure1.pdf",
    log:
        "results/logs/report/supp_figure1.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the synthetic-data banner (echocmr.report.style.data_banner)
        synthetic=config["input"]["mode"] == "synthetic",
        figure="supp_figure1",
        code=CODE.of("figures.py"),
    script:
        "../scripts/figures.py"


rule bland_altman:
    input:
        **REPORT_PATHS.bland_altman_inputs(),
    output:
        png=report(
            "results/bland_altman.png",
            caption="../report/bland_altman.rst",
            category=REPORT_CAT["results"],
        ),
        pdf="results/bland_altman.pdf",
    log:
        "results/logs/report/bland_altman.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the synthetic-data banner (echocmr.report.style.data_banner)
        synthetic=config["input"]["mode"] == "synthetic",
        figure="bland_altman",
        code=CODE.of("figures.py"),
    script:
        "../scripts/figures.py"


rule replication:
    input:
        binary="results/metrics/binary.csv",
        continuous="results/metrics/continuous.csv",
        table1="results/table1.csv",
    output:
        csv="results/replication.csv",
        png=report(
            "results/replication.png",
            caption="../report/replication_figure.rst",
            category=REPORT_CAT["replication"],
        ),
    log:
        "results/logs/report/replication.log",
    conda:
        "../../envs/plot.yaml"
    params:
        published=config["report"]["published"],
        equivalence=config["report"]["equivalence"],
        # the synthetic generator draws its cohort from the published Table 1
        synthetic=config["input"]["mode"] == "synthetic",
        code=CODE.of("replication.py"),
    script:
        "../scripts/replication.py"


rule qc_flow:
    input:
        ingest="results/qc/ingest.csv",
        deidentify=INGEST_PATHS.every_shard("results/qc/deidentify", ".csv"),
        crop=INGEST_PATHS.every_shard("results/qc/crop", ".csv"),
        views="results/qc/views.csv",
        cohort="results/qc/cohort.csv",
    output:
        csv="results/qc/flow.csv",
        png=report(
            "results/qc/flow.png",
            caption="../report/qc_flow.rst",
            category=REPORT_CAT["qc"],
        ),
    log:
        "results/logs/report/qc_flow.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the synthetic-data banner (echocmr.report.style.data_banner)
        synthetic=config["input"]["mode"] == "synthetic",
        stages=["ingest", "deidentify", "crop", "views", "cohort"],
        code=CODE.of("qc_flow.py"),
    script:
        "../scripts/qc_flow.py"


rule summary:
    """Per stage, what was missing and what to add (a pilot export's first page)."""
    input:
        manifest="results/ingest/manifest.csv",
        views="results/views/views.csv",
        cohort_qc="results/qc/cohort.csv",
        split="results/cohort/study_split.csv",
        curves=MODEL_PATHS.training_metrics(),
        binary="results/metrics/binary.csv",
        continuous="results/metrics/continuous.csv",
        readiness="results/readiness.csv",
        calibration="results/metrics/calibration.csv",
        # table rows dropped, counted per reason on the page and in the line the run prints
        rejected="results/deid/tables/rejected_rows.csv",
        excluded="results/cohort/excluded_rows.csv",
    output:
        csv="results/summary.csv",
        md="results/summary.md",
        html=report(
            "results/report/summary.html",
            caption="../report/summary.rst",
            category=REPORT_CAT["run"],
        ),
    log:
        "results/logs/report/summary.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # external mode: the all-test split is by design, stated, not listed as a gap
        external=BUNDLE is not None,
        code=CODE.of("summary.py"),
    script:
        "../scripts/summary.py"


rule training_curves:
    input:
        MODEL_PATHS.training_metrics(),
    output:
        report(
            "results/training_curves.png",
            caption="../report/training_curves.rst",
            category=REPORT_CAT["model"],
        ),
    log:
        "results/logs/report/training_curves.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the synthetic-data banner (echocmr.report.style.data_banner)
        synthetic=config["input"]["mode"] == "synthetic",
        code=CODE.of("training_curves.py"),
    script:
        "../scripts/training_curves.py"


rule report_assets:
    input:
        **MODEL_PATHS.pin_records(),
        table1="results/table1.csv",
        view_metrics="results/views/view_classifier_metrics.csv",
        view_confusion="results/views/view_classifier_confusion.png",
        qc_flow="results/qc/flow.csv",
        replication="results/replication.csv",
        metrics_binary="results/metrics/binary.csv",
        metrics_continuous="results/metrics/continuous.csv",
        delong="results/metrics/delong.csv",
        operating_points="results/metrics/operating_points.csv",
        # the QC page also counts the dropped table rows per reason
        rejected="results/deid/tables/rejected_rows.csv",
        excluded="results/cohort/excluded_rows.csv",
    output:
        config="results/config_used.yaml",
        versions="results/software_versions.txt",
        # the report's front page (workflow/report/workflow.rst includes it)
        front_page="results/report/front_page.rst",
        view_confusion=report(
            "results/report/view_classifier_confusion.png",
            caption="../report/view_confusion.rst",
            category=REPORT_CAT["views"],
        ),
        qc_flow=report(
            "results/report/qc_flow.html",
            caption="../report/qc_flow.rst",
            category=REPORT_CAT["qc"],
        ),
        table1=report(
            "results/report/table1.html",
            caption="../report/table1.rst",
            category=REPORT_CAT["cohort"],
        ),
        view_metrics=report(
            "results/report/view_metrics.html",
            caption="../report/view_metrics.rst",
            category=REPORT_CAT["views"],
        ),
        metrics_binary=report(
            "results/report/metrics_binary.html",
            caption="../report/metrics_binary.rst",
            category=REPORT_CAT["results"],
        ),
        metrics_continuous=report(
            "results/report/metrics_continuous.html",
            caption="../report/metrics_continuous.rst",
            category=REPORT_CAT["results"],
        ),
        delong=report(
            "results/report/delong.html",
            caption="../report/delong.rst",
            category=REPORT_CAT["results"],
        ),
        operating_points=report(
            "results/report/operating_points.html",
            caption="../report/operating_points.rst",
            category=REPORT_CAT["results"],
        ),
        replication=report(
            "results/report/replication.html",
            caption="../report/replication.rst",
            category=REPORT_CAT["replication"],
        ),
        config_used=report(
            "results/report/config_used.html",
            caption="../report/config_used.rst",
            category=REPORT_CAT["run"],
        ),
        software_versions=report(
            "results/report/software_versions.html",
            caption="../report/software_versions.rst",
            category=REPORT_CAT["run"],
        ),
    log:
        "results/logs/report/report_assets.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the whole config, recorded in results/config_used.yaml: a cheap rule, rerun on any change
        config=config,
        code=CODE.of("report_assets.py"),
    script:
        "../scripts/report_assets.py"


rule report_inputs:
    """Everything the HTML report shows: `snakemake report_inputs` then
    `snakemake --report results/report.html report_inputs` (or via `rule all`)."""
    input:
        report_targets(),
