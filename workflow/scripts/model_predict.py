"""Rule predict: val + test predictions per video and per study for the model's task(s)."""

from echocmr.model.stage import run_model_predict

run_model_predict(snakemake)
