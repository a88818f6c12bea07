"""Rule table1: the paper's Table 1 as CSV, markdown and HTML."""

from echocmr.cohort.stage import run_table1

run_table1(snakemake)
