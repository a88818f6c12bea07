"""Copies of other stages' deliverables for the HTML report, the config used, software versions."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    import shutil

    from echocmr.report.assets import config_yaml, software_versions

    shutil.copyfile(snakemake.input.table1, snakemake.output.table1)
    shutil.copyfile(snakemake.input.view_metrics, snakemake.output.view_metrics)
    shutil.copyfile(snakemake.input.view_confusion, snakemake.output.view_confusion)
    with open(snakemake.output.config, "w") as handle:
        handle.write(config_yaml(snakemake.config))
    with open(snakemake.output.versions, "w") as handle:
        handle.write(software_versions())
