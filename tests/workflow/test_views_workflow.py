"""The views rules run through real Snakemake on stand-in upstream outputs.

The crop stores, the de-identified view-label table and the synthetic truth file are written
here (same paths and columns as the contract), so the four views rules are exercised on their
own; the accuracy on the real demo export is checked with the shared `demo_run` fixture.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import preset_shards, run_snakemake
from views_stores import VIEWS, build_store, fake_uid

from echocmr.ingest.paths import shard_layout
from echocmr.keys import SYNTHETIC_DEMO_SECRET, pseudonym

N_SHARDS = 2  # views_overlay.yaml below
VIEW_RULES = ["views_fit", "views_classify", "views_decide", "views_metrics"]
TARGETS = ["results/views/views.csv", "results/qc/views.csv",
           "results/views/view_classifier_metrics.csv",
           "results/views/view_classifier_confusion.png"]


def _stand_in_upstream(wd, n_patients=16):
    truth = build_store(wd / "results" / "crop" / shard_layout(N_SHARDS), n_patients=n_patients,
                        seed=11, n_shards=N_SHARDS, secret=SYNTHETIC_DEMO_SECRET)
    rows = [dict(sop_instance_uid=fake_uid(p, j), view=v, kind="cine")
            for p in range(n_patients) for j, v in enumerate(VIEWS)]
    # The synthetic export names the distractor views; the stage maps them to OTHER.
    for r in rows:
        r["view"] = "PSAX" if r["view"] == "OTHER" else r["view"]
    (wd / "synthetic" / "truth").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(wd / "synthetic" / "truth" / "videos.csv", index=False)
    labelled = [r for r in rows if int(r["sop_instance_uid"].split(".")[-2]) % 2 == 0]
    (wd / "results" / "deid" / "tables").mkdir(parents=True)
    pd.DataFrame({"video_key": [pseudonym(SYNTHETIC_DEMO_SECRET, "video", r["sop_instance_uid"])
                                for r in labelled],
                  "view": [r["view"] for r in labelled]}).to_csv(
        wd / "results" / "deid" / "tables" / "view_labels.csv", index=False)
    return truth


@pytest.mark.slow
@pytest.mark.workflow
def test_view_rules_run_in_snakemake(workflow_dir):
    wd = workflow_dir
    truth = _stand_in_upstream(wd)
    env = {k: v for k, v in os.environ.items() if k != "ECHOCMR_SECRET"}
    (wd / "views_overlay.yaml").write_text(
        f"ingest: {{shards: {N_SHARDS}}}\nviews: {{epochs: 4, frames: 3}}\n")
    run_snakemake(wd, *TARGETS, "--allowed-rules", *VIEW_RULES,
                  "--configfile", "views_overlay.yaml", env=env)
    views = pd.read_csv(wd / "results/views/views.csv", keep_default_na=False)
    assert list(views.columns) == ["video_key", "study_key", "patient_key", "view", "p_A4C",
                                   "p_A2C", "p_PLAX", "p_OTHER", "confidence", "status",
                                   "reason"]
    assert set(views["video_key"]) == set(truth)
    assert set(views["status"]) <= {"kept", "excluded"}
    assert (views.loc[views.view == "OTHER", "reason"] == "other view").all()
    qc = pd.read_csv(wd / "results/qc/views.csv", keep_default_na=False)
    assert (qc["step"] == "viewed").all() and qc["n_in"].iloc[0] == len(truth)
    assert qc["n_in"].iloc[0] - qc["n_excluded"].sum() == qc["n_out"].iloc[0]
    metrics = pd.read_csv(wd / "results/views/view_classifier_metrics.csv",
                          keep_default_na=False)
    value = metrics.set_index(["metric", "true_view", "predicted_view"])["value"]
    split = pd.read_csv(wd / "results/views/model/split.csv")
    n_unseen = len(truth) - int((split["role"] == "fit").sum())
    assert value[("n_videos", "", "")] == n_unseen
    assert value[("accuracy", "", "")] >= 0.95
    assert (wd / "results/views/view_classifier_confusion.png").stat().st_size > 1000
    assert (wd / "results/logs/views/fit.log").exists()


@pytest.mark.slow
@pytest.mark.workflow
def test_demo_view_classifier_reaches_95_percent(demo_run):
    """On the demo export the train backend is >= 95% accurate on videos it never saw."""
    results = demo_run / "results"
    metrics = pd.read_csv(results / "views/view_classifier_metrics.csv", keep_default_na=False)
    value = metrics.set_index(["metric", "true_view", "predicted_view"])["value"]
    assert value[("n_videos", "", "")] >= 50
    assert value[("accuracy", "", "")] >= 0.95, metrics.to_string()
    assert metrics["reference"].iloc[0] == "synthetic truth, videos not used for training"
    views = pd.read_csv(results / "views/views.csv", keep_default_na=False)
    crop_keys = set()
    layout = shard_layout(preset_shards(None))  # the demo run's: no other layout is read
    for index in sorted((results / "crop" / layout).glob("shard-*/index.csv")):
        crop_keys |= set(pd.read_csv(index)["video_key"])
    assert set(views["video_key"]) == crop_keys  # every cropped video gets a row
    kept = views[views["status"] == "kept"]
    assert set(kept["view"]) == {"A4C", "A2C", "PLAX"}
    qc = pd.read_csv(results / "qc/views.csv", keep_default_na=False)
    assert qc["n_out"].iloc[0] == len(kept)
