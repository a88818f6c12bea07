"""rule deidentify_tables: raw CMR/clinical/echo/view-label tables -> pseudonymised tables."""

from pathlib import Path

from echocmr.ingest.settings import secret_from
from echocmr.ingest.tables import pseudonymise_tables
from echocmr.logutil import script_logging
from echocmr.study_period import study_period

with script_logging(snakemake):
    secret = secret_from(snakemake.params.secret, snakemake.params.synthetic)
    inputs = {name: snakemake.input.get(name)
              for name in ("cmr_reports", "clinical", "echo_reports", "view_labels")}
    tables, rejected = pseudonymise_tables(
        inputs, secret, int(snakemake.params.ingest.get("date_shift_max_days", 365)),
        period=study_period(snakemake.params.period))
    for name, df in tables.items():
        Path(snakemake.output[name]).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(snakemake.output[name], index=False)
    rejected.to_csv(snakemake.output.rejected, index=False)
