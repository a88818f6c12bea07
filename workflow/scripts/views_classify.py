"""Per-video view probabilities for one shard, from the configured backend."""

import os

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.views.stage import classify_shard, write_shard

    probs = classify_shard(
        os.path.dirname(snakemake.input.index),
        snakemake.params.backend,
        labels_csv=snakemake.input.get("labels"),
        weights=snakemake.input.get("weights"),
        weights_layout=snakemake.params.weights_layout,
        threads=snakemake.threads,
    )
    write_shard(probs, snakemake.output[0])
