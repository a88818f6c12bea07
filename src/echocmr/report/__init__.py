"""Report stage: Table 2, figures, replication table, QC flow and report assets."""
