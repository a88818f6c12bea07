"""Benchmark 1: preprocessing, videos/s of the crop stage vs an EchoNet-style conversion.

Side by side in one run, on the same cines (the real 120-frame 640x480 JPEG-baseline YBR cine
`color3d_jpeg_baseline.dcm` from pydicom-data, plus up to N synthetic cines from
each `--synthetic-dir`, by default `synthetic/raw/dicom` when `rule simulate` has run),
interleaved per repeat, medians reported:

  echonet       pydicom `pixel_array` (whole cine decoded to RGB), then per frame: crop to the
                same tissue box and `cv2.resize(..., INTER_CUBIC)` to 112x112 (RGB kept, as the
                EchoNet converters do before taking a channel)
  crop          the crop stage (`echocmr.crop.plan`): header, plan (colour check + fan mask on
                8 sampled frames), luminance decode frame by frame, mask, pad, cubic resize;
                default config (JPEG DCT-domain downscaling on)
  crop_full_res the same with `dct_downscale: false` (every JPEG frame decoded at full size)
  crop_with_io  `crop` plus writing the uint8 store and the MJPEG AVI, as `rule crop` does
  floor_luma    decode only: Pillow/pydicom luminance of every frame, no crop or resize
  floor_rgb     decode only: pydicom `pixel_array` to RGB (the EchoNet-style decode)
  pillow_rgb    a fair RGB pipeline: each JPEG frame decoded to RGB by Pillow (libjpeg-turbo's
                own colour conversion), cropped to the box, cubic resize to 112x112
  turbo_rgb     the same with libjpeg-turbo's TurboJPEG API (echocmr.media.turbojpeg)

`pixel_array` spends most of its time in pydicom's numpy YBR->RGB conversion, not in the JPEG
decode, so echonet/floor_rgb are a slow anchor; pillow_rgb/turbo_rgb say what decoding only the
luminance plane (crop) saves against an RGB decode done well. Both RGB columns are JPEG-only
(empty for a native cine).

Output agreement: mean/max absolute difference of the crop stage's 112x112 frames against the
full-decode path (pixel_array RGB -> BT.601 luma -> the same plan), per cine.

    .venv/bin/python benchmarks/bench_preprocess.py [--repeats 5] [--synthetic 4]
        [--synthetic-dir DIR ...]

Writes benchmarks/results/preprocess.json and benchmarks/results/preprocess.md.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import PIL
import pydicom
from PIL import Image
from pydicom.encaps import generate_frames

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from machine import machine_info as common_machine_info  # noqa: E402  (benchmarks/machine.py)
from machine import save_results  # noqa: E402

from echocmr.crop import plan as crop  # noqa: E402
from echocmr.media import decode, turbojpeg  # noqa: E402
from echocmr.media.avi import AviWriter, tee_to_avi  # noqa: E402
from echocmr.media.store import StoreWriter  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
METHODS = ["echonet", "crop", "crop_full_res", "crop_with_io", "floor_luma", "floor_rgb",
           "pillow_rgb", "turbo_rgb"]


def machine_info() -> dict:
    """The shared description (benchmarks/machine.py) plus what this benchmark depends on."""
    import av
    return {**common_machine_info(), "pillow": PIL.__version__, "av": av.__version__,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


# --- the methods -------------------------------------------------------------------------------

def echonet_style(path: Path, box, size: int = 112) -> np.ndarray:
    rgb = pydicom.dcmread(path).pixel_array
    rgb = rgb if rgb.ndim == 4 else rgb[None]
    x0, y0, x1, y1 = box
    return np.stack([cv2.resize(f[y0:y1 + 1, x0:x1 + 1], (size, size),
                                interpolation=cv2.INTER_CUBIC) for f in rgb])


def _jpeg_frames(path: Path) -> list[bytes]:
    ds = pydicom.dcmread(path)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    return list(generate_frames(ds.PixelData, number_of_frames=n))


def _pillow_rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def rgb_decode_crop(path: Path, box, decoder, size: int = 112) -> np.ndarray:
    """Every JPEG frame decoded to RGB by `decoder`, cropped and resized as the crop stage does."""
    x0, y0, x1, y1 = box
    return np.stack([cv2.resize(decoder(data)[y0:y1 + 1, x0:x1 + 1], (size, size),
                                interpolation=cv2.INTER_CUBIC) for data in _jpeg_frames(path)])


def crop_stage(path: Path, cfg: crop.CropConfig) -> np.ndarray:
    plan = crop.crop_one(path, None, cfg)
    return np.stack(list(plan.frames()))


def crop_stage_with_io(path: Path, cfg: crop.CropConfig, out_dir: Path) -> int:
    plan = crop.crop_one(path, None, cfg)
    writer = AviWriter(out_dir / "avi" / "V.avi", plan.fps, cfg.height, cfg.width)
    with StoreWriter(out_dir, cfg.height, cfg.width) as store:
        n = store.add("V", "S", "P", plan.fps, tee_to_avi(plan.frames(), writer))
    writer.close()
    return n


def floor_luma(path: Path) -> int:
    return sum(1 for _ in decode.iter_frames(decode.open_cine(path)))


def floor_rgb(path: Path) -> int:
    return len(pydicom.dcmread(path).pixel_array)


def reference(path: Path, plan: crop.CropPlan) -> np.ndarray:
    return np.stack(list(plan.finish_full_frame(*pair) for pair in _full_luma_chroma(path)))


def _full_luma_chroma(path: Path):
    ds = pydicom.dcmread(path)
    if ds.PhotometricInterpretation in ("RGB", "YBR_FULL", "YBR_FULL_422"):
        rgb = ds.pixel_array
        for f in (rgb if rgb.ndim == 4 else rgb[None]):
            yield decode.rgb_to_luma(f), decode.rgb_to_chroma(f)
    else:
        for f in decode.full_decode_luma(path):
            yield f, None


# --- inputs ------------------------------------------------------------------------------------

def cines(n_synthetic: int, synthetic_dirs: list[Path]) -> list[tuple[str, str, Path]]:
    """(subset, label, path): the real cine, then up to n accepted cines per synthetic folder."""
    from pydicom.data import get_testdata_file
    out = [("real 640x480", "color3d_jpeg_baseline (pydicom-data, real)",
            Path(get_testdata_file("color3d_jpeg_baseline.dcm")))]
    for raw in synthetic_dirs:
        if not raw.is_dir() or n_synthetic <= 0:
            continue
        found = 0
        for path in sorted(p for p in raw.rglob("*") if p.is_file()):
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            except Exception:  # noqa: BLE001 - damaged files of the synthetic export
                continue
            if ds.get("Modality") != "US" or int(ds.get("NumberOfFrames", 1) or 1) < 8:
                continue
            try:                                    # only cines the crop stage accepts
                crop.crop_one(path, None, crop.CropConfig())
            except crop.CropExcluded:
                continue
            found += 1
            # labels carry no file name: raw paths hold (synthetic) identifiers
            subset = f"synthetic {ds.Columns}x{ds.Rows}"
            out.append((subset, f"{subset} #{found} ({ds.file_meta.TransferSyntaxUID.name}, "
                        f"{ds.NumberOfFrames} frames, {ds.PhotometricInterpretation})", path))
            if found >= n_synthetic:
                break
    return out


def time_methods(path: Path, box, cfg: crop.CropConfig, cfg_full: crop.CropConfig,
                 repeats: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds per call of every method, `repeats` rounds interleaved (same load
    for all). CPU time (user+sys of this process) is less sensitive to other jobs on the box."""
    jpeg = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == \
        pydicom.uid.JPEGBaseline8Bit
    methods = [m for m in METHODS if jpeg or not m.endswith("_rgb") or m == "floor_rgb"]
    times: dict[str, list[float]] = {m: [] for m in methods}
    cpu: dict[str, list[float]] = {m: [] for m in methods}
    with tempfile.TemporaryDirectory() as tmp:
        calls = {
            "echonet": partial(echonet_style, path, box),
            "crop": partial(crop_stage, path, cfg),
            "crop_full_res": partial(crop_stage, path, cfg_full),
            "crop_with_io": partial(crop_stage_with_io, path, cfg, Path(tmp)),
            "floor_luma": partial(floor_luma, path),
            "floor_rgb": partial(floor_rgb, path),
            "pillow_rgb": partial(rgb_decode_crop, path, box, _pillow_rgb),
            "turbo_rgb": partial(rgb_decode_crop, path, box, turbojpeg.decode),
        }
        for _ in range(repeats):
            for method in methods:
                t0, c0 = time.perf_counter(), time.process_time()
                calls[method]()
                times[method].append(time.perf_counter() - t0)
                cpu[method].append(time.process_time() - c0)
    return times, cpu


def run(repeats: int, n_synthetic: int, synthetic_dirs: list[Path]) -> dict:
    cfg, cfg_full = crop.CropConfig(), crop.CropConfig(dct_downscale=False)
    per_cine = []
    for subset, label, path in cines(n_synthetic, synthetic_dirs):
        plan = crop.crop_one(path, None, cfg_full)
        times, cpu = time_methods(path, plan.box, cfg, cfg_full, repeats)
        ref = reference(path, plan).astype(np.int16)
        fast = crop_stage(path, cfg).astype(np.int16)
        full = crop_stage(path, cfg_full).astype(np.int16)
        per_cine.append({
            "subset": subset, "cine": label, "frames": plan.n_frames,
            "rows": plan.cine.rows, "columns": plan.cine.columns,
            "transfer_syntax": plan.cine.transfer_syntax,
            "colour_mode": plan.colour_mode,
            "dct_scale_default": crop.crop_one(path, None, cfg).dct_scale,
            "median_s": {m: statistics.median(v) for m, v in times.items()},
            "median_cpu_s": {m: statistics.median(v) for m, v in cpu.items()},
            "all_s": {m: [round(x, 5) for x in v] for m, v in times.items()},
            "agreement_vs_full_decode": {
                "crop_mean_abs": float(np.abs(fast - ref).mean()),
                "crop_max_abs": int(np.abs(fast - ref).max()),
                "crop_full_res_mean_abs": float(np.abs(full - ref).mean()),
                "crop_full_res_max_abs": int(np.abs(full - ref).max()),
            },
        })
    summary = {}
    for subset in dict.fromkeys(c["subset"] for c in per_cine):
        rows = [c for c in per_cine if c["subset"] == subset]
        timed = [m for m in METHODS if all(m in r["median_s"] for r in rows)]
        total = {m: sum(r["median_s"][m] for r in rows) for m in timed}
        total_cpu = {m: sum(r["median_cpu_s"][m] for r in rows) for m in timed}
        summary[subset] = {
            "videos": len(rows),
            "videos_per_s": {m: len(rows) / total[m] for m in timed},
            "videos_per_cpu_s": {m: len(rows) / total_cpu[m] for m in timed},
            "speedup_cpu_crop_vs_best_rgb": (
                min(total_cpu.get("pillow_rgb", np.inf), total_cpu.get("turbo_rgb", np.inf))
                / total_cpu["crop"]),
            "speedup_crop_vs_echonet": total["echonet"] / total["crop"],
            "speedup_crop_with_io_vs_echonet": total["echonet"] / total["crop_with_io"],
            "speedup_cpu_crop_vs_echonet": total_cpu["echonet"] / total_cpu["crop"],
            "speedup_cpu_crop_with_io_vs_echonet": (total_cpu["echonet"]
                                                    / total_cpu["crop_with_io"]),
        }
    return {"machine": machine_info(), "repeats": repeats, "cines": per_cine,
            "summary": summary}


def _rate(values: dict, method: str) -> str:
    return f"{values[method]:.2f}" if method in values else "-"


def _secs(values: dict, method: str) -> str:
    return f"{values[method]:.3f}" if method in values else "-"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "## Preprocessing: crop stage vs EchoNet-style conversion",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM (shared with other "
        f"jobs; load average at start {m['load_average_at_start']}), Python {m['python']}, "
        f"numpy {m['numpy']}, Pillow {m['pillow']}, OpenCV {m['cv2']}, pydicom {m['pydicom']}, "
        f"PyAV {m['av']}. "
        f"Medians of {result['repeats']} interleaved repeats, one process, one thread each.",
        "",
        "| cines | videos | EchoNet-style videos/s | crop videos/s | crop + store + AVI "
        "videos/s | crop (no DCT scaling) videos/s | decode-only luma videos/s | decode-only RGB "
        "videos/s | speed-up crop vs EchoNet |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for subset, s in result["summary"].items():
        v = s["videos_per_s"]
        lines.append(
            f"| {subset} | {s['videos']} | {v['echonet']:.2f} | {v['crop']:.2f} | "
            f"{v['crop_with_io']:.2f} | {v['crop_full_res']:.2f} | {v['floor_luma']:.2f} | "
            f"{v['floor_rgb']:.2f} | {s['speedup_crop_vs_echonet']:.1f}x "
            f"(with I/O {s['speedup_crop_with_io_vs_echonet']:.1f}x) |")
    lines += ["", "Same, per CPU second (user+sys of the process; less sensitive to other jobs "
              "on a shared machine). The two RGB pipelines decode each JPEG frame to RGB "
              "(Pillow, or libjpeg-turbo directly), crop and resize as the crop stage does: the "
              "fair comparison for decoding only the luminance plane.", "",
              "| cines | EchoNet-style | crop | crop + store + AVI | crop (no DCT scaling) | "
              "decode-only luma | decode-only RGB (pixel_array) | Pillow RGB + crop + resize | "
              "TurboJPEG RGB + crop + resize | crop vs EchoNet | crop vs best RGB pipeline |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for subset, s in result["summary"].items():
        v = s["videos_per_cpu_s"]
        vs_rgb = s.get("speedup_cpu_crop_vs_best_rgb", float("inf"))
        lines.append(
            f"| {subset} | {v['echonet']:.2f} | {v['crop']:.2f} | {v['crop_with_io']:.2f} | "
            f"{v['crop_full_res']:.2f} | {v['floor_luma']:.2f} | {v['floor_rgb']:.2f} | "
            f"{_rate(v, 'pillow_rgb')} | {_rate(v, 'turbo_rgb')} | "
            f"{s['speedup_cpu_crop_vs_echonet']:.1f}x (with I/O "
            f"{s['speedup_cpu_crop_with_io_vs_echonet']:.1f}x) | "
            f"{f'{vs_rgb:.1f}x' if np.isfinite(vs_rgb) else '-'} |")
    lines += ["", "Per cine (median seconds per video; agreement = |crop - full decode| on the "
              "112x112 uint8 frames):", "",
              "| cine | frames | colour | DCT scale | EchoNet s | crop s | crop+I/O s | "
              "floor luma s | floor RGB s | Pillow RGB s | TurboJPEG RGB s | "
              "mean abs diff (max) | full-res mean abs diff (max) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in result["cines"]:
        t, a = c["median_s"], c["agreement_vs_full_decode"]
        lines.append(
            f"| {c['cine']} | {c['frames']} | {c['colour_mode']} | 1/{c['dct_scale_default']} | "
            f"{t['echonet']:.3f} | {t['crop']:.3f} | {t['crop_with_io']:.3f} | "
            f"{t['floor_luma']:.3f} | {t['floor_rgb']:.3f} | {_secs(t, 'pillow_rgb')} | "
            f"{_secs(t, 'turbo_rgb')} | {a['crop_mean_abs']:.2f} "
            f"({a['crop_max_abs']}) | {a['crop_full_res_mean_abs']:.2f} "
            f"({a['crop_full_res_max_abs']}) |")
    lines += ["", "Target: crop >= 10x the videos/s of the EchoNet-style conversion.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--synthetic", type=int, default=4,
                        help="synthetic cines to take from each synthetic folder")
    parser.add_argument("--synthetic-dir", type=Path, action="append",
                        help="folder of synthetic DICOM (repeatable; default: "
                             "synthetic/raw/dicom when rule simulate has run)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    warnings.simplefilter("ignore")
    dirs = args.synthetic_dir or [ROOT / "synthetic" / "raw" / "dicom"]
    result = run(args.repeats, args.synthetic, dirs)
    save_results(RESULTS, "preprocess", result, markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
