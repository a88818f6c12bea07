"""rule deidentify_tables: raw CMR/clinical/echo/view-label tables -> pseudonymised tables."""

from echocmr.ingest.tables import run_deidentify_tables

run_deidentify_tables(snakemake)
