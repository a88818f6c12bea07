"""rule inventory: every file under the DICOM folder -> one manifest row + QC rows."""

from echocmr.ingest.inventory import run_inventory

run_inventory(snakemake)
