"""Train the view classifier on the labelled subset (views.backend: train)."""

import os

from echocmr.logutil import script_logging

with script_logging(snakemake):
    import torch

    from echocmr.views.stage import fit_stage
    from echocmr.views.train import TrainSettings

    torch.set_num_threads(snakemake.threads)
    fit_stage(
        shard_dirs=[os.path.dirname(p) for p in snakemake.input.index],
        labels_csv=snakemake.input.labels,
        settings=TrainSettings(**snakemake.params.settings),
        ckpt_out=snakemake.output.model,
        split_out=snakemake.output.split,
        history_out=snakemake.output.history,
    )
