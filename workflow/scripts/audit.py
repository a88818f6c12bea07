"""rule audit: fail the workflow if any raw identifier appears anywhere under results/."""

import sys
from pathlib import Path

from echocmr.audit import build_catalogue, failure_message, hits_frame, scan_tree
from echocmr.ingest.settings import secret_from
from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    secret = secret_from(snakemake.params.secret, snakemake.params.synthetic)
    tables = {name: snakemake.input.get(name)
              for name in ("cmr_reports", "clinical", "echo_reports", "view_labels")}
    catalogue = build_catalogue(snakemake.input.dicom, tables, secret,
                                int(snakemake.params.ingest.get("date_shift_max_days", 365)))
    out = Path(snakemake.output[0])
    results = out.parents[1]  # results/audit/phi_audit.csv -> results/
    hits = scan_tree(catalogue, results,
                     skip=[out, *[Path(p) for p in snakemake.log]])
    out.parent.mkdir(parents=True, exist_ok=True)
    hits_frame(hits).to_csv(out, index=False)
    if hits:
        message = failure_message(hits)
        log.error(message)
        print(message, file=sys.__stderr__)
        sys.exit(1)
    log.info("PHI audit passed: no raw identifier under %s", results)
