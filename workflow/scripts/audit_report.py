"""rule audit_report: fail if any raw identifier appears in the HTML report (written after the
run, so the main audit cannot see it): its text and every embedded table and page."""

import sys
from pathlib import Path

from echocmr.audit import (
    build_catalogue,
    failure_message,
    hits_frame,
    raw_tables_of,
    scan_file,
)
from echocmr.ingest.settings import secret_from
from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    secret = secret_from(snakemake.params.secret, snakemake.params.synthetic)
    tables = raw_tables_of(snakemake.input)
    catalogue = build_catalogue(snakemake.input.dicom, tables, secret,
                                int(snakemake.params.ingest["date_shift_max_days"]))
    report = Path(snakemake.input.report)
    hits = scan_file(catalogue, report, report.parent.parent)
    out = Path(snakemake.output[0])
    hits_frame(hits).to_csv(out, index=False)
    if hits:
        message = (failure_message(hits) + f"\nDo not share {report}: delete it, fix the "
                   "source of the identifier and write the report again.")
        log.error(message)
        print(message, file=sys.__stderr__)
        sys.exit(1)
    log.info("report audit passed: no raw identifier in %s or the files it embeds", report)
