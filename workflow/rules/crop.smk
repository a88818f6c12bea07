# crop stage: de-identified DICOM of one shard -> sector-only 112x112 uint8 store + AVIs + QC.
# See docs/crop.md and docs/ARCHITECTURE.md (results/crop/shards-<n>/shard-{shard}/...).


rule crop:
    input:
        deid_dir=INGEST_PATHS.shard_path("results/deid"),
        deid_table=INGEST_PATHS.shard_path("results/deid", ".csv"),
        manifest="results/ingest/manifest.csv",
    output:
        frames=INGEST_PATHS.shard_file("results/crop", "frames.npy"),
        index=INGEST_PATHS.shard_file("results/crop", "index.csv"),
        avi=directory(INGEST_PATHS.shard_file("results/crop", "avi")),
        qc=INGEST_PATHS.shard_path("results/qc/crop", ".csv"),
    log:
        INGEST_PATHS.shard_path("results/logs/crop", ".log"),
    conda:
        "../../envs/dicom.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        crop=config["ingest"]["crop"],
        code=CODE.of("crop.py"),
    script:
        "../scripts/crop.py"
