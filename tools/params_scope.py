"""Which config keys reach a rule other than through its params (docs/ARCHITECTURE.md, "What
reruns when").

Every rule's params carry exactly the config keys its script and library read, so Snakemake
reruns a job when, and only when, one of them changed (tests/.../test_params_scope.py checks that
every other key of the schema changes some rule's params). The keys below act otherwise.
"""

from __future__ import annotations

# Keys that shape the DAG (which jobs, inputs and output folders exist), size a job's threads,
# or are only recorded: changing one adds or removes jobs, or reruns none by itself.
STRUCTURAL_KEYS = {
    "preset": "recorded only: results/config_used.yaml and the bundle's config hash",
    "input.mode": "DAG: synthetic adds the simulate rule and reads its export, site reads input.*",
    "input.dicom_dir": "DAG: the raw DICOM tree, an input of inventory, deidentify and audit",
    "input.cmr_reports": "DAG: a raw table, an input of deidentify_tables and audit",
    "input.clinical": "DAG: a raw table, an input of deidentify_tables and audit",
    "input.echo_reports": "DAG: a raw table, an input of deidentify_tables and audit",
    "input.view_labels": "DAG: the raw view-label table, an input when given",
    "simulate.outdir": "DAG: where simulate writes the export every ingest rule reads",
    "ingest.shards": "DAG: the per-shard jobs and their layout folder (shards-<n>/)",
    "ingest.inventory_workers": "resource: the threads of rule inventory",
    "audit.workers": "resource: the threads of rule audit (its pixel-reading processes)",
    "views.backend": "DAG: which views jobs exist and what views_classify reads",
    "views.weights": "DAG: the weights file views_classify reads (pretrained backend)",
    "model.mode": "DAG: one model per view (multitask) or per view and task (per_task)",
    "model.bundle": "DAG: external mode's bundle, whose card and weights are inputs",
    "model.threads": "resource: the threads of train and predict (scripts read snakemake.threads)",
    "secret.private_dir": "operator-only folder outside results/ (key map, failed-audit detail): "
                          "inventory and audit read it from snakemake.config; reruns nothing",
    "model.runtime_tflops": "resource: the SLURM time limit of train and predict",
    "model.expected_studies": "resource: the SLURM time limit of train and predict",
}

# Params that record the whole config rather than read keys of it: a config change of any kind
# reruns these (cheap) rules; they are left out when asking which rules read a key.
CONFIG_RECORDS = {"report_assets": "config", "bundle": "config_sha256"}
