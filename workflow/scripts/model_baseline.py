"""Rule baseline: echo LVEF + age + sex logistic regression per binary task (same splits), or
the model bundle's, applied as given (external mode)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.model.stage import run_baseline

    run_baseline(
        labels_csv=snakemake.input.labels,
        split_csv=snakemake.input.split,
        manifest_csv=snakemake.input.manifest,
        echo_csv=snakemake.input.echo_reports,
        clinical_csv=snakemake.input.clinical,
        out_csvs=dict(zip(snakemake.params.tasks, snakemake.output.predictions, strict=True)),
        out_models=snakemake.output.models,
        bundle=snakemake.params.bundle,
    )
