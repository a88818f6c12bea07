# What every rules file shares: the config check, the code fingerprints, the run's scope and
# the `<STAGE>_PATHS` objects every rule builds its paths with. No analysis logic here.
from echocmr.codehash import ScriptFingerprints  # noqa: E402
from echocmr.config_checks import check_config  # noqa: E402
from echocmr.cohort.config import check_cohort_config  # noqa: E402
from echocmr.report.deliverables import deliverables  # noqa: E402
from echocmr.ingest.smk import IngestPaths  # noqa: E402
from echocmr.cohort.smk import CohortPaths  # noqa: E402
from echocmr.model.smk import ModelPaths, bundle_card  # noqa: E402
from echocmr.model.scope import Scope  # noqa: E402
from echocmr.vocab import tasks as model_tasks  # noqa: E402
from echocmr.report.smk import ReportPaths  # noqa: E402
from echocmr.views.smk import ViewsPaths  # noqa: E402
from echocmr.vocab.views import ANALYSIS_VIEWS  # noqa: E402

# The config checks, all at parse time, before any rule is defined (each error names the key
# and the fix). The views settings alone are checked when a views job enters the DAG
# (echocmr.views.smk): ingest-only targets need none.
check_config(config)
check_cohort_config(config)
# Every rule's `code` param: its script and the echocmr modules it imports, so that a library
# edit reruns the rules that run it (echocmr.codehash; docs/ARCHITECTURE.md "What reruns when").
CODE = ScriptFingerprints(workflow.basedir)
# model.mode external: the model card of model.bundle (None when this run trains its models).
BUNDLE = bundle_card(config)
# The (view, task) models and baseline this run scores: all of them, or the bundle's.
SCOPE = Scope.of(BUNDLE)

# Every path the rules build is a contract literal or comes from one `<Stage>Paths` object of
# `echocmr.<stage>.smk`, all made here (docs/ARCHITECTURE.md, "Rules and scripts"): the raw
# export and the per-shard paths of this run's layout (`ingest.shards` in the path), the views
# backend's files, the table schemas, the models of `model.mode` (or of the bundle) and the
# prediction tables the statistics and figures read.
INGEST_PATHS = IngestPaths(config)
VIEWS_PATHS = ViewsPaths(config)
COHORT_PATHS = CohortPaths(workflow.basedir)
MODEL_PATHS = ModelPaths(config, BUNDLE)
REPORT_PATHS = ReportPaths(SCOPE)
# Lists of the library's homes (echocmr.vocab.views, echocmr.vocab.tasks): params keep their
# list form, so Snakemake's params rerun trigger sees no change.
VIEWS = list(ANALYSIS_VIEWS)
BINARY_TASKS = list(model_tasks.BINARY_TASKS)
TASKS = list(model_tasks.TASKS)


wildcard_constraints:
    shard=r"\d+",
    view="|".join(VIEWS),
    task="|".join(TASKS),


# The study's deliverables (echocmr.report.deliverables); `rule all` builds these.
DELIVERABLES = deliverables(trains_models=not BUNDLE)
