"""Script entries of the PHI audit: `rule audit` (every file under results/, bytes and pixels)
and `rule audit_report` (the HTML report). Here, above both scans, so that the pixel scan may
use the catalogue and byte scan (`files`) without the two importing each other."""

from __future__ import annotations

from pathlib import Path

from echocmr import keys
from echocmr.audit.files import (
    Catalogue,
    build_catalogue,
    clear_private_detail,
    fail_with_detail,
    hits_frame,
    raw_tables_of,
    redacted_rel,
    scan_file,
    scan_tree,
)
from echocmr.logutil import script_logging


def catalogue_of(smk) -> Catalogue:
    """Both gates' catalogue: the raw export's identifiers (the rule's DICOM folder and raw
    tables), keyed with the run's secret and date shift."""
    secret = keys.secret_from(smk.params.secret, smk.params.synthetic)
    return build_catalogue(smk.input.dicom, raw_tables_of(smk.input), secret,
                           int(smk.params.ingest["date_shift_max_days"]))


def run_audit(smk) -> None:
    """Script entry of `rule audit` (workflow/scripts/audit.py): fail the workflow if any raw
    identifier appears anywhere under results/, in the bytes or in the pixels (OCR)."""
    import sys
    import time

    from echocmr.audit.pixels import scan_pixels
    from echocmr.ingest.paths import other_layouts
    from echocmr.media.ocr import require_tesseract
    from echocmr.secret import private_dir_of

    with script_logging(smk) as log:
        try:  # fail before the scan, saying what to install, when Tesseract is missing
            log.info("OCR: %s", require_tesseract())
        except RuntimeError as exc:
            print(f"PHI audit cannot read pixels: {exc}", file=sys.__stderr__)
            raise
        start = time.perf_counter()
        catalogue = catalogue_of(smk)
        out = Path(smk.output[0])
        results = out.parents[1]  # results/audit/phi_audit.csv -> results/
        skip = [out, *[Path(p) for p in smk.log]]
        # An earlier ingest.shards left these: no rule reads them, but they are under results/
        # (what gets shared), so they are scanned like the rest.
        stale = [redacted_rel(catalogue, Path(p))[0]
                 for p in other_layouts(results, int(smk.params.ingest["shards"]))]
        if stale:
            log.warning("results/ holds %d folder(s) of another shard layout, read by no rule "
                        "and scanned all the same (delete them when no longer needed): %s",
                        len(stale), ", ".join(stale))
        hits = scan_tree(catalogue, results, skip=skip)
        log.info("catalogue and byte scan: %.1f s", time.perf_counter() - start)
        pixel_hits, _ = scan_pixels(catalogue, results, float(smk.params.ocr_sample),
                                    int(smk.params.seed), skip=skip, workers=smk.threads)
        hits += pixel_hits
        out.parent.mkdir(parents=True, exist_ok=True)
        hits_frame(hits).to_csv(out, index=False)
        private = private_dir_of(smk, results)
        if hits:
            fail_with_detail(hits, private, log)
        clear_private_detail(private)
        log.info("PHI audit passed: no raw identifier under %s (bytes and pixels)", results)


def run_audit_report(smk) -> None:
    """Script entry of `rule audit_report`: fail if any raw identifier appears in the HTML
    report (written after the run, so the main audit cannot see it), its text, every embedded
    table and page, and the pixels of every embedded PNG/JPEG figure."""
    import time

    from echocmr.audit.pixels import scan_embedded_images
    from echocmr.media import ocr, scene_text
    from echocmr.secret import private_dir_of

    with script_logging(smk) as log:
        log.info("OCR: %s", ocr.require_tesseract())  # fail before the work, naming the fix
        scene_text.require_models()
        catalogue = catalogue_of(smk)
        report = Path(smk.input.report)
        hits = scan_file(catalogue, report, report.parent.parent)
        start = time.perf_counter()
        shown = redacted_rel(catalogue, report.relative_to(report.parent.parent))[0]
        image_hits, n_images = scan_embedded_images(catalogue, report, shown)
        hits += image_hits
        log.info("embedded images: %d read (learned reader and Tesseract), %.1f s", n_images,
                 time.perf_counter() - start)
        out = Path(smk.output[0])
        hits_frame(hits).to_csv(out, index=False)
        if hits:
            fail_with_detail(hits, private_dir_of(smk, report.parent), log,
                             f"\nDo not share {report}: delete it, fix the source of the "
                             "identifier and write the report again.")
        log.info("report audit passed: no raw identifier in %s or the files and images it "
                 "embeds", report)
