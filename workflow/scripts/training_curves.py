"""Training curves of every trained model (results/model/{view}/{model}/metrics.csv)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from pathlib import Path

    import pandas as pd

    from echocmr.report.figures import training_curves

    curves = {f"{Path(p).parent.parent.name}/{Path(p).parent.name}": pd.read_csv(p)
              for p in snakemake.input}
    training_curves(curves, snakemake.output[0])
