"""Model-vs-baseline AUROC comparison for each video model (per view and fused): DeLong's test
(evaluate.unit study) or a cluster bootstrap of the difference (unit patient). The file keeps
its historical name, results/metrics/delong.csv; its `method` column names the test."""

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
    absent = {tuple(k.split("__")): v for k, v in snakemake.params.absent.items()}
    table = delong_table(models, baselines, unit=snakemake.params.unit,
                         n_boot=snakemake.params.n_bootstrap, seed=snakemake.params.seed,
                         absent=absent)
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
    log.info("%d comparisons with the baseline (%s)", len(table),
             ", ".join(sorted(set(table["method"].dropna()))))
