"""The processor pin (echocmr.cpu_pin): a real training and prediction, each in a fresh process
under the instruction sets another machine would pick, gives the same bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

# The model stage's own entries (train_view_model, predict_view_model), on a toy store: each
# process pins (or not) before torch computes, as a workflow job does.
JOB = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from echocmr.model.stage import predict_view_model, train_view_model
    from tools.toy import make_toy_dataset
    root, out, pinned = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
    out.mkdir(parents=True)  # as Snakemake makes an output folder
    toy = make_toy_dataset(root, n_patients=20, n_frames=24, size=16, seed=3)
    index = [str(d / "index.csv") for d in toy["shard_dirs"]]
    cfg = dict(mode="multitask", layers=[1, 1, 1, 1], width=8, frames=4, period=2,
               resolution=16, batch_size=4, max_epochs=2, patience=10, threads=1,
               test_clips="first", device="cpu")
    tables = dict(index_csvs=index, views_csv=toy["views"], labels_csv=toy["labels"],
                  split_csv=toy["split"], model_cfg=cfg, cpu_pin=pinned)
    train_view_model("A4C", "multitask", seed=7, outdir=out, progress=False,
                     pin_out=out / "cpu_pin.json", **tables)
    predict_view_model("A4C", "multitask", out / "best.pt", **tables,
                       out_csvs={"wma": out / "wma.csv"},
                       out_video_csvs={"wma": out / "wma.videos.csv"})
""")
AVX2 = {"DNNL_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
AVX512 = {"DNNL_MAX_CPU_ISA": "AVX512_CORE", "ATEN_CPU_CAPABILITY": "avx512",
          "MKL_CBWR": "AUTO"}


def _job(tmp_path, name: str, pinned: bool, isa_env: dict) -> dict:
    """Train + predict in a fresh process; the SHA-256 of each output file, and the record."""
    script = tmp_path / "job.py"
    script.write_text(JOB)
    out = tmp_path / name
    env = {**os.environ, **isa_env, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "data"), str(out),
                           "1" if pinned else "0"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hashes = {f: hashlib.sha256((out / f).read_bytes()).hexdigest()
              for f in ("best.pt", "wma.csv", "wma.videos.csv")}
    return {"hashes": hashes, "record": json.loads((out / "cpu_pin.json").read_text())}


def _has_avx512() -> bool:
    import torch

    return "AVX512" in torch.backends.cpu.get_cpu_capability()


def test_pinned_training_and_predictions_are_byte_identical_across_isas(tmp_path):
    a = _job(tmp_path, "pinned_avx2", True, AVX2)
    b = _job(tmp_path, "pinned_avx512", True, AVX512)
    assert a["hashes"] == b["hashes"]
    for job in (a, b):  # whatever the caller's environment said, the pin's choices ran
        rec = job["record"]
        assert rec["pinned"] and rec["aten_cpu_capability"] == "AVX2"
        assert not rec["onednn_convolutions"] and rec["deterministic_algorithms"]
        assert rec["env"]["MKL_CBWR"] == "AVX2,STRICT" and rec["threads"] == 1
        assert rec["cpu_model"]


@pytest.mark.skipif(not _has_avx512(), reason="needs an AVX-512 CPU to see the ISAs differ")
def test_without_the_pin_the_isa_changes_the_weights(tmp_path):
    """The control: the same two environments, unpinned, train different weights here, so the
    test above would catch a pin that stopped holding."""
    a = _job(tmp_path, "free_avx2", False, AVX2)
    b = _job(tmp_path, "free_avx512", False, AVX512)
    assert a["hashes"]["best.pt"] != b["hashes"]["best.pt"]
    assert not a["record"]["pinned"] and b["record"]["aten_cpu_capability"] == "AVX512"
