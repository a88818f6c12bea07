"""Figure 1, Supplementary Figure 1 or the Bland-Altman figure (params.figure says which)."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    import pandas as pd

    from echocmr.report import figures
    from echocmr.stats.evaluate import read_predictions

    preds = {tuple(k.split("__")): read_predictions(snakemake.input[k])
             for k in snakemake.input.keys() if "__" in k}
    which = snakemake.params.figure
    out = {"png": snakemake.output.png, "pdf": snakemake.output.pdf}
    if which == "figure1":
        figures.figure1(pd.read_csv(snakemake.input.binary), preds, **out)
    elif which == "supp_figure1":
        figures.supp_figure1(pd.read_csv(snakemake.input.binary),
                             pd.read_csv(snakemake.input.continuous), preds, **out)
    elif which == "bland_altman":
        figures.bland_altman(pd.read_csv(snakemake.input.continuous), preds, **out)
    else:
        raise ValueError(f"unknown figure {which!r}")
