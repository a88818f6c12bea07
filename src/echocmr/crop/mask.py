"""Which pixels of the crop box are kept: the moving fan, a rectangle, or the static sector.

The moving fan (`regions.FanMaskAccumulator.mask`) is right for a phased-array cine: static
text, depth scale and logos inside the box lie outside it. Alone it fails two kinds of cine:
a linear probe scans a rectangle, and in a frozen loop (or a still kept as a cine) little or
nothing moves, so the "fan" is a small blob - or a rectangle's moving part - and applying it
blanks most of the tissue. So per video one mask kind is chosen (`CropMask.kind`):

- `fan`: the moving sector, when it covers most of the bright (non-black) sector;
- `rectangle`: the header's TransducerType is linear, or the sector (the moving one, or the
  bright one when little moves) fills its bounding box: that rectangle, inside the box;
- `static`: too little moves: the brightness-only sector, as for a single frame;
- `box`: no mask (`fan_mask: false`, nothing found, or a mask that would keep less than
  `fan_min_fraction` of the box).

Crop only: de-identification chooses its own kept area (`keep_area`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from echocmr.media.regions import FanMaskAccumulator, bounding_box

MASK_KINDS = ("fan", "rectangle", "static", "box")
# The moving fan must cover at least this share of the bright sector to be the sector; less is a
# frozen loop in which only part of the picture (a valve, a cursor) moves. Moving cines reach
# 0.96-1.0 (simulated layouts, pydicom-data cines); calling one static costs little (its bright
# sector is kept), a partial fan taken for the sector blanks tissue.
MIN_MOVING_SHARE = 0.8
# A sector filling this much of its bounding box is a rectangle (a phased-array fan fills
# 0.5-0.65, a convex probe's ~0.75, a linear probe's ~1).
RECTANGLE_FILL = 0.85

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class CropMask:
    kind: str                    # one of MASK_KINDS
    keep: np.ndarray | None      # bool, box-shaped; None: the whole box
    note: str = ""               # why, for the log


def _share(part: np.ndarray, whole: np.ndarray) -> float:
    """Share of `whole` covered by `part`."""
    n = int(whole.sum())
    return float((part & whole).sum()) / n if n else 0.0


def _fill(mask: np.ndarray) -> float:
    """Share of its own bounding box that a mask fills (0 for an empty mask)."""
    box = bounding_box(mask)
    if box is None:
        return 0.0
    x0, y0, x1, y1 = box
    return float(mask.sum()) / ((x1 - x0 + 1) * (y1 - y0 + 1))


def _rectangle(mask: np.ndarray) -> np.ndarray:
    """The filled bounding box of a mask (same shape)."""
    out = np.zeros_like(mask, dtype=bool)
    x0, y0, x1, y1 = bounding_box(mask)
    out[y0:y1 + 1, x0:x1 + 1] = True
    return out


def _moves(acc: FanMaskAccumulator, fan: np.ndarray, sector: np.ndarray) -> bool:
    """The moving fan is the sector: there was motion, and it covers most of what is bright."""
    return acc.n > 1 and bool(fan.any()) and _share(fan, sector) >= MIN_MOVING_SHARE


def pixel_box(acc: FanMaskAccumulator, fan_full: np.ndarray) -> Box | None:
    """The box when the header declares no region: around the moving fan, or around the bright
    sector when too little moves (a frozen loop); None when neither is found."""
    sector = acc.bright_sector()
    return bounding_box(fan_full if _moves(acc, fan_full, sector) else sector)


def choose_mask(acc: FanMaskAccumulator, fan_full: np.ndarray, box: Box, linear: bool = False,
                min_fraction: float = 0.2) -> CropMask:
    """The mask kind and keep mask (box coordinates) of one video.

    `acc`: the sampled frames; `fan_full`: `acc.mask()`, full frame; `linear`: the header names
    a linear transducer."""
    x0, y0, x1, y1 = box
    fan = fan_full[y0:y1 + 1, x0:x1 + 1]
    sector = acc.bright_sector(box)
    moving = _moves(acc, fan, sector)
    shape = fan if moving else sector
    if not shape.any():
        return CropMask("box", None, "no sector in the pixels")
    motion = "" if moving else _motion_note(acc, fan, sector)
    if linear or _fill(shape) >= RECTANGLE_FILL:
        why = "linear transducer" if linear else \
            f"sector fills {_fill(shape):.0%} of its bounding box"
        mask = CropMask("rectangle", _rectangle(shape), _join(why, motion))
    elif moving:
        mask = CropMask("fan", fan)
    else:
        mask = CropMask("static", sector, motion)
    coverage = float(mask.keep.mean())
    if coverage < min_fraction:
        return CropMask("box", None, f"{mask.kind} mask covers {coverage:.0%} of the box: "
                                     "not applied")
    return mask


def _motion_note(acc: FanMaskAccumulator, fan: np.ndarray, sector: np.ndarray) -> str:
    if acc.n < 2:
        return "a single frame"
    return f"{_share(fan, sector):.0%} of the sector moves"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
