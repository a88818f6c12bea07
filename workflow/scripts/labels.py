"""Rule labels: per-view and global CMR labels of each paired echo study."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.cohort.stage import run_labels

    run_labels(
        pairs=snakemake.input.pairs,
        cmr_reports=snakemake.input.cmr_reports,
        cohort_config=snakemake.params.cohort,
        labels_out=snakemake.output.labels,
    )
