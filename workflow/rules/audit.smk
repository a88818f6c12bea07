# audit stage rules (see docs/ARCHITECTURE.md and docs/ingest.md): the PHI gate.
# Its inputs are the raw export (where identifiers come from) plus the contract deliverables,
# so it runs after everything else and scans the whole results/ tree.

AUDITED_DELIVERABLES = [
    "results/table1.csv",
    "results/table2.csv",
    "results/figure1.png",
    "results/supp_figure1.png",
    "results/bland_altman.png",
    "results/replication.csv",
    "results/metrics/delong.csv",
    "results/views/view_classifier_metrics.csv",
    "results/qc/flow.csv",
    "results/qc/flow.png",
]


rule audit:
    input:
        unpack(lambda wc: raw_tables(config)),
        dicom=raw_dicom_dir(),
        deliverables=AUDITED_DELIVERABLES,
        deid=shard_paths("results/deid/shard-{shard}"),
        crop=shard_paths("results/crop/shard-{shard}/index.csv"),
    output:
        "results/audit/phi_audit.csv",
    log:
        "results/logs/audit/audit.log",
    conda:
        "../../envs/dicom.yaml"
    params:
        **rule_params(config, "date_shift_max_days"),
    script:
        "../scripts/audit.py"
