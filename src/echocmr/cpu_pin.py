"""Processor pin: the same bits from torch on any x86-64 CPU (docs/model.md, "Same numbers on
any processor").

Left alone, torch picks kernels by the processor it finds: oneDNN (convolutions) chooses its
instruction set and its cache-size-dependent blocking, MKL (matrix products) its code path, and
ATen its vector width. Each choice changes the order of floating-point sums, so training drifts
from CPU to CPU. `pin_processor` fixes every one of them:

* convolutions go to ATen's own kernels (im2col + MKL GEMM), not oneDNN: oneDNN's blocking
  follows the cache sizes, which no environment variable fixes; its ISA is capped at AVX2 too,
  for any op that still reaches it;
* MKL runs its AVX2 branch in strict mode (`MKL_CBWR=AVX2,STRICT`: same bits on every AVX2
  processor, Intel or AMD, whatever the thread count);
* ATen's vectorised kernels use AVX2 (`ATEN_CPU_CAPABILITY=avx2`);
* the thread count is the job's, and deterministic algorithms are on.

The environment variables are read by the libraries at their first computation (not at
`import torch`), so the pin is applied before any torch work; `pin_record` reads back what is in
force (ATen's capability as torch reports it), which each torch job writes to its log, and each
training job beside its weights. Only CPU kernels are pinned: on a GPU the convolutions are
cuDNN's, autotuned and not bitwise reproducible (docs/model.md).
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from pathlib import Path

log = logging.getLogger(__name__)

# AVX2 is the widest instruction set every x86-64 CPU of the last decade (Intel Haswell, AMD
# Zen and later) shares; a CPU without it stops MKL's strict mode from giving the same bits.
PIN_ENV = {
    "DNNL_MAX_CPU_ISA": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "AVX2,STRICT",
    "ATEN_CPU_CAPABILITY": "avx2",
}
RECORDED_ENV = (*PIN_ENV, "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_model() -> str:
    """The processor's model name (/proc/cpuinfo on Linux, else what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pin_environment() -> bool:
    """Set the libraries' environment variables (overriding the caller's: a different value
    is exactly what the pin is there to remove). True when torch was not loaded yet."""
    os.environ.update(PIN_ENV)
    return "torch" not in sys.modules


def pin_processor(threads: int, pinned: bool = True) -> dict:
    """Pin (or, with `pinned=False`, only record) the processor-dependent choices of this
    process's torch work; returns the record (`pin_record`). Call before any torch work: the
    library functions that train or predict call it first, so every torch computation of a
    process runs pinned or none does (an unpinned call does not undo an earlier pin)."""
    before_torch = pin_environment() if pinned else "torch" not in sys.modules
    import torch

    torch.set_num_threads(max(1, int(threads)))
    if pinned:
        torch.backends.mkldnn.enabled = False
        if not torch.cuda.is_available():  # CUDA lacks deterministic kernels for some ops
            torch.use_deterministic_algorithms(True)
    record = pin_record()
    record["env_set_before_torch_loaded"] = bool(before_torch and pinned)
    log.info("processor pin: %s", record)
    return record


def pin_record() -> dict:
    """What is in force now: the CPU, the libraries' choices read back, the pin's variables."""
    import torch

    return {
        "pinned": not torch.backends.mkldnn.enabled
        and all(os.environ.get(k) == v for k, v in PIN_ENV.items()),
        "cpu_model": cpu_model(),
        "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_convolutions": bool(torch.backends.mkldnn.enabled),
        "threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "torch": torch.__version__,
        "env": {k: os.environ.get(k, "") for k in RECORDED_ENV},
    }


def write_pin_record(record: dict, path) -> None:
    import json

    Path(path).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
