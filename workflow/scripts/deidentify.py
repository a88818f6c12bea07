"""rule deidentify: the included files of one shard -> de-identified DICOM + shard table + QC."""

from echocmr.deid.deidentify import run_deidentify

run_deidentify(snakemake)
