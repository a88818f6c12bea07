# audit stage rules (see docs/ARCHITECTURE.md and docs/ingest.md): the PHI gate.
# Its inputs are the raw export (where identifiers come from) plus every deliverable of
# `rule all` (every other job's output is upstream of one of them), so it runs after everything
# else and scans the whole results/ tree: bytes (headers, text, names) and pixels (OCR).

AUDITED_DELIVERABLES = [t for t in DELIVERABLES if t != "results/audit/phi_audit.csv"]


rule audit:
    input:
        unpack(lambda wc: INGEST_PATHS.raw_tables()),
        dicom=INGEST_PATHS.raw_dicom_dir,
        deliverables=AUDITED_DELIVERABLES,
        deid=INGEST_PATHS.every_shard("results/deid"),
        crop=INGEST_PATHS.every_shard_file("results/crop", "index.csv"),
    output:
        "results/audit/phi_audit.csv",
    log:
        "results/logs/audit/audit.log",
    conda:
        "../../envs/dicom.yaml"
    # pixel audit: cines are read in this many processes (capped by --cores)
    threads: config["audit"]["workers"]
    params:
        **rule_params(config, "date_shift_max_days", "shards"),
        ocr_sample=config["audit"]["ocr_sample"],
        seed=config["seed"],
        code=CODE.of("audit.py"),
    script:
        "../scripts/audit.py"


rule audit_report:
    """The HTML report is written after the run (`--report`), so it is audited by this target,
    which `bash run.sh` builds right after the report: its page text, every table and page it
    embeds (base64 data URIs), decoded, and every figure it embeds, read by OCR."""
    input:
        unpack(lambda wc: INGEST_PATHS.raw_tables()),
        dicom=INGEST_PATHS.raw_dicom_dir,
        report="results/report.html",
    output:
        "results/audit/report_audit.csv",
    log:
        "results/logs/audit/report_audit.log",
    conda:
        "../../envs/dicom.yaml"
    params:
        **rule_params(config, "date_shift_max_days"),
        code=CODE.of("audit_report.py"),
    script:
        "../scripts/audit_report.py"
