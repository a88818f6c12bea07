# deid stage: the included files of one shard -> de-identified DICOM + shard table + QC
# (see docs/ARCHITECTURE.md and docs/ingest.md). Paths: INGEST_PATHS (echocmr.ingest.smk).


from echocmr.ingest.smk import rule_params


rule deidentify:
    input:
        dicom=INGEST_PATHS.raw_dicom_dir,
        manifest="results/ingest/manifest.csv",
    output:
        dir=directory(INGEST_PATHS.shard_path("results/deid")),
        table=INGEST_PATHS.shard_path("results/deid", ".csv"),
        qc=INGEST_PATHS.shard_path("results/qc/deidentify", ".csv"),
    log:
        INGEST_PATHS.shard_path("results/logs/ingest/deidentify", ".log"),
    conda:
        "../../envs/dicom.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        **rule_params(config, "date_shift_max_days", "jpeg_quality", "jpeg_blanking"),
        code=CODE.of("deidentify.py"),
    script:
        "../scripts/deidentify.py"
