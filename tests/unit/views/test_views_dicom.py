"""A real multi-frame ultrasound DICOM (pydicom-data) passes through the views stage.

`color3d_jpeg_baseline.dcm` is a 120-frame 640x480 JPEG-baseline YBR cine. It is decoded to
luminance with ingest's frame-wise decoder, resized to 112x112 (cubic, as crop does), written to
a shard store and classified by a freshly trained view classifier and by the labels backend.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from pydicom.data import get_testdata_file
from views_stores import build_store

from echocmr.media import decode
from echocmr.media.store import StoreWriter, VideoStore
from echocmr.views import stage
from echocmr.views.decide import decide_views
from echocmr.views.model import save_checkpoint
from echocmr.views.train import TrainSettings, fit_classifier

REAL_KEY = "V0000000dc0m"


def _real_echo_frames() -> np.ndarray:
    cine = decode.open_cine(get_testdata_file("color3d_jpeg_baseline.dcm"))
    assert cine.n_frames == 120
    return np.stack([cv2.resize(f, (112, 112), interpolation=cv2.INTER_CUBIC)
                     for f in decode.iter_luma(cine)])


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("dicom_store")
    frames = _real_echo_frames()
    with StoreWriter(root / "shard-0", 112, 112) as w:
        w.add(REAL_KEY, "S0000000dc0m", "P0000000dc0m", 30.0, iter(frames))
    return root, frames


def test_real_cine_is_classified_by_a_trained_model(real_store, tmp_path):
    root, frames = real_store
    assert frames.shape == (120, 112, 112) and frames.dtype == np.uint8 and frames.std() > 5
    torch.set_num_threads(1)
    truth = build_store(tmp_path / "train", n_patients=4, seed=5, n_shards=1)
    store = VideoStore([tmp_path / "train" / "shard-0"])
    fit = store.meta.assign(view=store.meta["video_key"].map(truth))
    s = TrainSettings(arch="shufflenet_v2_x0_5", input_size=48, frames=2, epochs=1, seed=0)
    model, _ = fit_classifier(store, fit, s)
    save_checkpoint(tmp_path / "m.pt", model, s.arch, s.input_size, s.frames)
    probs = stage.classify_shard(str(root / "shard-0"), "train", weights=str(tmp_path / "m.pt"))
    views = decide_views(probs, threshold=0.5)
    assert list(views["video_key"]) == [REAL_KEY]
    row = views.iloc[0]
    assert row["view"] in {"A4C", "A2C", "PLAX", "OTHER"}
    p = row[["p_A4C", "p_A2C", "p_PLAX", "p_OTHER"]].to_numpy(dtype=float)
    assert abs(p.sum() - 1) < 1e-5 and row["confidence"] == p.max()
    assert row["status"] in {"kept", "excluded"}


def test_real_cine_with_a_view_label_is_kept(real_store, tmp_path):
    root, _ = real_store
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"video_key": [REAL_KEY], "view": ["A4C"]}).to_csv(labels, index=False)
    probs = stage.classify_shard(str(root / "shard-0"), "labels", labels_csv=str(labels))
    views = decide_views(probs, threshold=0.9)
    assert views.loc[0, "view"] == "A4C" and views.loc[0, "status"] == "kept"
