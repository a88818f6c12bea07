"""Frame-wise decoding of ultrasound cines to 8-bit luminance (and chroma only when asked).

B-mode analysis needs luminance only. pydicom's `pixel_array` decodes a JPEG-baseline YBR cine
to RGB for every frame (colour conversion of every pixel) and holds the whole cine in memory.
Here:

- JPEG Baseline 8-bit (1.2.840.10008.1.2.4.50, the common echo export): the compressed frames are
  read one at a time straight from the file and decoded by Pillow (libjpeg-turbo) with
  `draft("L", ...)`, which returns the Y plane without any colour conversion and can downscale
  in the DCT domain by 1/2, 1/4 or 1/8 for free.
- Every other transfer syntax: `pydicom.pixels.iter_pixels` (one frame in memory at a time),
  then luminance from the photometric interpretation (Y of YBR taken as is, BT.601 luma from RGB,
  palette through its LUT, MONOCHROME1 inverted, >8-bit shifted down to 8 bits).

Colour is needed only to find overlays (ECG traces, markers, coloured text): `chroma` returns
max(|Cb-128|, |Cr-128|) per pixel, from Pillow's YCbCr output (no RGB conversion) for JPEG or from
BT.601 for decoded RGB.

De-identification needs the frames as stored instead (grey or RGB at their bit depth, to clean
and re-encode them): `native_frames` / `indexed_native_frames`, through the same JPEG decoder
(`decode_jpeg`). Every stage counts frames with `n_frames_of` and samples them with
`spread_indices`, so the audit reads the frames de-identification scanned.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom import encaps
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, iter_pixels
from pydicom.uid import JPEGBaseline8Bit

from echocmr.media import turbojpeg as turbo

# (7FE0,0010) OB with undefined length, explicit VR little endian: how encapsulated data start.
_ENCAPSULATED_PIXEL_HEADER = bytes.fromhex("e07f10004f420000ffffffff")
_ENCAPSULATED_PIXEL_HEADER_IMPLICIT = bytes.fromhex("e07f1000ffffffff")
DCT_SCALES = (1, 2, 4, 8)
_PILLOW_FAST_PHOTOMETRICS = ("YBR_FULL_422", "YBR_FULL", "MONOCHROME2")


class DecodeError(Exception):
    """A file cannot be decoded; `reason` is a word of `echocmr.ingest.reasons`, the message
    says which library error (never a value from the file)."""

    def __init__(self, detail: str, reason: str = "undecodable_encoding"):
        super().__init__(detail)
        self.reason = reason


def n_frames_of(ds: Dataset) -> int:
    """NumberOfFrames as every stage reads it: at least 1, 1 when absent or unreadable."""
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def spread_indices(n_frames: int, k: int) -> list[int]:
    """Up to `k` frame indices evenly spread over the cine, first and last included (all frames
    when it has no more than `k`): text is static and the sector moves, so a spread sample shows
    both while decoding a fraction of a long cine."""
    if n_frames < 1:
        return []
    n = min(n_frames, k)
    return sorted({int(i) for i in np.linspace(0, n_frames - 1, n).round()})


@dataclass
class Cine:
    """Header facts of one DICOM cine, read without its pixel data."""

    path: Path
    ds: pydicom.Dataset
    n_frames: int
    rows: int
    columns: int
    photometric: str
    transfer_syntax: str
    samples: int
    bits_stored: int
    pixel_offset: int = 0       # file position of the Pixel Data element (header read once)

    @property
    def jpeg_fast_path(self) -> bool:
        """JPEG baseline 8-bit YBR or grey: Pillow hands out luminance without colour conversion.

        RGB-coded JPEG (no colour transform; Pillow may mistake it for YCbCr) takes pydicom's
        path, which knows that quirk."""
        return (self.transfer_syntax == JPEGBaseline8Bit and self.bits_stored <= 8
                and self.photometric in _PILLOW_FAST_PHOTOMETRICS)

    @property
    def may_have_colour(self) -> bool:
        return self.samples == 3 or self.photometric == "PALETTE COLOR"


def open_cine(path: str | Path) -> Cine:
    """Read the header of `path` (stops before the pixel data: no frame is decoded here)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            ds = pydicom.dcmread(handle, stop_before_pixels=True)
            pixel_offset = handle.tell()        # at (7FE0,0010): frames are read from here
    except Exception as exc:  # noqa: BLE001 - any parse failure is one named reason
        raise DecodeError(f"unreadable DICOM header ({type(exc).__name__})",
                          "unreadable_truncated") from None
    if "Rows" not in ds or "Columns" not in ds:
        raise DecodeError("no pixel data", "no_pixel_data")
    return Cine(
        path=path, ds=ds, n_frames=n_frames_of(ds), rows=int(ds.Rows), columns=int(ds.Columns),
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip(),
        transfer_syntax=str(ds.file_meta.get("TransferSyntaxUID", "")),
        samples=int(ds.get("SamplesPerPixel", 1)),
        bits_stored=int(ds.get("BitsStored", ds.get("BitsAllocated", 8))),
        pixel_offset=pixel_offset,
    )


def frame_rate(ds: pydicom.Dataset) -> float | None:
    """Frames per second from the header (FrameTime, then CineRate, then the display rate)."""
    for keyword, to_fps in (("FrameTime", lambda ms: 1000.0 / ms),
                            ("CineRate", float),
                            ("RecommendedDisplayFrameRate", float)):
        value = ds.get(keyword)
        try:
            fps = to_fps(float(value)) if value not in (None, "") else None
        except (TypeError, ValueError, ZeroDivisionError):
            fps = None
        if fps is not None and math.isfinite(fps) and fps > 0:
            return fps
    times = ds.get("FrameTimeVector")
    if times is not None and len(times) > 1:
        step = float(np.mean(np.asarray(times, dtype=float)[1:]))
        if step > 0:
            return 1000.0 / step
    return None


# --- JPEG baseline: compressed frames from the file, Pillow decode -----------------------------

def _jpeg_frames(cine: Cine) -> Iterator[bytes]:
    """The compressed frames, read from the open file one at a time (bounded memory)."""
    with open(cine.path, "rb") as handle:
        start = cine.pixel_offset
        handle.seek(start)
        head = handle.read(12)
        if head == _ENCAPSULATED_PIXEL_HEADER:
            handle.seek(start + 12)
        elif head[:8] == _ENCAPSULATED_PIXEL_HEADER_IMPLICIT:
            handle.seek(start + 8)
        else:
            raise DecodeError("no encapsulated pixel data")
        try:
            yield from encaps.generate_frames(handle, number_of_frames=cine.n_frames)
        except DecodeError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DecodeError(f"corrupt encapsulated pixel data ({type(exc).__name__})") from None


def choose_dct_scale(box_side: int, target_side: int, min_oversample: float) -> int:
    """Largest JPEG DCT scale 1/s that still leaves `min_oversample` x the target resolution."""
    best = 1
    for scale in DCT_SCALES:
        if box_side / scale >= min_oversample * target_side:
            best = scale
    return best


def _turbo_decode(data: bytes, grey: bool) -> np.ndarray | None:
    """libjpeg-turbo straight into an array where it loads and reads the frame cleanly; None
    lets Pillow decide (it reads some damaged frames, or raises)."""
    if not turbo.available():
        return None
    try:
        return turbo.decode(data, grey=grey)
    except ValueError:
        return None


def decode_jpeg(fragment: bytes) -> np.ndarray:
    """One JPEG Baseline frame as stored: grey (H, W) or RGB (H, W, 3); libjpeg-turbo, else
    Pillow (same pixels). Pillow's errors pass through: callers name the reason."""
    frame = _turbo_decode(fragment, grey=False)
    if frame is not None:
        return frame
    with Image.open(io.BytesIO(fragment)) as img:
        return np.asarray(img if img.mode in ("L", "RGB") else img.convert("RGB"))


def _pil_decode(data: bytes, mode: str, cine: Cine, scale: int) -> np.ndarray:
    if mode == "L" and scale == 1:
        # the same Y plane as Pillow's draft("L") (tested), without its per-image overhead
        frame = _turbo_decode(data, grey=True)
        if frame is not None:
            return frame
    try:
        image = Image.open(io.BytesIO(data))
        image.draft(mode, (math.ceil(cine.columns / scale), math.ceil(cine.rows / scale)))
        if image.mode != mode:      # e.g. a greyscale JPEG asked for YCbCr
            image = image.convert(mode)
        return np.asarray(image)
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(f"undecodable JPEG frame ({type(exc).__name__})") from None


# --- other syntaxes: pydicom frame-wise -------------------------------------------------------

def _pydicom_frames(cine: Cine, indices: Iterable[int] | None = None) -> Iterator[np.ndarray]:
    """Decoded frames as stored (YBR kept as YBR: `raw=True`), one at a time."""
    try:
        yield from iter_pixels(cine.path, indices=indices, raw=True)
    except Exception as exc:  # noqa: BLE001 - missing plugin, corrupt data, wrong frame count
        raise DecodeError(f"undecodable pixel data ({type(exc).__name__})") from None


def _to_uint8(array: np.ndarray, bits_stored: int) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float32, copy=False)
    if bits_stored > 8 and array.max(initial=0) > 255:
        array = array / float(2 ** (bits_stored - 8))
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def rgb_to_luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma (what JPEG's Y is), uint8."""
    rgb = rgb.astype(np.float32, copy=False)
    y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def rgb_to_chroma(rgb: np.ndarray) -> np.ndarray:
    """max(|Cb-128|, |Cr-128|) of BT.601 full-range YCbCr, uint8 (0 = grey)."""
    rgb = rgb.astype(np.float32, copy=False)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    return np.clip(np.rint(np.maximum(np.abs(cb), np.abs(cr))), 0, 255).astype(np.uint8)


def ycc_to_chroma(ycc: np.ndarray) -> np.ndarray:
    cb = np.abs(ycc[..., 1].astype(np.int16) - 128)
    cr = np.abs(ycc[..., 2].astype(np.int16) - 128)
    return np.maximum(cb, cr).astype(np.uint8)


def _decoder_gives_rgb(cine: Cine) -> bool:
    """pydicom with raw=True keeps YBR for native/RLE data; JPEG decoders may return RGB.

    For a JPEG baseline file that is not on the fast path (e.g. 12-bit) pydicom's `raw` decode
    returns YCbCr as stored, so only JPEG 2000 (whose decoder reverses the colour transform) gives
    RGB here."""
    return cine.transfer_syntax.startswith("1.2.840.10008.1.2.4.9")


def _as_rgb(cine: Cine, frame: np.ndarray) -> np.ndarray:
    """RGB of a decoded (raw) colour frame."""
    if cine.photometric == "PALETTE COLOR":
        rgb = apply_color_lut(frame, cine.ds)
        if rgb.dtype != np.uint8:
            rgb = _to_uint8(rgb, 16)
        return rgb
    if cine.photometric in ("YBR_FULL", "YBR_FULL_422"):
        return pydicom.pixels.convert_color_space(frame, cine.photometric, "RGB")
    # YBR_ICT / YBR_RCT (JPEG 2000): the decoder already reversed the colour transform -> RGB.
    return _to_uint8(frame, cine.bits_stored)


def _luma_and_chroma(cine: Cine, frame: np.ndarray, want_chroma: bool
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    """(luma, chroma or None) of one raw pydicom frame."""
    try:
        return _luma_and_chroma_unchecked(cine, frame, want_chroma)
    except Exception as exc:  # noqa: BLE001 - unsupported photometric, bad LUT, ...
        raise DecodeError(f"colour conversion failed ({type(exc).__name__})") from None


def _luma_and_chroma_unchecked(cine: Cine, frame: np.ndarray, want_chroma: bool
                               ) -> tuple[np.ndarray, np.ndarray | None]:
    pi = cine.photometric
    if cine.samples == 3 and pi in ("YBR_FULL", "YBR_FULL_422") and not _decoder_gives_rgb(cine):
        ycc = _to_uint8(frame, cine.bits_stored)
        return ycc[..., 0].copy(), ycc_to_chroma(ycc) if want_chroma else None
    if cine.samples == 3 or pi == "PALETTE COLOR":
        rgb = _as_rgb(cine, frame)
        return rgb_to_luma(rgb), rgb_to_chroma(rgb) if want_chroma else None
    grey = frame[..., 0] if frame.ndim == 3 else frame
    if pi == "MONOCHROME1":
        top = 2 ** cine.bits_stored - 1
        grey = top - grey.astype(np.int32)
    grey = _to_uint8(grey, cine.bits_stored)
    return grey, (np.zeros_like(grey) if want_chroma else None)


# --- public iterators --------------------------------------------------------------------------

def iter_luma(cine: Cine, dct_scale: int = 1) -> Iterator[np.ndarray]:
    """Every frame's 8-bit luminance, one frame in memory at a time.

    `dct_scale` (JPEG baseline only) decodes at 1/scale resolution in the DCT domain; other
    syntaxes ignore it (callers read the actual frame shape).
    """
    if cine.jpeg_fast_path:
        for data in _jpeg_frames(cine):
            yield _pil_decode(data, "L", cine, dct_scale)
        return
    for frame in _pydicom_frames(cine):
        yield _luma_and_chroma(cine, frame, want_chroma=False)[0]


def iter_frames(cine: Cine, indices: Iterable[int] | None = None, chroma: bool = False,
                dct_scale: int = 1) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """(frame index, luma, chroma or None) for the selected frames (all when `indices` is None).

    Unselected JPEG frames are skipped without decoding (only their bytes are read); other
    syntaxes let pydicom decode just the selected frames.
    """
    wanted = None if indices is None else sorted({int(i) for i in indices})
    if cine.jpeg_fast_path:
        keep = None if wanted is None else set(wanted)
        for i, data in enumerate(_jpeg_frames(cine)):
            if keep is not None and i not in keep:
                continue
            if chroma:
                ycc = _pil_decode(data, "YCbCr", cine, dct_scale)
                yield i, ycc[..., 0].copy(), ycc_to_chroma(ycc)
            else:
                yield i, _pil_decode(data, "L", cine, dct_scale), None
            if wanted is not None and i >= wanted[-1]:
                return
        return
    order = wanted if wanted is not None else range(cine.n_frames)
    for i, frame in zip(order, _pydicom_frames(cine, indices=wanted)):
        luma, chroma_plane = _luma_and_chroma(cine, frame, want_chroma=chroma)
        yield i, luma, chroma_plane


# --- frames as stored (de-identification cleans and re-encodes them) ---------------------------

def jpeg_fragments(ds: Dataset) -> Iterator[bytes]:
    """The compressed frames of an encapsulated data set (read with its pixel data)."""
    return encaps.generate_frames(ds.PixelData, number_of_frames=n_frames_of(ds))


def _to_8bit_rgb(arr: np.ndarray) -> np.ndarray:
    """Palette LUT output is 8 or 16 bits per channel; the cleaned image is 8-bit RGB."""
    if arr.dtype != np.uint8:
        arr = (arr >> 8) if arr.max(initial=0) > 255 else arr
        arr = arr.astype(np.uint8)
    return arr


def native_frames(ds: Dataset, path: Path, jpeg: bool, palette: bool) -> Iterator[np.ndarray]:
    """Every frame as stored, one at a time: grey (H, W) or RGB (H, W, 3); `jpeg`: Baseline
    fragments through `decode_jpeg`, else pydicom (YBR -> RGB, J2K colour transforms undone);
    `palette`: through its LUT to 8-bit RGB. Decoder errors pass through."""
    if jpeg:
        for fragment in jpeg_fragments(ds):
            yield decode_jpeg(fragment)
        return
    for arr in iter_pixels(path):
        if palette:
            arr = _to_8bit_rgb(apply_color_lut(arr, ds))
        yield arr


def indexed_native_frames(ds: Dataset, path: Path, jpeg: bool, palette: bool,
                          wanted: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(index, frame as stored) of the frames in `wanted` (JPEG: only those fragments are
    decoded)."""
    if jpeg:
        for i, fragment in enumerate(jpeg_fragments(ds)):
            if i in wanted:
                yield i, decode_jpeg(fragment)
        return
    for i, frame in enumerate(native_frames(ds, path, jpeg, palette)):
        if i in wanted:
            yield i, frame


def full_decode_luma(path: str | Path) -> np.ndarray:
    """Reference path: pydicom `pixel_array` of the whole cine converted to RGB, then BT.601 luma.

    This is what an EchoNet-style converter does (all frames, full colour); used by the tests and
    the benchmark to check the fast path against it. Not bounded in memory.
    """
    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    pi = str(ds.PhotometricInterpretation)
    if pi == "PALETTE COLOR":
        array = apply_color_lut(array, ds)
    if array.ndim == 3 and int(ds.get("NumberOfFrames", 1) or 1) == 1 and array.shape[-1] != 3:
        array = array[None]
    if array.ndim == 2:
        array = array[None]
    if array.shape[-1] == 3 and (int(ds.SamplesPerPixel) == 3 or pi == "PALETTE COLOR"):
        return rgb_to_luma(_to_uint8(array, 16 if array.dtype == np.uint16 else 8))
    grey = array
    if pi == "MONOCHROME1":
        grey = (2 ** int(ds.BitsStored) - 1) - grey.astype(np.int32)
    return _to_uint8(grey, int(ds.BitsStored))
