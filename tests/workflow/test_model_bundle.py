"""Model bundle units: fusion and baseline coefficients carried to another site reproduce the
training site's predictions, the study's released weight layout gives the same logits as a
direct torchvision forward pass, export verifies checksums, and calibration intercept/slope."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from model_tables import study_tables
from torchvision.models.video import r2plus1d_18

from echocmr.model import bundle
from echocmr.model.baseline import FEATURES, baseline_task, fit_baseline, impute
from echocmr.model.data import ClipDataset
from echocmr.model.fuse import apply_fusion, fitted_models, fuse_task_splits
from echocmr.model.predict import predict_videos
from echocmr.stats.calibration import calibration_row, fit_intercept, fit_slope
from tools.toy import make_toy_dataset


@pytest.mark.parametrize("penalty", ["none", "l2"])
def test_bundle_fusion_models_reproduce_the_fitted_fusion(penalty):
    preds, labels, split = study_tables(drop={"A2C": [f"S{i:04d}" for i in range(0, 160, 3)]})
    fused, _, _ = fuse_task_splits("wma", preds, labels, split, penalty=penalty)
    models = json.loads(json.dumps(fitted_models("wma", preds, labels, split, penalty=penalty)))
    assert len(models) == 7  # every non-empty view pattern, not only those in test
    external_split = split.assign(split="test")
    applied, val, patterns = apply_fusion("wma", preds, labels, external_split, models)
    assert val.empty and patterns["method"].str.startswith("bundle: logistic").all()
    same = applied.set_index("study_key").loc[fused["study_key"], "y_pred"].to_numpy()
    np.testing.assert_allclose(same, fused["y_pred"].to_numpy(), rtol=1e-9, atol=1e-12)


def test_bundle_pattern_without_a_fitted_model_takes_the_mean_of_views():
    preds, labels, split = study_tables()
    models = [{"views": ["A4C", "A2C", "PLAX"], "kind": "mean", "method": "m", "n_val": 3}]
    applied, _, patterns = apply_fusion("wma", preds, labels, split, models)
    test = split[split["split"] == "test"]["study_key"]
    expected = np.mean([preds[v].set_index("study_key").loc[test, "y_pred"] for v in preds], 0)
    np.testing.assert_allclose(applied["y_pred"], expected, rtol=1e-6)
    assert patterns["method"].str.startswith("mean").all()


def test_bundle_baseline_reproduces_the_training_site_baseline():
    rng = np.random.default_rng(3)
    n = 120
    df = pd.DataFrame({"study_key": [f"S{i}" for i in range(n)],
                       "patient_key": [f"P{i}" for i in range(n)],
                       "split": np.where(np.arange(n) < 80, "train", "test"),
                       "echo_lvef_pct": rng.normal(55, 10, n), "age_years": rng.normal(60, 9, n),
                       "sex_male": rng.integers(0, 2, n).astype(float)})
    df["wma_global"] = (rng.random(n) < 1 / (1 + np.exp((df["echo_lvef_pct"] - 50) / 5))) * 1
    df.loc[3, "echo_lvef_pct"] = np.nan
    df, _ = impute(df)
    fitted = baseline_task("wma", df)
    model = json.loads(json.dumps(fit_baseline("wma", df)))
    assert model["features"] == FEATURES
    applied = baseline_task("wma", df, model)
    np.testing.assert_allclose(applied["y_pred"], fitted["y_pred"], rtol=1e-9)


def test_calibration_of_calibrated_and_overconfident_predictions():
    rng = np.random.default_rng(0)
    n = 4000
    lp = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(float)
    ones = np.ones((1, n))
    slope, intercept = fit_slope(y, lp, ones).coef[0, 1], fit_intercept(y, lp, ones).coef[0, 0]
    assert abs(slope - 1) < 0.1 and abs(intercept) < 0.1
    assert abs(fit_slope(y, 2 * lp, ones).coef[0, 1] - 0.5) < 0.05  # too extreme -> slope 1/2
    frame = pd.DataFrame({"study_key": [f"S{i}" for i in range(n)],
                          "patient_key": [f"P{i // 2}" for i in range(n)],
                          "y_true": y, "y_pred": 1 / (1 + np.exp(-(lp - 1)))})
    row = calibration_row(frame, "fused", "wma", 300, "patient", 1)
    assert row["intercept_ci_low"] < 1 < row["intercept_ci_high"]  # predictions shifted by -1
    assert row["slope_ci_low"] < 1 < row["slope_ci_high"] and row["n_skipped"] == 0
    # reference: statsmodels-free check of the slope against scikit-learn's unpenalised fit
    from sklearn.linear_model import LogisticRegression
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit((lp - 1)[:, None], y)
    assert abs(ref.coef_[0, 0] - row["slope"]) < 1e-4


def test_released_layout_gives_the_logits_of_a_direct_forward_pass(tmp_path):
    """A state dict in the released layout (torchvision r2plus1d_18, one output, keys prefixed
    `m.`) goes through echocmr's bundle, loader and predict path to the same logits as the
    torchvision model run directly on the same clips (3 channels in [0, 1], no normalisation,
    16 frames at period 2 from the first frame, 112x112)."""
    torch.manual_seed(0)
    net = r2plus1d_18(weights=None, num_classes=1).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, as trained weights have
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.save({"m." + k: v for k, v in net.state_dict().items()}, tmp_path / "wma_a4c.pt")
    (tmp_path / "released.csv").write_text("view,task,file\nA4C,wma,wma_a4c.pt\n")
    card = bundle.from_released(tmp_path / "released.csv", tmp_path / "bundle")
    assert card["input"]["frames"] == 16 and card["input"]["resolution"] == 112
    bundle.load_card(tmp_path / "bundle", verify=True)

    toy = make_toy_dataset(tmp_path / "toy", n_patients=3, n_frames=40, size=112, shards=1,
                           seed=1, views=("A4C",))
    keys = pd.read_csv(toy["views"])["video_key"].tolist()[:2]
    table = pd.DataFrame({"video_key": keys, "study_key": keys, "patient_key": keys,
                          "split": "test", "wma": 0.0})
    weights = tmp_path / "bundle" / card["models"][0]["file"]
    ours = predict_videos(weights, table, toy["shard_dirs"], "first", 2, "cpu")["pred_wma"]

    ds = ClipDataset(toy["shard_dirs"], keys, np.zeros((2, 1)), 16, 2, 112, starts=[0, 0])
    clips = np.stack([ds.clip(i) for i in range(2)])  # uint8 (2, 16, 112, 112)
    assert clips.shape == (2, 16, 112, 112)
    x = torch.from_numpy(clips).float().div(255).unsqueeze(1).repeat(1, 3, 1, 1, 1)
    with torch.no_grad():
        direct = net(x)[:, 0].double().numpy()
    ours_logit = np.log(ours.to_numpy() / (1 - ours.to_numpy()))
    assert np.max(np.abs(ours_logit - direct)) < 1e-4


def test_export_copies_outside_results_and_detects_changed_files(tmp_path):
    src = tmp_path / "results" / "model" / "bundle"
    (src / "weights").mkdir(parents=True)
    (src / "weights" / "w.pt").write_bytes(b"weights")
    card = {"format": bundle.FORMAT, "files": {"weights/w.pt": bundle.sha256(
        src / "weights" / "w.pt")}}
    (src / bundle.CARD).write_text(json.dumps(card))
    with pytest.raises(bundle.BundleError, match="outside results"):
        bundle.export(src, tmp_path / "results" / "shared")
    assert bundle.main(["export", str(src), str(tmp_path / "shared")]) == 0
    (tmp_path / "shared" / "weights" / "w.pt").write_bytes(b"changed")
    with pytest.raises(bundle.BundleError, match="differs"):
        bundle.load_card(tmp_path / "shared", verify=True)
    with pytest.raises(bundle.BundleError, match="no model_card.json"):
        bundle.load_card(tmp_path)
