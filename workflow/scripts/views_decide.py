"""Kept/excluded decision for every video -> results/views/views.csv and the QC rows."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.views.stage import decide_stage

    decide_stage(
        list(snakemake.input.shards),
        snakemake.params.threshold,
        views_out=snakemake.output.views,
        qc_out=snakemake.output.qc,
    )
