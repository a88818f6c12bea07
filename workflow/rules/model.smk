# model stage rules (see docs/ARCHITECTURE.md and docs/model.md): train a video CNN per view
# (multitask) or per (view, task) (per_task, as the paper), predict val/test, fuse the views,
# and fit the echo LVEF + age + sex baseline; write the model bundle (docs/external.md). In
# external mode (model.mode: external) nothing is trained: predict, fuse and baseline apply the
# bundle's weights and coefficients. Paths: MODEL_PATHS (echocmr.model.smk).
from echocmr.model.bundle import config_hash  # noqa: E402
from echocmr.model.job_time import predict_minutes, train_minutes  # noqa: E402
from echocmr.model.smk import (  # noqa: E402
    card_crop,
    card_label_definitions,
    network_params,
    predict_params,
)
from echocmr.report.smk import REPORT_CAT  # noqa: E402


wildcard_constraints:
    model="|".join(["multitask", *TASKS]),


rule train:
    input:
        **MODEL_PATHS.inputs(),
    output:
        best="results/model/{view}/{model}/best.pt",
        pin="results/model/{view}/{model}/cpu_pin.json",
        metrics=report(
            "results/model/{view}/{model}/metrics.csv",
            category=REPORT_CAT["model"],
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
        # SLURM time limit from the config (echocmr.model.job_time), doubled on each retry
        runtime=lambda wildcards, attempt: train_minutes(config, attempt),
    params:
        cpu_pin=config["cpu_pin"],
        model=network_params(config),
        seed=config["seed"],
        code=CODE.of("model_train.py"),
    script:
        "../scripts/model_train.py"


rule predict:
    input:
        **MODEL_PATHS.inputs(),
        best=MODEL_PATHS.best,
    output:
        studies=MODEL_PATHS.predicted(".csv"),
        videos=MODEL_PATHS.predicted(".videos.csv"),
    log:
        MODEL_PATHS.predict_log(),
    conda:
        "../../envs/torch.yaml"
    threads: config["model"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=lambda wildcards, attempt: predict_minutes(config, attempt),
    params:
        cpu_pin=config["cpu_pin"],
        model=predict_params(config, BUNDLE),
        model_name=MODEL_PATHS.model_name,
        tasks=MODEL_PATHS.tasks,
        code=CODE.of("model_predict.py"),
    script:
        "../scripts/model_predict.py"


rule fuse:
    input:
        views=MODEL_PATHS.view_predictions,
        labels="results/cohort/labels.csv",
        split="results/cohort/study_split.csv",
        card=MODEL_PATHS.card_input(),
    output:
        fused="results/predictions/fused/{task}.csv",
        patterns="results/predictions/fused/{task}.views.csv",
        val="results/predictions/fused/{task}.val.csv",
        models="results/predictions/fused/{task}.models.json",
    log:
        "results/logs/model/fuse/{task}.log",
    conda:
        "../../envs/stats.yaml"
    params:
        views=MODEL_PATHS.fused_views,
        min_fit=config["model"]["fuse_min_val"],
        penalty=config["model"]["fusion_penalty"],
        bundle=config["model"]["bundle"] if BUNDLE else None,
        code=CODE.of("model_fuse.py"),
    script:
        "../scripts/model_fuse.py"


rule baseline:
    input:
        labels="results/cohort/labels.csv",
        split="results/cohort/study_split.csv",
        manifest="results/ingest/manifest.csv",
        echo_reports="results/cohort/valid/echo_reports.csv",
        clinical="results/cohort/valid/clinical.csv",
        card=MODEL_PATHS.card_input(),
    output:
        predictions=MODEL_PATHS.baseline_predictions(),
        models="results/predictions/baseline/models.json",
    log:
        "results/logs/model/baseline.log",
    conda:
        "../../envs/stats.yaml"
    params:
        tasks=BINARY_TASKS,
        bundle=config["model"]["bundle"] if BUNDLE else None,
        code=CODE.of("model_baseline.py"),
    script:
        "../scripts/model_baseline.py"


rule bundle:
    """The model bundle another site evaluates without training (docs/external.md)."""
    input:
        **MODEL_PATHS.trained(),
        **MODEL_PATHS.bundle_curves(),
        **MODEL_PATHS.fusion_models(),
        **VIEWS_PATHS.bundle_inputs(),
        baseline="results/predictions/baseline/models.json",
        labels="results/cohort/labels.csv",
        split="results/cohort/study_split.csv",
        binary="results/metrics/binary.csv",
        continuous="results/metrics/continuous.csv",
        operating_points="results/metrics/operating_points.csv",
    output:
        card="results/model/bundle/model_card.json",
    log:
        "results/logs/model/bundle.log",
    conda:
        "../../envs/torch.yaml"
    params:
        training_mode=config["model"]["mode"],
        test_clips=config["model"]["test_clips"],
        label_definitions=card_label_definitions(config),
        crop=card_crop(config),
        config_sha256=config_hash(config),
        code=CODE.of("model_bundle.py"),
    script:
        "../scripts/model_bundle.py"
