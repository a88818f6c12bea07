"""Model-vs-baseline AUROC comparison for each video model (per view and fused): DeLong's test
(evaluate.unit study) or a cluster bootstrap of the difference (unit patient). The file keeps
its historical name, results/metrics/delong.csv; its `method` column names the test."""

from echocmr.stats.evaluate import run_delong

run_delong(snakemake)
