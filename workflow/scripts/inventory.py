"""rule inventory: every file under the DICOM folder -> one manifest row + QC rows."""

from pathlib import Path

from echocmr.ingest.inventory import build_manifest, qc_rows
from echocmr.ingest.settings import inventory_settings, secret_from
from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    secret = secret_from(snakemake.params.secret, snakemake.params.synthetic)
    settings = inventory_settings(snakemake.params.ingest, secret, snakemake.params.period)
    manifest = build_manifest(snakemake.input.dicom, settings,
                              processes=max(1, int(snakemake.threads)))
    Path(snakemake.output.manifest).parent.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(snakemake.output.manifest, index=False)
    qc_rows(manifest, period=settings.period is not None).to_csv(snakemake.output.qc, index=False)
    log.info("manifest: %d rows", len(manifest))
