"""The run summary: per stage, what was missing and what to add, and the readiness verdict of
every view/task cell beside what this run computed for it (results/summary.md)."""

from echocmr.report.summary import run_summary

run_summary(snakemake)
