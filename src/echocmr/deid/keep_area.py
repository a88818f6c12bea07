"""Which pixels of a cine may be kept: header regions x scan sector from the pixels - text.

The header's SequenceOfUltrasoundRegions is a hint, not the truth: some vendors declare one
region covering the whole screen, banner included. So the kept area is

1. the declared 2D tissue regions (or the whole image when there are none),
2. intersected with the scan sector found from the pixels (the moving fan, or the rectangle of a
   linear probe: `regions.fan_mask_from_pixels`), slightly dilated so no tissue edge is lost;
   a cine without a moving sector (a frozen loop) keeps the header regions and relies on step 3
   alone; one with neither is refused (`no_tissue_region`);
3. minus every line of burned-in text still inside it (`burned_text` candidates confirmed by
   OCR). A line that passes on contrast alone ("drawn like console text") is blanked only when
   the learned detector sees text there too or OCR reads a word: bright tissue can be as
   static and as contrasted as console text,
4. minus every box the learned text detector (`echocmr.media.scene_text`, PP-OCRv4) finds inside it
   on frames spread over the cine, whether static or not, unless a blanked line of step 3
   already covers the text it marked (its boxes are looser than the stroke lines'); a box is
   cut down to the strokes of its text plus 2 px (`glyph_boxes`: pixels near the text's level
   in every frame the box was found on, and the blob the detector marked inside the text).

Then the result is checked: text is searched again inside the kept area and OCR must find
none that reads as text; every box of the learned detector was blanked (cut to its strokes).
(It is not run a second time on the cleaned frames: the black of a blanked box makes it see
new 'text' around the hole, a 147x109 box at 0.96 on a real apical view; the pixel audit reads
the written file with it again.) Only then is the cine `verified` (BurnedInAnnotation may be
NO); otherwise it is refused with `burned_in_text_unresolved`, as it is when the text to blank
would take more than `MAX_TEXT_SHARE` of the tissue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from echocmr.deid import burned_text as bt
from echocmr.media import ocr, scene_text
from echocmr.media import regions as reg

# Blanking text must not take more than this share of the tissue area (the text's own boxes
# included: sonographers' labels and measurements can cover a sixth of a small sector); beyond
# it, refuse the cine rather than share a sector that is mostly holes.
MAX_TEXT_SHARE = 0.25
# OCR evidence that a candidate line is text (confirm: blank it). Tesseract's confidence is low
# on tiny console fonts even when it reads them right, so characters count more than confidence.
CONFIRM_MIN_CHARS, CONFIRM_MIN_CONF = 3, 40.0
CONFIRM_TOTAL_CHARS, CONFIRM_TOTAL_CONF = 4, 0.0
# ... and that text survived cleaning (the cine is then refused).
RESIDUE_MIN_CHARS, RESIDUE_MIN_CONF = 4, 50.0
# In a moving sector a candidate line whose strokes stand out like console text in every frame
# is burned in whatever OCR reads.
TEXT_CONTRAST = bt.CONSOLE_CONTRAST
# A line lies on a static ground when at least this share of the rest of its box is static.
STATIC_GROUND = 0.5
# ... dark strokes count as console-drawn only on a static ground, and only when drawn: strokes
# as black as the screen's background are that background seen between bright structures (the
# fan's edge and the ECG trace: median level 6 in the synthetic export), not text; pure black
# text is left to OCR.
DRAWN_DARK_LEVEL = 12
# ... light strokes off a static ground (mostly among moving pixels) only when they stand out by
# LIGHT_OVER_MOTION_CONTRAST: the speckle of a static bright wall between moving ones (a linear
# probe's near wall) reaches console contrast, while text drawn over moving tissue stands out by
# its colour against the tissue's darkest frame. In the 140-patient bench export such light
# lines stood out by 174-225 when drawn text and by 145-157 when tissue (which OCR then reads as
# nothing; one took 5.8% of a sector).
LIGHT_OVER_MOTION_CONTRAST = 165
# A line judged by OCR alone is read a second time at another scale: text reads the same,
# static tissue texture does not (in the 140-patient synthetic export every one of the 27 lines
# blanked by OCR alone was tissue read as words like 'thee' or 'wens', and none was confirmed;
# names and MRNs read the same at 3x, 4x and 6x).
SECOND_UPSCALE = 3
# A stroke line is seen by the learned detector when its boxes cover this share of the line's.
SEEN_SHARE = 0.25
# ... and its text is already blanked when stroke lines cover this share of the blob it marked.
EXPLAINED_SHARE = 0.8
# A learned box is DBNet's blob grown by the unclip distance, 3-5 px past the letters of a
# sector label (`MV`, `IVSd 1.1 cm`): blanked whole it took up to 15% of a small sector's tissue
# outside the drawn text. It is cut down to its glyph pixels plus this margin (the 2 px a stroke
# line's box has; anti-aliased edges lie within it) ...
GLYPH_MARGIN = 2
# ... where a glyph pixel stands this far from the ground in every frame the box was found on
# (light text in their minimum, dark text in their maximum): the text is on each of those
# frames, moving speckle is not bright (or dark) in all of them. Below the 40 levels from
# which the red-team bed counts a glyph as kept.
GLYPH_CONTRAST = 30
# Glyph pixels are within this of the text's level (its strokes; anti-aliased edges and JPEG
# ringing lie within the margin).
TEXT_SPREAD = 60
# Glyph pixels covering more of the box than this are not a few letters' strokes (a bright
# wall, a chamber): the box is blanked whole.
MAX_GLYPH_SHARE = 0.6


# OCR words of the crops already read for one cine, by box and pixels
OcrCache = dict[bytes, list[ocr.Word]]


@dataclass
class KeepArea:
    """The kept-pixel mask of one cine and how it was reached (logged, and in the shard table)."""

    mask: np.ndarray
    source: str  # header+pixels | header | pixels
    sector: np.ndarray  # kept pixels before text removal
    text_boxes: list[bt.TextBox] = field(default_factory=list)
    # boxes of the learned detector inside the sector (None: it was not run, stroke rules only)
    learned: list[scene_text.TextRegion] | None = None
    learned_frame: list[int] = field(default_factory=list)  # the frame each was found on
    learned_blanked: int = 0  # of those, blanked beyond the stroke lines
    verified: bool = False
    ocr_calls: int = 0
    ocr_cache: OcrCache = field(default_factory=dict, repr=False)

    @property
    def text_share(self) -> float:
        """Share of the tissue area blanked because text was found there."""
        base = int(self.sector.sum())
        return 1.0 - float(self.mask.sum()) / base if base else 0.0


def sector_area(header: np.ndarray | None, fan: np.ndarray) -> tuple[np.ndarray, str]:
    """Step 1-2: the header regions intersected with the (dilated) pixel sector."""
    rows, cols = fan.shape
    if header is None:
        return fan, "pixels"
    if not fan.any():  # nothing sector-like in the pixels: the header alone, text removal next
        return header, "header"
    r = max(2, min(rows, cols) // 50)
    grown = cv2.dilate(fan.astype(np.uint8),
                       cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return header & grown.astype(bool), "header+pixels"


def reads_as_text(words: Iterable[ocr.Word], min_chars: int, min_conf: float,
                  total_chars: int | None = None, total_conf: float = 0.0) -> bool:
    """OCR evidence: one word with enough characters at enough confidence, or (optionally)
    enough characters in all at a lower mean confidence."""
    words = [w for w in words if w.alnum]
    if any(len(w.alnum) >= min_chars and w.confidence >= min_conf for w in words):
        return True
    if total_chars is None or not words:
        return False
    n = sum(len(w.alnum) for w in words)
    mean = sum(w.confidence * len(w.alnum) for w in words) / n
    return n >= total_chars and mean >= total_conf


def _crop_key(box: bt.TextBox, image: np.ndarray, upscale: int) -> bytes:
    return f"{box.x0},{box.y0},{box.x1},{box.y1},{box.light},{upscale}".encode() + image.tobytes()


def _read(found: bt.Candidates, boxes: list[bt.TextBox], cache: OcrCache,
          upscale: int = ocr.UPSCALE) -> tuple[list[list[ocr.Word]], bool]:
    """OCR these candidate lines (at most one engine call; returns the words per line and
    whether the engine ran). A crop read by an earlier look of the same cine (same box, same
    pixels, same scale) is not read again: the second look and the residue check mostly see
    the lines the first look kept."""
    images = [found.ocr_image(b) for b in boxes]
    keys = [_crop_key(b, image, upscale) for b, image in zip(boxes, images, strict=True)]
    todo = {key: image for key, image in zip(keys, images, strict=True) if key not in cache}
    if todo:
        cache.update(zip(todo, ocr.read_crops(list(todo.values()), upscale), strict=True))
    return [cache[key] for key in keys], bool(todo)


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def confirmed(first: list[ocr.Word], second: list[ocr.Word]) -> list[ocr.Word]:
    """Words of the first reading that the second also found: the same characters (one edit
    allowed in words of four or more: OCR confuses 0/8, l/1 at one scale), at the lower of the
    two confidences."""
    out = []
    for w in first:
        a = w.alnum.lower()
        if not a:
            continue
        scores = [v.confidence for v in second if v.alnum and _edit_distance(
            a, v.alnum.lower()) <= (1 if len(a) >= 4 else 0)]
        if scores:
            out.append(ocr.Word(w.text, min(w.confidence, max(scores)), w.box))
    return out


def _drawn_like_console(box: bt.TextBox) -> bool:
    if box.contrast < TEXT_CONTRAST:
        return False
    on_static_ground = box.static_share >= STATIC_GROUND
    if box.light:
        return on_static_ground or box.contrast >= LIGHT_OVER_MOTION_CONTRAST
    return on_static_ground and box.level > DRAWN_DARK_LEVEL


def _ocr_rule(words: list[ocr.Word], moving: bool) -> bool:
    """OCR evidence that a line is text: a clear word in a moving sector; in a frozen cine the
    lenient rule tiny fonts need (there contrast cannot tell text from tissue)."""
    if moving:
        return reads_as_text(words, RESIDUE_MIN_CHARS, RESIDUE_MIN_CONF)
    return reads_as_text(words, CONFIRM_MIN_CHARS, CONFIRM_MIN_CONF, CONFIRM_TOTAL_CHARS,
                         CONFIRM_TOTAL_CONF)


def is_burned_in(box: bt.TextBox, words: list[ocr.Word], moving: bool,
                 second: list[ocr.Word] | None = None, seen_as_text: bool = True) -> bool:
    """Blank this candidate line?

    In a moving sector: strokes that stand out like console text, or a word OCR reads as
    clearly as the residue check would. Light strokes mostly among moving pixels must stand
    out more (`LIGHT_OVER_MOTION_CONTRAST`: static wall speckle gets to console contrast, not
    that far); below it OCR decides. Dark strokes count only between static pixels (light
    text over static bright tissue is found as the dark gaps between its letters; the dark
    holes of a flickering colour-flow box are not text) and only when drawn (not the black
    background); dark text needs a static ground for OCR to decide either (in the 140-patient
    bench export every dark line blanked that was text had static_share >= 0.52; the one at
    0.41 was the gap between two walls, read "mong" twice). In a frozen cine OCR alone
    decides, with the lenient rule tiny fonts need.
    What OCR alone decides must be read the same a second time (`second`, at another scale):
    static tissue is read as a few garbage characters, or as a word only at one scale.
    Contrast alone needs agreement: a console-drawn line that the learned detector does not
    see as text (`seen_as_text`) and in which OCR reads no word is tissue (a bright posterior
    wall was blanked that way, 6% of a real sector)."""
    if moving and _drawn_like_console(box):
        # a word, not characters in all: tissue reads as 'oo eee ee'
        return seen_as_text or reads_as_text(words, CONFIRM_MIN_CHARS, CONFIRM_MIN_CONF)
    if moving and not box.light and box.static_share < STATIC_GROUND:
        return False  # the dark ground between moving walls, whatever OCR reads into it
    if not _ocr_rule(words, moving):
        return False
    return second is not None and _ocr_rule(confirmed(words, second), moving)


def _needs_second_reading(box: bt.TextBox, words: list[ocr.Word], moving: bool) -> bool:
    return not (moving and _drawn_like_console(box)) and _ocr_rule(words, moving)


def _read_twice(area: KeepArea, found: bt.Candidates, moving: bool,
                rule=_needs_second_reading) -> tuple[list[list[ocr.Word]],
                                                     list[list[ocr.Word] | None]]:
    """Every candidate line read once; the lines whose fate rests on OCR alone read again."""
    words, called = _read(found, found.boxes, area.ocr_cache)
    area.ocr_calls += called
    again = [b for b, w in zip(found.boxes, words, strict=True) if rule(b, w, moving)]
    seconds, called = _read(found, again, area.ocr_cache, SECOND_UPSCALE)
    area.ocr_calls += called
    by_box = dict(zip(again, seconds, strict=True))
    return words, [by_box.get(b) for b in found.boxes]


def _overlap(a: bt.TextBox, b: bt.TextBox) -> bool:
    return a.x0 <= b.x1 and b.x0 <= a.x1 and a.y0 <= b.y1 and b.y0 <= a.y1


def _shadow_of_light_text(box: bt.TextBox, words: list[ocr.Word],
                          judged: list[tuple[bt.TextBox, list[ocr.Word]]]) -> bool:
    """A dark line judged burned in by contrast alone, over a light line judged burned in: the
    dark ground around light letters (a chamber seen between them), not text of its own. Its
    box reaches far into the tissue around the letters; blanking the light line removes the
    text, and the next look and the residue check read what is left."""
    if box.light or reads_as_text(words, RESIDUE_MIN_CHARS, RESIDUE_MIN_CONF):
        return False
    return any(other.light and _overlap(box, other) for other, _ in judged)


def _as_cleaned(lo: np.ndarray, hi: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min/max images as the cleaned file will show them: blanked pixels black."""
    return np.where(mask, lo, 0).astype(lo.dtype), np.where(mask, hi, 0).astype(hi.dtype)


def seen_by_learned(box: bt.TextBox, learned: np.ndarray | None) -> bool:
    """Whether the learned detector's boxes (`learned`: their mask; None when it did not run)
    cover at least SEEN_SHARE of this stroke line's box."""
    return learned is None or float(learned[box.slices()].mean()) >= SEEN_SHARE


def _blank_burned_in(area: KeepArea, lo: np.ndarray, hi: np.ndarray, moving: bool) -> bool:
    """One look for text lines inside the kept area; blank those judged burned in. Returns
    whether any line was blanked."""
    found = bt.find_candidates(lo, hi, area.mask)
    words, seconds = _read_twice(area, found, moving)
    learned = (None if area.learned is None
               else scene_text.regions_mask(area.learned, area.mask.shape))
    judged = [(b, w) for b, w, w2 in zip(found.boxes, words, seconds, strict=True)
              if is_burned_in(b, w, moving, w2, seen_by_learned(b, learned))]
    burned = [b for b, w in judged if not _shadow_of_light_text(b, w, judged)]
    area.text_boxes += burned
    # the whole line box: small console fonts draw some glyphs as solid blobs that no stroke
    # filter sees, and a redaction box leaves no letter shape behind
    area.mask = area.mask & ~bt.line_boxes_mask(burned, area.mask.shape)
    return bool(burned)


def explained_by_lines(region: scene_text.TextRegion, lines: np.ndarray) -> bool:
    """Whether blanked stroke lines (`lines`: their mask) already cover the text the learned
    detector marked: most of the blob inside the text (its core) is blanked. Its own box is
    grown to the text's edges and then some (a 9-px label gets a 16-21 px box), so where both
    detectors found the same text the stroke line's tighter box is what is blanked."""
    if region.core is None:
        return False
    x0, y0, x1, y1 = region.core
    return float(lines[y0:y1 + 1, x0:x1 + 1].mean()) >= EXPLAINED_SHARE


def lines_across_box(region: scene_text.TextRegion, lines: np.ndarray) -> np.ndarray:
    """Where a stroke line explains a learned box: the line's rows inside the box, across the
    box's full width. A stroke line can stop short of an end letter that the learned box holds
    (a name crossing the sector edge kept two thirds of its `I`); its rows bound the text's
    height, the learned box its length."""
    out = np.zeros_like(lines)
    box = region.slices()
    rows = np.flatnonzero(lines[box].any(axis=1))
    if rows.size:
        y0 = box[0].start
        out[y0 + rows[0]:y0 + rows[-1] + 1, box[1]] = True
    return out


def _same_place(a: scene_text.TextRegion, b: scene_text.TextRegion) -> bool:
    """Two boxes of one line on two frames: they overlap by most of the smaller."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0) + 1
    h = min(a.y1, b.y1) - max(a.y0, b.y0) + 1
    return w > 0 and h > 0 and w * h >= 0.5 * min(a.area, b.area)


def _ground(values: np.ndarray, ring: np.ndarray, light: bool) -> float:
    """The level text stands out from: the box's lower quartile (upper, for dark text: thin
    strokes are the minority of a line's box) or the median of the ring around it, whichever
    marks more pixels as glyph (more is blanked, never less)."""
    inside = float(np.percentile(values, 25 if light else 75))
    if not ring.size:
        return inside
    around = float(np.median(ring))
    return min(inside, around) if light else max(inside, around)


def _luma(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    return (frame.max(axis=-1) if frame.ndim == 3 else frame).astype(np.int16)


def _text_polarity(region: scene_text.TextRegion, light: np.ndarray, dark: np.ndarray,
                   x0: int, y0: int) -> str | None:
    """Which glyph pixels are the text's: those of the blob DBNet marked inside the text (its
    core) when only one polarity is there; when both are, the fewer (strokes are the thinner
    part of a line: light letters on a chamber leave most of the core dark); None when there
    is neither, no core, or as many of each."""
    if region.core is None:
        return None
    cx0, cy0, cx1, cy1 = region.core
    core = np.s_[cy0 - y0:cy1 - y0 + 1, cx0 - x0:cx1 - x0 + 1]
    n_light, n_dark = int(light[core].sum()), int(dark[core].sum())
    if n_light == n_dark:
        return None
    if not (n_light and n_dark):
        return "light" if n_light else "dark"
    return "light" if n_light < n_dark else "dark"


def _near_text_level(image: np.ndarray, glyph: np.ndarray, region: scene_text.TextRegion,
                     x0: int, y0: int, light: bool) -> np.ndarray:
    """Glyph pixels within TEXT_SPREAD of the text's own level (the 90th percentile of the
    glyph pixels in the core, from the ground's side): a label is drawn in one colour, static
    tissue glued to it (a slow wall stays bright in every frame) mostly is not."""
    cx0, cy0, cx1, cy1 = region.core
    core = np.s_[cy0 - y0:cy1 - y0 + 1, cx0 - x0:cx1 - x0 + 1]
    level = float(np.percentile(image[core][glyph[core]], 90 if light else 10))
    return glyph & ((image >= level - TEXT_SPREAD) if light else (image <= level + TEXT_SPREAD))


def glyph_boxes(region: scene_text.TextRegion, frames: list[np.ndarray]
                ) -> list[scene_text.TextRegion]:
    """A learned box cut down to the strokes of its text: the pixels standing GLYPH_CONTRAST
    from the ground in all `frames` (the frames the box was found on: its text is on each of
    them), of the text's polarity (`_text_polarity`) and within TEXT_SPREAD of its level,
    grouped into clusters of nearby strokes (two labels in one box get a box each), each
    cluster's box plus GLYPH_MARGIN, and the blob DBNet marked inside the text (its core) plus
    GLYPH_MARGIN. The box itself when the polarity is unclear, no pixel stands out, or most of
    the box does (not letters)."""
    rows, cols = np.asarray(frames[0]).shape[:2]
    y0, y1 = max(0, region.y0 - GLYPH_MARGIN), min(rows - 1, region.y1 + GLYPH_MARGIN)
    x0, x1 = max(0, region.x0 - GLYPH_MARGIN), min(cols - 1, region.x1 + GLYPH_MARGIN)
    # crop before the luma: the box is a sliver of the frame (was ~6% of de-identification)
    stack = np.stack([_luma(np.asarray(f)[y0:y1 + 1, x0:x1 + 1]) for f in frames])
    inner = np.zeros(stack.shape[1:], bool)
    inner[region.y0 - y0:region.y1 - y0 + 1, region.x0 - x0:region.x1 - x0 + 1] = True
    lo, hi = stack.min(axis=0), stack.max(axis=0)
    light = (lo >= _ground(lo[inner], lo[~inner], True) + GLYPH_CONTRAST) & inner
    dark = (hi <= _ground(hi[inner], hi[~inner], False) - GLYPH_CONTRAST) & inner
    # one polarity: the dark pixels around light letters are the chamber they lie on, not
    # glyphs, and the other way round; a box whose text could be either is blanked whole
    polarity = _text_polarity(region, light, dark, x0, y0)
    if polarity is None:
        return [region]
    glyph = _near_text_level(lo if polarity == "light" else hi,
                             light if polarity == "light" else dark, region, x0, y0,
                             polarity == "light")
    if not glyph.any() or glyph[inner].mean() > MAX_GLYPH_SHARE:
        return [region]
    # strokes of one word lie within a margin of each other; a gap wider than two margins
    # (between labels) separates clusters
    near = cv2.dilate(glyph.astype(np.uint8), np.ones((2 * GLYPH_MARGIN + 1,) * 2, np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=8)
    spans = [(x0 + int(x) + GLYPH_MARGIN, y0 + int(y) + GLYPH_MARGIN,
              x0 + int(x + w - 1) - GLYPH_MARGIN, y0 + int(y + h - 1) - GLYPH_MARGIN)
             for x, y, w, h, _ in stats[1:n]]
    if region.core is not None:
        spans.append(region.core)
    m = GLYPH_MARGIN
    return [scene_text.TextRegion(max(region.x0, a - m), max(region.y0, b - m),
                                  min(region.x1, c + m), min(region.y1, d + m),
                                  region.score, region.core) for a, b, c, d in spans]


def _tightened(area: KeepArea, regions: list[scene_text.TextRegion],
               frames: list[np.ndarray] | None) -> list[scene_text.TextRegion]:
    """Each region cut to its glyphs (`glyph_boxes`) on the frames where the detector found a
    box at its place."""
    if not frames or len(area.learned_frame) != len(area.learned):
        return regions
    out = []
    for region in regions:
        seen = sorted({i for other, i in zip(area.learned, area.learned_frame, strict=True)
                       if _same_place(region, other)})
        out += glyph_boxes(region, [frames[i] for i in seen]) if seen else [region]
    return out


def _blank_learned(area: KeepArea, frames: list[np.ndarray] | None = None) -> None:
    """Blank every learned box whose text no blanked stroke line covers (cut down to its
    glyphs), and widen the lines that do cover one to the box's length."""
    lines = bt.line_boxes_mask(area.text_boxes, area.mask.shape)
    explained = [explained_by_lines(r, lines) for r in area.learned]
    extra = [r for r, done in zip(area.learned, explained) if not done]
    area.learned_blanked = len(extra)
    extra = _tightened(area, extra, frames)
    area.mask = area.mask & ~scene_text.regions_mask(extra, area.mask.shape)
    for region in (r for r, done in zip(area.learned, explained) if done):
        area.mask &= ~lines_across_box(region, lines)


def remove_text(area: KeepArea, lo: np.ndarray, hi: np.ndarray, moving: bool,
                frames: list[np.ndarray] | None = None, threads: int = 1) -> KeepArea:
    """Step 3: blank text lines, then check that none is left.

    A line is blanked when OCR reads it as text. In a moving sector a static line of
    letter-shaped strokes that stands out like console text (`TEXT_CONTRAST`) is blanked too,
    whatever OCR reads: OCR cannot read the smallest console fonts over tissue. In a frozen cine
    everything is static and tissue can be as bright as text, so OCR alone decides.

    The second look and the check read the pixels as the cleaned file shows them (blanked
    areas black), as the PHI audit does: a name typed next to a measurement label can hide in
    the label's surroundings until the label is blanked (measured: 3 names in 3 cines of the
    240-patient demo were kept by a single look on the raw pixels and found by the audit).
    When the first look blanks nothing, the second is skipped: all it would see anew is the
    area outside the mask turned black, and the check below reads exactly that image and
    refuses the cine if text is left (on the 140-patient bench export, skipping it changed the
    outcome of none of 840 cines and saved a third of the candidate search).

    `frames` (frames spread over the cine, `scene_text.LEARNED_FRAMES`) are read first by the
    learned detector inside the sector; after the stroke lines, every box it found whose text
    they do not cover is blanked, static or not (a label shown on part of the cine, a name over
    moving tissue that JPEG broke into fragments)."""
    area.text_boxes = []
    if frames is not None:
        per_frame = scene_text.detect_within(frames, area.mask, threads, per_frame=True)
        area.learned = [box for boxes in per_frame for box in boxes]
        area.learned_frame = [i for i, boxes in enumerate(per_frame) for _ in boxes]
    if _blank_burned_in(area, lo, hi, moving):
        _blank_burned_in(area, *_as_cleaned(lo, hi, area.mask), moving)
    if area.learned:
        _blank_learned(area, frames)
    if area.text_share > MAX_TEXT_SHARE:
        return area
    cleaned = _as_cleaned(lo, hi, area.mask)
    residue = bt.find_candidates(*cleaned)
    leftover, seconds = _read_twice(area, residue, True, _residue_needs_second_reading)
    area.verified = not any(is_residue(b, w, w2) for b, w, w2 in zip(
        residue.boxes, leftover, seconds, strict=True))
    return area


def _residue_needs_second_reading(box: bt.TextBox, words: list[ocr.Word], moving: bool) -> bool:
    return box.contrast < TEXT_CONTRAST and reads_as_text(words, RESIDUE_MIN_CHARS,
                                                          RESIDUE_MIN_CONF)


def is_residue(box: bt.TextBox, words: list[ocr.Word], second: list[ocr.Word] | None) -> bool:
    """Text left in the cleaned pixels (the cine is refused): a clear word on a line whose
    strokes stand out like console text (read once: a frozen cine's banner inside a
    whole-screen region must not pass because one reading of it failed), or a clear word read
    the same twice, unless it is dark between moving pixels (not text, as in `is_burned_in`;
    everything is static in a frozen cine, so there this never applies)."""
    if not reads_as_text(words, RESIDUE_MIN_CHARS, RESIDUE_MIN_CONF):
        return False
    if box.contrast >= TEXT_CONTRAST:
        return True
    if not box.light and box.static_share < STATIC_GROUND:
        return False  # as in is_burned_in: the dark ground between moving walls
    return second is not None and reads_as_text(confirmed(words, second), RESIDUE_MIN_CHARS,
                                                RESIDUE_MIN_CONF)


def keep_area(header: np.ndarray | None, fan: np.ndarray, lo: np.ndarray,
              hi: np.ndarray, moving: bool = True, frames: list[np.ndarray] | None = None,
              threads: int = 1) -> KeepArea:
    """The kept-pixel mask of one cine (`lo`/`hi`: per-pixel min/max luminance over its
    frames; `moving`: the sector was found from motion; `frames`: frames spread over the cine
    for the learned detector, None to use the stroke rules alone); an empty mask means no
    tissue region was found."""
    mask, source = sector_area(header, fan)
    area = KeepArea(mask=mask, source=source, sector=mask.copy())
    if not mask.any():
        return area
    return remove_text(area, lo, hi, moving and source != "header", frames, threads)


def header_mask(ds) -> np.ndarray | None:
    """Declared 2D tissue regions as a mask, or None when the header declares none."""
    regions = reg.tissue_regions(ds)
    if not regions:
        return None
    return reg.regions_mask(regions, int(ds.Rows), int(ds.Columns))
