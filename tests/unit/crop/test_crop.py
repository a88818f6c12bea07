"""Crop stage: geometry, overlay/ECG/text removal, agreement with the full-decode path, bounded
memory, damaged inputs and the real multi-frame ultrasound files of pydicom-data."""

from __future__ import annotations

import inspect
import io
import tracemalloc
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from conftest import pydicom_testdata
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

from echocmr.crop import plan as crop
from echocmr.crop.shard import QC_COLUMNS, ShardInputs, crop_shard
from echocmr.media import decode, regions
from echocmr.media.avi import read_avi
from echocmr.media.store import StoreWriter, VideoStore

US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
ROWS, COLS = 240, 320
BOX = (48, 8, 271, 231)          # inclusive x0, y0, x1, y1: 224 x 224 -> 112 x 112 at scale 0.5
APEX, RADIUS, HALF_ANGLE = (160, 12), 205, np.deg2rad(38)
TEXT_IN_BOX = (slice(12, 30), slice(52, 100))      # static grey text inside the box, off the fan
TEXT_OUTSIDE = (slice(2, 20), slice(2, 40))        # burned-in text left of the box
DOT = (70, 175, 6)                                 # static green marker inside the fan (y, x, r)
GREEN = (0, 200, 0)


def _fan() -> np.ndarray:
    yy, xx = np.mgrid[0:ROWS, 0:COLS]
    dy, dx = yy - APEX[1], xx - APEX[0]
    r, angle = np.hypot(dx, dy), np.arctan2(dx, dy)
    return (r < RADIUS) & (np.abs(angle) < HALF_ANGLE) & (dy > 0)


def _ecg_mask(t: int) -> np.ndarray:
    """A 5-px green trace across the lower image that moves every frame (sweeping blip)."""
    mask = np.zeros((ROWS, COLS), bool)
    xs = np.arange(COLS)
    ys = (206 + 6 * np.exp(-((xs - (20 + 25 * t) % COLS) / 8.0) ** 2)).astype(int)
    for dy in range(-2, 3):
        mask[ys + dy, xs] = True
    return mask


def make_frames(n_frames: int, ecg: bool = True, dot: bool = True, seed: int = 0):
    """RGB frames of a synthetic echo screen + the overlay masks that were drawn."""
    rng = np.random.default_rng(seed)
    fan = _fan()
    frames, overlays = [], []
    for t in range(n_frames):
        grey = np.zeros((ROWS, COLS), np.uint8)
        speckle = cv2.GaussianBlur(rng.integers(40, 220, (ROWS, COLS)).astype(np.uint8), (3, 3), 0)
        grey[fan] = speckle[fan]
        grey[TEXT_IN_BOX] = 230
        grey[TEXT_OUTSIDE] = 230
        rgb = np.repeat(grey[..., None], 3, axis=2)
        overlay = np.zeros((ROWS, COLS), bool)
        if ecg:
            overlay |= _ecg_mask(t)
        if dot:
            yy, xx = np.mgrid[0:ROWS, 0:COLS]
            overlay |= (yy - DOT[0]) ** 2 + (xx - DOT[1]) ** 2 <= DOT[2] ** 2
        rgb[overlay] = GREEN
        frames.append(rgb)
        overlays.append(overlay)
    return frames, overlays


def _region(box, data_type, spatial_format):
    item = Dataset()
    item.RegionSpatialFormat, item.RegionDataType, item.RegionFlags = spatial_format, data_type, 0
    (item.RegionLocationMinX0, item.RegionLocationMinY0, item.RegionLocationMaxX1,
     item.RegionLocationMaxY1) = box
    return item


def write_cine(path: Path, frames, jpeg: bool = True, regions: bool = True,
               frame_time_ms: float = 1000 / 30.0) -> Path:
    """A DICOM ultrasound multi-frame: JPEG baseline YBR_FULL_422 or native RGB."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = US_MULTIFRAME
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = JPEGBaseline8Bit if jpeg else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = US_MULTIFRAME, meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.Rows, ds.Columns = frames[0].shape[:2]
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = len(frames)
    ds.FrameTime = f"{frame_time_ms:.3f}"
    if regions:
        ds.SequenceOfUltrasoundRegions = [
            _region(BOX, 1, 1), _region((0, 196, COLS - 1, ROWS - 1), 0x0A, 4)]
    if jpeg:
        ds.PhotometricInterpretation = "YBR_FULL_422"
        encoded = []
        for rgb in frames:
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, "JPEG", quality=95, subsampling=1)  # 4:2:2
            encoded.append(buf.getvalue())
        ds.PixelData = encapsulate(encoded)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    else:
        ds.PhotometricInterpretation = "RGB"
        ds.PixelData = np.stack(frames).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def reference_frames(path: Path, plan: crop.CropPlan) -> np.ndarray:
    """The full-decode path: pydicom pixel_array -> RGB -> luma (+chroma) -> same geometry."""
    ds = pydicom.dcmread(path)
    rgb = ds.pixel_array
    rgb = rgb if rgb.ndim == 4 else rgb[None]
    return np.stack([plan.finish_full_frame(decode.rgb_to_luma(f), decode.rgb_to_chroma(f))
                     for f in rgb])


@pytest.fixture(scope="module")
def jpeg_cine(tmp_path_factory):
    frames, overlays = make_frames(10)
    path = write_cine(tmp_path_factory.mktemp("cine") / "cine.dcm", frames)
    return path, frames, overlays


def _plan(path, **cfg):
    return crop.plan_crop(decode.open_cine(path), None, crop.CropConfig(**cfg))


def _output_fully_covered(mask_box: np.ndarray) -> np.ndarray:
    """Output pixels (0.5 scale, cubic) whose 4x4 source support lies entirely in `mask_box`."""
    h, w = mask_box.shape[0] // 2, mask_box.shape[1] // 2
    out = np.zeros((h, w), bool)
    for r in range(1, h - 1):
        for c in range(1, w - 1):
            out[r, c] = mask_box[2 * r - 1:2 * r + 3, 2 * c - 1:2 * c + 3].all()
    return out


def _box(a: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = BOX
    return a[y0:y1 + 1, x0:x1 + 1]


def test_output_shape_dtype_fps_and_region_from_header(jpeg_cine):
    path, frames, _ = jpeg_cine
    plan = _plan(path)
    out = list(plan.frames())
    assert len(out) == len(frames)
    assert all(f.shape == (112, 112) and f.dtype == np.uint8 for f in out)
    assert plan.fps == pytest.approx(30.0, rel=1e-3)
    assert plan.box == BOX and plan.box_source == "header"
    assert plan.colour_mode == "per-frame"          # the ECG blip moves


def test_fps_from_manifest_wins_over_header(jpeg_cine):
    plan = crop.plan_crop(decode.open_cine(jpeg_cine[0]), 49.5, crop.CropConfig())
    assert plan.fps == 49.5


def test_frames_are_streamed_by_a_generator(jpeg_cine):
    plan = _plan(jpeg_cine[0])
    assert inspect.isgenerator(plan.frames())
    assert inspect.isgenerator(decode.iter_frames(plan.cine))


def test_text_inside_box_outside_fan_is_zero(jpeg_cine):
    path, _, _ = jpeg_cine
    out = np.stack(list(_plan(path, dct_downscale=False).frames()))
    text = np.zeros((ROWS, COLS), bool)
    text[TEXT_IN_BOX] = True
    covered = _output_fully_covered(_box(text))
    assert covered.sum() > 20
    assert (out[:, covered] == 0).all()
    # the same pixels are bright without the fan mask: the check can fail
    raw = np.stack(list(_plan(path, dct_downscale=False, fan_mask=False).frames()))
    assert raw[:, covered].mean() > 150


def test_ecg_trace_and_coloured_marker_are_zero(jpeg_cine):
    path, _, overlays = jpeg_cine
    out = np.stack(list(_plan(path, dct_downscale=False).frames()))
    kept = np.stack(list(_plan(path, dct_downscale=False, fan_mask=False,
                               chroma_threshold=128).frames()))
    checked = 0
    for t, overlay in enumerate(overlays):
        covered = _output_fully_covered(_box(overlay))
        checked += covered.sum()
        assert (out[t][covered] == 0).all(), f"overlay left in frame {t}"
        assert kept[t][covered].mean() > 60          # green is bright luma when not removed
    assert checked > 50


def test_static_colour_marker_uses_fast_luminance_path(tmp_path):
    frames, overlays = make_frames(6, ecg=False, dot=True)
    path = write_cine(tmp_path / "dot.dcm", frames)
    plan = _plan(path, dct_downscale=False)
    assert plan.colour_mode == "static"
    out = np.stack(list(plan.frames()))
    covered = _output_fully_covered(_box(overlays[0]))
    assert covered.sum() > 3 and (out[:, covered] == 0).all()


def test_greyscale_cine_needs_no_colour_decode(tmp_path):
    frames, _ = make_frames(6, ecg=False, dot=False)
    plan = _plan(write_cine(tmp_path / "grey.dcm", frames))
    assert plan.colour_mode == "none"


def test_matches_full_decode_path_jpeg(jpeg_cine):
    path = jpeg_cine[0]
    plan = _plan(path, dct_downscale=False)
    fast = np.stack(list(plan.frames())).astype(np.int16)
    ref = reference_frames(path, plan).astype(np.int16)
    assert fast.shape == ref.shape
    assert np.abs(fast - ref).mean() < 1.0


def test_matches_full_decode_path_native_rgb(tmp_path):
    frames, _ = make_frames(5, seed=3)
    path = write_cine(tmp_path / "rgb.dcm", frames, jpeg=False)
    plan = _plan(path)
    assert plan.dct_scale == 1                      # DCT downscaling is JPEG only
    fast = np.stack(list(plan.frames())).astype(np.int16)
    np.testing.assert_array_equal(fast, reference_frames(path, plan))


def test_dct_downscale_stays_close_to_full_decode(jpeg_cine):
    path = jpeg_cine[0]
    plan = crop.plan_crop(decode.open_cine(path), None, crop.CropConfig(dct_min_oversample=1.0))
    assert plan.dct_scale == 2
    full_plan = _plan(path, dct_downscale=False)
    fast = np.stack(list(plan.frames())).astype(np.int16)
    ref = reference_frames(path, full_plan).astype(np.int16)
    assert np.abs(fast - ref).mean() < 6.0


def test_region_from_pixels_when_header_has_none(tmp_path):
    frames, _ = make_frames(8, ecg=False, dot=False)
    plan = _plan(write_cine(tmp_path / "noreg.dcm", frames, regions=False))
    assert plan.box_source == "pixels"
    x0, y0, x1, y1 = plan.box
    fan_ys, fan_xs = np.nonzero(_fan())
    # the box hugs the scan sector (a few pixels of morphology tolerance), not the text
    assert abs(x0 - fan_xs.min()) <= 6 and abs(x1 - fan_xs.max()) <= 6
    assert abs(y0 - fan_ys.min()) <= 6 and abs(y1 - fan_ys.max()) <= 6


def test_bounded_memory_frame_wise(tmp_path):
    frames, _ = make_frames(60, ecg=False, dot=False, seed=1)
    path = write_cine(tmp_path / "long.dcm", frames)
    plan = _plan(path)
    full_cine_bytes = 60 * ROWS * COLS * 3
    tracemalloc.start()
    n = sum(1 for _ in plan.frames())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 60
    assert peak < 0.15 * full_cine_bytes, peak


def test_store_rolls_back_a_video_that_fails_mid_stream(tmp_path):
    def broken():
        yield np.ones((8, 8), np.uint8)
        raise decode.DecodeError("boom")
    with StoreWriter(tmp_path / "s", 8, 8) as w:
        w.add("V0", "S", "P", 30, [np.zeros((8, 8), np.uint8)] * 2)
        with pytest.raises(decode.DecodeError):
            w.add("V1", "S", "P", 30, broken())
        w.add("V2", "S", "P", 30, [np.full((8, 8), 7, np.uint8)] * 3)
    store = VideoStore([tmp_path / "s"])
    assert store.keys() == ["V0", "V2"]
    assert (store.frames("V2") == 7).all() and store.frames("V2").shape == (3, 8, 8)


# --- a shard, with damaged files ----------------------------------------------------------------

def _shard_fixture(root: Path, files: dict[str, Path | bytes | None]) -> ShardInputs:
    """results/deid/shard-0 layout: <patient>/<study>/<video>.dcm + shard CSV + manifest."""
    deid_dir = root / "deid" / "shard-0"
    rows, deid_rows = [], []
    for i, (key, src) in enumerate(files.items()):
        patient, study = f"P{i:012x}", f"S{i:012x}"
        target = deid_dir / patient / study / f"{key}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            target.write_bytes(src.read_bytes())
        elif isinstance(src, bytes):
            target.write_bytes(src)
        rows.append(dict(video_key=key, study_key=study, patient_key=patient, shard=0,
                         fps=25.0, status="included", reason=""))
        deid_rows.append(dict(video_key=key, status="included", reason=""))
    deid_rows.append(dict(video_key="VEXCLUDED000", status="excluded", reason="deid_failed"))
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    pd.DataFrame(deid_rows).to_csv(root / "deid" / "shard-0.csv", index=False)
    return ShardInputs(deid_dir, root / "deid" / "shard-0.csv", root / "manifest.csv")


def test_shard_writes_store_avi_and_qc_and_excludes_damaged(tmp_path, jpeg_cine):
    path = jpeg_cine[0]
    data = path.read_bytes()
    inputs = _shard_fixture(tmp_path, {
        "V000000000001": path,
        "V000000000002": data[: len(data) - 3000],          # truncated inside the pixel data
        "V000000000003": b"not a dicom file at all",
        "V000000000004": None,                               # listed but missing
    })
    out = tmp_path / "crop" / "shard-0"
    qc_path = tmp_path / "qc" / "shard-0.csv"
    outcome = crop_shard(inputs, out, qc_path, crop.CropConfig())
    reasons = dict(zip(outcome["video_key"], outcome["reason"]))
    assert reasons["V000000000001"] == ""
    assert reasons["V000000000002"] in crop.CROP_REASONS
    assert reasons["V000000000003"] == crop.REASON_UNREADABLE
    assert reasons["V000000000004"] == crop.REASON_MISSING
    assert "VEXCLUDED000" not in reasons                    # not de-identified: not an input

    store = VideoStore([out])
    assert store.keys() == ["V000000000001"]
    frames = store.frames("V000000000001")
    assert frames.shape == (10, 112, 112) and frames.dtype == np.uint8
    info = store.info("V000000000001")
    assert info["fps"] == 25.0 and info["study_key"] == "S000000000000"

    avis = sorted(p.name for p in (out / "avi").iterdir())
    assert avis == ["V000000000001.avi"]                    # partial AVIs were removed
    avi_frames, avi_fps = read_avi(out / "avi" / "V000000000001.avi")
    assert avi_frames.shape == frames.shape and avi_fps == pytest.approx(25.0)
    assert np.abs(avi_frames.astype(int) - frames).mean() < 2.0

    qc = pd.read_csv(qc_path, keep_default_na=False)
    assert list(qc.columns) == QC_COLUMNS
    assert (qc["step"] == "cropped").all()
    assert qc["n_in"].iloc[0] == 4 and qc["n_out"].iloc[0] == 1
    assert qc["n_in"].iloc[0] - qc["n_excluded"].sum() == qc["n_out"].iloc[0]


def test_shard_is_deterministic(tmp_path, jpeg_cine):
    outs = []
    for run in ("a", "b"):
        inputs = _shard_fixture(tmp_path / run, {"V000000000001": jpeg_cine[0]})
        out = tmp_path / run / "crop"
        crop_shard(inputs, out, tmp_path / run / "qc.csv", crop.CropConfig())
        outs.append([(out / "frames.npy").read_bytes(), (out / "index.csv").read_bytes(),
                     (out / "avi" / "V000000000001.avi").read_bytes()])
    assert outs[0] == outs[1]


def test_config_rejects_unknown_keys_and_interpolation():
    with pytest.raises(ValueError, match="unknown ingest.crop keys"):
        crop.CropConfig.from_config({"hieght": 112})
    with pytest.raises(ValueError, match="interpolation"):
        _ = crop.CropConfig(interpolation="bicubic").cv2_interpolation


# --- real files: pydicom-data ultrasound -------------------------------------------------------

# name -> the crop's exclusion reason, or (frames written) when it crops. Pinned, so a change
# that excludes more real files fails here instead of passing quietly.
REAL_FILES = {
    "color3d_jpeg_baseline.dcm": 120,          # SonoSite, JPEG baseline YBR_FULL_422
    "examples_ybr_color.dcm": 30,              # SonoSite, JPEG baseline YBR_FULL_422
    "OBXXXX1A_2frame.dcm": "colour_doppler",   # Philips, palette colour, native
    "OBXXXX1A_rle_2frame.dcm": "colour_doppler",   # Philips, palette colour, RLE
    "OBXXXX1A_expb_2frame.dcm": "colour_doppler",  # Philips, palette colour, big endian
    "US1_UNCR.dcm": "colour_doppler",          # GE, RGB native (colour flow box)
    "US1_J2KR.dcm": "colour_doppler",          # GE, JPEG 2000 lossless YBR_RCT
    "gdcm-US-ALOKA-16.dcm": 1,                 # ALOKA, palette colour, implicit VR
    "JPGLosslessP14SV1_1s_1f_8b.dcm": 1,       # Philips, JPEG lossless, MONOCHROME2
    "examples_palette.dcm": 1,
    "ExplVR_BigEnd.dcm": "colour_doppler",
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_ultrasound_files_crop_or_exclude_with_reason(name):
    path = pydicom_testdata(name)
    expected = REAL_FILES[name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = crop.crop_one(path, None, crop.CropConfig(default_fps=30.0))
            frames = list(plan.frames())
    except crop.CropExcluded as exc:
        assert str(exc) == expected and str(exc) in crop.CROP_REASONS
        return
    assert len(frames) == plan.n_frames == expected
    assert all(f.shape == (112, 112) and f.dtype == np.uint8 for f in frames)
    assert max(f.max() for f in frames) > 0


def test_real_jpeg_baseline_cine_matches_full_decode():
    path = pydicom_testdata("color3d_jpeg_baseline.dcm")
    plan = _plan(path, dct_downscale=False)
    assert plan.n_frames == 120 and plan.colour_mode == "static"   # the green marker dot
    fast = np.stack(list(plan.frames())).astype(np.int16)
    ref = reference_frames(path, plan).astype(np.int16)
    assert np.abs(fast - ref).mean() < 1.0
    dct = np.stack(list(_plan(path).frames())).astype(np.int16)
    assert np.abs(dct - ref).mean() < 3.0


# --- which mask: fan, rectangle (linear probe), static (frozen loop) ---------------------------

def _sim_cines():
    """A few simulated cines (256x192, 32-40 frames) and the settings to render them."""
    from echocmr.simulate.cohort import build_cohort
    from echocmr.simulate.settings import SimSettings
    s = SimSettings.from_config({"n_patients": 6, "frames": {"min": 32, "max": 40},
                                 "image": {"width": 256, "height": 192, "alt_fraction": 0.0}},
                                21)
    c = build_cohort(s)
    patients = {r["patient_index"]: r for r in c.patients.to_dict("records")}
    studies = {r["study_index"]: r for r in c.studies.to_dict("records")}
    cines = c.videos[c.videos["kind"] == "cine"].to_dict("records")
    return s, patients, studies, cines


def _freeze(ds: Dataset, moving_part: float) -> None:
    """Freeze a native RGB cine on its first frame, except a central ellipse whose half-axes are
    `moving_part` of the tissue box's (0: a frozen loop; 0.3: only the valves still move)."""
    arr = ds.pixel_array.copy()
    x0, y0, x1, y1 = _tissue_box(ds)
    yy, xx = np.mgrid[0:arr.shape[1], 0:arr.shape[2]]
    ax, ay = max(1e-6, (x1 - x0) * moving_part), max(1e-6, (y1 - y0) * moving_part)
    still = ((xx - (x0 + x1) / 2) / ax) ** 2 + ((yy - (y0 + y1) / 2) / ay) ** 2 > 1
    arr[:, still] = arr[0][still]
    ds.PixelData = arr.tobytes()


def _tissue_box(ds: Dataset) -> tuple[int, int, int, int]:
    r = ds.SequenceOfUltrasoundRegions[0]
    return (int(r.RegionLocationMinX0), int(r.RegionLocationMinY0),
            int(r.RegionLocationMaxX1), int(r.RegionLocationMaxY1))


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    """Simulated phased-array (classic) and linear-probe cines: moving, frozen, partly frozen;
    plus the true scan area of each (pixels that change over the moving cine)."""
    from echocmr.simulate.export import render_file
    s, patients, studies, cines = _sim_cines()
    root = tmp_path_factory.mktemp("sim")
    out = {}
    for layout in ("classic", "linear_probe"):
        v = dict(cines[0], layout=layout, encoding="rgb")
        data, _ = render_file(v, patients[v["patient_index"]], studies[v["study_index"]], s)
        for how, part in (("moving", None), ("frozen", 0.0), ("partial", 0.3)):
            ds = pydicom.dcmread(io.BytesIO(data))
            if part is not None:
                _freeze(ds, part)
            path = root / f"{layout}_{how}.dcm"
            ds.save_as(path, enforce_file_format=True)
            out[layout, how] = path
        frames = pydicom.dcmread(io.BytesIO(data)).pixel_array.astype(np.int16)
        x0, y0, x1, y1 = _tissue_box(ds)
        scan = np.zeros(frames.shape[1:3], bool)
        scan[y0:y1 + 1, x0:x1 + 1] = True
        out[layout, "scan"] = scan & ((frames.max(axis=0) - frames.min(axis=0)).max(axis=2) > 0)
    return out


def _kept_full(plan: crop.CropPlan, shape) -> np.ndarray:
    """The plan's keep mask on the full image (True: kept)."""
    x0, y0, x1, y1 = plan.box
    full = np.zeros(shape, bool)
    full[y0:y1 + 1, x0:x1 + 1] = True if plan.keep is None else plan.keep.astype(bool)
    return full


@pytest.mark.parametrize("how", ["frozen", "partial"])
def test_static_linear_probe_cine_keeps_its_tissue_box(sim_files, how):
    path = sim_files["linear_probe", how]
    plan = _plan(path, dct_downscale=False)
    assert plan.mask_kind == "rectangle" and plan.box_source == "header"
    x0, y0, x1, y1 = plan.box
    keep = plan.keep if plan.keep is not None else np.ones((y1 - y0 + 1, x1 - x0 + 1))
    assert keep.mean() > 0.9
    out = np.stack(list(plan.frames()))
    assert (out[:, 8:-8, 8:-8] > 0).mean() > 0.8      # the tissue is there, not blanked
    if how == "partial":  # what the moving fan alone would have kept: the check can fail
        acc = regions.FanMaskAccumulator()
        for _, luma, _ in decode.iter_frames(plan.cine, decode.spread_indices(plan.n_frames, 8)):
            acc.add(luma)
        assert acc.mask()[y0:y1 + 1, x0:x1 + 1].mean() < 0.5


def test_moving_linear_probe_and_phased_array_cines(sim_files):
    linear = _plan(sim_files["linear_probe", "moving"], dct_downscale=False)
    assert linear.mask_kind == "rectangle"
    assert linear.keep is None or linear.keep.mean() > 0.9
    plan = _plan(sim_files["classic", "moving"], dct_downscale=False)
    assert plan.mask_kind == "fan"
    scan = sim_files["classic", "scan"]
    kept = _kept_full(plan, scan.shape)
    assert kept[scan].mean() > 0.9                      # the sector is kept...
    assert plan.keep.mean() < 0.75                      # ...and the box's corners are not


@pytest.mark.parametrize("how", ["frozen", "partial"])
def test_frozen_sector_cine_keeps_its_sector(sim_files, how):
    plan = _plan(sim_files["classic", how], dct_downscale=False)
    assert plan.mask_kind == "static"
    scan = sim_files["classic", "scan"]
    first = pydicom.dcmread(sim_files["classic", how]).pixel_array[0].max(axis=2)
    tissue = scan & (first > 8)                          # non-black pixels of the scan area
    assert _kept_full(plan, scan.shape)[tissue].mean() > 0.95
    assert plan.keep.mean() < 0.75                       # still a sector, not the whole box


def test_header_linear_transducer_means_rectangle(tmp_path):
    frames, _ = make_frames(6, ecg=False, dot=False)
    path = write_cine(tmp_path / "linear.dcm", frames, jpeg=False)
    ds = pydicom.dcmread(path)
    assert not regions.linear_transducer(ds)
    ds.TransducerType = "LINEAR"
    ds.save_as(path)
    assert regions.linear_transducer(pydicom.dcmread(path))
    plan = _plan(path)
    assert plan.mask_kind == "rectangle"
    assert regions.linear_transducer(Dataset()) is False
    curved = Dataset()
    curved.TransducerType = "CURVED LINEAR"                # a convex probe scans a fan
    assert not regions.linear_transducer(curved)


def test_frozen_real_cine_keeps_its_sector(tmp_path):
    """pydicom-data's SonoSite cine, moving: the fan; frozen on one frame: the static sector,
    which keeps the non-black pixels of that fan."""
    src = pydicom_testdata("examples_ybr_color.dcm")
    moving = _plan(src, dct_downscale=False)
    assert moving.mask_kind == "fan"
    ds = pydicom.dcmread(src)
    arr = ds.pixel_array[:6].copy()                      # RGB
    arr[:] = arr[0]
    ds.NumberOfFrames = len(arr)
    ds.PhotometricInterpretation = "RGB"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = arr.tobytes()
    path = tmp_path / "frozen.dcm"
    ds.save_as(path, enforce_file_format=True)
    plan = _plan(path, dct_downscale=False)
    assert plan.mask_kind == "static"
    luma = decode.rgb_to_luma(arr[0])
    assert plan.box == moving.box
    tissue = _kept_full(moving, luma.shape) & (luma > 8)  # text and toolbar lie outside the fan
    assert _kept_full(plan, luma.shape)[tissue].mean() > 0.95


def test_crop_mask_goes_to_the_index_and_the_log(tmp_path, jpeg_cine, caplog):
    inputs = _shard_fixture(tmp_path, {"V000000000001": jpeg_cine[0]})
    out = tmp_path / "crop"
    with caplog.at_level("INFO", logger="echocmr.crop"):
        crop_shard(inputs, out, tmp_path / "qc.csv", crop.CropConfig(), write_avi=False)
    index = pd.read_csv(out / "index.csv")
    assert index["crop_mask"].tolist() == ["fan"]
    assert "mask fan" in caplog.text
