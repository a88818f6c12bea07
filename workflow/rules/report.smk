# report stage rules (see docs/ARCHITECTURE.md): Table 2, figures, replication, QC flow and the
# assets of the HTML report (`snakemake --report results/report.html`).


report: "../report/workflow.rst"


REPORT_CAT = {
    "qc": "1. Data flow and QC",
    "cohort": "2. Cohort (Table 1)",
    "views": "3. View classification",
    "model": "4. Model training",
    "results": "5. Results",
    "replication": "6. Replication",
    "run": "7. Run record",
}


# Tables shown in the HTML report as pages (a CSV would only be a download link there), and
# the run record; name -> report category. Rendered by `rule report_assets`.
REPORT_TABLES = {
    "qc_flow": "qc",
    "table1": "cohort",
    "view_metrics": "views",
    "metrics_binary": "results",
    "metrics_continuous": "results",
    "delong": "results",
    "replication": "replication",
    "config_used": "run",
    "software_versions": "run",
}


def caption(name):
    return f"../report/{name}.rst"


def figure_inputs(pairs):
    """Named prediction tables for (source, task) pairs, as `{source}__{task}`."""
    return {
        f"{source}__{task}": f"results/predictions/{source}/{task}.csv"
        for source, task in pairs
    }


def figure1_inputs(wildcards):
    pairs = [(s, t) for t in ("wma", "lge") for s in VIEWS + ["fused"]]
    return {"binary": "results/metrics/binary.csv", **figure_inputs(pairs)}


def supp_figure1_inputs(wildcards):
    tasks = ["t1_abnormal", "t2_abnormal", "ecv_abnormal"] + CONTINUOUS_TASKS
    return {
        "binary": "results/metrics/binary.csv",
        "continuous": "results/metrics/continuous.csv",
        **figure_inputs([("fused", t) for t in tasks]),
    }


def bland_altman_inputs(wildcards):
    return {
        "continuous": "results/metrics/continuous.csv",
        **figure_inputs([("fused", t) for t in CONTINUOUS_TASKS]),
    }


def model_names():
    """Model folders under results/model/{view}/: one per task, or one multi-task model."""
    if (
        "MODEL_NAMES" in globals()
    ):  # the model stage's own list (workflow/rules/model.smk)
        return MODEL_NAMES
    if config["model"].get("mode", "per_task") == "multitask":
        return ["multitask"]
    return TASKS


def report_targets():
    """Every report()-flagged output; `rule all` (or `--report` targets) must include these."""
    return [
        "results/qc/flow.png",
        "results/table2.html",
        "results/figure1.png",
        "results/supp_figure1.png",
        "results/bland_altman.png",
        "results/replication.png",
        "results/training_curves.png",
        "results/report/view_classifier_confusion.png",
        *(f"results/report/{name}.html" for name in REPORT_TABLES),
    ]


rule table2:
    input:
        binary="results/metrics/binary.csv",
    output:
        csv="results/table2.csv",
        md="results/table2.md",
        html=report(
            "results/table2.html",
            caption=caption("table2"),
            category=REPORT_CAT["results"],
        ),
    log:
        "results/logs/report/table2.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/table2.py"


rule figure1:
    input:
        unpack(figure1_inputs),
    output:
        png=report(
            "results/figure1.png",
            caption=caption("figure1"),
            category=REPORT_CAT["results"],
        ),
        pdf="results/figure1.pdf",
    log:
        "results/logs/report/figure1.log",
    conda:
        "../../envs/plot.yaml"
    params:
        figure="figure1",
    script:
        "../scripts/figures.py"


rule supp_figure1:
    input:
        unpack(supp_figure1_inputs),
    output:
        png=report(
            "results/supp_figure1.png",
            caption=caption("supp_figure1"),
            category=REPORT_CAT["results"],
        ),
        pdf="results/supp_figure1.pdf",
    log:
        "results/logs/report/supp_figure1.log",
    conda:
        "../../envs/plot.yaml"
    params:
        figure="supp_figure1",
    script:
        "../scripts/figures.py"


rule bland_altman:
    input:
        unpack(bland_altman_inputs),
    output:
        png=report(
            "results/bland_altman.png",
            caption=caption("bland_altman"),
            category=REPORT_CAT["results"],
        ),
        pdf="results/bland_altman.pdf",
    log:
        "results/logs/report/bland_altman.log",
    conda:
        "../../envs/plot.yaml"
    params:
        figure="bland_altman",
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
            caption=caption("replication_figure"),
            category=REPORT_CAT["replication"],
        ),
    log:
        "results/logs/report/replication.log",
    conda:
        "../../envs/plot.yaml"
    params:
        published=config["report"]["published"],
    script:
        "../scripts/replication.py"


rule qc_flow:
    input:
        ingest="results/qc/ingest.csv",
        deidentify=expand("results/qc/deidentify/shard-{shard}.csv", shard=SHARDS),
        crop=expand("results/qc/crop/shard-{shard}.csv", shard=SHARDS),
        views="results/qc/views.csv",
        cohort="results/qc/cohort.csv",
    output:
        csv="results/qc/flow.csv",
        png=report(
            "results/qc/flow.png",
            caption=caption("qc_flow"),
            category=REPORT_CAT["qc"],
        ),
    log:
        "results/logs/report/qc_flow.log",
    conda:
        "../../envs/plot.yaml"
    params:
        stages=["ingest", "deidentify", "crop", "views", "cohort"],
    script:
        "../scripts/qc_flow.py"


rule training_curves:
    input:
        expand(
            "results/model/{view}/{name}/metrics.csv", view=VIEWS, name=model_names()
        ),
    output:
        report(
            "results/training_curves.png",
            caption=caption("training_curves"),
            category=REPORT_CAT["model"],
        ),
    log:
        "results/logs/report/training_curves.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/training_curves.py"


rule report_assets:
    input:
        table1="results/table1.csv",
        view_metrics="results/views/view_classifier_metrics.csv",
        view_confusion="results/views/view_classifier_confusion.png",
        qc_flow="results/qc/flow.csv",
        replication="results/replication.csv",
        metrics_binary="results/metrics/binary.csv",
        metrics_continuous="results/metrics/continuous.csv",
        delong="results/metrics/delong.csv",
    output:
        config="results/config_used.yaml",
        versions="results/software_versions.txt",
        view_confusion=report(
            "results/report/view_classifier_confusion.png",
            caption=caption("view_confusion"),
            category=REPORT_CAT["views"],
        ),
        qc_flow=report(
            "results/report/qc_flow.html",
            caption=caption("qc_flow"),
            category=REPORT_CAT["qc"],
        ),
        table1=report(
            "results/report/table1.html",
            caption=caption("table1"),
            category=REPORT_CAT["cohort"],
        ),
        view_metrics=report(
            "results/report/view_metrics.html",
            caption=caption("view_metrics"),
            category=REPORT_CAT["views"],
        ),
        metrics_binary=report(
            "results/report/metrics_binary.html",
            caption=caption("metrics_binary"),
            category=REPORT_CAT["results"],
        ),
        metrics_continuous=report(
            "results/report/metrics_continuous.html",
            caption=caption("metrics_continuous"),
            category=REPORT_CAT["results"],
        ),
        delong=report(
            "results/report/delong.html",
            caption=caption("delong"),
            category=REPORT_CAT["results"],
        ),
        replication=report(
            "results/report/replication.html",
            caption=caption("replication"),
            category=REPORT_CAT["replication"],
        ),
        config_used=report(
            "results/report/config_used.html",
            caption=caption("config_used"),
            category=REPORT_CAT["run"],
        ),
        software_versions=report(
            "results/report/software_versions.html",
            caption=caption("software_versions"),
            category=REPORT_CAT["run"],
        ),
    log:
        "results/logs/report/report_assets.log",
    conda:
        "../../envs/plot.yaml"
    params:
        tables=list(REPORT_TABLES),
    script:
        "../scripts/report_assets.py"


rule report_inputs:
    """Everything the HTML report shows: `snakemake report_inputs` then
    `snakemake --report results/report.html report_inputs` (or via `rule all`)."""
    input:
        report_targets(),
