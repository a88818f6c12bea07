"""DeLong tests: each video model (per view and fused) against the clinical baseline."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from echocmr.stats.evaluate import delong_table

    models, baselines = {}, {}
    for key in snakemake.input.keys():
        path = snakemake.input[key]
        source, task = key.split("__")
        if source == "baseline":
            baselines[task] = path
        else:
            models[(source, task)] = path
    table = delong_table(models, baselines)
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
    log.info("%d DeLong comparisons", len(table))
