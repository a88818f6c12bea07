"""Per-video view probabilities for one shard, from the configured backend."""

from echocmr.views.stage import run_views_classify

run_views_classify(snakemake)
