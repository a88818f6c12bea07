# readiness (see docs/cohort.md, "Readiness"): can the cohort power the study? Counts per view
# and task, the expected test split and the AUROC CI half-width it would give. Reads only the
# views and labels, so `snakemake readiness` runs ingest -> crop -> views -> pairing -> labels
# and never trains a model.
from echocmr.report.smk import REPORT_CAT, evaluated_pairs  # noqa: E402


rule readiness:
    input:
        views="results/views/views.csv",
        labels="results/cohort/labels.csv",
    output:
        csv="results/readiness.csv",
        md="results/readiness.md",
        html=report(
            "results/report/readiness.html",
            caption="../report/readiness.rst",
            category=REPORT_CAT["cohort"],
        ),
    log:
        "results/logs/cohort/readiness.log",
    conda:
        "../../envs/stats.yaml"
    params:
        split=split_config(config),
        # the published AUROCs of the replication table: the AUROC each CI is sized at
        published=config["report"]["published"].get("table2", {}),
        # cells without a model in this run's bundle: verdict `n/a: not in the bundle`
        absent=SCOPE.absent(evaluated_pairs()),
        code=CODE.of("readiness.py"),
    script:
        "../scripts/readiness.py"
