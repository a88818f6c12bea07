"""Rule readiness: per view and task, the cohort's counts, the expected test split and the
AUROC CI half-width it would give (before any training)."""

from echocmr.cohort.readiness import run_readiness

run_readiness(snakemake)
