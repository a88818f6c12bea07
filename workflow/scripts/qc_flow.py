"""Concatenate every stage's QC counts in DAG order, check they add up, draw the flow chart."""

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from echocmr.report.qc_flow import build_flow, flow_figure

    def paths(stage):  # one file, or one per shard
        value = snakemake.input[stage]
        return [value] if isinstance(value, str) else list(value)

    stages = [(stage, paths(stage)) for stage in snakemake.params.stages]
    flow = build_flow(stages)
    flow.to_csv(snakemake.output.csv, index=False)
    flow_figure(flow, snakemake.output.png)
    log.info("%d QC rows over %d steps add up", len(flow), flow["order"].nunique())
