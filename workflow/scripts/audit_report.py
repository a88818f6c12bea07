"""rule audit_report: fail if any raw identifier appears in the HTML report (written after the
run, so the main audit cannot see it): its text and every embedded table and page."""

from echocmr.audit.stage import run_audit_report

run_audit_report(snakemake)
