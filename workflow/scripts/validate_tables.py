"""Rule validate_tables: check the de-identified tables against workflow/schemas/*.yaml."""

from echocmr.cohort.stage import run_validate_tables

run_validate_tables(snakemake)
