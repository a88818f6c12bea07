"""Report pages: every table as a standalone HTML page, the config used, software versions."""

from echocmr.report.assets import run_report_assets

run_report_assets(snakemake)
