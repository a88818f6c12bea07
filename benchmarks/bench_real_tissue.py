"""Benchmark: tissue lost to text removal on the real multi-frame ultrasound files of
pydicom-data (issue 24 item 2), the stroke rules alone (commit STROKES) beside this checkout.

Per file: the share of the kept sector that text removal blanks (`keep_mask(...).text_share`,
the function de-identification uses), whether the cine is verified (written) or refused, and
the seconds `keep_mask` takes. None of these files carries text inside its sector, so every
blanked pixel is tissue lost.

    .venv/bin/python benchmarks/bench_real_tissue.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STROKES = "35553a0"  # last commit before the learned text detector
# the multi-frame cardiac cines (stills such as US1_UNCR.dcm or gdcm-US-ALOKA-16.dcm are
# excluded by the inventory, never de-identified)
FILES = ("color3d_jpeg_baseline.dcm", "examples_ybr_color.dcm")

MEASURE = r"""
import json, sys, time
import pydicom
from pydicom.data import get_testdata_file
from echocmr.deid import pixels as dp
out = {}
for name in sys.argv[1:]:
    path = get_testdata_file(name)
    ds = pydicom.dcmread(path)
    start = time.perf_counter()
    area = dp.keep_mask(ds, path, dp.plan_pixels(ds))
    out[name] = {"text_share": round(area.text_share, 4), "verified": bool(area.verified),
                 "seconds": round(time.perf_counter() - start, 2)}
print(json.dumps(out))
"""


def measure(code: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code / "src"))
    done = subprocess.run([sys.executable, "-c", MEASURE, *FILES], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_tissue_") as tmp:
        old = Path(tmp) / "strokes_code"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old),
                        STROKES], check=True, capture_output=True)
        try:
            result = {"strokes": measure(old), "learned": measure(ROOT)}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           capture_output=True)
            shutil.rmtree(old, ignore_errors=True)
    result.update(machine=machine_line(), load_start=round(load_start, 2),
                  load_end=round(os.getloadavg()[0], 2))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
