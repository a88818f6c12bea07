"""Rule calibration: calibration intercept and slope with bootstrap CIs (every binary source) and
a reliability plot of the fused model per task."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from echocmr.report.calibration import reliability_figure
    from echocmr.stats.calibration import calibration_table

    tables = {tuple(k.split("__")): v for k, v in snakemake.input.items()}
    table = calibration_table(tables, n_boot=snakemake.params.n_bootstrap,
                              unit=snakemake.params.unit, seed=snakemake.params.seed)
    table.to_csv(snakemake.output.csv, index=False, float_format="%.6g")
    fused = {task: path for (source, task), path in tables.items() if source == "fused"}
    reliability_figure(fused, table, snakemake.output.png, snakemake.output.pdf)
    log.info("calibration of %d prediction tables", len(table))
