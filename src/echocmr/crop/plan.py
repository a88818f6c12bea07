"""Sector crop: tissue region only, overlays removed, resized (cubic) to the store size.

Per video, once (cheap, on a few sampled frames):
  1. the box: the largest 2D tissue region of SequenceOfUltrasoundRegions (`tissue_regions`),
     or the bounding box of the pixel sector when the header has none;
  2. the mask inside the box (`crop_mask`): the moving fan (static text, depth scale and logos
     inside the box lie outside it and are zeroed), a linear probe's rectangle, or the
     brightness-only sector of a frozen loop; none when nothing plausible is found;
  3. colour: chroma max(|Cb-128|, |Cr-128|) on a few evenly spaced frames. No colour -> luminance
     only. Colour at the same pixels in every sample (markers, coloured text) -> one static mask,
     still luminance only. Colour that moves (ECG sweep, cursors) -> chroma of every frame.
     Colour over a large part of the sector is colour Doppler: excluded with a reason.
Then per frame (streamed, one frame in memory): crop, zero mask, pad to the target aspect ratio
(the sector is not distorted), resize with the configured interpolation (cubic by default).

JPEG baseline cines are decoded by Pillow straight to luminance, optionally at 1/2..1/8 in the
DCT domain when the box is many times larger than the target (see `decode`).

This module decides and streams one video; walking a shard into the store, with its QC rows, is
`echocmr.crop.shard`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from echocmr.crop.mask import CropMask, choose_mask, pixel_box
from echocmr.ingest import reasons
from echocmr.media import decode
from echocmr.media.regions import FanMaskAccumulator, linear_transducer, tissue_regions

INTERPOLATIONS = {
    "cubic": cv2.INTER_CUBIC,
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
    "nearest": cv2.INTER_NEAREST,
}

# Named exclusion reasons of the "cropped" step (docs/crop.md); shared words from `reasons`.
REASON_MISSING = "deid_file_missing"          # the shard CSV lists a file that is not there
REASON_UNREADABLE = reasons.UNREADABLE_TRUNCATED
REASON_UNDECODABLE = reasons.UNDECODABLE_ENCODING
REASON_NO_REGION = reasons.NO_TISSUE_REGION
REASON_DOPPLER = reasons.COLOUR_DOPPLER
REASON_NO_FPS = "unknown_frame_rate"          # no fps in manifest or header, no default set
REASON_NO_FRAMES = "no_frames_decoded"
CROP_REASONS = (REASON_MISSING, REASON_UNREADABLE, REASON_UNDECODABLE, REASON_NO_REGION,
                REASON_DOPPLER, REASON_NO_FPS, REASON_NO_FRAMES)


class CropExcluded(Exception):
    """A video cannot be cropped; `str(exc)` is the named reason (no identifiers)."""


@dataclass(frozen=True)
class CropConfig:
    height: int = 112
    width: int = 112
    interpolation: str = "cubic"
    keep_aspect: bool = True
    dct_downscale: bool = True
    dct_min_oversample: float = 2.0
    chroma_threshold: int = 20
    colour_sample_frames: int = 8
    static_overlay_iou: float = 0.9
    colour_doppler_fraction: float = 0.05
    fan_mask: bool = True
    fan_min_fraction: float = 0.2
    default_fps: float | None = None

    @classmethod
    def from_config(cls, section: dict | None) -> CropConfig:
        section = dict(section or {})
        section.pop("avi", None)
        known = set(cls.__dataclass_fields__)
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"unknown ingest.crop keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**section)

    @property
    def cv2_interpolation(self) -> int:
        try:
            return INTERPOLATIONS[self.interpolation]
        except KeyError:
            raise ValueError(f"ingest.crop.interpolation must be one of {sorted(INTERPOLATIONS)}, "
                             f"got {self.interpolation!r}") from None


@dataclass
class CropPlan:
    """Everything decided once per video; `frames()` then streams the output frames."""

    cine: decode.Cine
    cfg: CropConfig
    fps: float
    box: tuple[int, int, int, int]          # inclusive x0, y0, x1, y1 at full resolution
    box_source: str                         # "header" | "pixels"
    mask_kind: str                          # crop_mask.MASK_KINDS: fan | rectangle | static | box
    dct_scale: int
    keep: np.ndarray | None                 # uint8 {0,1} mask in (scaled) box coordinates
    colour_mode: str                        # "none" | "static" | "per-frame"
    notes: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return self.cine.n_frames

    def frames(self) -> Iterator[np.ndarray]:
        """The cropped, cleaned, resized uint8 (height, width) frames, one at a time."""
        sy, sx = self._box_slices()
        if self.colour_mode == "per-frame":
            for _, luma, chroma in decode.iter_frames(self.cine, chroma=True,
                                                      dct_scale=self.dct_scale):
                overlay = _dilate(chroma[sy, sx] > self.cfg.chroma_threshold)
                yield self._finish(luma[sy, sx], overlay)
        else:
            for luma in decode.iter_luma(self.cine, self.dct_scale):
                yield self._finish(luma[sy, sx], None)

    def finish_full_frame(self, luma: np.ndarray, chroma: np.ndarray | None = None) -> np.ndarray:
        """Apply this plan to a full-resolution frame decoded elsewhere (the reference path).

        Needs a plan made at DCT scale 1; `chroma` is used in per-frame colour mode only.
        """
        if self.dct_scale != 1:
            raise ValueError("finish_full_frame needs a plan with dct_scale 1")
        sy, sx = self._box_slices()
        overlay = None
        if self.colour_mode == "per-frame" and chroma is not None:
            overlay = _dilate(chroma[sy, sx] > self.cfg.chroma_threshold)
        return self._finish(luma[sy, sx], overlay)

    def _box_slices(self) -> tuple[slice, slice]:
        x0, y0, x1, y1 = _scale_box(self.box, self.dct_scale)
        return slice(y0, y1 + 1), slice(x0, x1 + 1)

    def _finish(self, crop: np.ndarray, overlay: np.ndarray | None) -> np.ndarray:
        crop = crop.copy()
        if self.keep is not None:
            # a frame smaller than its header says is cut short by the slice: trim the mask too
            crop *= self.keep[:crop.shape[0], :crop.shape[1]]
        if overlay is not None:
            crop[overlay] = 0
        if self.cfg.keep_aspect:
            crop = _pad_to_aspect(crop, self.cfg.width / self.cfg.height)
        return cv2.resize(crop, (self.cfg.width, self.cfg.height),
                          interpolation=self.cfg.cv2_interpolation)


def _scale_box(box: tuple[int, int, int, int], scale: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return x0 // scale, y0 // scale, x1 // scale, y1 // scale


def _dilate(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Grow a mask by `radius` px: JPEG chroma subsampling smears colour over neighbours."""
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _pad_to_aspect(crop: np.ndarray, aspect: float) -> np.ndarray:
    """Zero-pad (centred) to width/height == aspect, so resizing does not distort the sector."""
    h, w = crop.shape
    if abs(w / h - aspect) < 1e-6:
        return crop
    if w / h < aspect:
        new_w, new_h = int(round(h * aspect)), h
    else:
        new_w, new_h = w, int(round(w / aspect))
    out = np.zeros((new_h, new_w), np.uint8)
    top, left = (new_h - h) // 2, (new_w - w) // 2
    out[top:top + h, left:left + w] = crop
    return out


def _pick_region_box(cine: decode.Cine) -> tuple[int, int, int, int] | None:
    regions = tissue_regions(cine.ds)
    if not regions:
        return None
    best = max(regions, key=lambda r: r.width * r.height)
    return best.x0, best.y0, best.x1, best.y1


def _colour_plan(chromas: list[np.ndarray], fan: np.ndarray | None, cfg: CropConfig
                 ) -> tuple[str, np.ndarray | None, float]:
    """Decide "none" / "static" / "per-frame" overlays from sampled chroma crops.

    Returns (mode, static overlay mask or None, colour fraction of the sector).
    """
    masks = [c > cfg.chroma_threshold for c in chromas]
    union = np.logical_or.reduce(masks)
    if not union.any():
        return "none", None, 0.0
    inter = np.logical_and.reduce(masks)
    area = fan if fan is not None else np.ones_like(union)
    fraction = float(np.mean([(m & area).sum() for m in masks]) / max(1, area.sum()))
    iou = inter.sum() / union.sum()
    if iou >= cfg.static_overlay_iou:
        return "static", _dilate(union), fraction
    return "per-frame", None, fraction


def plan_crop(cine: decode.Cine, fps: float | None, cfg: CropConfig) -> CropPlan:
    """Decide box, masks, colour handling and DCT scale for one video (a few sampled frames)."""
    notes: list[str] = []
    if fps is None or not np.isfinite(fps) or fps <= 0:
        fps = decode.frame_rate(cine.ds) or cfg.default_fps
        if fps is None:
            raise CropExcluded(REASON_NO_FPS)
    samples = decode.spread_indices(cine.n_frames, cfg.colour_sample_frames)
    sampled = list(decode.iter_frames(cine, samples, chroma=cine.may_have_colour))
    if not sampled:
        raise CropExcluded(REASON_NO_FRAMES)

    acc = FanMaskAccumulator()
    for _, luma, _ in sampled:
        acc.add(luma)
    fan_full = acc.mask()
    box, source = _pick_region_box(cine), "header"
    if box is None:
        box, source = pixel_box(acc, fan_full), "pixels"
        if box is None:
            raise CropExcluded(REASON_NO_REGION)
    mask = (choose_mask(acc, fan_full, box, linear_transducer(cine.ds), cfg.fan_min_fraction)
            if cfg.fan_mask else CropMask("box", None, "fan_mask off"))
    if mask.note:
        notes.append(f"{mask.kind} mask: {mask.note}")

    x0, y0, x1, y1 = box
    sy, sx = slice(y0, y1 + 1), slice(x0, x1 + 1)
    mode, static_overlay, fraction = "none", None, 0.0
    if cine.may_have_colour:
        mode, static_overlay, fraction = _colour_plan(
            [chroma[sy, sx] for _, _, chroma in sampled], mask.keep, cfg)
        if fraction > cfg.colour_doppler_fraction:
            raise CropExcluded(REASON_DOPPLER)

    keep = np.ones((y1 - y0 + 1, x1 - x0 + 1), bool) if mask.keep is None else mask.keep.copy()
    if static_overlay is not None:
        keep &= ~static_overlay

    side = max(x1 - x0 + 1, y1 - y0 + 1)
    scale = 1
    if cfg.dct_downscale and cine.jpeg_fast_path:
        scale = decode.choose_dct_scale(side, max(cfg.height, cfg.width), cfg.dct_min_oversample)
    if scale > 1:
        keep = _downscale_keep(keep, box, scale)
    return CropPlan(cine=cine, cfg=cfg, fps=float(fps), box=box, box_source=source,
                    mask_kind=mask.kind, dct_scale=scale,
                    keep=None if keep.all() else keep.astype(np.uint8), colour_mode=mode,
                    notes=notes)


def _downscale_keep(keep: np.ndarray, box: tuple[int, int, int, int], scale: int) -> np.ndarray:
    """The keep mask at 1/scale: a scaled pixel is kept only if all its source pixels are."""
    x0, y0, x1, y1 = box
    sx0, sy0, sx1, sy1 = _scale_box(box, scale)
    full = np.zeros(((sy1 + 1) * scale, (sx1 + 1) * scale), bool)
    full[y0:y1 + 1, x0:x1 + 1] = keep
    small = full.reshape(sy1 + 1, scale, sx1 + 1, scale).all(axis=(1, 3))
    return small[sy0:, sx0:]


def crop_one(path: Path, fps: float | None, cfg: CropConfig) -> CropPlan:
    """Open and plan one video; raises CropExcluded with a named reason."""
    if not path.is_file():
        raise CropExcluded(REASON_MISSING)
    try:
        cine = decode.open_cine(path)
        return plan_crop(cine, fps, cfg)
    except decode.DecodeError as exc:
        raise CropExcluded(exc.reason) from exc
