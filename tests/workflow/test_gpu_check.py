"""benchmarks/gpu_check.py's CPU part (environment and data path), as CI runs it: the loader's
clips/s per worker for uint8 and float clips, and an honest 'not run' for the GPU part."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

from echocmr.model.device import cuda_problem


def test_gpu_check_cpu_part_reports_loader_rates_and_why_no_gpu(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--quick", "--no-tests",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "gpu.json").read_text())
    data = result["data_path"]
    assert set(data) == {"uint8/0", "uint8/1", "float/0", "float/1"}
    for run in data.values():
        assert run["clips"] > 0 and run["clips_per_s"] > 0, run
    # a uint8 batch is a quarter of the float one: what the workers hand over
    assert data["uint8/1"]["dtype"] == "uint8" and data["float/1"]["dtype"] == "float32"
    assert abs(data["float/1"]["batch_mb"] - 4 * data["uint8/1"]["batch_mb"]) < 1e-6
    assert result["environment"]["torch_cuda"]
    if cuda_problem():
        assert result["gpu"] == {"skipped": cuda_problem()}
    else:
        assert len(result["gpu"]["variants"]) == 4
    md = (tmp_path / "gpu.md").read_text()
    assert "clips/s per worker" in md and "| uint8 | 1 |" in md


def test_gpu_training_part_runs_its_code_on_cpu(tmp_path):
    """The GPU part's loop (real loader, real training step, timing split, the four variants and
    one `fit` epoch), on CPU with a tiny net: so the first GPU session does not find its bugs."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu_check
    import torch

    store = gpu_check.synthetic_store(tmp_path, n_patients=20)
    tiny = {**gpu_check.PAPER, "layers": [1, 1, 1, 1], "width": 4, "frames": 4,
            "resolution": 16, "batch_size": 4}
    out = gpu_check.gpu_training(store, steps=2, warmup=1, workers=0,
                                 device=torch.device("cpu"), net=tiny)
    assert len(out["variants"]) == 4
    for v in out["variants"].values():
        assert v["clips_per_s"] > 0 and v["median_compute_s"] > 0
        assert 0 <= v["data_wait_share"] < 1
    assert out["fit"]["device_record"]["device"] == "cpu" and out["fit"]["samples_per_s"] > 0
    md = gpu_check.gpu_markdown(out)
    assert "| bf16 channels_last_3d |" in md and "| fp32 NCDHW |" in md
