"""Rule fuse: global prediction per study from the three view predictions (fit val, score
test), or the model bundle's fusion models applied as given (external mode)."""

from echocmr.model.stage import run_model_fuse

run_model_fuse(snakemake)
