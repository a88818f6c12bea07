"""Rule train: one video model for a view (multitask) or a (view, task) pair (per_task)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from pathlib import Path

    from echocmr.model.stage import run_train

    run_train(
        view=snakemake.wildcards.view,
        model_name=snakemake.wildcards.model,
        index_csvs=snakemake.input.index,
        views_csv=snakemake.input.views,
        labels_csv=snakemake.input.labels,
        split_csv=snakemake.input.split,
        # the job's threads (model.threads, capped by --cores): a resource, not a param
        model_cfg={**snakemake.params.model, "threads": snakemake.threads},
        seed=snakemake.params.seed,
        outdir=Path(snakemake.output.best).parent,
    )
