"""Model stage library tests on a tiny planted-signal store (no Snakemake)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from echocmr.media.store import VideoStore
from echocmr.model.baseline import baseline_files, baseline_task
from echocmr.model.data import (
    ClipDataset,
    all_clip_starts,
    clip_indices,
    random_start,
    to_tensor,
    view_table,
)
from echocmr.model.fuse import fuse_task_splits
from echocmr.model.nets import build_model
from echocmr.model.predict import predict_videos, task_frames
from echocmr.model.train import TrainSettings, fit
from echocmr.vocab.tasks import TASKS, label_column, model_tasks
from tools.toy import make_toy_dataset

torch.set_num_threads(1)
# device pinned to CPU: the byte-identity checks must hold on a GPU host too
TINY = dict(layers=[1, 1, 1, 1], width=4, frames=4, period=2, resolution=16, batch_size=4,
            device="cpu")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_dataset(tmp_path_factory.mktemp("toy"), n_patients=20, n_frames=24,
                            size=16, seed=3)


def test_loader_returns_exactly_the_stored_frames(toy):
    store = VideoStore(toy["shard_dirs"])
    key = store.keys()[5]
    video = np.array(store.frames(key))
    ds = ClipDataset(toy["shard_dirs"], [key], np.zeros((1, 1)), frames=5, period=3, size=16,
                     starts=[2])
    np.testing.assert_array_equal(ds.clip(0), video[[2, 5, 8, 11, 14]])
    x, y, m = ds[0]  # uint8 to the device, made float there
    assert x.shape == (1, 5, 16, 16) and x.dtype == torch.uint8
    np.testing.assert_array_equal(x[0].numpy(), video[[2, 5, 8, 11, 14]])
    f = to_tensor(ds.clip(0), 16)
    assert f.shape == (1, 5, 16, 16) and f.dtype == torch.float32
    np.testing.assert_array_equal((f[0].numpy() * 255).round().astype(np.uint8),
                                  video[[2, 5, 8, 11, 14]])


def test_clip_sampling_rules():
    assert list(clip_indices(10, 4, 2, 0)) == [0, 2, 4, 6]
    assert list(clip_indices(5, 4, 2, 0)) == [0, 2, 4, 4]  # short video: last frame repeats
    assert all_clip_starts(40, 4, 2) == [0, 7, 14, 21, 28]
    rng = np.random.default_rng(0)
    starts = {random_start(20, 4, 2, rng) for _ in range(200)}
    assert min(starts) == 0 and max(starts) == 13  # last start keeps the clip inside


def test_downsampling_at_load_time_averages_blocks():
    frames = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    x = to_tensor(frames, 2)
    assert x.shape == (1, 2, 2, 2)
    assert x[0, 0, 0, 0].item() == pytest.approx(frames[0, :2, :2].mean() / 255)


def test_random_starts_depend_only_on_seed_and_epoch(toy):
    keys = VideoStore(toy["shard_dirs"]).keys()[:6]
    a = ClipDataset(toy["shard_dirs"], keys, np.zeros((6, 1)), 4, 2, 16, seed=1)
    b = ClipDataset(toy["shard_dirs"], keys, np.zeros((6, 1)), 4, 2, 16, seed=1)
    for i in range(6):
        np.testing.assert_array_equal(a.clip(i, epoch=3), b.clip(i, epoch=3))
    assert any(not np.array_equal(a.clip(i, 1), a.clip(i, 2)) for i in range(6))


def test_view_specific_labels_and_split(toy):
    table = view_table(toy["views"], toy["labels"], toy["split"], "A2C", ["wma", "t2"])
    labels = pd.read_csv(toy["labels"]).set_index("study_key")
    assert label_column("wma", "A2C") == "wma_a2c"
    assert (table["wma"].to_numpy() == labels.loc[table["study_key"], "wma_a2c"].to_numpy()).all()
    assert set(table["split"]) == {"train", "val", "test"}
    assert model_tasks("multitask", "multitask") == list(TASKS)


def test_paper_net_is_torchvision_r2plus1d_18():
    from torchvision.models.video import r2plus1d_18
    from torchvision.models.video.resnet import VideoResNet

    from echocmr.model.nets import SlimVideoResNet

    model = build_model("r2plus1d_18", 1)
    assert type(model.net) is VideoResNet
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == sum(p.numel() for p in r2plus1d_18(num_classes=1).parameters())
    # the slim builder at the paper's depth and width is the same network
    same = SlimVideoResNet("r2plus1d_18", [2, 2, 2, 2], 64, 1)
    assert sum(p.numel() for p in same.parameters()) == n_params
    out = build_model("mc3_18", 3, [1, 1, 1, 1], 8)(torch.rand(2, 1, 4, 16, 16))
    assert out.shape == (2, 3)


def _train(toy, outdir, tasks=("wma", "t2"), **kw):
    table = view_table(toy["views"], toy["labels"], toy["split"], "A4C", list(tasks))
    settings = TrainSettings(**{**TINY, "max_epochs": 4, "patience": 10, **kw})
    return fit(table, toy["shard_dirs"], list(tasks), settings, outdir, seed=7, progress=False)


def test_tiny_config_trains_and_loss_goes_down(toy, tmp_path):
    metrics = _train(toy, tmp_path, max_epochs=6, lr=3e-3)
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]
    for col in ("val_auroc_wma", "val_mae_t2", "time_s", "samples_per_s", "peak_mem_mb"):
        assert col in metrics
    assert (tmp_path / "best.pt").exists() and (tmp_path / "metrics.csv").exists()


def test_cpu_training_is_byte_identical(toy, tmp_path):
    _train(toy, tmp_path / "a", max_epochs=2)
    _train(toy, tmp_path / "b", max_epochs=2)
    a = torch.load(tmp_path / "a" / "best.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "b" / "best.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


KILLER = textwrap.dedent("""
    import os, signal, sys, torch
    torch.set_num_threads(1)
    from echocmr.model.data import view_table
    from tools.toy import make_toy_dataset
    from echocmr.model.train import TrainSettings, fit
    root, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    toy = make_toy_dataset(root, n_patients=20, n_frames=24, size=16, seed=3)
    table = view_table(toy["views"], toy["labels"], toy["split"], "A4C", ["wma", "t2"])
    s = TrainSettings(layers=[1, 1, 1, 1], width=4, frames=4, period=2, resolution=16,
                      batch_size=4, max_epochs=4, patience=10, device="cpu")
    def die(epoch):
        if epoch == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # a real kill, mid-run
    fit(table, toy["shard_dirs"], ["wma", "t2"], s, out, seed=7, progress=False,
        on_epoch_end=die)
""")


def test_killed_training_resumes_and_ends_like_an_unbroken_run(tmp_path):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def run(out, kill_at):
        return subprocess.run([sys.executable, str(script), str(tmp_path / "data"), str(out),
                               str(kill_at)], env=env, capture_output=True, text=True)

    first = run(tmp_path / "resumed", 2)
    assert first.returncode == -9, first.stderr
    assert not (tmp_path / "resumed" / "best.pt").exists()
    assert run(tmp_path / "resumed", 0).returncode == 0  # rerun: resumes after epoch 2
    assert run(tmp_path / "straight", 0).returncode == 0
    a = torch.load(tmp_path / "resumed" / "best.pt", weights_only=False)
    b = torch.load(tmp_path / "straight" / "best.pt", weights_only=False)
    assert a["best_epoch"] == b["best_epoch"]
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    ma = pd.read_csv(tmp_path / "resumed" / "metrics.csv")
    mb = pd.read_csv(tmp_path / "straight" / "metrics.csv")
    same = ["epoch", "train_loss", "val_loss", "val_auroc_wma", "val_mae_t2", "best"]
    pd.testing.assert_frame_equal(ma[same], mb[same])
    assert len(ma) == 4


def test_predictions_aggregate_videos_per_study(toy, tmp_path):
    _train(toy, tmp_path, max_epochs=1)
    table = view_table(toy["views"], toy["labels"], toy["split"], "A4C", ["wma", "t2"])
    table = table[table["split"].isin(["val", "test"])]
    twice = pd.concat([table, table.assign(video_key=table["video_key"] + "b")])
    videos = predict_videos(tmp_path / "best.pt", table, toy["shard_dirs"], "all", device="cpu")
    assert videos["pred_wma"].between(0, 1).all() and videos["pred_t2"].between(30, 70).all()
    # a study with two videos: its prediction is the mean of the two
    videos2 = pd.concat([videos, videos.assign(video_key=videos["video_key"] + "b",
                                               pred_wma=videos["pred_wma"] / 2)])
    studies, per_video = task_frames(videos2, "wma")
    assert len(per_video) == 2 * len(studies) == len(twice)
    expected = videos.set_index("study_key")["pred_wma"] * 0.75
    got = studies.set_index("study_key")["y_pred"]
    np.testing.assert_allclose(got.sort_index(), expected.sort_index())
    assert list(studies.columns) == ["study_key", "patient_key", "split", "y_true", "y_pred"]


def _view_preds(rng, keys, splits, y, drop):
    out = {}
    for view in ("A4C", "A2C", "PLAX"):
        p = 1 / (1 + np.exp(-(2 * y - 1) * 1.5 - rng.normal(0, 1, len(y))))
        df = pd.DataFrame({"study_key": keys, "patient_key": keys, "split": splits, "y_true": y,
                           "y_pred": p})
        out[view] = df[~df["study_key"].isin(drop.get(view, []))]
    return out


def test_fusion_handles_missing_views_per_pattern():
    rng = np.random.default_rng(0)
    n = 120
    keys = [f"S{i:04d}" for i in range(n)]
    splits = ["val"] * 60 + ["test"] * 60
    y = rng.integers(0, 2, n)
    labels = pd.DataFrame({"study_key": keys, "patient_key": keys, "wma_global": y})
    split = pd.DataFrame({"study_key": keys, "patient_key": keys, "split": splits})
    drop = {"A2C": keys[50:60] + keys[100:110], "PLAX": keys[110:115]}
    drop["A4C"] = keys[115:118]
    drop["A2C"] += keys[115:118]
    drop["PLAX"] += keys[115:118]  # three test studies without any view
    preds = _view_preds(rng, keys, splits, y, drop)
    fused, _, patterns = fuse_task_splits("wma", preds, labels, split)
    assert len(fused) == 57 and set(fused["split"]) == {"test"}
    counts = patterns.set_index("views")
    assert counts.loc["A4C+A2C+PLAX", "n_test"] == 42
    assert counts.loc["A4C+PLAX", "n_test"] == 10 and counts.loc["A4C+PLAX", "n_val"] == 60
    assert counts.loc["A4C+A2C", "n_test"] == 5
    assert counts.loc["none", "n_test"] == 3 and "excluded" in counts.loc["none", "method"]
    assert counts["n_test"].sum() == 60
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(fused["y_true"], fused["y_pred"]) > 0.8


def test_fusion_falls_back_to_mean_when_a_pattern_has_too_few_val_studies():
    rng = np.random.default_rng(1)
    keys = [f"S{i:03d}" for i in range(40)]
    splits = ["val"] * 20 + ["test"] * 20
    y = np.tile([0, 1], 20)
    labels = pd.DataFrame({"study_key": keys, "patient_key": keys, "t1": y * 50.0 + 1000})
    split = pd.DataFrame({"patient_key": keys, "split": splits})
    preds = _view_preds(rng, keys, splits, y, {"A4C": keys[:20]})  # no val study has A4C
    fused, _, patterns = fuse_task_splits("t1", preds, labels, split, min_fit=10)
    full = patterns.set_index("views").loc["A4C+A2C+PLAX"]
    assert full["n_val"] == 0 and full["method"].startswith("mean")
    assert len(fused) == 20


def test_baseline_uses_lvef_age_sex_on_the_same_split(toy):
    df, imputed, _ = baseline_files(toy["labels"], toy["split"], toy["manifest"],
                                 toy["echo_reports"], toy["clinical"])
    assert imputed == {"echo_lvef_pct": 0, "age_years": 0, "sex_male": 0}
    out = baseline_task("wma", df)
    split = pd.read_csv(toy["split"]).set_index("patient_key")["split"]
    assert (out["split"].to_numpy() == split.loc[out["patient_key"]].to_numpy()).all()
    assert set(out["split"]) == {"val", "test"}
    assert out["y_pred"].between(0, 1).all()
    with pytest.raises(ValueError, match="continuous"):
        baseline_task("t1", df)


def test_selection_score_uses_only_the_selection_tasks_a_model_has():
    import math

    import numpy as np

    from echocmr.model.train import selection_score

    tasks = ["wma", "lge", "t1"]
    scores = {"val_auroc_wma": 0.9, "val_auroc_lge": 0.5, "val_mae_t1": 2.0}
    std = np.array([1.0, 1.0, 4.0])
    assert math.isclose(selection_score(tasks, scores, std, 1.0, ["wma"]), 0.9)
    everything = (0.9 + 0.5 - 0.5) / 3
    assert math.isclose(selection_score(tasks, scores, std, 1.0, None), everything)
    # a per_task model without any listed task falls back to its own task
    assert math.isclose(selection_score(["lge"], scores, std, 1.0, ["wma"]), 0.5)


def test_task_weights_weigh_each_task_in_the_loss_and_skip_unlabelled_ones():
    from echocmr.model.train import loss_weights, masked_loss

    tasks = ["wma", "t2_abnormal", "t1"]
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -0.5]])
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    binary = torch.tensor([True, True, False])
    full = torch.ones_like(y)
    per_task = [float(masked_loss(logits[:, [j]], y[:, [j]], full[:, [j]], binary[[j]]))
                for j in range(3)]
    assert loss_weights(tasks, None, "cpu") is None
    assert math.isclose(float(masked_loss(logits, y, full, binary)), sum(per_task) / 3,
                        rel_tol=1e-6)
    w = loss_weights(tasks, {"t2_abnormal": 0.1, "t1": 0.1}, "cpu")  # wma unlisted: weight 1
    assert w.tolist() == pytest.approx([1.0, 0.1, 0.1])
    expected = (per_task[0] + 0.1 * per_task[1] + 0.1 * per_task[2]) / 1.2
    assert math.isclose(float(masked_loss(logits, y, full, binary, w)), expected, rel_tol=1e-6)
    # a task with no label in the batch leaves the weighted mean, weight and all
    no_wma = full.clone()
    no_wma[:, 0] = 0
    expected = (0.1 * per_task[1] + 0.1 * per_task[2]) / 0.2
    assert math.isclose(float(masked_loss(logits, y, no_wma, binary, w)), expected, rel_tol=1e-6)
