"""Rule simulate: write the synthetic raw export and its truth (thin wrapper)."""

from echocmr.simulate.export import run_simulate

run_simulate(snakemake)
