"""Sensitivity, specificity, PPV, NPV at the validation Youden threshold, on test, with CIs."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from echocmr.stats.operating import operating_points_table

    pairs = {}
    for key in snakemake.input.keys():
        split, source, task = key.split("__")
        pairs.setdefault((source, task), {})[split] = snakemake.input[key]
    table = operating_points_table(
        {k: (v["val"], v["test"]) for k, v in pairs.items()},
        n_boot=snakemake.params.n_bootstrap,
        unit=snakemake.params.unit,
        seed=snakemake.params.seed,
        thresholds=snakemake.params.thresholds,
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
    log.info("%d operating points (threshold: %s)", len(table),
             "Youden J on validation" if snakemake.params.thresholds is None else "the bundle's")
