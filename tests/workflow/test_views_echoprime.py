"""The pretrained backend loads a checkpoint in the EchoPrime view-classifier layout.

A real torchvision convnext_base (random weights) is saved exactly as EchoPrime ships
`view_classifier.ckpt` (a dict, parameters under `state_dict` with the prefix `model.`), loaded
back through the backend and applied to one stored video. One frame only: convnext_base on CPU
is heavy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from echocmr.media.store import StoreWriter
from echocmr.views import stage
from echocmr.views.pretrained import (
    ECHOPRIME_CLASSES,
    build_echoprime_network,
    collapse_echoprime,
    echoprime_input,
    echoprime_state_dict,
    load_echoprime,
)


def test_echoprime_classes_collapse_to_our_views():
    p = np.eye(len(ECHOPRIME_CLASSES))
    out = collapse_echoprime(p)
    cols = ["A4C", "A2C", "PLAX", "OTHER"]
    mapped = {ECHOPRIME_CLASSES[i]: cols[int(out[i].argmax())] for i in range(len(p))}
    assert mapped["A4C"] == "A4C" and mapped["A2C"] == "A2C"
    assert mapped["Parasternal_Long"] == "PLAX"
    assert {mapped[c] for c in ("A3C", "A5C", "Parasternal_Short", "Subcostal", "SSN",
                                "Apical_Doppler", "Doppler_Parasternal_Long")} == {"OTHER"}
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_both_echoprime_file_layouts_are_accepted():
    t = torch.zeros(2)
    assert list(echoprime_state_dict({"state_dict": {"model.w": t}, "epoch": 1})) == ["w"]
    assert list(echoprime_state_dict({"w": t})) == ["w"]  # bare state dict (view_classifier.pt)
    with pytest.raises(ValueError, match="EchoPrime"):
        echoprime_state_dict([t])


def test_echoprime_input_is_224_rgb_normalised():
    x = echoprime_input(np.full((1, 112, 112), 29, np.uint8))
    assert x.shape == (1, 3, 224, 224)
    assert float(x.abs().max()) < 0.05  # 29 is about EchoPrime's mean on the 0-255 scale


@pytest.mark.slow
def test_echoprime_checkpoint_round_trips_and_predicts(tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = build_echoprime_network()
    assert net.classifier[-1].in_features == 1024 and net.classifier[-1].out_features == 11
    ckpt = tmp_path / "view_classifier.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in net.state_dict().items()},
                "epoch": 3}, ckpt)
    loaded = load_echoprime(ckpt)
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.state_dict().items(),
                              strict=True):
        assert torch.equal(a, b), k
    rng = np.random.default_rng(0)
    with StoreWriter(tmp_path / "shard-0", 112, 112) as w:
        w.add("V000000000001", "S000000000001", "P000000000001", 30.0,
              rng.integers(0, 256, (2, 112, 112), dtype=np.uint8))
    probs = stage.classify_shard(str(tmp_path / "shard-0"), "pretrained", weights=str(ckpt),
                                 weights_layout="echoprime")
    row = probs.iloc[0]
    p = row[["p_A4C", "p_A2C", "p_PLAX", "p_OTHER"]].to_numpy(dtype=float)
    assert row["video_key"] == "V000000000001" and abs(p.sum() - 1) < 1e-5
    # The backend's answer equals the network applied by hand to the first frame.
    frame0 = np.load(tmp_path / "shard-0" / "frames.npy")[:1]
    with torch.no_grad():
        ref = torch.softmax(net.eval()(echoprime_input(frame0)), 1).numpy()
    np.testing.assert_allclose(p, collapse_echoprime(ref)[0], atol=1e-5)
    # A file of the wrong architecture fails naming the layout.
    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {"model.fc.weight": torch.zeros(4, 4)}}, bad)
    with pytest.raises(ValueError, match="EchoPrime layout"):
        load_echoprime(bad)
