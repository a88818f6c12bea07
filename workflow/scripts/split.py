"""Rule split: train/val/test assignment (patient level by default) and the cohort QC steps."""

from echocmr.cohort.stage import run_split

run_split(snakemake)
