"""Rebuild tests/data/text_cases.npz: the per-pixel min/max images of synthetic cines whose
in-sector text once defeated de-identification (issue 11), for
tests/unit/deid/test_ingest_text_cases.py.

They come from the 140-patient export that `benchmarks/bench_deid.py` scores, made from
config/config.yaml's `simulate` section at commit ea4011c (cases 5-7: a6274cd; 8-12: f9bc3dc;
13: 072948b) with the secret "s" (video keys depend on the secret). Each case stores what
`deid.pixels.keep_mask` computes before `keep_area`: lo, hi (uint8), the pixel sector and the
header regions (bool), whether the sector moved, and the truth file's boxes of the drawn text
(identifier or not). Case 13 was added to the file alone: rebuilt at 072948b, case 5's lo/hi differ
by <= 2 grey levels in 8 pixels from the stored ones (the stored ones were kept).

    .venv/bin/python tests/data/make_text_cases.py /tmp/export140
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from echocmr.deid import keep_area as ka  # noqa: E402
from echocmr.deid import pixels as dp  # noqa: E402

SECRET = "s"
CASES = {  # name -> video key in that export
    "mrn_touching_a_measurement": "Vb97a2e75cb36",  # MRN half a line above "LVOT 2.2 cm"
    "mrn_over_a_bright_wall": "Vde801644cf7b",  # light digits typed over the septum
    "labels_over_dark_chambers": "V8f943b6e26e3",  # an MRN and labels with dark surroundings
    "black_gap_at_the_sector_edge": "V39ffd2b4b569",  # fan edge next to the ECG trace
    "wall_read_as_a_word": "V9b8efc2f85f4",  # static septum OCR reads as 'thee' (conf 66)
    "linear_tissue_read_as_words": "Va2781febb0ae",  # 'SCRE' (57) in a linear probe's rectangle
    "label_glued_to_wall_dashes": "Va7fd1e66f635",  # a wall's edge joined to a typed name
    "mrn_with_wall_bits_above_and_below": "V7cc01ba9daf8",  # wall dashes inside the line
    "label_merged_with_the_septum": "Vaae1482d5df5",  # letters glued to a tall wall piece
    "two_labels_and_a_wall_between": "V6507b4ed9fe7",  # '4/' above an MRN, a wall joins them
    "dark_gap_read_as_a_word": "Ve811038d4e31",  # gap between moving walls read 'mong' twice
    "tissue_line_just_below_console_contrast": "V916ea3d0349f",  # 142: a part of it 145
    "static_wall_speckle_among_moving_walls": "Vbf5fb7972f0a",  # linear probe, 148-149
}


def make_export(out: Path) -> Path:
    from echocmr.simulate.export import run_export
    from echocmr.simulate.settings import SimSettings

    if not (out / "truth").exists():
        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        section = dict(config["simulate"], n_patients=140)
        run_export(SimSettings.from_config(section, int(config["seed"])), out, SECRET,
                   progress=False)
    return out


def case_arrays(path: Path) -> dict:
    ds = pydicom.dcmread(path)
    acc = dp.reg.FanMaskAccumulator()
    for frame in dp.sample_frames(ds, path, dp.plan_pixels(ds)):
        acc.add(frame)
    fan = acc.mask(static_fallback=True)
    header = ka.header_mask(ds)
    return dict(lo=acc.lo, hi=acc.hi, fan=fan, moving=acc.from_motion,
                header=np.ones_like(fan) if header is None else header,
                has_header=header is not None)


def main(out: Path) -> None:
    out = make_export(out)
    videos = pd.read_csv(out / "truth" / "videos.csv", keep_default_na=False)
    truth = pd.read_csv(out / "truth" / "burned_text.csv", keep_default_na=False)
    saved = {}
    for name, key in CASES.items():
        row = videos[videos["video_key"] == key].iloc[0]
        for k, v in case_arrays(out / "raw" / "dicom" / row["relative_path"]).items():
            saved[f"{name}.{k}"] = v
        boxes = truth[truth["video_key"] == key]
        saved[f"{name}.boxes"] = boxes[["x0", "y0", "x1", "y1"]].to_numpy(np.int32)
        saved[f"{name}.identifier"] = (boxes["kind"] == "identifier").to_numpy()
    np.savez_compressed(Path(__file__).with_name("text_cases.npz"), **saved)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
