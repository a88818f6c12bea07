"""Pixel de-identification that does not trust the header: burned-in text detection, the kept
area (header regions x pixel sector - text), the honest BurnedInAnnotation flag, lossless JPEG.

Cines are built here with OpenCV: moving speckle in a fan, static console text drawn where a
test needs it, written as real DICOM through tests/ingest_fixtures helpers.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pydicom
import pytest
from ingest_fixtures import make_dataset, write
from PIL import Image
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import JPEGBaseline8Bit

from echocmr.deid import burned_text as bt
from echocmr.deid import keep_area as ka
from echocmr.deid.pixels import PixelError, deidentify_file
from echocmr.ingest import reasons as R

H, W = 192, 256
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_PLAIN = cv2.FONT_HERSHEY_PLAIN
SMALLEST = 0.31  # the synthetic export's smallest console font at 256x192 (7 px capitals)


def fan_mask() -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    cv2.ellipse(m, (W // 2, 30), (150, 150), 90, -38, 38, 1, -1)
    return m.astype(bool)


def cine(n: int = 24, moving: bool = True, seed: int = 0) -> np.ndarray:
    """(n, H, W) uint8: speckle inside a fan (new every frame when moving), black outside."""
    rng = np.random.default_rng(seed)
    fan = fan_mask()
    first = rng.integers(20, 140, (H, W), dtype=np.uint8)
    out = np.zeros((n, H, W), np.uint8)
    for t in range(n):
        speckle = rng.integers(20, 140, (H, W), dtype=np.uint8) if moving else first
        out[t][fan] = cv2.GaussianBlur(speckle, (7, 7), 0)[fan]  # speckle grain ~ 3 px
    return out


def draw(frames: np.ndarray, text: str, org: tuple[int, int], font: int = FONT,
         scale: float = SMALLEST, value: int = 225) -> np.ndarray:
    """Burn static text into every frame; returns the mask of its pixels."""
    m = np.zeros((H, W), np.uint8)
    cv2.putText(m, text, org, font, scale, 255, 1, cv2.LINE_8)
    frames[:, m > 0] = value
    return m > 0


def lo_hi(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return frames.min(axis=0), frames.max(axis=0)


def test_static_text_over_moving_tissue_is_found_and_tissue_is_not():
    frames = cine()
    text = draw(frames, "HOLLOWAY 00123456", (70, 120))
    lo, hi = lo_hi(frames)
    boxes = bt.text_candidates(lo, hi, fan_mask())
    # the line, found as light strokes (and maybe as the dark gaps between them): nothing else
    assert boxes and all(b.y0 >= 105 and b.y1 <= 125 for b in boxes)
    assert any(b.light and b.contrast >= ka.TEXT_CONTRAST for b in boxes)
    covered = bt.line_boxes_mask(boxes, (H, W))
    assert covered[text].all()
    assert covered.sum() <= 1.2 * (86 * 12)  # the line's own box, not the tissue around it
    assert bt.text_candidates(*lo_hi(cine(seed=1)), fan_mask()) == []  # speckle alone: none


def test_two_labels_side_by_side_at_different_heights_are_both_found():
    # a measurement and an identifier typed next to each other, a few rows apart: joined
    # horizontally they are not one line of text, but each is
    frames = cine()
    measure = draw(frames, "LVOT 2.2 cm", (62, 141), FONT_PLAIN, 0.8)
    ident = draw(frames, "87376411", (128, 135), FONT_PLAIN, 0.8)
    boxes = bt.text_candidates(*lo_hi(frames), fan_mask())
    covered = bt.line_boxes_mask(boxes, (H, W))
    assert covered[ident].all() and covered[measure].all()


def static_wall(frames: np.ndarray, rows: slice, cols: slice, seed: int = 0) -> np.ndarray:
    """A bright, textured band that stays put (a wall that barely moves): static tissue the
    stroke detector takes for a line of glyphs. Returns its mask."""
    mask = np.zeros((H, W), bool)
    mask[rows, cols] = True
    band = np.zeros((H, W), np.uint8)
    band[mask] = np.random.default_rng(seed).integers(60, 200, int(mask.sum()))
    frames[:, mask] = cv2.GaussianBlur(band, (3, 3), 0)[mask]
    return mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_moving_sector_blanks_console_bright_lines_not_static_tissue(seed):
    frames = cine()
    wall = static_wall(frames, slice(128, 137), slice(70, 190), seed)
    ident = draw(frames, "0081", (100, 90), FONT_PLAIN, 0.7)  # too small for OCR to read
    lo, hi = lo_hi(frames)
    assert any(b.y0 >= 120 for b in bt.text_candidates(lo, hi, fan_mask()))  # a candidate...
    area = ka.keep_area(None, fan_mask(), lo, hi, moving=True)
    assert not area.mask[ident].any()
    assert area.mask[wall].all() and area.verified  # ...but not console text: kept
    # the wall is seen by both looks and the residue check: read once (OCR is the cost)
    assert area.ocr_calls == 1


def test_dark_holes_in_a_flickering_colour_box_are_not_taken_for_text():
    # colour flow flickers between bright and dark in every pixel; a valve or wall inside the
    # box stays dark in every frame and looks like dark strokes in the per-pixel maximum
    frames = cine()
    rng = np.random.default_rng(3)
    box = (slice(100, 130), slice(90, 170))
    frames[:, box[0], box[1]] = rng.choice([30, 230], (len(frames), 30, 80))
    holes = draw(frames, "oooo", (100, 120), FONT, 0.5, value=0)
    lo, hi = lo_hi(frames)
    assert any(not b.light and b.contrast >= ka.TEXT_CONTRAST
               for b in bt.text_candidates(lo, hi, fan_mask()))
    area = ka.keep_area(None, fan_mask(), lo, hi, moving=True)
    assert area.mask[holes].all()


def test_dark_text_on_a_light_bar_is_found():
    frames = cine()
    frames[:, 2:16, 10:200] = 210
    text = draw(frames, "QUINTERO, MARIA", (14, 12), value=20)
    boxes = bt.text_candidates(*lo_hi(frames))
    assert any(not b.light for b in boxes)
    assert bt.line_boxes_mask(boxes, (H, W))[text].all()


def test_whole_screen_region_keeps_no_banner_when_the_sector_moves():
    frames = cine()
    banner = draw(frames, "LINDQVIST, WILLIAM ID:00225153", (2, 9))
    header = np.ones((H, W), bool)  # one region covering the whole screen (Philips-like)
    lo, hi = lo_hi(frames)
    area = ka.keep_area(header, fan_mask(), lo, hi, moving=True)
    assert area.source == "header+pixels" and area.verified
    assert not area.mask[banner].any()
    assert area.mask[fan_mask()].mean() > 0.99  # the tissue is kept


def test_text_typed_inside_the_moving_sector_is_blanked():
    frames = cine()
    typed = draw(frames, "HOLLOWAY", (100, 100))
    lo, hi = lo_hi(frames)
    area = ka.keep_area(fan_mask(), fan_mask(), lo, hi, moving=True)
    assert area.verified and len(area.text_boxes) >= 1
    assert not area.mask[typed].any()
    assert area.text_share < 0.05


def test_frozen_cine_blanks_only_what_ocr_reads_as_text():
    frames = cine(moving=False)
    typed = draw(frames, "HOLLOWAY", (90, 110), scale=0.45)
    lo, hi = lo_hi(frames)
    area = ka.keep_area(fan_mask(), fan_mask(), lo, hi, moving=False)
    assert area.ocr_calls >= 1 and area.verified
    assert not area.mask[typed].any()
    assert area.mask[fan_mask()].sum() >= fan_mask().sum() - 1.2 * 68 * 15  # one line box


def test_too_much_text_in_the_tissue_is_refused_not_blanked():
    frames = cine(moving=False)
    for row in range(60, 180, 12):
        draw(frames, "MEASUREMENT 4.8 CM LVIDD", (40, row), scale=0.45)
    lo, hi = lo_hi(frames)
    area = ka.keep_area(fan_mask(), fan_mask(), lo, hi, moving=False)
    assert area.text_share > ka.MAX_TEXT_SHARE and not area.verified


def test_reads_as_text_rules():
    from echocmr.media.ocr import Word
    w = lambda t, c: Word(t, c, (0, 0, 1, 1))  # noqa: E731
    assert ka.reads_as_text([w("HOLLOWAY", 80)], 3, 40)
    assert not ka.reads_as_text([w("ee", 90)], 3, 40)
    assert ka.reads_as_text([w("2O17", 0), w("7-3", 10)], 3, 40, 4, 0)
    assert not ka.reads_as_text([w("~—", 90), w(".", 90)], 1, 0, 1, 0)


def _word(text, conf):
    from echocmr.media.ocr import Word
    return Word(text, conf, (0, 0, 1, 1))


def test_a_second_reading_confirms_words_read_the_same():
    # one edit allowed in words of 4+ (0/8 confusions), none in shorter ones; the lower
    # confidence is kept
    got = ka.confirmed([_word("46174907", 75), _word("ros", 43), _word("thee", 66)],
                       [_word("46174007", 70), _word("ro", 27), _word("the", 3)])
    assert [(x.text, x.confidence) for x in got] == [("46174907", 70), ("thee", 3)]
    assert ka.confirmed([_word("SMITH", 90)], [_word("smith", 80)])[0].confidence == 80
    assert ka.confirmed([_word("SMITH", 90)], []) == []


def test_ocr_alone_blanks_a_line_only_when_a_second_reading_agrees():
    faint = bt.TextBox(0, 0, 40, 10, 4, True, contrast=100)
    console = bt.TextBox(0, 0, 40, 10, 4, True, contrast=200)
    thee = [_word("thee", 66)]
    assert not ka.is_burned_in(faint, thee, True, [_word("they", 3)])
    assert not ka.is_burned_in(faint, thee, True, None)
    assert ka.is_burned_in(faint, [_word("HOLLOWAY", 80)], True, [_word("HOLLOWAY", 77)])
    assert ka.is_burned_in(console, [], True, None)  # console text needs no reading
    # a frozen cine: the lenient rule on the confirmed words
    assert ka.is_burned_in(console, [_word("2O17", 10)], False, [_word("2017", 20)])
    assert not ka.is_burned_in(console, [_word("wNeae", 0)], False, [_word("cor", 54)])


def test_light_strokes_among_moving_pixels_need_more_contrast_to_count_as_console_text():
    # static wall speckle between moving walls stands out at ~150; text over moving tissue >= 174
    def light(contrast, static_share):
        return bt.TextBox(0, 0, 40, 10, 4, True, contrast=contrast, static_share=static_share)

    assert ka.is_burned_in(light(150, 0.6), [], True, None)  # over a static ground
    assert not ka.is_burned_in(light(150, 0.3), [], True, None)  # among moving pixels
    assert ka.is_burned_in(light(ka.LIGHT_OVER_MOTION_CONTRAST, 0.3), [], True, None)
    # OCR still decides the faint one: a name read the same twice is blanked
    assert ka.is_burned_in(light(150, 0.3), [_word("HOLLOWAY", 80)], True,
                           [_word("HOLLOWAY", 77)])


def test_residue_on_a_console_drawn_line_needs_one_reading():
    # a frozen cine's banner left in a whole-screen region must not pass because one of two
    # readings failed; faint lines need both
    console = bt.TextBox(0, 0, 40, 10, 4, True, contrast=200)
    faint = bt.TextBox(0, 0, 40, 10, 4, True, contrast=100)
    name = [_word("HOLLOWAY", 80)]
    assert ka.is_residue(console, name, None)
    assert not ka.is_residue(faint, name, [_word("HOL", 40)])
    assert ka.is_residue(faint, name, [_word("HOLL0WAY", 60)])
    assert not ka.is_residue(console, [_word("ee", 90)], None)


# ----------------------------------------------------------------------------- whole files

def _jpeg_cine(frames: np.ndarray, ds) -> None:
    parts = []
    for f in frames:
        buf = io.BytesIO()
        Image.fromarray(f).save(buf, "JPEG", quality=90)
        parts.append(buf.getvalue())
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate(parts)
    ds["PixelData"].VR = "OB"
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.SamplesPerPixel = 1
    ds.Rows, ds.Columns = H, W
    ds.NumberOfFrames = len(frames)


def _full_screen_file(tmp_path, frames: np.ndarray):
    ds = make_dataset(n_frames=len(frames), encoding="native")
    _jpeg_cine(frames, ds)
    region = ds.SequenceOfUltrasoundRegions[0]
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 0
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = W - 1, H - 1
    ds.SequenceOfUltrasoundRegions = [region]
    path = tmp_path / "in.dcm"
    write(ds, path)
    return path


def test_whole_screen_region_file_loses_its_banner_and_keeps_tissue_bit_identical(tmp_path):
    frames = cine()
    banner = draw(frames, "LINDQVIST, WILLIAM ID:00225153", (2, 9))
    src = _full_screen_file(tmp_path, frames)
    result = deidentify_file(src, tmp_path / "out.dcm", "secret")
    assert result.mask_source == "header+pixels"
    out = pydicom.dcmread(tmp_path / "out.dcm")
    assert out.BurnedInAnnotation == "NO"
    assert out.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    clean = out.pixel_array
    assert clean[:, banner].max() == 0
    # lossless blanking: an 8x8 block well inside the fan decodes exactly as the source did
    raw = pydicom.dcmread(src).pixel_array
    assert np.array_equal(clean[:, 96:104, 120:128], raw[:, 96:104, 120:128])
    n_src = len(list(generate_frames(pydicom.dcmread(src).PixelData, number_of_frames=24)))
    assert n_src == out.NumberOfFrames == 24


def test_unresolved_text_excludes_the_file_with_a_named_reason(tmp_path):
    frames = cine(moving=False)
    for row in range(60, 180, 12):
        draw(frames, "MEASUREMENT 4.8 CM LVIDD", (40, row), scale=0.45)
    src = _full_screen_file(tmp_path, frames)
    with pytest.raises(PixelError) as err:
        deidentify_file(src, tmp_path / "out.dcm", "secret")
    assert err.value.reason == R.BURNED_IN_TEXT_UNRESOLVED
    assert not (tmp_path / "out.dcm").exists()


def test_console_row_groups_split_two_labels_but_keep_an_i_and_its_dot():
    p90 = np.array([200.0, 200.0, 200.0, 200.0])
    # 'i' stem rows 12-18 and its dot at 9-10 (gap of one row), a letter 12-18, a label below
    top, bottom = np.array([9, 12, 12, 25]), np.array([10, 18, 18, 31])
    groups = bt._console_row_groups(p90, top, bottom, top, bottom)
    assert [g.tolist() for g in groups] == [[0, 1, 2], [3]]
    # a line with no console-drawn component is never split
    assert [g.tolist() for g in bt._console_row_groups(p90 - 100, top, bottom, top, bottom)] \
        == [[0, 1, 2, 3]]


def test_wall_bits_off_the_console_rows_leave_the_line():
    p90 = np.array([200.0, 200.0, 60.0, 60.0, 60.0])
    top, bottom = np.array([20, 20, 12, 21, 14]), np.array([28, 28, 16, 27, 34])
    kept = bt._on_the_console_rows(p90, top, bottom, top, bottom)
    # above the letters: out; a faint bit on their rows: stays; a tall wall piece: out
    assert kept.tolist() == [True, True, False, True, False]


# The candidate search's shortcuts (it runs on every cine twice: de-identification and audit)
# must give exactly what the plain computation gives.


def test_small_array_median_and_p90_are_numpys():
    rng = np.random.default_rng(3)
    for size in range(1, 60):
        for dtype in (np.uint8, np.int32):
            values = rng.integers(0, 256, size).astype(dtype)
            assert bt._median(values) == np.median(values)
            assert bt._p90(values) == np.percentile(values, 90)


def test_a_lone_component_is_a_line_exactly_when_letter_like_says_so():
    for min_h in (3, 5):
        for width in range(1, 40):
            for height in range(1, 25):
                one = np.array([width]), np.array([height]), np.array([30])
                assert bt._lone_letters(width, height, min_h) == bt._letter_like(*one, min_h)


def test_components_and_glyphs_match_opencv_labelling():
    rng = np.random.default_rng(5)
    for _ in range(20):
        strokes = cv2.dilate((rng.random((H, W)) < 0.004).astype(np.uint8),
                             np.ones((3, 2), np.uint8)) > 0
        n, labels, stats, _ = cv2.connectedComponentsWithStats(strokes.astype(np.uint8), 8)
        ours, (ys, xs, lab) = bt._components(strokes)
        np.testing.assert_array_equal(ours[1:], stats[1:])
        np.testing.assert_array_equal(lab, labels[ys, xs])
        glyphs = bt._glyph_components(strokes, 3, 6)
        _, fresh, fresh_stats, _ = cv2.connectedComponentsWithStats(
            glyphs.mask.astype(np.uint8), 8)
        np.testing.assert_array_equal(glyphs.labels, fresh)
        np.testing.assert_array_equal(glyphs.stats[1:], fresh_stats[1:])
