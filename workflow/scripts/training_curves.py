"""Training curves of every trained model (results/model/{view}/{model}/metrics.csv)."""

from echocmr.report.figures import run_training_curves

run_training_curves(snakemake)
