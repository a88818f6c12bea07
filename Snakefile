# echocmr: raw echo DICOM -> de-identified, cropped videos -> paired CMR labels -> video CNNs ->
# bootstrapped tables and figures of Sahashi et al. See README.md and docs/ARCHITECTURE.md.
import os
import sys

from snakemake.utils import min_version

# This checkout's library, for the rules (sys.path) and for every job (PYTHONPATH, inherited
# by local, conda and cluster jobs, and read before site-packages): Snakemake appends a script's
# folder to sys.path after site-packages, where an installed copy of echocmr (an editable install
# of another checkout) would win. docs/ARCHITECTURE.md, "How code reaches the library".
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
JOB_PATH = os.environ.get("PYTHONPATH", "").split(os.pathsep)
if JOB_PATH[0] != SRC:
    os.environ.update(PYTHONPATH=os.pathsep.join(p for p in [SRC, *JOB_PATH] if p))
# OpenMP threads that wait by sleeping, not spinning: on a node shared with other work a
# spinning thread burns the core its partner waits for (the view classifier ran 10-20x slower
# on a loaded 2-core box); the bits are the same (benchmarks/RESULTS.md, "Seed spread").
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from echocmr.config_schema import validate_config  # noqa: E402

min_version("9.0")


# The embedded default, found beside this Snakefile (also under `snakemake --directory`).
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# Short errors (key path, bad value, allowed, "did you mean"); fills the schema's defaults.
validate_config(
    config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")
)


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/deid.smk"
include: "workflow/rules/crop.smk"
include: "workflow/rules/views.smk"
include: "workflow/rules/cohort.smk"
include: "workflow/rules/readiness.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/audit.smk"


# Cheap aggregation rules run on the submitting host, never as cluster jobs.
localrules:
    all,
    validate_tables,
    deidentify_tables,
    pair,
    labels,
    readiness,
    summary,
    split,
    table1,
    views_decide,
    views_metrics,
    qc_flow,
    table2,
    figure1,
    supp_figure1,
    bland_altman,
    replication,
    training_curves,
    report_assets,
    report_inputs,


rule all:
    default_target: True
    input:
        DELIVERABLES,
