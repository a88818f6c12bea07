"""Find burned-in text in a cine from its pixels: static, high-contrast, glyph-shaped strokes.

Used twice: by de-identification, to find text left inside the kept area after the header and
pixel masks (sonographer annotations, a banner inside a region that covers the whole screen), and
by the pixel audit, to find residue in the de-identified output. Detection is cheap (a few
morphological operations on two images per cine); OCR (`echocmr.ocr`) then confirms candidates.

Over a cine, each pixel's minimum `lo` and maximum `hi` luminance are kept. Light text is bright
in every frame, so it stays bright in `lo` while speckle, which moves, does not; dark text on a
light bar stays dark in `hi`. A top-hat (black-hat) keeps strokes thinner than a glyph-sized
kernel and drops wide structures (tissue, bars, the sector itself). Components of glyph size are
then grouped into line boxes. A still image has no motion, so there everything static passes and
OCR has to decide.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from echocmr.ingest.regions import luminance

# A stroke must stand this many grey levels above (below) its surroundings, in every frame.
CONTRAST = 50
# Static text varies little from frame to frame (JPEG ringing from moving neighbours only).
STATIC_TOLERANCE = 40
# Frames (evenly spread) whose min/max a cine's text search reads, in de-identification and in
# the PHI audit alike: both must judge "static" on the same frames, or a name over slowly moving
# tissue can look static to one and not to the other (a 32-of-37-frame sample hid one).
TEXT_SCAN_FRAMES = 64
# Strokes this far above (below) their surroundings are drawn like console text: the console
# draws text near full brightness (pure green: 150), while static bright tissue (a wall that
# barely moves) stood 50-140 above its surroundings in the synthetic export.
CONSOLE_CONTRAST = 144
# A component at the end of a console-drawn line standing out less than this is tissue.
TISSUE_END_CONTRAST = 108
# Rows of one line of text lie at most this far apart (the dot of an i, a colon's two dots).
ROW_GAP = 2


@dataclass(frozen=True)
class TextBox:
    """A line of glyphs: inclusive pixel box, number of glyph components, light or dark text."""

    x0: int
    y0: int
    x1: int
    y1: int
    n_glyphs: int
    light: bool
    contrast: int = 0  # 90th percentile of the strokes' height above their surroundings
    static_share: float = 1.0  # share of the other pixels of the box that are static
    level: int = 0  # median grey level of the strokes (light: in `lo`, dark: in `hi`)

    @property
    def area(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1 + 1), slice(self.x0, self.x1 + 1)


class TemporalStats:
    """Per-pixel min and max luminance over the frames of a cine (bounded memory)."""

    def __init__(self) -> None:
        self.n = 0
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None

    def add(self, frame: np.ndarray) -> None:
        lum = luminance(frame)
        if self.lo is None:
            self.lo, self.hi = lum.copy(), lum.copy()
        else:
            np.minimum(self.lo, lum, out=self.lo)
            np.maximum(self.hi, lum, out=self.hi)
        self.n += 1


def glyph_limits(rows: int) -> tuple[int, int]:
    """Smallest and largest glyph height (pixels) searched for in an image of `rows` rows."""
    return 3, max(24, rows // 10)


def stroke_kernel(rows: int) -> int:
    """Side of the top-hat kernel: wider than a whole console glyph (small fonts draw digits as
    solid blobs 5-7 px wide, which a stroke-sized kernel would erase), so every glyph survives;
    wide structures (bars, the sector) do not, and the line filters below drop tissue."""
    return max(9, (rows // 24) | 1)


def stroke_strength(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each pixel stands above (light) or below (dark) its glyph-sized surroundings in
    every frame: top-hat of the minimum, black-hat of the maximum."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (stroke_kernel(lo.shape[0]),) * 2)
    return (cv2.morphologyEx(lo, cv2.MORPH_TOPHAT, kernel),
            cv2.morphologyEx(hi, cv2.MORPH_BLACKHAT, kernel))


def is_static(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Pixels whose luminance hardly changes over the cine."""
    return (hi.astype(np.int16) - lo) <= STATIC_TOLERANCE


def stroke_mask(strength: tuple[np.ndarray, np.ndarray], static: np.ndarray,
                within: np.ndarray | None = None,
                contrast: int = CONTRAST) -> tuple[np.ndarray, np.ndarray]:
    """(light, dark) boolean masks of static strokes thinner than a glyph, inside `within`."""
    light = (strength[0] >= contrast) & static
    dark = (strength[1] >= contrast) & static
    if within is not None:
        light &= within
        dark &= within
    return light, dark


def _glyph_components(strokes: np.ndarray, min_h: int, max_h: int) -> np.ndarray:
    """Mask of the connected components whose size and fill look like glyphs."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(strokes.astype(np.uint8), 8)
    if n <= 1:
        return np.zeros(strokes.shape, bool)
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    area = stats[1:, cv2.CC_STAT_AREA]
    fill = area / np.maximum(1, w * h)
    # Glyphs: short, not much wider than a few characters, strokes (not solid blobs); a lone
    # dot or hyphen is kept only as part of a line (grouping below needs a real glyph nearby).
    ok = (h <= max_h) & (w <= 4 * max_h) & (area >= 2) & ((fill <= 0.8) | (area <= 6))
    keep = np.zeros(n, bool)
    keep[1:] = ok
    return keep[labels]


def _letter_like(widths: np.ndarray, heights: np.ndarray, bottoms: np.ndarray,
                 min_h: int) -> bool:
    """A line of text has two letters at least (or letters merged into one wide component)
    standing on one baseline, and letters make up most of it; the bright edge of a wall or a
    row of tissue fibres breaks into flat dashes of every size, which are not letters."""
    tall = heights >= max(min_h + 1, 0.6 * heights.max())
    letters = tall & (widths <= 1.5 * heights)
    merged = tall & (widths > 1.5 * heights)
    if not (int(letters.sum()) >= 2 or bool(merged.any() and heights.max() >= min_h + 2)):
        return False
    on_baseline = np.abs(bottoms[tall] - np.median(bottoms[tall])) <= max(1, heights.max() // 4)
    # glyph area (not count) decides: dots, commas and hyphens are small
    return bool(on_baseline.mean() >= 0.75 and (widths * heights)[tall].sum()
                >= 0.6 * (widths * heights).sum())


def _letters_beside_a_tall_one(widths: np.ndarray, heights: np.ndarray, bottoms: np.ndarray,
                               min_h: int) -> bool:
    """Letters beside a component much taller than they are (a letter merged with a wall, or
    with a label above): letter-like once it is set aside. The tall one alone would make every
    real letter look short (an MRN typed in the sector was found only by luck)."""
    big = heights >= min_h
    if not big.any():
        return False
    rest = heights <= 1.5 * np.median(heights[big])
    return bool((~rest).any() and rest.sum() >= 2 and _letter_like(
        widths[rest], heights[rest], bottoms[rest], min_h))


def _baseline_groups(bottoms: np.ndarray, heights: np.ndarray) -> list[np.ndarray]:
    """Indices of glyphs split where their bottoms jump: two labels side by side at different
    heights (an annotation next to a measurement) join horizontally but are two lines."""
    order = np.argsort(bottoms, kind="stable")
    tolerance = max(1, int(heights.max()) // 4)
    cuts = np.flatnonzero(np.diff(bottoms[order]) > tolerance) + 1
    return np.split(order, cuts)


def _line_members(left, top, right, bottom, min_h: int) -> list[np.ndarray]:
    """Glyph indices of each text line in one horizontally joined group.

    Usually the group is one line. When it is not letter-like as a whole, it may be two lines
    side by side at different heights: each baseline group is tried on its own, and glyphs that
    share most of a found line's rows (descenders, punctuation) go with it."""
    widths, heights = right - left + 1, bottom - top + 1
    if _letter_like(widths, heights, bottom, min_h) or _letters_beside_a_tall_one(
            widths, heights, bottom, min_h):
        return [np.arange(left.size)]
    found = []
    for idx in _baseline_groups(bottom, heights):
        if idx.size and heights[idx].max() >= min_h and _letter_like(
                widths[idx], heights[idx], bottom[idx], min_h):
            found.append(idx)
    members = []
    for idx in found:
        y0, y1 = top[idx].min(), bottom[idx].max()
        x0, x1 = left[idx].min(), right[idx].max()
        overlap = np.minimum(bottom, y1) - np.maximum(top, y0) + 1
        near = (right >= x0 - min_h) & (left <= x1 + min_h)
        members.append(np.flatnonzero((overlap >= 0.5 * heights) & near))
    return members


def _letter_rows(top: np.ndarray, bottom: np.ndarray, min_h: int,
                 console: np.ndarray, strong: tuple[np.ndarray, np.ndarray]) -> tuple[int, int]:
    """First and last row of a line's letters. A bright wall touching the line makes a
    component much taller than the letters; its rows above and below the letters are tissue.
    A tall component drawn like console text (`console`) may be two labels whose strokes touch
    (an MRN typed half a line above a measurement), or a label touching a wall: its rows where
    strokes stand out like console text (`strong`: first and last such row) are text and stay
    in the box; the wall's fainter rows do not."""
    heights = bottom - top + 1
    typical = np.median(heights[heights >= min_h]) if (heights >= min_h).any() else heights.max()
    letters = (heights <= 1.5 * typical) & ~console
    tall = console
    tops = np.concatenate([top[letters], strong[0][tall]])
    bottoms = np.concatenate([bottom[letters], strong[1][tall]])
    return int(tops.min()), int(bottoms.max())


def _without_tissue_ends(m: np.ndarray, p90: np.ndarray, left: np.ndarray,
                         right: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """A line drawn like console text, less the components at its ends that are not: static
    tissue (the bright edge of a wall, in dashes and blobs) that the horizontal join glued to a
    label typed in the sector. Such a component is flat (at most half a letter's height: no
    letter or digit) or faint (well below console contrast, `TISSUE_END_CONTRAST`; in the
    synthetic export 13 of 13,200 text components were, all one-pixel slivers of a letter whose
    body stays). Inside the line nothing is cut.
    Returns which of the line's glyphs `m` stay (bool, per glyph)."""
    console = p90 >= CONSOLE_CONTRAST
    if not console.any():
        return np.ones(m.size, bool)
    tall = heights[m].max()
    kept = console | ((heights[m] > tall // 2) & (p90 >= TISSUE_END_CONTRAST))
    first, last = left[m][kept].min(), right[m][kept].max()
    return (right[m] >= first) & (left[m] <= last)


def _on_the_console_rows(p90: np.ndarray, top: np.ndarray, bottom: np.ndarray,
                         first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """A line drawn like console text, less the components that are not and lie mostly above
    or below the rows where its console-drawn strokes are, or are much taller than its
    console-drawn letters: bits of a wall the horizontal join glued to a label typed over it
    (above, below or through the letters, inside the line, where `_without_tissue_ends` does
    not look). Returns which components stay (bool)."""
    console = p90 >= CONSOLE_CONTRAST
    if not console.any() or console.all():
        return np.ones(p90.size, bool)
    band0, band1 = first[console].min(), last[console].max()
    heights = bottom - top + 1
    overlap = np.minimum(bottom, band1) - np.maximum(top, band0) + 1
    letter = np.median(last[console] - first[console] + 1)
    return console | ((overlap >= 0.5 * heights) & (heights <= 1.5 * letter))


def _stroke_stats(ids: np.ndarray, gl_labels: np.ndarray, gl_stats: np.ndarray,
                  strength: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per glyph component: how far its strokes stand out (90th percentile), and its first and
    last row where they stand out like console text (its own rows when none does)."""
    p90, first, last = np.zeros(ids.size), np.zeros(ids.size, int), np.zeros(ids.size, int)
    for k, i in enumerate(ids):
        x, y, w, h = (int(v) for v in gl_stats[i, :4])
        own = gl_labels[y:y + h, x:x + w] == i
        p90[k] = np.percentile(strength[y:y + h, x:x + w][own], 90)
        rows = np.flatnonzero((own & (strength[y:y + h, x:x + w] >= CONSOLE_CONTRAST)).any(1))
        # one row more each side: a letter's anti-aliased top and bottom edges are fainter
        first[k], last[k] = ((y + max(0, rows[0] - 1), y + min(h - 1, rows[-1] + 1))
                             if rows.size else (y, y + h - 1))
    return p90, first, last


def _lines(glyphs: np.ndarray, strength: np.ndarray, static: np.ndarray, image: np.ndarray,
           min_h: int, max_h: int, light: bool) -> list[TextBox]:
    """Group glyph components into line boxes; a line needs one glyph of at least min_h rows."""
    h_img, w_img = glyphs.shape
    gap = max(3, max_h // 3)  # characters and words of one line are closer than this
    g8 = glyphs.astype(np.uint8)
    # Horizontal only: glyphs of one line share rows; a wall or valve above or below does not
    # join the line (it would make a box OCR cannot read and blanking would take tissue).
    joined = cv2.dilate(g8, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * gap + 1, 1)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, 8)
    _, gl_labels, gl_stats, _ = cv2.connectedComponentsWithStats(g8, 8)
    # which glyph lies in which line (every glyph pixel is inside its dilated line)
    pairs = np.unique(np.stack([labels[glyphs], gl_labels[glyphs]]), axis=1)
    out = []
    for i in range(1, n):
        ids = pairs[1, pairs[0] == i]
        if ids.size == 0 or gl_stats[ids, cv2.CC_STAT_HEIGHT].max() < min_h:
            continue
        left, top = gl_stats[ids, cv2.CC_STAT_LEFT], gl_stats[ids, cv2.CC_STAT_TOP]
        right = left + gl_stats[ids, cv2.CC_STAT_WIDTH] - 1
        bottom = top + gl_stats[ids, cv2.CC_STAT_HEIGHT] - 1
        for m in _line_members(left, top, right, bottom, min_h):
            if bottom[m].max() - top[m].min() + 1 > max_h:  # taller than any line of text
                continue
            p90, first, last = _stroke_stats(ids[m], gl_labels, gl_stats, strength)
            kept = _without_tissue_ends(m, p90, left, right, bottom - top + 1)
            m, p90, first, last = m[kept], p90[kept], first[kept], last[kept]
            planes = (gl_labels, glyphs, strength, static, image)
            y0, y1 = _letter_rows(top[m], bottom[m], min_h, p90 >= CONSOLE_CONTRAST,
                                  (first, last))
            whole = _line_box(ids[m], left[m].min(), right[m].max(), y0, y1, light, planes)
            if whole.contrast < CONSOLE_CONTRAST:
                out.append(whole)
                continue
            # Drawn like console text as a whole: its boxes shrink to the console-drawn rows
            # and keep the line's verdict (a part never turns from blanked to left).
            kept = _on_the_console_rows(p90, top[m], bottom[m], first, last)
            m, p90, first, last = m[kept], p90[kept], first[kept], last[kept]
            for part in _console_row_groups(p90, top[m], bottom[m], first, last):
                mp = m[part]
                y0, y1 = _letter_rows(top[mp], bottom[mp], min_h,
                                      p90[part] >= CONSOLE_CONTRAST, (first[part], last[part]))
                box = _line_box(ids[mp], left[mp].min(), right[mp].max(), y0, y1, light, planes)
                out.append(dataclasses.replace(box, contrast=max(box.contrast, whole.contrast)))
    return out


def _line_box(ids: np.ndarray, x0: int, x1: int, y0: int, y1: int, light: bool,
              planes: tuple[np.ndarray, ...]) -> TextBox:
    """The padded box of one line's glyphs `ids`, with its contrast, static share and level."""
    gl_labels, glyphs, strength, static, image = planes
    h_img, w_img = glyphs.shape
    pad = 2  # anti-aliasing and JPEG ringing reach a pixel or two past the strokes
    box = TextBox(max(0, int(x0) - pad), max(0, int(y0) - pad), min(w_img - 1, int(x1) + pad),
                  min(h_img - 1, int(y1) + pad), int(ids.size), light)
    inside = np.isin(gl_labels[box.slices()], ids) & glyphs[box.slices()]
    contrast = int(np.percentile(strength[box.slices()][inside], 90))
    around = static[box.slices()][~inside]
    return dataclasses.replace(
        box, contrast=contrast, static_share=float(around.mean()) if around.size else 1.0,
        level=int(np.median(image[box.slices()][inside])))


def _console_row_groups(p90: np.ndarray, top: np.ndarray, bottom: np.ndarray,
                        first: np.ndarray, last: np.ndarray) -> list[np.ndarray]:
    """A line drawn like console text split where its rows part: two labels typed at different
    heights that the horizontal join made one line (an annotation above an MRN) get a box each,
    not one box over the tissue between them. Rows: a console-drawn component's strong rows,
    another's own; rows closer than `ROW_GAP` stay together (the dot of an i, a colon)."""
    console = p90 >= CONSOLE_CONTRAST
    if not console.any():
        return [np.arange(p90.size)]
    y0, y1 = np.where(console, first, top), np.where(console, last, bottom)
    order = np.argsort(y0, kind="stable")
    groups, reach = [[order[0]]], y1[order[0]]
    for i in order[1:]:
        if y0[i] > reach + ROW_GAP:
            groups.append([])
        groups[-1].append(i)
        reach = max(reach, y1[i]) if len(groups[-1]) > 1 else y1[i]
    return [np.sort(np.asarray(g)) for g in groups]


@dataclass(frozen=True)
class Candidates:
    """Line boxes plus the glyph-stroke masks they were found in (light and dark text)."""

    boxes: list[TextBox]
    light: np.ndarray
    dark: np.ndarray

    def ocr_image(self, box: TextBox) -> np.ndarray:
        """The strokes of one line, black on white: OCR reads them even where the text lies
        over bright tissue, which a grey crop would give it as clutter."""
        strokes = (self.light if box.light else self.dark)[box.slices()]
        return np.where(strokes, 0, 255).astype(np.uint8)


def find_candidates(lo: np.ndarray, hi: np.ndarray, within: np.ndarray | None = None,
                    contrast: int = CONTRAST) -> Candidates:
    """Line boxes of static, high-contrast, glyph-shaped components inside `within`."""
    min_h, max_h = glyph_limits(lo.shape[0])
    strength = stroke_strength(lo, hi)
    static = is_static(lo, hi)
    light, dark = stroke_mask(strength, static, within, contrast)
    light, dark = _glyph_components(light, min_h, max_h), _glyph_components(dark, min_h, max_h)
    boxes = (_lines(light, strength[0], static, lo, min_h, max_h, True)
             + _lines(dark, strength[1], static, hi, min_h, max_h, False))
    return Candidates(sorted(boxes, key=lambda b: (b.y0, b.x0)), light, dark)


def text_candidates(lo: np.ndarray, hi: np.ndarray, within: np.ndarray | None = None,
                    contrast: int = CONTRAST) -> list[TextBox]:
    """Line boxes only (see find_candidates)."""
    return find_candidates(lo, hi, within, contrast).boxes


def line_boxes_mask(boxes: list[TextBox], shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask, True inside the box of every line."""
    mask = np.zeros(shape, bool)
    for b in boxes:
        mask[b.slices()] = True
    return mask
