"""Rule fuse: global prediction per study from the three view predictions (fit val, score
test), or the model bundle's fusion models applied as given (external mode)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.model.stage import run_fuse

    run_fuse(
        task=snakemake.wildcards.task,
        view_csvs=dict(zip(snakemake.params.views, snakemake.input.views, strict=True)),
        labels_csv=snakemake.input.labels,
        split_csv=snakemake.input.split,
        min_fit=snakemake.params.min_fit,
        penalty=snakemake.params.penalty,
        out_csv=snakemake.output.fused,
        out_patterns=snakemake.output.patterns,
        out_val=snakemake.output.val,
        out_models=snakemake.output.models,
        bundle=snakemake.params.bundle,
    )
