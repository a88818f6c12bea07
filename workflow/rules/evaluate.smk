# evaluate stage rules (see docs/ARCHITECTURE.md): bootstrap metrics and DeLong tests on the
# held-out test split of every prediction table.


from echocmr.report.smk import delong_inputs, evaluate_inputs  # noqa: E402


rule evaluate:
    input:
        **evaluate_inputs(),
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
        **delong_inputs(),
    output:
        "results/metrics/delong.csv",
    log:
        "results/logs/evaluate/delong.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/delong.py"
