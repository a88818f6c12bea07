"""rule audit: fail the workflow if any raw identifier appears anywhere under results/, in the
bytes (headers, text, names) or in the pixels (burned-in text read by OCR)."""

from echocmr.audit.stage import run_audit

run_audit(snakemake)
