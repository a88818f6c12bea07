"""libjpeg-turbo through ctypes (echocmr.media.turbojpeg): frame decoding equals Pillow's."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pytest
from conftest import pydicom_testdata, require_turbojpeg
from PIL import Image
from pydicom.encaps import generate_frames

from echocmr.media import decode
from echocmr.media import turbojpeg as turbo

require_turbojpeg(module_level=True)


def pillow(data: bytes, grey: bool) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        if grey:
            im.draft("L", im.size)
        return np.asarray(im if im.mode in ("L", "RGB") else im.convert("RGB"))


def jpeg(img: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", **kw)
    return buf.getvalue()


def noisy(h: int, w: int, colour: bool, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if colour else (h, w)
    return rng.integers(0, 256, shape).astype(np.uint8)


@pytest.mark.parametrize("grey", [False, True])
@pytest.mark.parametrize("h,w,kw", [
    (192, 256, dict(quality=90, subsampling=1)), (190, 250, dict(quality=85, subsampling=2)),
    (61, 77, dict(quality=95, subsampling=0)), (190, 250, dict(quality=90, subsampling=1,
                                                                 restart_marker_blocks=3)),
])
def test_decode_equals_pillow_on_colour_jpegs(h, w, kw, grey):
    data = jpeg(noisy(h, w, True), **kw)
    out = turbo.decode(data, grey=grey)
    assert out.shape == ((h, w) if grey else (h, w, 3)) and out.dtype == np.uint8
    assert np.array_equal(out, pillow(data, grey))


def test_decode_of_a_greyscale_jpeg_is_two_dimensional():
    data = jpeg(noisy(64, 80, False), quality=90)
    for grey in (False, True):
        assert np.array_equal(turbo.decode(data, grey=grey), pillow(data, False))


def test_real_ultrasound_frames_decode_as_pillow_does():
    path = pydicom_testdata("color3d_jpeg_baseline.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    frames = generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames))
    for _, data in zip(range(3), frames, strict=False):
        for grey in (False, True):
            assert np.array_equal(turbo.decode(data, grey=grey), pillow(data, grey))


def test_damaged_or_cmyk_jpegs_are_refused_and_the_frame_reader_falls_back_to_pillow():
    data = jpeg(noisy(64, 80, True), quality=90)
    with pytest.raises(ValueError):
        turbo.decode(data[:len(data) // 2])  # truncated: libjpeg warns, we refuse
    with pytest.raises(ValueError):
        turbo.decode(b"\xff\xd8 not a jpeg")
    cmyk = io.BytesIO()
    Image.new("CMYK", (16, 16), (0, 50, 100, 0)).save(cmyk, "JPEG")
    with pytest.raises(ValueError, match="CMYK"):
        turbo.decode(cmyk.getvalue())
    # the de-identification reader hands such frames to Pillow, which converts CMYK to RGB
    assert decode.decode_jpeg(cmyk.getvalue()).shape == (16, 16, 3)
