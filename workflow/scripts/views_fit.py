"""Train the view classifier on the labelled subset (views.backend: train)."""

from echocmr.views.stage import run_views_fit

run_views_fit(snakemake)
