"""rule crop through real Snakemake, on a de-identified shard laid out as ingest writes it.

The shard holds real pydicom-data cines (JPEG baseline YBR) and a damaged file; only `crop` is
allowed to run (`--allowed-rules crop`), so the fixture stands in for inventory/deidentify.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import preset_shards, pydicom_testdata, run_snakemake

from echocmr.ingest.paths import shard_layout, shard_path
from echocmr.media.avi import read_avi
from echocmr.media.store import INDEX_COLUMNS, VideoStore

pytestmark = [pytest.mark.workflow]
N_SHARDS = preset_shards()  # the test preset's layout



def _write_fixture(wd: Path) -> dict[str, str]:
    videos = {
        "Va00000000001": pydicom_testdata("examples_ybr_color.dcm").read_bytes(),
        # truncated
        "Va00000000002": pydicom_testdata("color3d_jpeg_baseline.dcm").read_bytes()[:200_000],
    }
    manifest, deid = [], []
    shard_dir = Path(shard_path(wd / "results" / "deid", N_SHARDS, 0))
    for i, (key, data) in enumerate(videos.items()):
        patient, study = f"P{i:012x}", f"S{i:012x}"
        target = shard_dir / patient / study / f"{key}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        manifest.append(dict(video_key=key, study_key=study, patient_key=patient, shard=0,
                             fps=30.0, status="included", reason=""))
        deid.append(dict(video_key=key, status="included", reason=""))
    (wd / "results" / "ingest").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(manifest).to_csv(wd / "results" / "ingest" / "manifest.csv", index=False)
    pd.DataFrame(deid).to_csv(shard_path(wd / "results" / "deid", N_SHARDS, 0, ".csv"),
                              index=False)
    return {v["video_key"]: v["patient_key"] for v in manifest}


@pytest.mark.slow
def test_rule_crop_runs_through_snakemake(workflow_dir):
    _write_fixture(workflow_dir)
    run_snakemake(workflow_dir, shard_path("results/crop", N_SHARDS, 0, "/index.csv"),
                  "--allowed-rules", "crop", "--configfile", "config/presets/test.yaml")
    shard = Path(shard_path(workflow_dir / "results" / "crop", N_SHARDS, 0))
    index = pd.read_csv(shard / "index.csv")
    assert list(index.columns) == INDEX_COLUMNS
    store = VideoStore([shard])
    assert store.keys() == ["Va00000000001"]
    frames = store.frames("Va00000000001")
    assert frames.shape == (30, 112, 112) and frames.dtype == np.uint8
    assert store.info("Va00000000001")["fps"] == 30.0
    avi, fps = read_avi(shard / "avi" / "Va00000000001.avi")
    assert avi.shape == frames.shape and fps == 30.0
    assert not (shard / "avi" / "Va00000000002.avi").exists()

    qc = pd.read_csv(shard_path(workflow_dir / "results" / "qc" / "crop", N_SHARDS, 0, ".csv"),
                     keep_default_na=False)
    assert (qc["step"] == "cropped").all()
    assert qc["n_in"].iloc[0] == 2 and qc["n_out"].iloc[0] == 1
    assert qc.loc[qc["n_excluded"] > 0, "reason"].tolist() == ["undecodable_encoding"]
    log = Path(shard_path(workflow_dir / "results" / "logs" / "crop", N_SHARDS, 0, ".log")
               ).read_text()
    assert "Va00000000002 excluded: undecodable_encoding" in log


@pytest.mark.slow
def test_demo_crop_accounts_for_every_deidentified_video(demo_run):
    """On the shared demo run: every de-identified video is cropped or excluded with a reason,
    the store matches its index, fps come from the manifest and every cropped video has an AVI."""
    results = demo_run / "results"
    manifest = pd.read_csv(results / "ingest" / "manifest.csv").set_index("video_key")
    layout = shard_layout(preset_shards(None))  # the demo run's: no other layout is read
    shards = sorted(p for p in (results / "crop" / layout).glob("shard-*") if p.is_dir())
    assert shards
    for shard in shards:
        deid = pd.read_csv(results / "deid" / layout / f"{shard.name}.csv", keep_default_na=False)
        qc = pd.read_csv(results / "qc" / "crop" / layout / f"{shard.name}.csv",
                         keep_default_na=False)
        index = pd.read_csv(shard / "index.csv")
        n_in = int((deid["status"] == "included").sum())
        assert (qc["n_in"] == n_in).all() and (qc["n_out"] == len(index)).all()
        assert n_in - qc["n_excluded"].sum() == len(index)
        assert set(index["video_key"]) <= set(deid.loc[deid["status"] == "included",
                                                       "video_key"])
        frames = np.load(shard / "frames.npy", mmap_mode="r")
        assert frames.dtype == np.uint8 and frames.shape[1:] == (112, 112)
        assert frames.shape[0] == index["n_frames"].sum()
        for row in index.itertuples():
            assert (shard / "avi" / f"{row.video_key}.avi").is_file()
            expected = manifest.loc[row.video_key, "fps"]
            if pd.notna(expected):
                assert row.fps == pytest.approx(float(expected))
