# Path, shard and config helpers shared by every rules file. No analysis logic lives here.
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from echocmr.codehash import ScriptFingerprints  # noqa: E402
from echocmr.config_checks import check_config  # noqa: E402
from echocmr.deliverables import deliverables  # noqa: E402
from echocmr.ingest import paths as ingest_paths  # noqa: E402
from echocmr.model.smk import bundle_card  # noqa: E402
from echocmr.model.scope import Scope  # noqa: E402
from echocmr.model import tasks as model_tasks  # noqa: E402
from echocmr.views.vocab import ANALYSIS_VIEWS  # noqa: E402

check_config(config)
# Every rule's `code` param: its script and the echocmr modules it imports, so that a library
# edit reruns the rules that run it (echocmr.codehash; docs/ARCHITECTURE.md "What reruns when").
CODE = ScriptFingerprints(workflow.basedir)
# model.mode external: the model card of model.bundle (None when this run trains its models).
BUNDLE = bundle_card(config)
# The (view, task) models and baseline this run scores: all of them, or the bundle's.
SCOPE = Scope.of(BUNDLE)

N_SHARDS = config["ingest"]["shards"]
SHARDS = list(range(N_SHARDS))
# Lists of the library's homes (echocmr.views.vocab, echocmr.model.tasks): params keep their
# list form, so Snakemake's params rerun trigger sees no change.
VIEWS = list(ANALYSIS_VIEWS)
BINARY_TASKS = list(model_tasks.BINARY_TASKS)
TASKS = list(model_tasks.TASKS)


wildcard_constraints:
    shard=r"\d+",
    view="|".join(VIEWS),
    task="|".join(TASKS),


def is_synthetic():
    return config["input"]["mode"] == "synthetic"


def raw_dir():
    """Root of the synthetic raw export (ignored for site data)."""
    return os.path.join(config["simulate"]["outdir"], "raw")


def raw_dicom_dir():
    if is_synthetic():
        return os.path.join(raw_dir(), "dicom")
    return config["input"]["dicom_dir"]


def raw_table(name):
    """Path of one raw input table: cmr_reports, clinical or echo_reports."""
    if is_synthetic():
        return os.path.join(raw_dir(), f"{name}.csv")
    return config["input"][name]


def truth_dir():
    return os.path.join(config["simulate"]["outdir"], "truth")


def shard_path(stage_dir, suffix=""):
    """Rule pattern of a per-shard output in this run's layout (`ingest.shards` in the path:
    echocmr.ingest.paths.shard_path), e.g. results/deid/shards-2/shard-{shard}.csv."""
    return ingest_paths.shard_path(stage_dir, N_SHARDS, "{shard}", suffix)


def shard_file(stage_dir, name):
    """Rule pattern of a file inside a per-shard folder, e.g. .../shard-{shard}/index.csv."""
    return os.path.join(shard_path(stage_dir), name)


def every_shard(pattern):
    """A shard_path / shard_file pattern, expanded to every shard of this run's layout."""
    return expand(pattern, shard=SHARDS)


def all_targets():
    """The study's deliverables (echocmr.deliverables); `rule all` builds these."""
    return deliverables(trains_models=not BUNDLE)
