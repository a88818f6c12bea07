# views stage rules (see docs/ARCHITECTURE.md and docs/views.md): which view each cropped video
# shows. Backend (views.backend): train = fit a small CNN on the labelled subset, labels = a
# user table, pretrained = user weights (EchoPrime layout supported). Paths: VIEWS_PATHS
# (echocmr.views.smk). The views settings are checked (echocmr.views.config) when a views job
# enters the DAG, so ingest-only targets run without them.
from echocmr.report.smk import REPORT_CAT  # noqa: E402
from echocmr.views.smk import METRICS, SPLIT, VIEW_CLASSIFIER  # noqa: E402


rule views_fit:
    input:
        unpack(lambda wc: VIEWS_PATHS.fit_inputs()),
    output:
        model=VIEW_CLASSIFIER,
        split=SPLIT,
        history="results/views/model/history.csv",
    log:
        "results/logs/views/fit.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        cpu_pin=config["cpu_pin"],
        settings=VIEWS_PATHS.train_settings(),
        code=CODE.of("views_fit.py"),
    script:
        "../scripts/views_fit.py"


rule views_classify:
    input:
        unpack(lambda wc: VIEWS_PATHS.classify_inputs(wc.shard)),
    output:
        INGEST_PATHS.shard_path("results/views", ".csv"),
    log:
        INGEST_PATHS.shard_path("results/logs/views/classify", ".log"),
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        cpu_pin=config["cpu_pin"],
        backend=VIEWS_PATHS.backend,
        weights_layout=VIEWS_PATHS.weights_layout(),
        code=CODE.of("views_classify.py"),
    script:
        "../scripts/views_classify.py"


rule views_decide:
    input:
        shards=INGEST_PATHS.every_shard("results/views", ".csv"),
    output:
        views=report(
            "results/views/views.csv",
            category=REPORT_CAT["views"],
            labels={"table": "view per video"},
        ),
        qc="results/qc/views.csv",
    log:
        "results/logs/views/decide.log",
    conda:
        "../../envs/torch.yaml"
    params:
        threshold=config["views"]["threshold"],
        code=CODE.of("views_decide.py"),
    script:
        "../scripts/views_decide.py"


rule views_metrics:
    input:
        **VIEWS_PATHS.metrics_inputs(),
    output:
        # both shown in the report through rule report_assets (view_metrics, view_confusion)
        metrics=METRICS,
        figure="results/views/view_classifier_confusion.png",
    log:
        "results/logs/views/metrics.log",
    conda:
        "../../envs/torch.yaml"
    params:
        backend=VIEWS_PATHS.backend,
        synthetic=VIEWS_PATHS.synthetic,
        secret_env=config["secret"]["env"],
        secret_file=config["secret"]["file"],
        code=CODE.of("views_metrics.py"),
    script:
        "../scripts/views_metrics.py"
