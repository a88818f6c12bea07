"""Rule pair: each echo study with a kept analysis view -> nearest CMR within the window;
then adults only (cohort.min_age)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.cohort.stage import run_pair

    run_pair(
        manifest=snakemake.input.manifest,
        views=snakemake.input.views,
        cmr_reports=snakemake.input.cmr_reports,
        window_days=snakemake.params.window_days,
        pairs_out=snakemake.output.pairs,
        qc_out=snakemake.output.qc,
        clinical=snakemake.input.clinical,
        min_age=snakemake.params.min_age,
    )
