"""Device, precision and run-wide determinism.

`auto` picks CUDA only when this torch build can run kernels on the visible GPU, and says why not
otherwise; `cuda` (the paper preset) refuses to start on CPU. Precision follows the GPU's compute
capability: bf16 from 8.0 (Ampere) on, fp16 with a GradScaler below (bf16 is emulated there), or
fp32 when configured. CPU always runs fp32, so CPU results stay bit-identical.
"""

from __future__ import annotations

import logging
import os
import random
import resource
import shutil
import subprocess
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
BF16_MIN_CAPABILITY = (8, 0)  # native bf16 tensor cores from Ampere on


def cuda_problem() -> str:
    """Why CUDA cannot be used here ('' when it can): no visible GPU (often a driver older than
    this wheel's CUDA), or a GPU this wheel ships no kernels for (e.g. sm_70 in a sm_75+ build)."""
    if not torch.cuda.is_available():
        return (f"torch {torch.__version__} (built for CUDA {torch.version.cuda}) sees no usable "
                f"GPU: device count {torch.cuda.device_count()}, CUDA_VISIBLE_DEVICES="
                f"{os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}; a driver older than CUDA "
                f"{torch.version.cuda} needs, or a job without a GPU allocation, gives this")
    major, minor = torch.cuda.get_device_capability(0)
    arch = f"sm_{major}{minor}"
    supported = torch.cuda.get_arch_list()
    if supported and arch not in supported and f"compute_{major}{minor}" not in supported:
        return (f"{torch.cuda.get_device_name(0)} ({arch}) is not supported by torch "
                f"{torch.__version__}, built for {', '.join(supported)}")
    return ""


def resolve_device(preference: str = "auto") -> torch.device:
    """`auto`: CUDA when usable, else CPU (logged with the reason); `cuda`: a usable GPU or a
    RuntimeError naming the key and the reason; `cpu`: CPU."""
    if preference == "cpu":
        return torch.device("cpu")
    problem = cuda_problem()
    if not problem:
        return torch.device("cuda")
    if preference == "cuda":
        raise RuntimeError(f"model.device=cuda but {problem}. Run on a GPU node, or set "
                           "model.device: cpu (or auto) to train on CPU on purpose")
    log.warning("model.device=auto: running on CPU (%s)", problem)
    return torch.device("cpu")


def choose_precision(device: torch.device, setting: str = "auto") -> str:
    """fp32 on CPU (bit-identical runs); on CUDA the setting, or by capability for `auto`."""
    if setting not in PRECISIONS:
        raise ValueError(f"model.precision={setting!r}: use one of {', '.join(PRECISIONS)}")
    if device.type != "cuda":
        return "fp32"
    if setting != "auto":
        return setting
    return "bf16" if torch.cuda.get_device_capability(device) >= BF16_MIN_CAPABILITY else "fp16"


@dataclass(frozen=True)
class Runtime:
    """Where and how a network runs: device, precision and memory layout. Built from the config
    by `runtime_for`; tests build any combination directly to run every branch on CPU."""

    device: torch.device
    precision: str = "fp32"
    channels_last: bool = False

    def autocast(self):
        """Mixed precision (bf16 or fp16) on the device, or plain fp32."""
        if self.precision == "fp32":
            return nullcontext()
        return torch.autocast(self.device.type, dtype=AUTOCAST_DTYPES[self.precision])

    def grad_scaler(self) -> torch.amp.GradScaler:
        """Loss scaling for fp16 only (its range underflows small gradients); a pass-through
        otherwise."""
        return torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")

    @property
    def pin_memory(self) -> bool:
        """Page-locked batches let the host-to-GPU copy run asynchronously (non_blocking)."""
        return self.device.type == "cuda"


def runtime_for(device_setting: str = "auto", precision: str = "auto") -> Runtime:
    """The runtime of the config keys `model.device` and `model.precision`: channels_last_3d
    on CUDA (benchmarks/gpu_check.sh compares it with NCDHW), never on CPU."""
    device = resolve_device(device_setting)
    return Runtime(device, choose_precision(device, precision), device.type == "cuda")


def _nvidia_driver() -> str:
    """The NVIDIA driver version from nvidia-smi ('' when there is none)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ""
    try:
        out = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout else ""


def device_record(runtime: Runtime) -> dict:
    """What ran the model, for the log and best.pt: device name, capability, memory, driver,
    torch/CUDA/cuDNN versions, precision and layout."""
    record = {"device": runtime.device.type, "precision": runtime.precision,
              "channels_last": runtime.channels_last, "torch": torch.__version__,
              "torch_cuda": torch.version.cuda, "cuda_problem": ""}
    if runtime.device.type != "cuda":
        record["cuda_problem"] = cuda_problem()
        return record
    props = torch.cuda.get_device_properties(runtime.device)
    record.update(name=props.name, capability=f"{props.major}.{props.minor}",
                  memory_gib=round(props.total_memory / 2**30, 1),
                  driver=_nvidia_driver(), cudnn=torch.backends.cudnn.version())
    return record


def seed_everything(seed: int, device: torch.device) -> None:
    """Same seed -> same bytes on CPU. On CUDA cuDNN autotuning is kept for speed (not bitwise)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def autocast(device: torch.device):
    """bf16 mixed precision on GPU; full fp32 on CPU (benchmarks that hold no Runtime)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory allocated since the last reset, or the process's peak RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
