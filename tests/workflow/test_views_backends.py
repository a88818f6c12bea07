"""Each views backend end to end on small synthetic shard stores (real torch, no mocks)."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
import torch
from views_stores import build_store

from echocmr.views import stage
from echocmr.views.model import load_checkpoint
from echocmr.views.train import TrainSettings

SETTINGS = TrainSettings(arch="resnet18", input_size=48, frames=3, epochs=4, batch_size=32,
                         holdout_fraction=0.25, seed=7)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("views_store")
    truth = build_store(root, n_patients=20, seed=3)
    labels = root / "view_labels.csv"
    # Half the patients are labelled (as in the synthetic export); the rest are never seen.
    labelled = {k: v for k, v in truth.items() if int(k[1:7], 16) % 2 == 0}
    pd.DataFrame({"video_key": list(labelled), "view": list(labelled.values())}).to_csv(
        labels, index=False)
    return root, truth, labels


def _fit(root, labels, out):
    torch.set_num_threads(1)
    out.mkdir(exist_ok=True)
    stage.write_view_classifier([str(root / "shard-0"), str(root / "shard-1")], str(labels),
                                SETTINGS, str(out / "model.pt"), str(out / "split.csv"),
                                str(out / "history.csv"))
    return out


def _classify_all(root, backend, **kw):
    parts = [stage.classify_shard(str(root / f"shard-{s}"), backend, **kw) for s in (0, 1)]
    return pd.concat(parts, ignore_index=True)


def _accuracy(probs, truth, exclude=()):
    probs = probs[~probs["video_key"].isin(set(exclude))]
    pred = probs.set_index("video_key")[["p_A4C", "p_A2C", "p_PLAX", "p_OTHER"]].idxmax(axis=1)
    return float((pred.str[2:] == pred.index.map(truth)).mean()), len(pred)


@pytest.mark.slow
def test_train_backend_learns_views_and_is_byte_identical(store, tmp_path):
    root, truth, labels = store
    out = _fit(root, labels, tmp_path / "a")
    split = pd.read_csv(out / "split.csv")
    assert set(split["role"]) == {"fit", "holdout"}
    fit_patients = set(split.loc[split.role == "fit", "video_key"].str[1:7])
    hold_patients = set(split.loc[split.role == "holdout", "video_key"].str[1:7])
    assert not fit_patients & hold_patients  # the split is by patient
    probs = _classify_all(root, "train", weights=str(out / "model.pt"))
    acc, n = _accuracy(probs, truth, exclude=split.loc[split.role == "fit", "video_key"])
    assert n >= 40 and acc >= 0.95, (acc, n)
    # Same seed, same inputs -> the same weights and the same table, byte for byte (CPU).
    again = _fit(root, labels, tmp_path / "b")
    digest = [hashlib.sha256((d / "model.pt").read_bytes()).hexdigest() for d in (out, again)]
    state_a, _ = load_checkpoint(out / "model.pt")
    state_b, _ = load_checkpoint(again / "model.pt")
    for (ka, va), (_, vb) in zip(state_a.state_dict().items(), state_b.state_dict().items(),
                                 strict=True):
        assert torch.equal(va, vb), ka
    assert digest[0] == digest[1]
    probs_b = _classify_all(root, "train", weights=str(again / "model.pt"))
    assert probs.to_csv() == probs_b.to_csv()


def test_labels_backend_reports_labelled_views_and_unlabelled_reason(store, tmp_path):
    root, truth, labels = store
    probs = _classify_all(root, "labels", labels_csv=str(labels))
    shard_csvs = []
    for s, part in enumerate([probs.iloc[: len(probs) // 2], probs.iloc[len(probs) // 2:]]):
        shard_csvs.append(tmp_path / f"shard-{s}.csv")
        part.to_csv(shard_csvs[-1], index=False)
    stage.write_views([str(p) for p in shard_csvs], 0.5, str(tmp_path / "views.csv"),
                      str(tmp_path / "qc.csv"))
    views = pd.read_csv(tmp_path / "views.csv", keep_default_na=False).set_index("video_key")
    labelled = set(pd.read_csv(labels)["video_key"])
    for key, view in truth.items():
        if key in labelled:
            assert views.loc[key, "view"] == view
            assert views.loc[key, "status"] == ("excluded" if view == "OTHER" else "kept")
        else:
            assert views.loc[key, "reason"] == "no view label"
    qc = pd.read_csv(tmp_path / "qc.csv", keep_default_na=False)
    assert qc["n_in"].iloc[0] == len(truth)
    assert qc["n_in"].iloc[0] - qc["n_excluded"].sum() == qc["n_out"].iloc[0]


def _fit_quick(root, labels, out, frames: int, seed: int):
    """A one-epoch train-backend classifier in `out` (model.pt, split.csv, history.csv);
    returns the folder and the settings it was trained with."""
    quick = TrainSettings(arch="shufflenet_v2_x0_5", input_size=48, frames=frames, epochs=1,
                          holdout_fraction=0.0, seed=seed)
    out.mkdir()
    torch.set_num_threads(1)
    stage.write_view_classifier([str(root / "shard-0")], str(labels), quick, str(out / "model.pt"),
                                str(out / "split.csv"), str(out / "history.csv"))
    return out, quick


def test_pretrained_backend_applies_an_echocmr_checkpoint(store, tmp_path):
    """A checkpoint written by the train backend at one site is applied at another."""
    root, truth, labels = store
    out, _ = _fit_quick(root, labels, tmp_path / "m", frames=1, seed=1)
    probs = _classify_all(root, "pretrained", weights=str(out / "model.pt"),
                          weights_layout="echocmr")
    assert len(probs) == len(truth)
    p = probs[["p_A4C", "p_A2C", "p_PLAX", "p_OTHER"]].to_numpy()
    assert ((p >= 0) & (p <= 1)).all() and abs(p.sum(axis=1) - 1).max() < 1e-5
    with pytest.raises(ValueError, match="echoprime"):
        stage.classify_shard(str(root / "shard-0"), "pretrained", weights=str(labels),
                             weights_layout="echocmr")


def test_bundle_carries_the_trained_view_classifier_and_classifies_the_same(store, tmp_path):
    """The train backend's checkpoint copied into a model bundle, applied at another site with
    `views.backend: pretrained, views.weights_layout: echocmr`, gives the same probabilities as
    the original; the card describes it and carries its accuracy on unseen videos."""
    from echocmr.model import bundle
    from echocmr.views import metrics as vm
    from echocmr.views.decide import decide_views

    root, truth, labels = store
    out, quick = _fit_quick(root, labels, tmp_path / "m", frames=2, seed=2)
    original = _classify_all(root, "train", weights=str(out / "model.pt"))
    reference = pd.DataFrame({"video_key": list(truth), "true_view": list(truth.values())})
    table = vm.metrics_table(vm.comparable(decide_views(original, 0.5), reference), "truth")
    table.to_csv(out / "metrics.csv", index=False)

    entry = bundle.save_view_classifier(out / "model.pt", out / "metrics.csv", tmp_path / "b")
    assert entry["file"] == bundle.VIEW_CLASSIFIER_FILE and entry["arch"] == quick.arch
    assert entry["input"]["frames"] == 2 and entry["input"]["input_size"] == 48
    assert entry["classes"] == ["A4C", "A2C", "PLAX", "OTHER"]
    accuracy = table.loc[table["metric"] == "accuracy", "value"].iloc[0]
    assert entry["validation"]["accuracy"] == pytest.approx(accuracy)
    assert entry["validation"]["n_videos"] == len(truth)
    copied = _classify_all(root, "pretrained", weights=str(tmp_path / "b" / entry["file"]),
                           weights_layout="echocmr")
    pd.testing.assert_frame_equal(copied, original)

    # a pilot run's untrained classifier is described with its reason, no file is copied
    from echocmr.views.model import save_untrained
    save_untrained(out / "none.pt", "resnet18", 48, 3, "view classifier not trained: 0 videos")
    entry = bundle.save_view_classifier(out / "none.pt", None, tmp_path / "c")
    assert entry["trained"] is False and "file" not in entry
    assert not (tmp_path / "c" / bundle.VIEW_CLASSIFIER_FILE).exists()


def test_too_few_labelled_videos_of_a_class_gives_no_classifier_but_the_reason(store, tmp_path):
    """A pilot's label table with one A2C video: no model is fitted (it would call any cine A2C
    with confidence); every video reads the reason, which names the class, its count and the
    setting (views.min_per_class)."""
    root, truth, _ = store
    one_a2c = [k for k, v in truth.items() if v == "A2C"][:1]
    others = [k for k, v in truth.items() if v != "A2C"]
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"video_key": one_a2c + others,
                  "view": [truth[k] for k in one_a2c + others]}).to_csv(labels, index=False)
    settings = TrainSettings(arch="shufflenet_v2_x0_5", input_size=48, frames=1, epochs=1,
                             holdout_fraction=0.0, min_per_class=5, seed=1)
    out = tmp_path / "m"
    out.mkdir()
    stage.write_view_classifier([str(root / "shard-0"), str(root / "shard-1")], str(labels),
                                settings, str(out / "model.pt"), str(out / "split.csv"),
                                str(out / "history.csv"))
    reason = pd.read_csv(out / "history.csv")["reason"].iloc[0]
    assert reason.startswith("view classifier not trained: fewer than 5")
    assert "A2C 1" in reason and "views.min_per_class" in reason
    probs = _classify_all(root, "train", weights=str(out / "model.pt"))
    assert (probs["reason"] == reason).all()
    # the same labels with the minimum at 1 do train a model
    stage.write_view_classifier([str(root / "shard-0"), str(root / "shard-1")], str(labels),
                                TrainSettings(**{**settings.__dict__, "min_per_class": 1}),
                                str(out / "model.pt"), str(out / "split.csv"),
                                str(out / "history.csv"))
    assert "reason" not in pd.read_csv(out / "history.csv") or \
        pd.read_csv(out / "history.csv")["reason"].isna().all()
