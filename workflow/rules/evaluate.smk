# evaluate stage rules (see docs/ARCHITECTURE.md): bootstrap metrics and DeLong tests on the
# held-out test split of every prediction table.


def prediction_inputs(sources, tasks):
    """Named prediction tables `{source}__{task}` -> contract path, for a rule's `unpack`."""
    return {
        f"{source}__{task}": f"results/predictions/{source}/{task}.csv"
        for source in sources
        for task in tasks
    }


def evaluate_inputs(wildcards):
    # Every view and the fused model for all tasks; the clinical baseline is a logistic model
    # of binary outcomes, evaluated beside them.
    return {
        **prediction_inputs(VIEWS + ["fused"], TASKS),
        **prediction_inputs(["baseline"], BINARY_TASKS),
    }


def delong_inputs(wildcards):
    return prediction_inputs(VIEWS + ["fused", "baseline"], BINARY_TASKS)


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        binary="results/metrics/binary.csv",
        continuous="results/metrics/continuous.csv",
    log:
        "results/logs/evaluate/evaluate.log",
    conda:
        "../../envs/stats.yaml"
    resources:
        mem_mb=2000,
    params:
        binary_tasks=BINARY_TASKS,
        n_bootstrap=config["evaluate"]["n_bootstrap"],
        unit=config["evaluate"]["unit"],
        seed=config["seed"],
    script:
        "../scripts/evaluate.py"


rule delong:
    input:
        unpack(delong_inputs),
    output:
        "results/metrics/delong.csv",
    log:
        "results/logs/evaluate/delong.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/delong.py"
