"""Rule labels: per-view and global CMR labels of each paired echo study."""

from echocmr.cohort.stage import run_labels

run_labels(snakemake)
