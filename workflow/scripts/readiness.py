"""Rule readiness: per view and task, the cohort's counts, the expected test split and the
AUROC CI half-width it would give (before any training)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.cohort.readiness import write_readiness

    write_readiness(
        views_csv=snakemake.input.views,
        labels_csv=snakemake.input.labels,
        split_config=snakemake.params.split,
        published_table2=snakemake.params.published,
        csv_out=snakemake.output.csv,
        md_out=snakemake.output.md,
        html_out=snakemake.output.html,
        absent=snakemake.params.absent,
    )
