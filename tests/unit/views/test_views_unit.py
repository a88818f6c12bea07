"""Views library pieces without training: vocabulary, decision rule, QC rows, label tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from echocmr.keys import SYNTHETIC_DEMO_SECRET, pseudonym
from echocmr.views.decide import decide_views, views_qc
from echocmr.views.frames import frame_indices, to_model_input
from echocmr.views.labels import LabelTableError, label_probabilities, read_label_table
from echocmr.views.metrics import comparable, metrics_table, truth_reference
from echocmr.vocab.views import normalise_view


def _probs(rows):
    df = pd.DataFrame(rows, columns=["video_key", "p_A4C", "p_A2C", "p_PLAX", "p_OTHER"])
    df.insert(1, "study_key", "S1")
    df.insert(2, "patient_key", "P1")
    return df


def test_view_names_map_to_the_four_classes():
    assert normalise_view("a4c") == "A4C"
    assert normalise_view("Apical 2 chamber") == "A2C"
    assert normalise_view("Parasternal_Long") == "PLAX"
    assert normalise_view("PSAX") == "OTHER"
    assert normalise_view("SUBCOSTAL") == "OTHER"
    assert normalise_view("") is None and normalise_view(float("nan")) is None


def test_low_confidence_and_other_view_are_excluded_with_reasons():
    probs = _probs([
        ("V1", 0.90, 0.05, 0.03, 0.02),   # confident A4C -> kept
        ("V2", 0.40, 0.35, 0.20, 0.05),   # A4C but below threshold -> low confidence
        ("V3", 0.05, 0.05, 0.10, 0.80),   # OTHER -> other view
        ("V4", 0.10, 0.60, 0.20, 0.10),   # exactly at threshold -> kept
    ])
    views = decide_views(probs, threshold=0.6)
    got = views.set_index("video_key")
    assert list(got["view"]) == ["A4C", "A4C", "OTHER", "A2C"]
    assert list(got["status"]) == ["kept", "excluded", "excluded", "kept"]
    assert list(got["reason"]) == ["", "low confidence", "other view", ""]
    assert got.loc["V2", "confidence"] == pytest.approx(0.40)
    qc = views_qc(views)
    assert set(qc["step"]) == {"viewed"}
    assert (qc["n_in"] - qc["n_excluded"].sum() == qc["n_out"]).all()
    assert dict(zip(qc["reason"], qc["n_excluded"], strict=True)) == {
        "other view": 1, "low confidence": 1}


def test_qc_without_exclusions_has_one_empty_row():
    views = decide_views(_probs([("V1", 1.0, 0.0, 0.0, 0.0)]), threshold=0.5)
    qc = views_qc(views)
    assert len(qc) == 1 and qc.loc[0, "reason"] == "" and qc.loc[0, "n_excluded"] == 0


def test_label_table_marks_unlabelled_and_conflicting_videos(tmp_path):
    path = tmp_path / "view_labels.csv"
    path.write_text("video_key,view\nV1,A4C\nV2,plax\nV3,A2C\nV3,A4C\nV5,PSAX\nV6,\n")
    labels = read_label_table(path)
    meta = pd.DataFrame({"video_key": ["V1", "V2", "V3", "V4", "V5", "V6"],
                         "study_key": "S1", "patient_key": "P1"})
    views = decide_views(label_probabilities(meta, labels), threshold=0.5).set_index("video_key")
    assert views.loc["V1", "view"] == "A4C" and views.loc["V1", "status"] == "kept"
    assert views.loc["V2", "view"] == "PLAX"
    assert views.loc["V3", "reason"] == "conflicting view labels"
    assert views.loc["V4", "reason"] == "no view label"
    assert views.loc["V5", "reason"] == "other view"
    assert views.loc["V6", "reason"] == "no view label"


def test_label_table_without_view_column_fails_naming_it(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("video_key,label\nV1,A4C\n")
    with pytest.raises(LabelTableError, match="view"):
        read_label_table(path)


def test_frames_are_spread_over_the_cine_and_resized():
    assert list(frame_indices(40, 4)) == [5, 15, 25, 35]
    assert list(frame_indices(2, 4)) == [0, 0, 1, 1]
    x = to_model_input(np.full((3, 112, 112), 255, np.uint8), 64)
    assert x.shape == (3, 1, 64, 64) and float(x.max()) == pytest.approx(1.0)


def test_truth_reference_uses_the_run_secret_and_metrics_skip_seen_videos(tmp_path):
    truth = tmp_path / "videos.csv"
    truth.write_text("sop_instance_uid,view,kind\n1.2.3,A4C,cine\n1.2.4,PSAX,cine\n1.2.5,A2C,"
                     "cine\n")
    ref = truth_reference(truth, SYNTHETIC_DEMO_SECRET)
    keys = [pseudonym(SYNTHETIC_DEMO_SECRET, "video", u) for u in ("1.2.3", "1.2.4", "1.2.5")]
    assert list(ref["video_key"]) == keys and list(ref["true_view"]) == ["A4C", "OTHER", "A2C"]
    views = decide_views(_probs([(keys[0], 0.9, 0.1, 0, 0), (keys[1], 0.9, 0.1, 0, 0),
                                 (keys[2], 0.1, 0.9, 0, 0)]), 0.5)
    table = metrics_table(comparable(views, ref, seen={keys[2]}), "test")
    value = table.set_index(["metric", "true_view", "predicted_view"])["value"]
    assert value[("n_videos", "", "")] == 2
    assert value[("accuracy", "", "")] == pytest.approx(0.5)
    assert value[("count", "OTHER", "A4C")] == 1


def test_wrong_views_config_fails_fast_naming_the_key(tmp_path):
    from echocmr.config_checks import ConfigError
    from echocmr.views.config import check_views_config

    base = {"input": {"mode": "synthetic", "view_labels": None}, "views": {"backend": "train"}}
    check_views_config(base)  # the synthetic export brings its own labels
    with pytest.raises(ConfigError, match="views.weights"):
        check_views_config({**base, "views": {"backend": "pretrained", "weights": None}})
    with pytest.raises(ConfigError, match="does not exist"):
        check_views_config({**base, "views": {"backend": "pretrained",
                                              "weights": str(tmp_path / "none.ckpt")}})
    with pytest.raises(ConfigError, match="input.view_labels"):
        check_views_config({"input": {"mode": "site", "view_labels": None},
                            "views": {"backend": "labels"}})
