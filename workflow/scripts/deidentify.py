"""rule deidentify: the included files of one shard -> de-identified DICOM + shard table + QC."""

import pandas as pd

from echocmr.ingest.deidentify import deidentify_shard, qc_rows
from echocmr.ingest.settings import deid_settings, secret_from
from echocmr.logutil import script_logging

with script_logging(snakemake):
    secret = secret_from(snakemake.params.secret, snakemake.params.synthetic)
    manifest = pd.read_csv(snakemake.input.manifest, dtype=str, keep_default_na=False)
    table = deidentify_shard(snakemake.input.dicom, manifest, int(snakemake.wildcards.shard),
                             snakemake.output.dir, deid_settings(snakemake.params.ingest, secret))
    table.to_csv(snakemake.output.table, index=False)
    qc_rows(table).to_csv(snakemake.output.qc, index=False)
