# cohort stage rules (see docs/ARCHITECTURE.md and docs/cohort.md): validate the de-identified
# tables, pair echo studies with the nearest CMR, derive labels, split, Table 1.
from echocmr.model.smk import label_config, split_config  # noqa: E402


rule validate_tables:
    input:
        cmr_reports="results/deid/tables/cmr_reports.csv",
        clinical="results/deid/tables/clinical.csv",
        echo_reports="results/deid/tables/echo_reports.csv",
        cmr_reports_schema=COHORT_PATHS.schema("cmr_reports"),
        clinical_schema=COHORT_PATHS.schema("clinical"),
        echo_reports_schema=COHORT_PATHS.schema("echo_reports"),
    output:
        cmr_reports="results/cohort/valid/cmr_reports.csv",
        clinical="results/cohort/valid/clinical.csv",
        echo_reports="results/cohort/valid/echo_reports.csv",
        excluded="results/cohort/excluded_rows.csv",
    log:
        "results/logs/cohort/validate_tables.log",
    conda:
        "../../envs/stats.yaml"
    params:
        code=CODE.of("validate_tables.py"),
    script:
        "../scripts/validate_tables.py"


rule pair:
    input:
        manifest="results/ingest/manifest.csv",
        views="results/views/views.csv",
        cmr_reports="results/cohort/valid/cmr_reports.csv",
        clinical="results/cohort/valid/clinical.csv",
    output:
        pairs="results/cohort/pairs.csv",
        qc="results/cohort/pair_qc.csv",
    log:
        "results/logs/cohort/pair.log",
    conda:
        "../../envs/stats.yaml"
    params:
        window_days=config["cohort"]["window_days"],
        min_age=config["cohort"]["min_age"],
        code=CODE.of("pair.py"),
    script:
        "../scripts/pair.py"


rule labels:
    input:
        pairs="results/cohort/pairs.csv",
        cmr_reports="results/cohort/valid/cmr_reports.csv",
    output:
        labels="results/cohort/labels.csv",
    log:
        "results/logs/cohort/labels.log",
    conda:
        "../../envs/stats.yaml"
    params:
        cohort=label_config(config, BUNDLE),
        code=CODE.of("labels.py"),
    script:
        "../scripts/labels.py"


rule split:
    input:
        labels="results/cohort/labels.csv",
        pair_qc="results/cohort/pair_qc.csv",
    output:
        split="results/cohort/split.csv",
        study_split="results/cohort/study_split.csv",
        qc="results/qc/cohort.csv",
    log:
        "results/logs/cohort/split.log",
    conda:
        "../../envs/stats.yaml"
    params:
        split=split_config(config),
        seed=config["seed"],
        code=CODE.of("split.py"),
    script:
        "../scripts/split.py"


rule table1:
    input:
        study_split="results/cohort/study_split.csv",
        pairs="results/cohort/pairs.csv",
        cmr_reports="results/cohort/valid/cmr_reports.csv",
        clinical="results/cohort/valid/clinical.csv",
        echo_reports="results/cohort/valid/echo_reports.csv",
        manifest="results/ingest/manifest.csv",
        views="results/views/views.csv",
    output:
        csv="results/table1.csv",
        md="results/table1.md",
        # shown in the report as results/report/table1.html (rule report_assets)
        html="results/table1.html",
    log:
        "results/logs/cohort/table1.log",
    conda:
        "../../envs/stats.yaml"
    params:
        cohort=label_config(config, BUNDLE),
        code=CODE.of("table1.py"),
    script:
        "../scripts/table1.py"
