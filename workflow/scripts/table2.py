"""Table 2: AUROC (95% CI) per CMR parameter and echo view, as CSV, Markdown and HTML."""

from echocmr.report.tables import run_table2

run_table2(snakemake)
