"""AUROC / MAE / R2 / Bland-Altman with bootstrap CIs for every prediction table (test split)."""

from echocmr.stats.evaluate import run_evaluate

run_evaluate(snakemake)
