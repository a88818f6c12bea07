# ingest stage rules (see docs/ARCHITECTURE.md and docs/ingest.md): inventory (the manifest)
# and deidentify_tables. De-identified DICOM: deid.smk; the crop: crop.smk.


from echocmr.ingest.smk import period_param, rule_params


rule inventory:
    input:
        dicom=INGEST_PATHS.raw_dicom_dir,
    output:
        manifest="results/ingest/manifest.csv",
        qc="results/qc/ingest.csv",
    log:
        "results/logs/ingest/inventory.log",
    conda:
        "../../envs/dicom.yaml"
    threads: config["ingest"]["inventory_workers"]
    resources:
        mem_mb=2000,
    params:
        **rule_params(
            config, "shards", "min_frames", "date_shift_max_days", "colour_fraction"
        ),
        # raw study dates exist only here: cohort.period is checked before they are shifted
        period=period_param(config),
        code=CODE.of("inventory.py"),
    script:
        "../scripts/inventory.py"


rule deidentify_tables:
    input:
        unpack(lambda wc: INGEST_PATHS.raw_tables()),
    output:
        cmr_reports="results/deid/tables/cmr_reports.csv",
        clinical="results/deid/tables/clinical.csv",
        echo_reports="results/deid/tables/echo_reports.csv",
        view_labels="results/deid/tables/view_labels.csv",
        rejected="results/deid/tables/rejected_rows.csv",
    log:
        "results/logs/ingest/deidentify_tables.log",
    conda:
        "../../envs/dicom.yaml"
    params:
        **rule_params(config, "date_shift_max_days"),
        period=period_param(config),
        code=CODE.of("deidentify_tables.py"),
    script:
        "../scripts/deidentify_tables.py"
