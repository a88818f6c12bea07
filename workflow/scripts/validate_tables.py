"""Rule validate_tables: check the de-identified tables against workflow/schemas/*.yaml."""

from echocmr.logutil import script_logging

with script_logging(snakemake):
    from echocmr.cohort.stage import TABLES, run_validate

    run_validate(
        tables={name: snakemake.input[name] for name in TABLES},
        schemas={name: snakemake.input[f"{name}_schema"] for name in TABLES},
        valid_out={name: snakemake.output[name] for name in TABLES},
        excluded_out=snakemake.output.excluded,
    )
