# simulate stage rules (see docs/ARCHITECTURE.md and docs/simulate.md)


rule simulate:
    """Synthetic hospital export with planted effects: echo DICOM tree, CMR/clinical/echo
    report tables, view labels (raw/) and the truth kept apart (truth/)."""
    output:
        dicom=directory(INGEST_PATHS.raw("dicom")),
        cmr_reports=INGEST_PATHS.raw("cmr_reports.csv"),
        clinical=INGEST_PATHS.raw("clinical.csv"),
        echo_reports=INGEST_PATHS.raw("echo_reports.csv"),
        view_labels=INGEST_PATHS.raw("view_labels.csv"),
        patients=INGEST_PATHS.truth("patients.csv"),
        studies=INGEST_PATHS.truth("studies.csv"),
        cmrs=INGEST_PATHS.truth("cmrs.csv"),
        videos=INGEST_PATHS.truth("videos.csv"),
        identifiers=INGEST_PATHS.truth("identifiers.json"),
        burned_text=INGEST_PATHS.truth("burned_text.csv"),
        table_defects=INGEST_PATHS.truth("table_defects.csv"),
        quirks=INGEST_PATHS.truth("quirks.csv"),
    log:
        "results/logs/simulate/simulate.log",
    conda:
        "../../envs/dicom.yaml"
    threads: 8
    resources:
        mem_mb=2000,
    params:
        settings=config["simulate"],
        seed=config["seed"],
        secret=config["secret"],
        code=CODE.of("simulate.py"),
    script:
        "../scripts/simulate.py"
