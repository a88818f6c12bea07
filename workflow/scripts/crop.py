"""rule crop: one shard of de-identified DICOM -> uint8 store + AVIs + QC rows."""

from pathlib import Path

import cv2

from echocmr.ingest.crop import CropConfig
from echocmr.ingest.crop_shard import ShardInputs, crop_shard
from echocmr.logutil import script_logging

with script_logging(snakemake) as log:  # noqa: F821 - injected by Snakemake
    cv2.setNumThreads(max(1, int(snakemake.threads)))  # noqa: F821 - stay within the job
    section = dict(snakemake.params.crop)  # noqa: F821
    avi = section.pop("avi", {}) or {}
    cfg = CropConfig.from_config(section)
    inputs = ShardInputs(deid_dir=Path(snakemake.input.deid_dir),  # noqa: F821
                         deid_table=Path(snakemake.input.deid_table),  # noqa: F821
                         manifest=Path(snakemake.input.manifest))  # noqa: F821
    out_dir = Path(snakemake.output.frames).parent  # noqa: F821
    outcome = crop_shard(inputs, out_dir, Path(snakemake.output.qc), cfg,  # noqa: F821
                         write_avi=bool(avi.get("write", True)),
                         avi_quantiser=int(avi.get("quantiser", 2)))
    log.info("shard done: %d videos cropped, %d excluded",
             int((outcome["status"] == "included").sum()),
             int((outcome["status"] == "excluded").sum()))
