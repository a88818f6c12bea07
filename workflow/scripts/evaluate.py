"""AUROC / MAE / R2 / Bland-Altman with bootstrap CIs for every prediction table (test split)."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from echocmr.stats.evaluate import evaluate_tables

    tables = {tuple(k.split("__")): snakemake.input[k] for k in snakemake.input.keys()}
    binary, continuous = evaluate_tables(
        tables,
        binary_tasks=set(snakemake.params.binary_tasks),
        n_boot=snakemake.params.n_bootstrap,
        unit=snakemake.params.unit,
        seed=snakemake.params.seed,
    )
    binary.to_csv(snakemake.output.binary, index=False, float_format="%.6f")
    continuous.to_csv(snakemake.output.continuous, index=False, float_format="%.6f")
    log.info("%d binary and %d continuous metric rows", len(binary), len(continuous))
