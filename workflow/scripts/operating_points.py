"""Sensitivity, specificity, PPV, NPV at the validation Youden threshold, on test, with CIs."""

from echocmr.stats.operating import run_operating_points

run_operating_points(snakemake)
