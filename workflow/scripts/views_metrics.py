"""View-classifier accuracy and confusion matrix on videos it never saw."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.keys import load_secret
    from echocmr.views.stage import metrics_stage

    synthetic = snakemake.params.synthetic
    secret = (load_secret(env=snakemake.params.secret_env, file=snakemake.params.secret_file,
                          synthetic=True) if synthetic else None)
    metrics_stage(
        snakemake.input.views,
        snakemake.params.backend,
        synthetic,
        snakemake.output.metrics,
        snakemake.output.figure,
        truth_csv=snakemake.input.get("truth"),
        secret=secret,
        split_csv=snakemake.input.get("split"),
        labels_csv=snakemake.input.get("labels"),
    )
