# evaluate stage rules (see docs/ARCHITECTURE.md and docs/results.md): bootstrap metrics, the
# model-vs-baseline comparison and operating points on the held-out test split of every
# prediction table; calibration (intercept, slope, reliability plot) for external use.


from echocmr.model.smk import bundle_thresholds  # noqa: E402
from echocmr.report.smk import REPORT_CAT, compared_pairs, evaluated_pairs  # noqa: E402


rule evaluate:
    input:
        **REPORT_PATHS.evaluate_inputs(),
        **REPORT_PATHS.fusion_pattern_inputs(),
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
        absent=SCOPE.absent(evaluated_pairs()),
        n_bootstrap=config["evaluate"]["n_bootstrap"],
        n_permutations=config["evaluate"]["n_permutations"],
        unit=config["evaluate"]["unit"],
        seed=config["seed"],
        code=CODE.of("evaluate.py"),
    script:
        "../scripts/evaluate.py"


rule delong:
    input:
        **REPORT_PATHS.delong_inputs(),
    output:
        "results/metrics/delong.csv",
    log:
        "results/logs/evaluate/delong.log",
    conda:
        "../../envs/stats.yaml"
    params:
        unit=config["evaluate"]["unit"],
        absent=SCOPE.absent(compared_pairs()),
        code=CODE.of("delong.py"),
    script:
        "../scripts/delong.py"


rule operating_points:
    input:
        **REPORT_PATHS.operating_point_inputs(),
    output:
        "results/metrics/operating_points.csv",
    log:
        "results/logs/evaluate/operating_points.log",
    conda:
        "../../envs/stats.yaml"
    params:
        n_bootstrap=config["evaluate"]["n_bootstrap"],
        unit=config["evaluate"]["unit"],
        seed=config["seed"],
        thresholds=bundle_thresholds(BUNDLE),
        code=CODE.of("operating_points.py"),
    script:
        "../scripts/operating_points.py"


rule calibration:
    input:
        **REPORT_PATHS.calibration_inputs(),
    output:
        csv="results/metrics/calibration.csv",
        png=report(
            "results/calibration.png",
            caption="../report/calibration.rst",
            category=REPORT_CAT["results"],
        ),
        pdf="results/calibration.pdf",
    log:
        "results/logs/evaluate/calibration.log",
    conda:
        "../../envs/plot.yaml"
    params:
        # the synthetic-data banner (echocmr.report.style.data_banner)
        synthetic=config["input"]["mode"] == "synthetic",
        n_bootstrap=config["evaluate"]["n_bootstrap"],
        unit=config["evaluate"]["unit"],
        seed=config["seed"],
        code=CODE.of("calibration.py"),
    script:
        "../scripts/calibration.py"
