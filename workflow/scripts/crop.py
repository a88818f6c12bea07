"""rule crop: one shard of de-identified DICOM -> uint8 store + AVIs + QC rows."""

from echocmr.crop.shard import run_crop

run_crop(snakemake)
