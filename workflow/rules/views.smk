# views stage rules (see docs/ARCHITECTURE.md and docs/views.md): which view each cropped video
# shows. Backend (views.backend): train = fit a small CNN on the labelled subset, labels = a
# user table, pretrained = user weights (EchoPrime layout supported).
from echocmr.views.config import check_views_config  # noqa: E402

check_views_config(config)

VIEWS_BACKEND = config["views"]["backend"]
VIEWS_LABELS = "results/deid/tables/view_labels.csv"
VIEWS_MODEL = "results/views/model/view_classifier.pt"
VIEWS_SPLIT = "results/views/model/split.csv"


def views_has_labels():
    """A de-identified view-label table exists: always for synthetic, if given for site."""
    return is_synthetic() or bool(config["input"].get("view_labels"))


def views_train_settings():
    v = config["views"]
    keys = [
        "arch",
        "input_size",
        "frames",
        "epochs",
        "batch_size",
        "lr",
        "holdout_fraction",
    ]
    return {**{k: v[k] for k in keys}, "seed": config["seed"]}


def views_classify_inputs(wildcards):
    shard_dir = f"results/crop/shard-{wildcards.shard}"
    inputs = {"index": f"{shard_dir}/index.csv", "frames": f"{shard_dir}/frames.npy"}
    if VIEWS_BACKEND == "labels":
        inputs["labels"] = VIEWS_LABELS
    elif VIEWS_BACKEND == "train":
        inputs["weights"] = VIEWS_MODEL
    else:
        inputs["weights"] = config["views"]["weights"]
    return inputs


def views_metrics_inputs(wildcards):
    inputs = {"views": "results/views/views.csv"}
    if is_synthetic():
        inputs["truth"] = os.path.join(truth_dir(), "videos.csv")
    if VIEWS_BACKEND == "train":
        inputs["split"] = VIEWS_SPLIT
    if views_has_labels():
        inputs["labels"] = VIEWS_LABELS
    return inputs


rule views_fit:
    input:
        index=shard_paths("results/crop/shard-{shard}/index.csv"),
        frames=shard_paths("results/crop/shard-{shard}/frames.npy"),
        labels=VIEWS_LABELS,
    output:
        model=VIEWS_MODEL,
        split=VIEWS_SPLIT,
        history="results/views/model/history.csv",
    log:
        "results/logs/views/fit.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        settings=views_train_settings(),
    script:
        "../scripts/views_fit.py"


rule views_classify:
    input:
        unpack(views_classify_inputs),
    output:
        "results/views/shard-{shard}.csv",
    log:
        "results/logs/views/classify/shard-{shard}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        backend=VIEWS_BACKEND,
        weights_layout=(
            "echocmr"
            if VIEWS_BACKEND == "train"
            else config["views"]["weights_layout"]
        ),
    script:
        "../scripts/views_classify.py"


rule views_decide:
    input:
        shards=shard_paths("results/views/shard-{shard}.csv"),
    output:
        views=report(
            "results/views/views.csv",
            category="Views",
            labels={"table": "view per video"},
        ),
        qc="results/qc/views.csv",
    log:
        "results/logs/views/decide.log",
    conda:
        "../../envs/torch.yaml"
    params:
        threshold=config["views"]["threshold"],
    script:
        "../scripts/views_decide.py"


rule views_metrics:
    input:
        unpack(views_metrics_inputs),
    output:
        metrics=report(
            "results/views/view_classifier_metrics.csv",
            category="Views",
            labels={"table": "view classifier accuracy"},
        ),
        figure=report(
            "results/views/view_classifier_confusion.png",
            category="Views",
            labels={"figure": "view classifier confusion matrix"},
        ),
    log:
        "results/logs/views/metrics.log",
    conda:
        "../../envs/torch.yaml"
    params:
        backend=VIEWS_BACKEND,
        synthetic=is_synthetic(),
        secret_env=config["secret"]["env"],
        secret_file=config["secret"]["file"],
    script:
        "../scripts/views_metrics.py"
