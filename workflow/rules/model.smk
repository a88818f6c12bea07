# model stage rules (see docs/ARCHITECTURE.md and docs/model.md): train a video CNN per view
# (multitask) or per (view, task) (per_task, as the paper), predict val/test, fuse the views,
# and fit the echo LVEF + age + sex baseline.
MODEL_MODE = config["model"]["mode"]
MODEL_NAMES = ["multitask"] if MODEL_MODE == "multitask" else TASKS


wildcard_constraints:
    model="|".join(["multitask", *TASKS]),


def model_inputs():
    """Everything a model reads: the crop stores, view labels, cohort labels and split."""
    return dict(
        index=shard_paths("results/crop/shard-{shard}/index.csv"),
        frames=shard_paths("results/crop/shard-{shard}/frames.npy"),
        views="results/views/views.csv",
        labels="results/cohort/labels.csv",
        split="results/cohort/study_split.csv",
    )


def predicted_tasks(suffix):
    """Prediction files one predict job writes: its own task (per_task) or all (multitask)."""
    if MODEL_MODE == "per_task":
        return ["results/predictions/{view}/{task}" + suffix]
    return expand("results/predictions/{{view}}/{task}" + suffix, task=TASKS)


def predict_model(wildcards):
    return (
        wildcards.get("task", "multitask") if MODEL_MODE == "per_task" else "multitask"
    )


def model_targets():
    """All model-stage deliverables (the evaluate stage requests them file by file)."""
    return (
        expand("results/predictions/{view}/{task}.csv", view=VIEWS, task=TASKS)
        + expand("results/predictions/fused/{task}.csv", task=TASKS)
        + expand("results/predictions/baseline/{task}.csv", task=BINARY_TASKS)
    )


rule train:
    input:
        **model_inputs(),
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
        model=config["model"],
        seed=config["seed"],
    script:
        "../scripts/model_train.py"


rule predict:
    input:
        **model_inputs(),
        best=lambda wc: f"results/model/{wc.view}/{predict_model(wc)}/best.pt",
    output:
        studies=predicted_tasks(".csv"),
        videos=predicted_tasks(".videos.csv"),
    log:
        "results/logs/model/predict/{view}"
        + ("/{task}.log" if MODEL_MODE == "per_task" else "/multitask.log"),
    conda:
        "../../envs/torch.yaml"
    threads: config["model"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
    params:
        model=config["model"],
        model_name=predict_model,
        tasks=lambda wc: [wc.task] if MODEL_MODE == "per_task" else TASKS,
    script:
        "../scripts/model_predict.py"


rule fuse:
    input:
        views=expand("results/predictions/{view}/{{task}}.csv", view=VIEWS),
        labels="results/cohort/labels.csv",
        split="results/cohort/study_split.csv",
    output:
        fused="results/predictions/fused/{task}.csv",
        patterns="results/predictions/fused/{task}.views.csv",
    log:
        "results/logs/model/fuse/{task}.log",
    conda:
        "../../envs/stats.yaml"
    params:
        views=VIEWS,
        min_fit=config["model"]["fuse_min_val"],
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
