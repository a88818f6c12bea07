"""Where the ultrasound image is: header regions first, a pixel-based fan mask when they are absent.

Ultrasound DICOM carry burned-in text, ECG traces, colour bars and logos around the scan sector.
The header's SequenceOfUltrasoundRegions (0018,6011) says where each part lies (PS3.3
C.8.5.5); the 2D tissue regions are the image, everything else is annotation. Exports without
that sequence get a mask derived from the pixels (EchoPrime-style: moving, non-black pixels,
opened to drop thin traces, largest blob, holes filled, convex hull).

Both functions are used by de-identification (blank outside) and by the crop stage (bounding box).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

# RegionSpatialFormat (0018,6012)
SPATIAL_NONE, SPATIAL_2D, SPATIAL_MMODE, SPATIAL_SPECTRAL, SPATIAL_WAVEFORM, SPATIAL_GRAPHICS = (
    0, 1, 2, 3, 4, 5)
# RegionDataType (0018,6014)
DATA_TISSUE, DATA_COLOUR_FLOW, DATA_PW_DOPPLER, DATA_CW_DOPPLER = 1, 2, 3, 4
DATA_ECG, DATA_GREY_BAR, DATA_COLOUR_BAR = 0x0A, 0x0D, 0x0E
# A 2D region holding tissue (or colour flow laid over tissue) is image; the rest is annotation.
IMAGE_DATA_TYPES = frozenset({DATA_TISSUE, DATA_COLOUR_FLOW})


@dataclass(frozen=True)
class Region:
    """One ultrasound region: inclusive pixel box (x = column, y = row) plus what it holds."""

    x0: int
    y0: int
    x1: int
    y1: int
    spatial_format: int
    data_type: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0 + 1

    @property
    def width(self) -> int:
        return self.x1 - self.x0 + 1

    def slices(self) -> tuple[slice, slice]:
        """Row and column slices selecting the region from an (H, W[, C]) array."""
        return slice(self.y0, self.y1 + 1), slice(self.x0, self.x1 + 1)


def _as_int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def ultrasound_regions(ds) -> list[Region]:
    """Every region of SequenceOfUltrasoundRegions, clipped to Rows x Columns.

    Some exports rescale the pixels and leave boxes larger than the image, so boxes are clipped;
    a box that lies entirely outside the image (or is inverted) is dropped.
    """
    rows, cols = _as_int(ds.get("Rows")), _as_int(ds.get("Columns"))
    out: list[Region] = []
    if rows <= 0 or cols <= 0:
        return out
    for item in ds.get("SequenceOfUltrasoundRegions", None) or []:
        x0 = max(0, _as_int(item.get("RegionLocationMinX0"), -1))
        y0 = max(0, _as_int(item.get("RegionLocationMinY0"), -1))
        x1 = min(cols - 1, _as_int(item.get("RegionLocationMaxX1"), -1))
        y1 = min(rows - 1, _as_int(item.get("RegionLocationMaxY1"), -1))
        if x1 < x0 or y1 < y0:
            continue
        out.append(Region(x0, y0, x1, y1, _as_int(item.get("RegionSpatialFormat")),
                          _as_int(item.get("RegionDataType"))))
    return out


def tissue_regions(ds) -> list[Region]:
    """The 2D image regions (tissue or colour flow over tissue), clipped; [] when none declared."""
    return [r for r in ultrasound_regions(ds)
            if r.spatial_format == SPATIAL_2D and r.data_type in IMAGE_DATA_TYPES]


def regions_mask(regions: Iterable[Region], rows: int, cols: int) -> np.ndarray:
    """Boolean (rows, cols) mask, True inside any of the regions."""
    mask = np.zeros((rows, cols), dtype=bool)
    for r in regions:
        mask[r.slices()] = True
    return mask


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Inclusive (x0, y0, x1, y1) of the True pixels, or None for an empty mask."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def luminance(frame: np.ndarray) -> np.ndarray:
    """Brightness used for the fan mask: grey as is; for RGB, the brightest channel."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        # channel by channel: ndarray.max(axis=2) over interleaved RGB is ~14x slower
        frame = np.maximum.reduce([frame[..., c] for c in range(frame.shape[2])])
    if frame.dtype != np.uint8:  # 16-bit or signed data: scale to 8 bits for fixed thresholds
        f = frame.astype(np.float32)
        lo, hi = float(f.min()), float(f.max())
        frame = np.zeros(f.shape, np.uint8) if hi <= lo else ((f - lo) * (255.0 / (hi - lo)))
    return np.asarray(frame, dtype=np.uint8)


class FanMaskAccumulator:
    """Accumulates frames one at a time (bounded memory) and derives the scan-sector mask.

    Per pixel it keeps how often it is non-black and its min/max over time. The sector is where
    pixels are often non-black *and* change over time: static text, logos and the grey bar never
    change, and the thin ECG sweep is removed by a morphological opening.
    """

    def __init__(self, black_level: int = 4, motion_level: int = 4):
        self.black_level = black_level
        self.motion_level = motion_level
        self.n = 0
        self.from_motion = False  # set by mask(): the sector was found from moving pixels
        self._bright: np.ndarray | None = None
        self.lo: np.ndarray | None = None  # per-pixel min / max luminance over the frames
        self.hi: np.ndarray | None = None

    def add(self, frame: np.ndarray) -> None:
        lum = luminance(frame)
        if self._bright is None:
            self._bright = np.zeros(lum.shape, np.uint32)
            self.lo, self.hi = lum.copy(), lum.copy()
        self._bright += lum > self.black_level
        np.minimum(self.lo, lum, out=self.lo)
        np.maximum(self.hi, lum, out=self.hi)
        self.n += 1

    def bright(self) -> np.ndarray:
        """Pixels non-black in at least a tenth of the frames."""
        if self._bright is None:
            raise ValueError("fan mask needs at least one frame")
        return self._bright >= max(1, self.n // 10)

    def moving(self) -> np.ndarray:
        """Pixels whose luminance changed by more than `motion_level` over the frames."""
        return (self.hi.astype(np.int16) - self.lo) > self.motion_level

    def mask(self, static_fallback: bool = False) -> np.ndarray:
        """Boolean (H, W) sector mask; all False when nothing sector-like was found.

        `static_fallback`: when nothing moves (a frozen loop), fall back to brightness alone,
        as for a single frame (de-identification wants a sector even then)."""
        bright = self.bright()
        # A single frame has no motion; then brightness alone is all we have.
        candidate = (bright & self.moving()) if self.n > 1 else bright
        fan = _clean_fan(candidate, moving_known=self.n > 1)
        self.from_motion = self.n > 1 and bool(fan.any())
        if static_fallback and self.n > 1 and not fan.any():
            fan = _clean_fan(bright, moving_known=False)
        return fan

    def bright_sector(self, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The brightness-only sector (what a single frame shows, motion ignored), of the whole
        image or of the inclusive box (x0, y0, x1, y1) only, in that box's coordinates."""
        bright = self.bright()
        if box is not None:
            x0, y0, x1, y1 = box
            bright = bright[y0:y1 + 1, x0:x1 + 1]
        return _clean_fan(bright, moving_known=False)


def _clean_fan(candidate: np.ndarray, moving_known: bool) -> np.ndarray:
    """Largest blob after an opening (drops ECG/text strokes), holes filled, convex hull."""
    h, w = candidate.shape
    k = max(3, (min(h, w) // 80) | 1)  # ~7 px at 480 rows: wider than trace/glyph strokes
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    work = candidate.astype(np.uint8)
    if moving_known:
        # Static text is already gone; close joins the dim speckle at the sector's edges,
        # open then drops the thin moving ECG sweep.
        work = cv2.morphologyEx(work, cv2.MORPH_CLOSE, kernel)
        work = cv2.morphologyEx(work, cv2.MORPH_OPEN, kernel, iterations=2)
    else:
        # One frame: text is bright too. Open first (glyph strokes are thinner than the
        # kernel and vanish), then close to join the sector's speckle.
        work = cv2.morphologyEx(work, cv2.MORPH_OPEN, kernel)
        work = cv2.morphologyEx(work, cv2.MORPH_CLOSE, kernel, iterations=2)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(work, connectivity=8)
    if n <= 1:
        return np.zeros((h, w), dtype=bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[biggest, cv2.CC_STAT_AREA] < 0.02 * h * w:  # specks are not a sector
        return np.zeros((h, w), dtype=bool)
    blob = (labels == biggest).astype(np.uint8)
    contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours))
    out = np.zeros((h, w), np.uint8)
    cv2.fillPoly(out, [hull], 1)
    return out.astype(bool)


def fan_mask_from_pixels(frames: Iterable[np.ndarray], black_level: int = 4,
                         motion_level: int = 4) -> np.ndarray:
    """Scan-sector mask from the pixels: `frames` is a (T, H, W[, 3]) array or any iterable of
    (H, W[, 3]) frames (grey or RGB, not YBR). Returns bool (H, W); all False if no sector."""
    acc = FanMaskAccumulator(black_level, motion_level)
    for frame in frames:
        acc.add(frame)
    return acc.mask()


# TransducerType (0018,6031, US Image module) of probes that scan a rectangle; "CURVED LINEAR"
# (a convex probe) scans a fan.
LINEAR_TRANSDUCERS = frozenset({"LINEAR", "ENDOCAV_LINEAR"})


def linear_transducer(ds) -> bool:
    """The header says the probe is linear (its image is a rectangle)."""
    return str(ds.get("TransducerType", "") or "").strip().upper() in LINEAR_TRANSDUCERS
