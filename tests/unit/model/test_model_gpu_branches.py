"""Every CUDA branch of the model stage, run in CI without a GPU.

Two ways in: a fake CUDA device (torch.cuda's queries monkeypatched: availability, capability,
arch list, properties, memory stats) drives the decisions (device, precision, pinned memory,
cuDNN autotuning, the run record); the training and prediction loops run their GPU settings
(bf16 and fp16 autocast with a GradScaler, channels_last_3d) for real on CPU through a Runtime
built directly.
"""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO

from echocmr.model import device as dev
from echocmr.model.data import view_table
from echocmr.model.device import Runtime, choose_precision, device_record, resolve_device
from echocmr.model.loader import clip_loader, shm_plan, worker_count
from echocmr.model.predict import predict_videos
from echocmr.model.train import TrainSettings, checkpoint_due, fit
from tools.toy import make_toy_dataset

torch.set_num_threads(1)
CPU = torch.device("cpu")
TINY = dict(layers=[1, 1, 1, 1], width=4, frames=4, period=2, resolution=16, batch_size=4,
            device="cpu")


@pytest.fixture
def fake_cuda(monkeypatch):
    """A visible 'GPU' whose capability the test sets: fake.capability = (major, minor)."""
    fake = SimpleNamespace(capability=(9, 0), name="Fake H100", available=True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: fake.available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: int(fake.available))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: fake.capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: fake.name)
    monkeypatch.setattr(torch.cuda, "get_arch_list",
                        lambda: ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"])
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d=None: SimpleNamespace(
        name=fake.name, major=fake.capability[0], minor=fake.capability[1],
        total_memory=80 * 2**30))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda d=None: None)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda d=None: 3 * 2**30)
    monkeypatch.setattr(dev, "_nvidia_driver", lambda: "580.65")
    return fake


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


# ---- device and precision ------------------------------------------------------------------

def test_cuda_setting_without_gpu_stops_naming_key_and_reason(no_cuda):
    with pytest.raises(RuntimeError, match=r"model.device=cuda.*no usable GPU.*model.device: cpu"):
        resolve_device("cuda")


def test_paper_preset_refuses_to_train_on_cpu_at_job_start(no_cuda, toy, tmp_path):
    paper = yaml.safe_load((REPO / "config/presets/paper.yaml").read_text())["model"]
    assert paper["device"] == "cuda"
    settings = TrainSettings(**{**TINY, "device": paper["device"]})
    with pytest.raises(RuntimeError, match="model.device=cuda"):
        fit(_table(toy), toy["shard_dirs"], ["wma", "t2"], settings, tmp_path, seed=7,
            progress=False)
    assert not (tmp_path / "best.pt").exists()


def test_auto_without_gpu_runs_on_cpu_and_logs_why(no_cuda, caplog):
    with caplog.at_level(logging.WARNING, logger="echocmr.model.device"):
        assert resolve_device("auto") == CPU
    assert "no usable GPU" in caplog.text and torch.__version__ in caplog.text


def test_gpu_the_wheel_has_no_kernels_for_is_not_used(fake_cuda):
    fake_cuda.capability, fake_cuda.name = (7, 0), "Tesla V100"
    assert resolve_device("auto") == CPU
    with pytest.raises(RuntimeError, match="Tesla V100 \\(sm_70\\) is not supported"):
        resolve_device("cuda")


def test_usable_gpu_is_chosen(fake_cuda):
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cuda").type == "cuda"
    assert resolve_device("cpu") == CPU


@pytest.mark.parametrize("capability, setting, expected", [
    ((9, 0), "auto", "bf16"), ((8, 0), "auto", "bf16"), ((7, 5), "auto", "fp16"),
    ((7, 5), "fp32", "fp32"), ((9, 0), "fp16", "fp16")])
def test_precision_follows_capability_or_setting(fake_cuda, capability, setting, expected):
    fake_cuda.capability = capability
    assert choose_precision(torch.device("cuda"), setting) == expected


def test_cpu_always_runs_fp32_and_unknown_precision_is_refused():
    assert choose_precision(CPU, "bf16") == "fp32"
    with pytest.raises(ValueError, match="model.precision"):
        choose_precision(CPU, "fp8")


def test_runtime_for_cuda_uses_channels_last_autocast_and_pinned_memory(fake_cuda):
    fake_cuda.capability = (7, 5)
    runtime = dev.runtime_for("auto", "auto")
    assert (runtime.device.type, runtime.precision, runtime.channels_last) == ("cuda", "fp16",
                                                                              True)
    assert runtime.pin_memory
    ctx = runtime.autocast()
    assert (ctx.device, ctx.fast_dtype) == ("cuda", torch.float16)
    assert dev.runtime_for("cpu") == Runtime(CPU, "fp32", False)


def test_run_record_names_gpu_capability_driver_and_versions(fake_cuda):
    record = device_record(Runtime(torch.device("cuda"), "bf16", True))
    assert record["name"] == "Fake H100" and record["capability"] == "9.0"
    assert record["driver"] == "580.65" and record["memory_gib"] == 80.0
    assert record["torch"] == torch.__version__ and record["torch_cuda"] == torch.version.cuda
    assert record["precision"] == "bf16" and record["channels_last"]


def test_cpu_run_record_says_why_cuda_was_not_used(no_cuda):
    record = device_record(Runtime(CPU))
    assert record["device"] == "cpu" and "no usable GPU" in record["cuda_problem"]


def test_cuda_seeding_autotunes_and_sets_the_cublas_workspace(fake_cuda, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    dev.seed_everything(1, torch.device("cuda"))
    assert torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_gpu_memory_stats_are_read_on_cuda(fake_cuda):
    dev.reset_peak_memory(torch.device("cuda"))
    assert dev.peak_memory_mb(torch.device("cuda")) == 3 * 1024


# ---- loaders -------------------------------------------------------------------------------

def test_worker_count_comes_from_the_job_cpus():
    assert worker_count("auto", 8) == 7 and worker_count("auto", 1) == 0
    assert worker_count(3, 8) == 3


def test_shared_memory_in_flight_is_bounded():
    mb = 2**20
    assert shm_plan(7, 2 * mb, 32 * mb) == (7, 2)   # paper uint8 batches: 28 MB
    assert shm_plan(7, 4 * mb, 32 * mb) == (7, 1)   # one batch each fits
    assert shm_plan(7, 8 * mb, 32 * mb) == (4, 1)   # float batches: fewer workers
    assert shm_plan(2, 64 * mb, 32 * mb) == (0, None)
    assert shm_plan(0, 2 * mb, 32 * mb) == (0, None)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_dataset(tmp_path_factory.mktemp("toy"), n_patients=20, n_frames=24,
                            size=16, seed=3)


def _table(toy) -> pd.DataFrame:
    return view_table(toy["views"], toy["labels"], toy["split"], "A4C", ["wma", "t2"])


def test_cuda_loader_pins_memory(fake_cuda, toy):
    from echocmr.model.data import ClipDataset

    ds = ClipDataset(toy["shard_dirs"], _table(toy)["video_key"][:4], torch.zeros(4, 1).numpy(),
                     4, 2, 16)
    loader = clip_loader(ds, 2, Runtime(torch.device("cuda"), "bf16", True), 2)
    assert loader.pin_memory and loader.num_workers == 2 and loader.persistent_workers


# ---- training and prediction with the GPU settings, on CPU ---------------------------------

@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_channels_last_training_and_prediction_run(toy, tmp_path, precision):
    runtime = Runtime(CPU, precision, channels_last=True)
    settings = TrainSettings(**{**TINY, "max_epochs": 2, "precision": precision})
    metrics = fit(_table(toy), toy["shard_dirs"], ["wma", "t2"], settings, tmp_path, seed=7,
                  progress=False, runtime=runtime)
    assert len(metrics) == 2 and metrics["train_loss"].notna().all()
    saved = torch.load(tmp_path / "best.pt", weights_only=False)
    assert saved["device"]["precision"] == precision and saved["device"]["channels_last"]
    scaler = torch.load(tmp_path / "state" / "last.pt", weights_only=False)["scaler"]
    assert bool(scaler) == (precision == "fp16")  # a disabled scaler saves an empty state
    videos = predict_videos(tmp_path / "best.pt", _table(toy), toy["shard_dirs"], "all",
                            runtime=runtime)
    assert videos["pred_wma"].between(0, 1).all() and videos["pred_t2"].notna().all()


class Killed(Exception):
    pass


def test_fp16_run_resumes_with_its_loss_scale(toy, tmp_path, caplog):
    runtime = Runtime(CPU, "fp16", channels_last=True)
    settings = TrainSettings(**{**TINY, "max_epochs": 3, "precision": "fp16"})

    def kill_after_first(epoch):
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        fit(_table(toy), toy["shard_dirs"], ["wma", "t2"], settings, tmp_path, seed=7,
            progress=False, on_epoch_end=kill_after_first, runtime=runtime)
    with caplog.at_level(logging.INFO, logger="echocmr.model.train"):
        metrics = fit(_table(toy), toy["shard_dirs"], ["wma", "t2"], settings, tmp_path,
                      seed=7, progress=False, runtime=runtime)
    assert "resuming after epoch 1" in caplog.text
    assert list(metrics["epoch"]) == [1, 2, 3]


def test_checkpoint_cadence_by_epochs_and_minutes():
    s = TrainSettings(checkpoint_epochs=5, checkpoint_minutes=20)
    assert not checkpoint_due(s, {"epoch": 3, "done": False}, minutes_since=1)
    assert checkpoint_due(s, {"epoch": 5, "done": False}, minutes_since=1)
    assert checkpoint_due(s, {"epoch": 3, "done": False}, minutes_since=21)
    assert checkpoint_due(s, {"epoch": 3, "done": True}, minutes_since=0)
    assert not checkpoint_due(TrainSettings(checkpoint_epochs=5), {"epoch": 3, "done": False},
                              minutes_since=1e6)  # 0 minutes: by epochs only


def test_last_checkpoint_is_written_every_n_epochs_and_at_the_end(toy, tmp_path):
    settings = TrainSettings(**{**TINY, "max_epochs": 3, "checkpoint_epochs": 2})
    seen = {}

    def record(epoch):
        last = tmp_path / "state" / "last.pt"
        seen[epoch] = (torch.load(last, weights_only=False)["run"]["epoch"]
                       if last.exists() else None)

    fit(_table(toy), toy["shard_dirs"], ["wma", "t2"], settings, tmp_path, seed=7,
        progress=False, on_epoch_end=record)
    assert seen == {1: None, 2: 2, 3: 3}


@pytest.mark.skipif(bool(dev.cuda_problem()), reason="needs a usable CUDA GPU")
def test_real_gpu_trains_and_predicts(toy, tmp_path):
    """On a GPU host: the workflow's own settings (device cuda, precision auto) end to end."""
    settings = TrainSettings(**{**TINY, "device": "cuda", "max_epochs": 2})
    metrics = fit(_table(toy), toy["shard_dirs"], ["wma", "t2"], settings, tmp_path, seed=7,
                  progress=False)
    assert metrics["train_loss"].notna().all()
    record = torch.load(tmp_path / "best.pt", weights_only=False)["device"]
    assert record["device"] == "cuda" and record["channels_last"]
    videos = predict_videos(tmp_path / "best.pt", _table(toy), toy["shard_dirs"], "first",
                            device="cuda")
    assert videos["pred_wma"].between(0, 1).all()
