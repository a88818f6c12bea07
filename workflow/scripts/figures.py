"""Figure 1, Supplementary Figure 1 or the Bland-Altman figure (params.figure says which)."""

from echocmr.report.figures import run_figures

run_figures(snakemake)
