"""Published vs reproduced numbers with both CIs and a verdict, as a table and a figure."""

from echocmr.report.replication import run_replication

run_replication(snakemake)
