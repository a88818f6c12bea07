"""Rule bundle: weights, model card and training curves another site evaluates without
training (echocmr.model.bundle, docs/external.md)."""

from echocmr.model.bundle import run_model_bundle

run_model_bundle(snakemake)
