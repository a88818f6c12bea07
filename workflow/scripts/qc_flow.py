"""Concatenate every stage's QC counts in DAG order, check they add up, draw the flow chart."""

from echocmr.report.qc_flow import run_qc_flow

run_qc_flow(snakemake)
