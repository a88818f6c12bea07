"""View-classifier accuracy and confusion matrix on videos it never saw."""

from echocmr.views.stage import run_views_metrics

run_views_metrics(snakemake)
