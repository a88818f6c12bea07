# ingest stage rules (see docs/ARCHITECTURE.md and docs/ingest.md): inventory -> deidentify
# (per shard) and deidentify_tables. The crop rule lives in crop.smk.


def raw_view_labels():
    """Raw view-label table (sop_instance_uid, view), or None when there is none."""
    if is_synthetic():
        return os.path.join(raw_dir(), "view_labels.csv")
    return config["input"].get("view_labels")


def raw_table_inputs(wildcards=None):
    """The raw tables by name; view_labels only when one is given."""
    tables = {
        name: raw_table(name) for name in ("cmr_reports", "clinical", "echo_reports")
    }
    if raw_view_labels():
        tables["view_labels"] = raw_view_labels()
    return tables


INGEST_PARAMS = dict(
    ingest=config["ingest"], secret=config["secret"], mode=config["input"]["mode"]
)


rule inventory:
    input:
        dicom=raw_dicom_dir(),
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
        **INGEST_PARAMS,
    script:
        "../scripts/inventory.py"


rule deidentify:
    input:
        dicom=raw_dicom_dir(),
        manifest="results/ingest/manifest.csv",
    output:
        dir=directory("results/deid/shard-{shard}"),
        table="results/deid/shard-{shard}.csv",
        qc="results/qc/deidentify/shard-{shard}.csv",
    log:
        "results/logs/ingest/deidentify/shard-{shard}.log",
    conda:
        "../../envs/dicom.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        **INGEST_PARAMS,
    script:
        "../scripts/deidentify.py"


rule deidentify_tables:
    input:
        unpack(raw_table_inputs),
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
        **INGEST_PARAMS,
    script:
        "../scripts/deidentify_tables.py"
