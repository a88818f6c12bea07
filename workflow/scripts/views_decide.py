"""Kept/excluded decision for every video -> results/views/views.csv and the QC rows."""

from echocmr.views.stage import run_views_decide

run_views_decide(snakemake)
