"""Ultrasound regions from the header (clipped, typed) and the pixel fan-mask fallback."""

from __future__ import annotations

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from echocmr.media.regions import (
    Region,
    bounding_box,
    fan_mask_from_pixels,
    regions_mask,
    tissue_regions,
    ultrasound_regions,
)


def _ds(rows, cols, boxes):
    ds = Dataset()
    ds.Rows, ds.Columns = rows, cols
    items = []
    for (x0, y0, x1, y1), spatial, dtype in boxes:
        r = Dataset()
        r.RegionSpatialFormat, r.RegionDataType = spatial, dtype
        r.RegionLocationMinX0, r.RegionLocationMinY0 = x0, y0
        r.RegionLocationMaxX1, r.RegionLocationMaxY1 = x1, y1
        items.append(r)
    ds.SequenceOfUltrasoundRegions = Sequence(items)
    return ds


def test_regions_are_clipped_typed_and_filtered():
    ds = _ds(100, 200, [((10, 5, 400, 300), 1, 1),  # larger than the image (rescaled export)
                        ((0, 90, 199, 99), 4, 0x0A),  # ECG strip
                        ((50, 20, 90, 60), 1, 2),  # colour-flow box over tissue
                        ((250, 10, 300, 20), 1, 1)])  # entirely outside: dropped
    assert ultrasound_regions(ds)[0] == Region(10, 5, 199, 99, 1, 1)
    assert len(ultrasound_regions(ds)) == 3
    tissue = tissue_regions(ds)
    assert [(r.spatial_format, r.data_type) for r in tissue] == [(1, 1), (1, 2)]
    mask = regions_mask(tissue, 100, 200)
    assert mask.shape == (100, 200) and mask[5, 10] and mask[99, 199] and not mask[4, 10]
    assert bounding_box(mask) == (10, 5, 199, 99)
    assert tissue_regions(Dataset()) == []


def _sector_frames(n=20, h=130, w=160, seed=0):
    rng = np.random.default_rng(seed)
    sector = np.zeros((h, w), np.uint8)
    cv2.ellipse(sector, (w // 2, 20), (85, 85), 0, 45, 135, 1, -1)  # a fan from the apex
    frames = []
    for t in range(n):
        f = np.zeros((h, w), np.uint8)
        f[sector > 0] = rng.integers(20, 220, int(sector.sum()))
        cv2.putText(f, "DOE^JOHN 1234", (2, 10), cv2.FONT_HERSHEY_PLAIN, 0.7, 255, 1)  # static
        f[122, :] = 200  # ECG baseline (the sector ends at row 105)
        f[116:128, (t * 9) % w] = 255  # moving ECG spike
        frames.append(f)
    return np.stack(frames), sector.astype(bool)


def test_fan_mask_keeps_the_sector_and_drops_text_and_ecg():
    frames, sector = _sector_frames()
    mask = fan_mask_from_pixels(frames)
    overlap = (mask & sector).sum() / sector.sum()
    assert overlap > 0.95
    assert not mask[:12].any()  # burned-in text
    assert not mask[112:].any()  # ECG strip
    assert (mask & ~sector).sum() < 0.05 * sector.sum()


def test_fan_mask_accepts_rgb_iterables_and_reports_empty():
    frames, _ = _sector_frames(n=6)
    rgb = (np.repeat(f[..., None], 3, axis=2) for f in frames)  # a generator of RGB frames
    assert fan_mask_from_pixels(rgb).sum() > 1000
    assert not fan_mask_from_pixels(np.zeros((5, 40, 40), np.uint8)).any()
