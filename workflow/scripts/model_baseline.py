"""Rule baseline: echo LVEF + age + sex logistic regression per binary task (same splits), or
the model bundle's, applied as given (external mode)."""

from echocmr.model.stage import run_model_baseline

run_model_baseline(snakemake)
