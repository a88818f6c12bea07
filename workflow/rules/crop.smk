# crop stage: de-identified DICOM of one shard -> sector-only 112x112 uint8 store + AVIs + QC.
# See docs/crop.md and docs/ARCHITECTURE.md (results/crop/shard-{shard}/...).


rule crop:
    input:
        deid_dir="results/deid/shard-{shard}",
        deid_table="results/deid/shard-{shard}.csv",
        manifest="results/ingest/manifest.csv",
    output:
        frames="results/crop/shard-{shard}/frames.npy",
        index="results/crop/shard-{shard}/index.csv",
        avi=directory("results/crop/shard-{shard}/avi"),
        qc="results/qc/crop/shard-{shard}.csv",
    log:
        "results/logs/crop/shard-{shard}.log",
    conda:
        "../../envs/dicom.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        crop=lambda wc: config["ingest"]["crop"],
    script:
        "../scripts/crop.py"
