"""DataLoaders sized to the job: worker processes from its CPUs, batches in shared memory bounded.

Workers hand batches to the main process through /dev/shm; a container's default /dev/shm is
64 MB, so the batches in flight (workers x prefetch factor x batch bytes) stay under
`SHM_BUDGET_BYTES`. Clips travel as uint8 (data.clip_uint8), a quarter of float's bytes.
"""

from __future__ import annotations

import logging
import os

from torch.utils.data import DataLoader

from echocmr.model.device import Runtime

log = logging.getLogger(__name__)

SHM_BUDGET_BYTES = 32 * 2**20  # half a 64 MB container /dev/shm
DEFAULT_PREFETCH = 2  # torch's default batches in flight per worker


def job_cpus(threads: int) -> int:
    """The CPUs this job may use: its threads, or fewer where the allocation (cgroup/affinity,
    e.g. SLURM's --cpus-per-gpu) grants fewer."""
    return max(1, min(int(threads), len(os.sched_getaffinity(0))))


def worker_count(num_workers: int | str, cpus: int) -> int:
    """`auto`: all of the job's CPUs but the one the training loop itself runs on. Training,
    validation and prediction loaders never iterate at the same time, so each gets this count
    and together they stay within the allocation."""
    if num_workers == "auto":
        return max(int(cpus) - 1, 0)
    return int(num_workers)


def shm_plan(workers: int, batch_bytes: int, budget: int = SHM_BUDGET_BYTES
             ) -> tuple[int, int | None]:
    """(workers, prefetch factor) whose batches in flight fit `budget`: fewer batches per
    worker first, then fewer workers (0: loading in the main process, no shared memory)."""
    if workers == 0:
        return 0, None
    per_worker = max(budget // max(batch_bytes, 1), 0)
    if per_worker >= workers * DEFAULT_PREFETCH:
        return workers, DEFAULT_PREFETCH
    if per_worker >= workers:
        return workers, 1
    log.warning("%d loader workers x %.1f MB batches exceed the %d MB shared-memory budget: "
                "using %d", workers, batch_bytes / 2**20, budget // 2**20, per_worker)
    return (int(per_worker), 1) if per_worker else (0, None)


def clip_loader(dataset, batch_size: int, runtime: Runtime, workers: int, sampler=None,
                persistent: bool = True) -> DataLoader:
    """A loader of uint8 clip batches for `runtime`: pinned memory on CUDA (asynchronous
    copies), worker count and prefetch bounded by `shm_plan`."""
    workers, prefetch = shm_plan(workers, batch_bytes(dataset, batch_size))
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      pin_memory=runtime.pin_memory, prefetch_factor=prefetch,
                      persistent_workers=persistent and workers > 0)


def batch_bytes(dataset, batch_size: int) -> int:
    """Bytes of one uint8 batch of `dataset` (every clip has the first clip's shape)."""
    return int(dataset.clip(0).nbytes) * batch_size if len(dataset) else 0
