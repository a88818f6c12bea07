"""The learned text detector (PP-OCRv4 via onnxruntime) beside the stroke rules (issue 24).

Real cardiac cines of pydicom-data (SonoSite apical views, YBR JPEG baseline) carry the text:
names typed with PIL over the moving heart, JPEG-compressed, which the stroke rules alone let
through (static strokes broken into fragments; a label shown on part of the cine). Each case
runs the whole de-identification of one file (`deidentify_file`) and checks the written
pixels against the box where the text was drawn, never with the detector under test.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import require_font, require_pydicom_data
from PIL import Image, ImageDraw, ImageFont
from pydicom.encaps import encapsulate

from echocmr.deid.pixels import deidentify_file
from echocmr.media import scene_text

require_pydicom_data(module_level=True)  # the pydicom-data package (requirements-dev.txt)
from pydicom.data import get_testdata_file  # noqa: E402

SECRET = "learned-text-secret"
MONO, SANS = "DejaVuSansMono.ttf", "DejaVuSans.ttf"  # conftest.require_font finds them
LEVEL = 30  # a written pixel brighter than this is not blanked


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(require_font(name)), size)


def _real_cine(name: str, n_frames: int) -> tuple[pydicom.Dataset, np.ndarray]:
    ds = pydicom.dcmread(get_testdata_file(name))
    frames = ds.pixel_array[:n_frames]  # RGB (pydicom converts the YBR frames)
    return ds, np.ascontiguousarray(frames)


def _draw(frame: np.ndarray, lines: list[tuple[tuple[int, int], str]], font,
          fill=(235, 235, 235)) -> tuple[int, int, int, int]:
    """Type text lines on a frame in place; returns the union of their inked boxes."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    boxes = []
    for xy, text in lines:
        draw.text(xy, text, font=font, fill=fill)
        boxes.append(draw.textbbox(xy, text, font=font))
    frame[:] = np.asarray(image)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _write_jpeg_cine(src: pydicom.Dataset, frames: np.ndarray, path: Path,
                     quality: int) -> Path:
    """The source header (regions and all) with these frames, JPEG Baseline YBR_FULL_422."""
    ds = copy.deepcopy(src)
    parts = []
    for f in frames:
        buf = io.BytesIO()
        Image.fromarray(f).save(buf, "JPEG", quality=quality, subsampling=1)
        parts.append(buf.getvalue())
    ds.PixelData = encapsulate(parts)
    ds["PixelData"].VR = "OB"
    ds.NumberOfFrames = len(frames)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.save_as(path, enforce_file_format=True)
    return path


def _left_in_box(written: Path, box: tuple[int, int, int, int]) -> float:
    """Largest share, over the written frames, of the drawn box's pixels that are not black."""
    frames = pydicom.dcmread(written).pixel_array
    x0, y0, x1, y1 = box
    region = frames[:, y0:y1 + 1, x0:x1 + 1].max(axis=-1)
    return float((region > LEVEL).mean(axis=(1, 2)).max())


def _deidentify(tmp_path: Path, src: Path):
    out = tmp_path / "out.dcm"
    result = deidentify_file(src, out, SECRET)
    return out, result


def test_a_name_typed_over_moving_tissue_in_jpeg_is_blanked(tmp_path):
    """14-px monospaced name over the moving posterior wall, JPEG at quality 50: its static
    strokes break into fragments, which the stroke rules do not join into a line (before the
    learned detector, 89% of the name's box was written back)."""
    ds, frames = _real_cine("color3d_jpeg_baseline.dcm", 40)
    font = _font(MONO, 14)
    for f in frames:
        box = _draw(f, [((230, 330), "QUIMBY HORTENSE")], font)
    out, _ = _deidentify(tmp_path, _write_jpeg_cine(ds, frames, tmp_path / "in.dcm", 50))
    assert _left_in_box(out, box) < 0.05


def test_a_name_and_mrn_shown_on_part_of_the_cine_are_blanked(tmp_path):
    """Name and MRN typed in the sector on frames 10-25 of a 25-frame cine only (a label added
    mid-loop): not static over the cine, so the stroke rules never look at them (before the
    learned detector, 79% of their box was written back)."""
    ds, frames = _real_cine("examples_ybr_color.dcm", 25)
    font = _font(SANS, 12)
    for f in frames[9:]:
        box = _draw(f, [((110, 150), "QUIMBY HORTENSE"), ((110, 166), "MRN 55512345")], font)
    out, _ = _deidentify(tmp_path, _write_jpeg_cine(ds, frames, tmp_path / "in.dcm", 90))
    assert _left_in_box(out, box) < 0.05


@pytest.mark.parametrize("name, n_frames", [("color3d_jpeg_baseline.dcm", 40),
                                            ("examples_ybr_color.dcm", 30)])
def test_a_real_cardiac_cine_without_text_keeps_its_tissue(tmp_path, name, n_frames):
    """No text in the sector: the learned detector finds none there and the bright walls are
    not blanked as console text on contrast alone (tissue lost stays under 1%)."""
    ds, frames = _real_cine(name, n_frames)
    out, result = _deidentify(tmp_path, _write_jpeg_cine(ds, frames, tmp_path / "in.dcm", 95))
    assert out.is_file()
    assert result.text_share < 0.01


def test_detector_boxes_line_shaped_text_and_not_a_ring():
    """Own post-processing of the DBNet map: a typed word is one box around it; a bright ring
    (a short-axis ventricle, which DBNet scores as the letter O) is not a line of text."""
    frame = np.zeros((192, 256), np.uint8)
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), "HORTENSE 1927", font=_font(SANS, 11), fill=230)
    draw.ellipse((120, 80, 190, 150), outline=200, width=9)
    boxes = scene_text.detect([np.asarray(image)])[0]
    assert len(boxes) == 1
    b = boxes[0]
    assert b.x0 <= 22 and b.y0 <= 24 and b.x1 >= 95 and b.y1 >= 30 and b.y1 < 60


def test_detector_and_recogniser_are_deterministic_and_read_a_name():
    """Same frames, same boxes and the same reading, batch or not (onnxruntime with
    deterministic compute); the recogniser reads the typed name."""
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(3):
        image = Image.fromarray(rng.integers(0, 90, (192, 256), dtype=np.uint8))
        ImageDraw.Draw(image).text((30, 90), "HORTENSE", font=_font(SANS, 14), fill=240)
        frames.append(np.asarray(image))
    once = scene_text.detect(frames)
    assert once == scene_text.detect(frames)
    assert once[0] == scene_text.detect(frames[:1])[0]
    (text, confidence), = scene_text.recognise(frames[0], once[0])
    assert text.replace(" ", "") == "HORTENSE" and confidence > 0.8


def test_contrast_alone_needs_the_learned_detector_or_a_word_to_blank():
    """A static line standing out like console text (a bright wall) is blanked only when the
    learned detector sees text there or OCR reads a word in it; without the detector's
    verdict (None: it did not run) the stroke rules decide alone, as before."""
    from echocmr.deid import keep_area as ka
    from echocmr.deid.burned_text import TextBox
    from echocmr.media import ocr

    wall = TextBox(100, 200, 284, 234, 5, True, contrast=200, static_share=0.9, level=220)
    read_nothing = [ocr.Word("oo", 30.0, (0, 0, 4, 4)), ocr.Word("eee", 20.0, (6, 0, 12, 4))]
    assert not ka.is_burned_in(wall, read_nothing, True, None, seen_as_text=False)
    assert ka.is_burned_in(wall, read_nothing, True, None, seen_as_text=True)
    assert ka.is_burned_in(wall, [ocr.Word("QUIMBY", 60.0, (0, 0, 30, 8))], True, None,
                           seen_as_text=False)
    seen = np.zeros((480, 640), bool)
    assert not ka.seen_by_learned(wall, seen)
    seen[200:235, 100:160] = True  # a third of the line's box
    assert ka.seen_by_learned(wall, seen) and ka.seen_by_learned(wall, None)


def test_a_learned_box_is_cut_to_its_strokes_and_leaves_none_of_them():
    """A sector label (`IVSd 1.1 cm`, 12 px) typed over the moving posterior wall of a real
    cine: the learned box around it is 3-5 px looser than the letters; cut down to its strokes
    (`glyph_boxes`, on the frames where the box was found) it loses tissue, and every drawn
    pixel of the label is still inside what is blanked."""
    from echocmr.deid import keep_area as ka

    _, frames = _real_cine("color3d_jpeg_baseline.dcm", 16)
    clean = frames.copy()
    for f in frames:
        _draw(f, [((230, 330), "IVSd 1.1 cm")], _font(SANS, 12))
    drawn = (frames != clean).any(axis=(0, 3))
    picked = list(frames[np.linspace(0, len(frames) - 1, scene_text.LEARNED_FRAMES)
                         .round().astype(int)])
    per_frame = scene_text.detect_within(picked, np.ones(drawn.shape, bool), per_frame=True)
    found = [(box, i) for i, boxes in enumerate(per_frame) for box in boxes
             if drawn[box.slices()].any()]
    assert found
    for region, _ in found:
        seen = sorted({i for other, i in found if ka._same_place(region, other)})
        cut = scene_text.regions_mask(ka.glyph_boxes(region, [picked[i] for i in seen]),
                                      drawn.shape)
        whole = scene_text.regions_mask([region], drawn.shape)
        assert not (drawn & whole & ~cut).any()  # no drawn pixel of the box left
        assert cut.sum() < 0.85 * whole.sum()
