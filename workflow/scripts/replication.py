"""Published vs reproduced numbers with both CIs and a verdict, as a table and a figure."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    import pandas as pd

    from echocmr.report.replication import replication_figure, replication_table

    table = replication_table(
        snakemake.params.published,
        pd.read_csv(snakemake.input.binary),
        pd.read_csv(snakemake.input.continuous),
        pd.read_csv(snakemake.input.table1),
    )
    table.to_csv(snakemake.output.csv, index=False, float_format="%.6g")
    replication_figure(table, snakemake.output.png)
    log.info("%d rows; verdicts: %s", len(table), table["verdict"].value_counts().to_dict())
