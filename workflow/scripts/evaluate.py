"""AUROC / MAE / R2 / Bland-Altman with bootstrap CIs for every prediction table (test split)."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    import pandas as pd

    from echocmr.stats.evaluate import evaluate_tables

    keys = list(snakemake.input.keys())
    tables = {tuple(k.split("__")): snakemake.input[k] for k in keys
              if not k.startswith("fusion__")}
    fusion = {k.split("__", 1)[1]: snakemake.input[k] for k in keys if k.startswith("fusion__")}
    binary, continuous = evaluate_tables(
        tables,
        binary_tasks=set(snakemake.params.binary_tasks),
        n_boot=snakemake.params.n_bootstrap,
        unit=snakemake.params.unit,
        seed=snakemake.params.seed,
        fusion=fusion,
        absent={tuple(k.split("__")): v for k, v in snakemake.params.absent.items()},
    )
    binary.to_csv(snakemake.output.binary, index=False, float_format="%.6f")
    continuous.to_csv(snakemake.output.continuous, index=False, float_format="%.6f")
    log.info("%d binary and %d continuous metric rows", len(binary), len(continuous))
    for row in binary.itertuples():
        mean_of_views = 0 if pd.isna(row.n_mean_of_views) else row.n_mean_of_views
        if row.source == "fused" and mean_of_views > 0:  # NA: a task not in the bundle
            log.warning("fused %s: %d of %d test studies scored by the mean of their views "
                        "(%s)", row.task, row.n_mean_of_views, row.n, row.fusion_method)
