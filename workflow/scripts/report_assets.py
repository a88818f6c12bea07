"""Report pages: every table as a standalone HTML page, the config used, software versions."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    import shutil

    import pandas as pd

    from echocmr.report.assets import config_yaml, software_versions, text_html
    from echocmr.report.tables import frame_html, operating_points_display

    TITLES = {
        "qc_flow": "QC flow: counts in, excluded (by reason) and out at every step",
        "table1": "Table 1: baseline characteristics of the analysed cohort",
        "view_metrics": "View classifier metrics",
        "metrics_binary": "Binary metrics: AUROC with 95% bootstrap CI (test split)",
        "metrics_continuous": "Continuous metrics: MAE, R2, Bland-Altman (test split)",
        "delong": "Video models vs clinical baseline: AUROC difference, test and p-value "
                  "(test split; method column: DeLong or patient cluster bootstrap)",
        "operating_points": "Operating points on the test split at the threshold chosen on "
                            "validation (Youden J): sensitivity, specificity, PPV, NPV",
        "replication": "Replication: published vs reproduced, with verdicts",
    }
    shutil.copyfile(snakemake.input.view_confusion, snakemake.output.view_confusion)
    for name, title in TITLES.items():
        if name == "operating_points":
            frame = operating_points_display(pd.read_csv(snakemake.input[name]))
        else:
            frame = pd.read_csv(snakemake.input[name], keep_default_na=False)
        with open(snakemake.output[name], "w") as handle:
            handle.write(frame_html(frame, title))
    config_text = config_yaml(snakemake.params.config)
    versions = software_versions()
    for path, text in ((snakemake.output.config, config_text),
                       (snakemake.output.versions, versions)):
        with open(path, "w") as handle:
            handle.write(text)
    with open(snakemake.output.config_used, "w") as handle:
        handle.write(text_html(config_text, "Configuration used"))
    with open(snakemake.output.software_versions, "w") as handle:
        handle.write(text_html(versions, "Software versions"))
