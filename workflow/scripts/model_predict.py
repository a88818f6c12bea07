"""Rule predict: val + test predictions per video and per study for the model's task(s)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.model.stage import run_predict

    tasks = snakemake.params.tasks
    run_predict(
        view=snakemake.wildcards.view,
        model_name=snakemake.params.model_name,
        best_pt=snakemake.input.best,
        index_csvs=snakemake.input.index,
        views_csv=snakemake.input.views,
        labels_csv=snakemake.input.labels,
        split_csv=snakemake.input.split,
        # the job's threads (model.threads, capped by --cores): a resource, not a param
        model_cfg={**snakemake.params.model, "threads": snakemake.threads},
        out_csvs=dict(zip(tasks, snakemake.output.studies, strict=True)),
        out_video_csvs=dict(zip(tasks, snakemake.output.videos, strict=True)),
    )
