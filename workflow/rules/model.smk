# model stage rules (see docs/ARCHITECTURE.md and docs/model.md): train a video CNN per view
# (multitask) or per (view, task) (per_task, as the paper), predict val/test, fuse the views,
# and fit the echo LVEF + age + sex baseline. Path helpers: echocmr.model.smk.
from echocmr.model.smk import ModelPaths, network_params  # noqa: E402

MODEL = ModelPaths(config, SHARDS)


wildcard_constraints:
    model="|".join(["multitask", *TASKS]),


rule train:
    input:
        **MODEL.inputs(),
    output:
        best="results/model/{view}/{model}/best.pt",
        metrics=report(
            "results/model/{view}/{model}/metrics.csv",
            category="Model training",
            labels={"view": "{view}", "model": "{model}"},
        ),
    log:
        "results/logs/model/train/{view}/{model}.log",
    conda:
        "../../envs/torch.yaml"
    threads: config["model"]["threads"]
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=24 * 60,
    params:
        model=network_params(config),
        seed=config["seed"],
    script:
        "../scripts/model_train.py"


rule predict:
    input:
        **MODEL.inputs(),
        best=MODEL.best,
    output:
        studies=MODEL.predicted(".csv"),
        videos=MODEL.predicted(".videos.csv"),
    log:
        MODEL.predict_log(),
    conda:
        "../../envs/torch.yaml"
    threads: config["model"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
    params:
        model=network_params(config),
        model_name=MODEL.model_name,
        tasks=MODEL.tasks,
    script:
        "../scripts/model_predict.py"


rule fuse:
    input:
        views=MODEL.view_predictions(),
        labels="results/cohort/labels.csv",
        split="results/cohort/study_split.csv",
    output:
        fused="results/predictions/fused/{task}.csv",
        patterns="results/predictions/fused/{task}.views.csv",
        val="results/predictions/fused/{task}.val.csv",
    log:
        "results/logs/model/fuse/{task}.log",
    conda:
        "../../envs/stats.yaml"
    params:
        views=VIEWS,
        min_fit=config["model"]["fuse_min_val"],
        penalty=config["model"]["fusion_penalty"],
    script:
        "../scripts/model_fuse.py"


rule baseline:
    input:
        labels="results/cohort/labels.csv",
        split="results/cohort/study_split.csv",
        manifest="results/ingest/manifest.csv",
        echo_reports="results/cohort/valid/echo_reports.csv",
        clinical="results/cohort/valid/clinical.csv",
    output:
        expand("results/predictions/baseline/{task}.csv", task=BINARY_TASKS),
    log:
        "results/logs/model/baseline.log",
    conda:
        "../../envs/stats.yaml"
    params:
        tasks=BINARY_TASKS,
    script:
        "../scripts/model_baseline.py"
