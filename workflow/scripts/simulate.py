"""Rule simulate: write the synthetic raw export and its truth (thin wrapper)."""

from pathlib import Path

from echocmr.logutil import script_logging

with script_logging(snakemake) as log:
    from echocmr.keys import load_secret
    from echocmr.simulate.export import run_export
    from echocmr.simulate.settings import SimSettings

    settings = SimSettings.from_config(snakemake.params.settings, snakemake.params.seed)
    secret = load_secret(snakemake.params.secret["env"], snakemake.params.secret["file"],
                         synthetic=True)
    outdir = Path(snakemake.output.cmr_reports).parent.parent
    workers = int(settings["workers"]) or snakemake.threads
    log.info("simulate: seed %d, %d worker(s), out %s", settings.seed, workers, outdir)
    run_export(settings, outdir, secret, workers=workers)
