"""Lossless DCT-domain blanking of JPEG Baseline frames (echocmr.deid.jpeg_blank)."""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from conftest import pydicom_testdata, require_turbojpeg
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import pixel_array
from pydicom.uid import JPEGBaseline8Bit

from echocmr.deid.jpeg_blank import BlankStats, _parse_header, blank_jpeg_frame
from echocmr.media import regions as reg

# The in-memory libjpeg-turbo path and the jpeglib (libjpeg 6b, temporary files) fallback; the
# test set-up installs libturbojpeg, so both run in CI (conftest.REQUIRE_COMPONENTS).
BACKENDS = ["turbojpeg", "jpeglib"]


@pytest.fixture(autouse=True)
def _turbojpeg_when_asked_for(request):
    """A test of the turbojpeg backend needs libturbojpeg: fail in CI, skip on a bare laptop."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("backend") if callspec else None
    if backend == "turbojpeg" or request.node.get_closest_marker("turbojpeg"):
        require_turbojpeg()

# Pillow subsampling: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0 -> chroma block factors (fy, fx)
FACTORS = {0: (1, 1), 1: (1, 2), 2: (2, 2)}


# ----------------------------------------------------------------------------- helpers

def synthetic_frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Speckle-like grey tissue, a colour patch in the middle, bright text in the corners."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    grey = 90 + 50 * np.sin(xx / 9.0) * np.cos(yy / 7.0) + rng.normal(0, 18, (h, w))
    img = np.repeat(grey.clip(0, 255)[..., None], 3, axis=2).astype(np.uint8)
    cy, cx = h // 2, w // 2
    img[cy - h // 8:cy + h // 8, cx - w // 10:cx + w // 10] = (200, 40, 60)  # "Doppler"
    scale = h / 400
    for text, org in (("DOE^JOHN", (2, int(24 * scale) + 8)),
                      ("1970-01-01", (w - int(190 * scale) - 10, h - 6))):
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 80), 2)
    return img


def fan_mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    r = int(h * 0.85)
    cv2.ellipse(m, (w // 2, int(h * 0.12)), (r, r), 90, -38, 38, 255, -1)
    return m > 0


def box_mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[int(h * 0.13) + 1:int(h * 0.83) - 3, int(w * 0.15) + 3:int(w * 0.87) - 5] = True
    return m


MASKS = {"fan": fan_mask, "box": box_mask}


def jpeg(img: np.ndarray, quality: int = 90, subsampling: int = 1, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=subsampling, **kw)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


def luma(data: bytes) -> np.ndarray:
    """The decoded Y plane itself (no colour conversion): Pillow's draft mode 'L'."""
    with Image.open(io.BytesIO(data)) as im:
        im.draft("L", im.size)
        assert im.mode == "L"
        return np.asarray(im)


def block_all(mask: np.ndarray, by: int, bx: int) -> np.ndarray:
    """Per pixel: the (by x bx) block holding it lies wholly in `mask` (padding counts as in)."""
    h, w = mask.shape
    ph, pw = -(-h // by) * by, -(-w // bx) * bx
    full = np.ones((ph, pw), bool)
    full[:h, :w] = mask
    blocks = full.reshape(ph // by, by, pw // bx, bx).all(axis=(1, 3))
    return np.repeat(np.repeat(blocks, by, 0), bx, 1)[:h, :w]


def rgb_exact_region(keep: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Pixels whose luma block and every chroma block their upsampled chroma reads from are
    untouched: there RGB must be bit-identical (fancy upsampling reads +-1 chroma sample)."""
    luma_ok = block_all(keep, 8, 8)
    chroma_ok = block_all(keep, 8 * fy, 8 * fx)
    h, w = keep.shape
    samples = chroma_ok[::fy, ::fx].astype(np.uint8)  # one value per chroma sample
    samples = cv2.erode(samples, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    up = np.repeat(np.repeat(samples, fy, 0), fx, 1)[:h, :w].astype(bool)
    return luma_ok & up


def far_outside(keep: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Outside pixels more than two chroma samples from any kept pixel."""
    k = np.ones((4 * fy + 1, 4 * fx + 1), np.uint8)
    return ~cv2.dilate(keep.astype(np.uint8), k).astype(bool)


def dicom_frames(frames: list[bytes], h: int, w: int, colour: bool) -> np.ndarray:
    """Frames as pylibjpeg decodes them from a JPEG Baseline DICOM (raw: YCbCr, no RGB)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.Rows, ds.Columns = h, w
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "YBR_FULL_422" if colour else "MONOCHROME2"
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = len(frames)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    arr = pixel_array(ds, decoding_plugin="pylibjpeg", raw=True)
    return arr if len(frames) > 1 else arr[None]


def total_blocks(h: int, w: int, subsampling: int | None) -> int:
    n = -(-h // 8) * -(-w // 8)
    if subsampling is None:
        return n
    fy, fx = FACTORS[subsampling]
    return n + 2 * -(-h // (8 * fy)) * -(-w // (8 * fx))


# ----------------------------------------------------------------------------- (a) colour

CASES = [  # (h, w, subsampling, quality, mask)
    (192, 256, 1, 95, "fan"), (192, 256, 1, 85, "box"), (192, 256, 2, 90, "fan"),
    (192, 256, 2, 95, "box"), (190, 250, 1, 90, "fan"), (190, 250, 1, 95, "box"),
    (190, 250, 2, 85, "fan"), (190, 250, 2, 90, "box"), (480, 640, 1, 95, "fan"),
    (480, 640, 2, 90, "fan"), (190, 250, 0, 90, "fan"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("h,w,sub,quality,mask", CASES)
def test_colour_frame_blanked_outside_identical_inside(h, w, sub, quality, mask, backend):
    img = synthetic_frame(h, w)
    keep = MASKS[mask](h, w)
    assert img[~keep].max() == 255  # the text is outside keep
    src = jpeg(img, quality, sub)
    out, stats = blank_jpeg_frame(src, keep, backend=backend)
    fy, fx = FACTORS[sub]

    assert isinstance(stats, BlankStats)
    assert stats.wiped + stats.recoded + stats.untouched == total_blocks(h, w, sub)
    assert stats.recoded > 0 and stats.untouched > 0 and stats.wiped > stats.boundary_wiped

    with Image.open(io.BytesIO(out)) as im:
        assert (im.size, im.mode) == ((w, h), "RGB")
    y_in, y_out = luma(src).astype(int), luma(out).astype(int)
    rgb_in, rgb_out = decode(src), decode(out)

    # luma of every block wholly inside keep: bit-identical
    inside = block_all(keep, 8, 8)
    assert inside.sum() > 0.3 * keep.sum()
    assert np.array_equal(y_in[inside], y_out[inside])
    # RGB where no touched chroma block is read either
    exact = rgb_exact_region(keep, fy, fx)
    assert exact.sum() > 0.2 * keep.sum()
    assert np.array_equal(rgb_in[exact], rgb_out[exact])
    # outside keep: luma black everywhere (the text is gone), RGB black away from the edge
    assert y_out[~keep].max() <= 2
    assert rgb_out[far_outside(keep, fy, fx)].max() <= 2
    # kept pixels of recoded boundary blocks: requantisation noise, not blanking
    boundary_kept = keep & ~inside
    assert np.abs(y_in - y_out)[boundary_kept].max() <= 48
    assert np.abs(y_in - y_out)[boundary_kept].mean() <= 6

    # the same frames through pydicom + pylibjpeg as a JPEG Baseline YBR_FULL_422 DICOM
    dcm = dicom_frames([src, out], h, w, colour=True)
    assert dcm.shape == (2, h, w, 3)
    assert np.array_equal(dcm[0, ..., 0][inside], dcm[1, ..., 0][inside])
    assert dcm[1, ..., 0][~keep].max() <= 2
    assert np.abs(dcm[1, ..., 1:][far_outside(keep, fy, fx)].astype(int) - 128).max() <= 1


def test_wipe_mode_blacks_whole_boundary_blocks():
    h, w = 190, 250
    img = synthetic_frame(h, w, seed=3)
    keep = fan_mask(h, w)
    src = jpeg(img, 90, 1)
    out, stats = blank_jpeg_frame(src, keep, luma_boundary="wipe")
    assert stats.recoded == 0 and stats.boundary_wiped > 0
    y_in, y_out = luma(src), luma(out)
    inside = block_all(keep, 8, 8)
    assert np.array_equal(y_in[inside], y_out[inside])
    assert y_out[~inside].max() <= 2  # boundary blocks black, kept pixels included
    recode_out, recode_stats = blank_jpeg_frame(src, keep)
    assert recode_stats.wiped + recode_stats.recoded == stats.wiped
    assert luma(recode_out)[keep & ~inside].mean() > 20  # recoding keeps the edge tissue


@pytest.mark.parametrize("backend", BACKENDS)
def test_restart_markers_and_tiny_frames(backend):
    h, w = 190, 250
    img = synthetic_frame(h, w, seed=1)
    keep = fan_mask(h, w)
    src = jpeg(img, 90, 2, restart_marker_blocks=3)
    assert b"\xff\xdd" in src and b"\xff\xd0" in src
    out, _ = blank_jpeg_frame(src, keep, backend=backend)
    inside = block_all(keep, 8, 8)
    assert np.array_equal(luma(src)[inside], luma(out)[inside])
    assert luma(out)[~keep].max() <= 2
    # smaller than one MCU: everything is padding but one block per component
    tiny = jpeg(img[:5, :3], 90, 2)
    out, stats = blank_jpeg_frame(tiny, np.zeros((5, 3), bool), backend=backend)
    assert stats == BlankStats(wiped=3, recoded=0, untouched=0, boundary_wiped=0)
    assert decode(out).shape == (5, 3, 3) and decode(out).max() <= 1
    out, stats = blank_jpeg_frame(tiny, np.ones((5, 3), bool), backend=backend)
    assert stats.untouched == 3 and np.array_equal(decode(out), decode(tiny))


@pytest.mark.parametrize("backend", BACKENDS)
def test_markers_of_the_source_are_dropped(backend):
    img = synthetic_frame(64, 80)
    src = jpeg(img, 90, 1, comment=b"PATIENT DOE^JOHN")
    assert b"DOE^JOHN" in src
    out, _ = blank_jpeg_frame(src, np.ones((64, 80), bool), backend=backend)
    assert b"DOE^JOHN" not in out
    assert np.array_equal(decode(out), decode(src))


# ----------------------------------------------------------------------------- (b) greyscale

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("h,w", [(192, 256), (190, 250)])
def test_greyscale_frame(h, w, backend):
    grey = cv2.cvtColor(synthetic_frame(h, w, seed=2), cv2.COLOR_RGB2GRAY)
    keep = fan_mask(h, w)
    assert grey[~keep].max() > 200
    src = jpeg(grey, 90, 0)
    out, stats = blank_jpeg_frame(src, keep, backend=backend)
    assert stats.wiped + stats.recoded + stats.untouched == total_blocks(h, w, None)
    with Image.open(io.BytesIO(out)) as im:
        assert (im.size, im.mode) == ((w, h), "L")
    g_in, g_out = decode(src), decode(out)
    inside = block_all(keep, 8, 8)
    assert np.array_equal(g_in[inside], g_out[inside])
    assert g_out[~keep].max() <= 2
    dcm = dicom_frames([src, out], h, w, colour=False)
    assert dcm.shape == (2, h, w)
    assert np.array_equal(dcm[0][inside], dcm[1][inside]) and dcm[1][~keep].max() <= 2


# ----------------------------------------------------------------------------- (c) real frame

@pytest.mark.parametrize("backend", BACKENDS)
def test_real_ultrasound_frame_from_pydicom_data(backend):
    """SonoSite cine (JPEG Baseline, YBR_FULL_422, 640x480) with its header tissue region."""
    path = pydicom_testdata("color3d_jpeg_baseline.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    keep = reg.regions_mask(reg.tissue_regions(ds), int(ds.Rows), int(ds.Columns))
    frames = generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames))
    src = [next(frames) for _ in range(2)]
    outs = [blank_jpeg_frame(f, keep, backend=backend)[0] for f in src]
    h, w = keep.shape
    dcm = dicom_frames(src + outs, h, w, colour=True)
    before, after = dcm[:2], dcm[2:]
    assert (before[..., 0][:, ~keep] > 100).sum() > 1000  # burned-in text outside the region
    assert after[..., 0][:, ~keep].max() <= 2
    inside = block_all(keep, 8, 8)
    assert np.array_equal(before[..., 0][:, inside], after[..., 0][:, inside])
    exact = rgb_exact_region(keep, 1, 2)
    for f, o in zip(src, outs):
        assert np.array_equal(decode(f)[exact], decode(o)[exact])
        assert decode(o).shape == (h, w, 3)


# ----------------------------------------------------------------------------- (d) backends

@pytest.mark.turbojpeg
@pytest.mark.parametrize("h,w,sub,quality,mask", CASES[:6] + [(190, 250, None, 90, "fan")])
def test_backends_write_the_same_coefficients(h, w, sub, quality, mask):
    """In-memory libjpeg-turbo and jpeglib blank the same blocks the same way: same pixels."""
    img = synthetic_frame(h, w, seed=5)
    if sub is None:
        img, sub = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 0
    src = jpeg(img, quality, sub)
    keep = MASKS[mask](h, w)
    fast, fast_stats = blank_jpeg_frame(src, keep, backend="turbojpeg")
    slow, slow_stats = blank_jpeg_frame(src, keep, backend="jpeglib")
    assert fast_stats == slow_stats
    assert np.array_equal(decode(fast), decode(slow))


@pytest.mark.parametrize("quality", [50, 90, 100])
def test_quantisation_tables_parsed_as_libjpeg_reads_them(quality):
    import jpeglib

    src = jpeg(synthetic_frame(64, 80), quality, 1)
    hdr = _parse_header(src)
    path = Path(tempfile.mkdtemp()) / "frame.jpg"
    path.write_bytes(src)
    ref = jpeglib.read_dct(str(path))
    for ci in range(3):
        assert np.array_equal(hdr.table_of(ci), np.asarray(ref.qt[ref.quant_tbl_no[ci]]))


@pytest.mark.turbojpeg
def test_truncated_jpeg_is_refused_by_turbojpeg():
    src = jpeg(synthetic_frame(64, 80), 90, 1)
    with pytest.raises(ValueError):
        blank_jpeg_frame(src[:len(src) // 2], box_mask(64, 80), backend="turbojpeg")


# ----------------------------------------------------------------------------- (e) refused

def _patched(data: bytes, marker: bytes, offset: int, value: int) -> bytes:
    i = data.index(marker)
    return data[:i + offset] + bytes([value]) + data[i + offset + 1:]


def test_refused_jpegs_raise_value_error():
    img = synthetic_frame(64, 80)
    keep = box_mask(64, 80)
    with pytest.raises(ValueError, match="progressive"):
        blank_jpeg_frame(jpeg(img, 90, 1, progressive=True), keep)
    base = jpeg(img, 90, 1)
    with pytest.raises(ValueError, match="12-bit"):
        blank_jpeg_frame(_patched(base, b"\xff\xc0", 4, 12), keep)  # SOF0 precision
    with pytest.raises(ValueError, match="arithmetic"):
        blank_jpeg_frame(_patched(base, b"\xff\xc0", 1, 0xC9), keep)
    with pytest.raises(ValueError, match="lossless"):
        blank_jpeg_frame(_patched(base, b"\xff\xc0", 1, 0xC3), keep)
    rgb = base
    for k, cid in enumerate(b"RGB"):  # component ids R, G, B: RGB-coded, no YCbCr transform
        rgb = _patched(rgb, b"\xff\xc0", 10 + 3 * k, cid)
    with pytest.raises(ValueError, match="RGB"):
        blank_jpeg_frame(rgb, keep)
    with pytest.raises(ValueError, match="does not match"):
        blank_jpeg_frame(base, keep[:-1])
    with pytest.raises(ValueError, match="not a JPEG"):
        blank_jpeg_frame(b"\x00" * 100, keep)
    with pytest.raises(ValueError, match="luma_boundary"):
        blank_jpeg_frame(base, keep, luma_boundary="blur")
