# simulate stage rules (see docs/ARCHITECTURE.md and docs/simulate.md)


rule simulate:
    """Synthetic hospital export with planted effects: echo DICOM tree, CMR/clinical/echo
    report tables, view labels (raw/) and the truth kept apart (truth/)."""
    output:
        dicom=directory(os.path.join(raw_dir(), "dicom")),
        cmr_reports=os.path.join(raw_dir(), "cmr_reports.csv"),
        clinical=os.path.join(raw_dir(), "clinical.csv"),
        echo_reports=os.path.join(raw_dir(), "echo_reports.csv"),
        view_labels=os.path.join(raw_dir(), "view_labels.csv"),
        patients=os.path.join(truth_dir(), "patients.csv"),
        studies=os.path.join(truth_dir(), "studies.csv"),
        cmrs=os.path.join(truth_dir(), "cmrs.csv"),
        videos=os.path.join(truth_dir(), "videos.csv"),
        identifiers=os.path.join(truth_dir(), "identifiers.json"),
        burned_text=os.path.join(truth_dir(), "burned_text.csv"),
        table_defects=os.path.join(truth_dir(), "table_defects.csv"),
        quirks=os.path.join(truth_dir(), "quirks.csv"),
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
