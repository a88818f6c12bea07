"""Rule train: one video model for a view (multitask) or a (view, task) pair (per_task)."""

from echocmr.model.stage import run_model_train

run_model_train(snakemake)
