"""Rule split: train/val/test assignment (patient level by default) and the cohort QC steps."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.cohort.stage import run_split

    run_split(
        labels=snakemake.input.labels,
        pair_qc=snakemake.input.pair_qc,
        cohort_config={"split": snakemake.params.split},
        seed=snakemake.params.seed,
        split_out=snakemake.output.split,
        study_split_out=snakemake.output.study_split,
        qc_out=snakemake.output.qc,
    )
