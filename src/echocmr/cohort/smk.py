"""The cohort side of the rules files: `CohortPaths`, built once as
`COHORT_PATHS = CohortPaths(workflow.basedir)` (the `echocmr.<stage>.smk` pattern:
echocmr.ingest.smk). The cohort's label and split params come with the bundle's, from
echocmr.model.smk."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, eq=False)
class CohortPaths:
    """The table schemas the cohort rules validate against: beside the Snakefile, not in the
    working directory (`snakemake --directory`). Named relative to the working directory, so a
    finished project moved or mounted elsewhere keeps the same inputs and reruns nothing."""

    basedir: str

    def schema(self, table: str) -> str:
        """workflow/schemas/<table>.schema.yaml of the workflow's own checkout, as a path
        relative to the working directory (an absolute one is recorded with every output and
        changes when the project moves: Snakemake's input trigger then reruns the cohort)."""
        return os.path.relpath(
            os.path.join(self.basedir, "workflow", "schemas", f"{table}.schema.yaml"))
