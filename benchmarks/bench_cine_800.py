"""Benchmark: seconds to de-identify and pixel-audit one 800x600 x 40-frame cine (issue 24).

The real SonoSite apical cine of pydicom-data (`color3d_jpeg_baseline.dcm`, 640x480) scaled to
800x600, its first 40 frames, JPEG Baseline YBR_FULL_422 at quality 90, with its own header
(regions included). Timed side by side in one run, each code in its own process
(`PYTHONPATH=<code>/src`), REPEATS times interleaved, median reported:

  header   commit BEFORE (0d2a1d9): header regions only, JPEG decoded and re-encoded
  strokes  commit STROKES (35553a0): the stroke rules alone
  learned  this checkout: the learned text detector beside the stroke rules

Per code: `deidentify_file` wall seconds (one process, one thread), and for strokes and
learned the pixel audit of the written file (`scan_pixels`, one process).

    .venv/bin/python benchmarks/bench_cine_800.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BEFORE, STROKES = "0d2a1d9", "35553a0"

# Run inside each code's process: de-identify the cine, then audit the written file.
TIMER = r"""
import json, sys, time
from pathlib import Path
src, out, audit = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
from echocmr.deid.pixels import deidentify_file
start = time.perf_counter()
deidentify_file(src, out / "res" / "deid" / "V.dcm", "bench-secret")
deid = time.perf_counter() - start
audit_s = None
if audit:
    from echocmr.audit.files import build_catalogue
    from echocmr.audit.pixels import scan_pixels
    (out / "raw").mkdir(exist_ok=True)
    (out / "raw" / "in.dcm").write_bytes(src.read_bytes())
    cat = build_catalogue(out / "raw", {}, "bench-secret")
    start = time.perf_counter()
    scan_pixels(cat, out / "res", ocr_sample=0.05, seed=1)
    audit_s = time.perf_counter() - start
print(json.dumps({"deid": deid, "audit": audit_s}))
"""


def make_cine(path: Path) -> None:
    import cv2
    import pydicom
    from PIL import Image
    from pydicom.data import get_testdata_file
    from pydicom.encaps import encapsulate

    ds = pydicom.dcmread(get_testdata_file("color3d_jpeg_baseline.dcm"))
    frames = [cv2.resize(f, (800, 600), interpolation=cv2.INTER_LINEAR)
              for f in ds.pixel_array[:40]]
    parts = []
    for f in frames:
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(f)).save(buf, "JPEG", quality=90, subsampling=1)
        parts.append(buf.getvalue())
    out = copy.deepcopy(ds)
    out.PixelData = encapsulate(parts)
    out["PixelData"].VR = "OB"
    out.NumberOfFrames, out.Rows, out.Columns = 40, 600, 800
    for region in out.get("SequenceOfUltrasoundRegions", []):  # scale the boxes with the image
        for key in ("RegionLocationMinX0", "RegionLocationMaxX1",
                    "RegionLocationMinY0", "RegionLocationMaxY1"):
            setattr(region, key, int(round(getattr(region, key) * 1.25)))
    out.PhotometricInterpretation = "YBR_FULL_422"
    out.save_as(path, enforce_file_format=True)


def time_code(code: Path, cine: Path, audit: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench800_") as out:
        env = dict(os.environ, PYTHONPATH=str(code / "src"), OMP_NUM_THREADS="1")
        done = subprocess.run([sys.executable, "-c", TIMER, str(cine), out, "1" if audit else "0"],
                              env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{code.name}: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench800_") as tmp:
        tmp = Path(tmp)
        cine = tmp / "cine.dcm"
        make_cine(cine)
        codes = {"header": tmp / "header_code", "strokes": tmp / "strokes_code", "learned": ROOT}
        for name, commit in (("header", BEFORE), ("strokes", STROKES)):
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach",
                            str(codes[name]), commit], check=True, capture_output=True)
        runs: dict[str, list[dict]] = {name: [] for name in codes}
        try:
            for _ in range(args.repeats):  # interleaved
                for name, code in codes.items():
                    runs[name].append(time_code(code, cine, audit=name != "header"))
        finally:
            for name in ("header", "strokes"):
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(codes[name])], capture_output=True)
                shutil.rmtree(codes[name], ignore_errors=True)
    result = {"machine": machine_line(), "load_start": round(load_start, 2),
              "load_end": round(os.getloadavg()[0], 2), "repeats": args.repeats}
    for name, timed in runs.items():
        result[name] = {"deid_s": round(statistics.median(r["deid"] for r in timed), 2)}
        if timed[0]["audit"] is not None:
            result[name]["audit_s"] = round(statistics.median(r["audit"] for r in timed), 2)
    header = result["header"]["deid_s"]
    for name in ("strokes", "learned"):
        r = result[name]
        r["x_header"] = round((r["deid_s"] + r["audit_s"]) / header, 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
