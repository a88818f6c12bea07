"""The run summary: per stage, what was missing and what to add, and the readiness verdict of
every view/task cell beside what this run computed for it (results/summary.md)."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from echocmr.report.summary import summary_files, summary_markdown, write_summary

    summary, cells, notes = summary_files(
        snakemake.input.manifest,
        snakemake.input.views,
        snakemake.input.cohort_qc,
        snakemake.input.split,
        snakemake.input.curves,
        snakemake.input.binary,
        snakemake.input.continuous,
        snakemake.input.readiness,
        snakemake.params.external,
    )
    write_summary(summary, snakemake.output.csv, snakemake.output.md, snakemake.output.html,
                  cells, notes)
    log.info("%s", summary_markdown(summary, cells, notes))
