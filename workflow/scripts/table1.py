"""Rule table1: the paper's Table 1 as CSV, markdown and HTML."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.cohort.stage import run_table1

    run_table1(
        study_split=snakemake.input.study_split,
        pairs=snakemake.input.pairs,
        cmr_reports=snakemake.input.cmr_reports,
        clinical=snakemake.input.clinical,
        echo_reports=snakemake.input.echo_reports,
        manifest=snakemake.input.manifest,
        views=snakemake.input.views,
        cohort_config=snakemake.params.cohort,
        csv_out=snakemake.output.csv,
        md_out=snakemake.output.md,
        html_out=snakemake.output.html,
    )
