"""rule audit: fail the workflow if any raw identifier appears anywhere under results/, in the
bytes (headers, text, names) or in the pixels (burned-in text read by OCR)."""

import sys
import time
from pathlib import Path

from echocmr.audit import (
    _redacted_rel,
    build_catalogue,
    failure_message,
    hits_frame,
    raw_tables_of,
    scan_tree,
)
from echocmr.audit_pixels import scan_pixels
from echocmr.ingest.paths import other_layouts
from echocmr.ingest.settings import secret_from
from echocmr.logutil import script_logging
from echocmr.ocr import require_tesseract

with script_logging(snakemake) as log:
    try:  # fail before the scan, saying what to install, when Tesseract is missing
        log.info("OCR: %s", require_tesseract())
    except RuntimeError as exc:
        print(f"PHI audit cannot read pixels: {exc}", file=sys.__stderr__)
        raise
    secret = secret_from(snakemake.params.secret, snakemake.params.synthetic)
    tables = raw_tables_of(snakemake.input)
    start = time.perf_counter()
    catalogue = build_catalogue(snakemake.input.dicom, tables, secret,
                                int(snakemake.params.ingest.get("date_shift_max_days", 365)))
    out = Path(snakemake.output[0])
    results = out.parents[1]  # results/audit/phi_audit.csv -> results/
    skip = [out, *[Path(p) for p in snakemake.log]]
    # An earlier ingest.shards left these: no rule reads them, but they are under results/ (what
    # gets shared), so they are scanned like the rest.
    stale = [_redacted_rel(catalogue, Path(p))[0]
             for p in other_layouts(results, int(snakemake.params.ingest["shards"]))]
    if stale:
        log.warning("results/ holds %d folder(s) of another shard layout, read by no rule and "
                    "scanned all the same (delete them when no longer needed): %s",
                    len(stale), ", ".join(stale))
    hits = scan_tree(catalogue, results, skip=skip)
    log.info("catalogue and byte scan: %.1f s", time.perf_counter() - start)
    pixel_hits, _ = scan_pixels(catalogue, results, float(snakemake.params.ocr_sample),
                                int(snakemake.params.seed), skip=skip,
                                workers=snakemake.threads)
    hits += pixel_hits
    out.parent.mkdir(parents=True, exist_ok=True)
    hits_frame(hits).to_csv(out, index=False)
    if hits:
        message = failure_message(hits)
        log.error(message)
        print(message, file=sys.__stderr__)
        sys.exit(1)
    log.info("PHI audit passed: no raw identifier under %s (bytes and pixels)", results)
