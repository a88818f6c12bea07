"""The shard layout: where every per-shard output lives (`shards-<n>/shard-<i>...`).

Library code (scripts, tests, benchmarks) builds shard paths here; the rules reach it through
`echocmr.ingest.smk.IngestPaths`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# --- shard layout ------------------------------------------------------------------------------
# Studies go to shard `hash mod ingest.shards`, so shard i of another shard count holds other
# studies. Every per-shard output therefore lives under a folder named by the count: a changed
# `ingest.shards` neither reuses nor reads an earlier layout, and nothing has to be deleted at
# parse time (which would also run on `-n` and `--lint`).

LAYOUT = re.compile(r"shards-\d+")


def shard_layout(n_shards: int) -> str:
    """Folder of the layout of `n_shards` shards: `shards-<n>`."""
    return f"shards-{int(n_shards)}"


def shard_path(stage_dir: str | Path, n_shards: int, shard: int | str = "{shard}",
               suffix: str = "") -> str:
    """The path of one per-shard output: `<stage_dir>/shards-<n>/shard-<shard><suffix>`, with
    suffix '' (a folder), '.csv', '/index.csv', ...; the default shard gives a rule pattern.
    Every per-shard path of the workflow is built here."""
    return os.path.join(stage_dir, shard_layout(n_shards), f"shard-{shard}{suffix}")


def shard_dirs(stage_dir: str | Path, n_shards: int) -> list[str]:
    """Every shard folder of the layout, e.g. the crop stores of `results/crop`."""
    return [shard_path(stage_dir, n_shards, s) for s in range(n_shards)]


def other_layouts(results_dir: str | Path, n_shards: int) -> list[str]:
    """Layout folders under results_dir of any other shard count (`deid/shards-4`, ...):
    left by an earlier `ingest.shards`, read by no rule."""
    root, current = Path(results_dir), shard_layout(n_shards)
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        layouts = sorted(d for d in dirnames if LAYOUT.fullmatch(d))
        found += [(Path(dirpath) / d).relative_to(root).as_posix()
                  for d in layouts if d != current]
        dirnames[:] = [d for d in dirnames if d not in layouts]  # not into the shard folders
    return sorted(found)
