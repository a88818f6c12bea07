"""Table 2: AUROC (95% CI) per CMR parameter and echo view, as CSV, Markdown and HTML."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    import pandas as pd

    from echocmr.report.tables import table2, table2_html, table2_markdown

    table = table2(pd.read_csv(snakemake.input.binary))
    table.to_csv(snakemake.output.csv, index=False, float_format="%.6f")
    with open(snakemake.output.md, "w") as handle:
        handle.write(table2_markdown(table))
    with open(snakemake.output.html, "w") as handle:
        handle.write(table2_html(table))
