"""Find burned-in text in a cine from its pixels: static, high-contrast, glyph-shaped strokes.

Used twice: by de-identification, to find text left inside the kept area after the header and
pixel masks (sonographer annotations, a banner inside a region that covers the whole screen), and
by the pixel audit, to find residue in the de-identified output. Detection is cheap (a few
morphological operations on two images per cine); OCR (`echocmr.media.ocr`) then confirms
candidates.

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

from echocmr.media.regions import luminance

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


def _median(values: np.ndarray) -> float:
    """np.median of a small array, without its overhead (same value: the middle one, or the
    mean of the two middle ones)."""
    v = np.sort(values, axis=None)
    mid = v.size // 2
    return float(v[mid]) if v.size % 2 else (float(v[mid - 1]) + float(v[mid])) / 2


def _p90(values: np.ndarray) -> float:
    """np.percentile(values, 90) of a small array (linear interpolation, numpy's arithmetic),
    without its overhead: called once per glyph and per line."""
    v = np.sort(values, axis=None)
    pos = (v.size - 1) * 0.9
    if pos >= v.size - 1:
        return float(v[-1])
    i = int(pos)
    t, a, b = pos - i, float(v[i]), float(v[i + 1])
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


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


@dataclass(frozen=True)
class _Glyphs:
    """Glyph-like components of a stroke mask: the mask, their labels 1..n (0 elsewhere, in the
    order connected-component labelling gives them), stats rows as OpenCV's (row 0 unused), and
    the row, column and label of each of their pixels."""

    mask: np.ndarray
    labels: np.ndarray
    stats: np.ndarray
    pixels: tuple[np.ndarray, np.ndarray, np.ndarray]


def _components(strokes: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """8-connected components of a sparse mask: stats rows as cv2.connectedComponentsWithStats
    gives them (left, top, width, height, area; row 0 unused) and (rows, cols, labels) of their
    pixels. Stats from the few stroke pixels, not from a pass over the whole image (3x faster
    on a 256x192 frame with 0.5% strokes)."""
    n, labels = cv2.connectedComponents(strokes.astype(np.uint8), connectivity=8)
    ys, xs = np.nonzero(strokes)
    lab = labels[ys, xs]
    stats = np.zeros((n, 5), np.int32)
    left, top = np.full(n, strokes.shape[1], np.int32), np.full(n, strokes.shape[0], np.int32)
    right, bottom = np.full(n, -1, np.int32), np.full(n, -1, np.int32)
    np.minimum.at(left, lab, xs)
    np.minimum.at(top, lab, ys)
    np.maximum.at(right, lab, xs)
    np.maximum.at(bottom, lab, ys)
    stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP] = left, top
    stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT] = right - left + 1, bottom - top + 1
    stats[:, cv2.CC_STAT_AREA] = np.bincount(lab, minlength=n)
    return stats, (ys, xs, lab)


def _glyph_components(strokes: np.ndarray, min_h: int, max_h: int) -> _Glyphs:
    """The connected components whose size and fill look like glyphs."""
    stats, (ys, xs, lab) = _components(strokes)
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    area = stats[1:, cv2.CC_STAT_AREA]
    fill = area / np.maximum(1, w * h)
    # Glyphs: short, not much wider than a few characters, strokes (not solid blobs); a lone
    # dot or hyphen is kept only as part of a line (grouping below needs a real glyph nearby).
    ok = (h <= max_h) & (w <= 4 * max_h) & (area >= 2) & ((fill <= 0.8) | (area <= 6))
    # Renumbered 1..kept in the same order: what labelling the kept components alone gives
    # (dropping whole components changes neither the others' pixels nor their order).
    renumber = np.zeros(len(stats), np.int32)
    renumber[1:][ok] = np.arange(1, int(ok.sum()) + 1, dtype=np.int32)
    new = renumber[lab]
    ys, xs, new = ys[new > 0], xs[new > 0], new[new > 0]
    labels = np.zeros(strokes.shape, np.int32)
    labels[ys, xs] = new
    mask = np.zeros(strokes.shape, bool)
    mask[ys, xs] = True
    return _Glyphs(mask, labels, np.concatenate([stats[:1], stats[1:][ok]]), (ys, xs, new))


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
    on_baseline = np.abs(bottoms[tall] - _median(bottoms[tall])) <= max(1, heights.max() // 4)
    # glyph area (not count) decides: dots, commas and hyphens are small
    return bool(on_baseline.mean() >= 0.75 and (widths * heights)[tall].sum()
                >= 0.6 * (widths * heights).sum())


def _lone_letters(width: int, height: int, min_h: int) -> bool:
    """`_letter_like` of a single component: letters merged into one wide component (a lone
    letter is not a line), and then it is its own baseline and all of its area."""
    return width > 1.5 * height and height >= min_h + 2


def _letters_beside_a_tall_one(widths: np.ndarray, heights: np.ndarray, bottoms: np.ndarray,
                               min_h: int) -> bool:
    """Letters beside a component much taller than they are (a letter merged with a wall, or
    with a label above): letter-like once it is set aside. The tall one alone would make every
    real letter look short (an MRN typed in the sector was found only by luck)."""
    big = heights >= min_h
    if not big.any():
        return False
    rest = heights <= 1.5 * _median(heights[big])
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
    if left.size == 1:  # most groups are one component: `_letter_like`'s verdict, directly
        return [np.arange(1)] if _lone_letters(int(widths[0]), int(heights[0]), min_h) else []
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
    typical = _median(heights[heights >= min_h]) if (heights >= min_h).any() else heights.max()
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
    letter = _median(last[console] - first[console] + 1)
    return console | ((overlap >= 0.5 * heights) & (heights <= 1.5 * letter))


def _stroke_stats(ids: np.ndarray, gl_labels: np.ndarray, gl_stats: np.ndarray,
                  strength: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per glyph component: how far its strokes stand out (90th percentile), and its first and
    last row where they stand out like console text (its own rows when none does)."""
    p90, first, last = np.zeros(ids.size), np.zeros(ids.size, int), np.zeros(ids.size, int)
    for k, i in enumerate(ids):
        x, y, w, h = (int(v) for v in gl_stats[i, :4])
        own = gl_labels[y:y + h, x:x + w] == i
        p90[k] = _p90(strength[y:y + h, x:x + w][own])
        rows = np.flatnonzero((own & (strength[y:y + h, x:x + w] >= CONSOLE_CONTRAST)).any(1))
        # one row more each side: a letter's anti-aliased top and bottom edges are fainter
        first[k], last[k] = ((y + max(0, rows[0] - 1), y + min(h - 1, rows[-1] + 1))
                             if rows.size else (y, y + h - 1))
    return p90, first, last


def _lines(glyphs: _Glyphs, strength: np.ndarray, static: np.ndarray, image: np.ndarray,
           min_h: int, max_h: int, light: bool) -> list[TextBox]:
    """Group glyph components into line boxes; a line needs one glyph of at least min_h rows."""
    gap = max(3, max_h // 3)  # characters and words of one line are closer than this
    # Horizontal only: glyphs of one line share rows; a wall or valve above or below does not
    # join the line (it would make a box OCR cannot read and blanking would take tissue).
    joined = cv2.dilate(glyphs.mask.astype(np.uint8),
                        cv2.getStructuringElement(cv2.MORPH_RECT, (2 * gap + 1, 1)))
    _, labels = cv2.connectedComponents(joined, connectivity=8)
    gl_labels, gl_stats = glyphs.labels, glyphs.stats
    planes = (gl_labels, glyphs.mask, strength, static, image)
    out = []
    for ids in _glyphs_per_line(labels, glyphs, min_h):
        left, top = gl_stats[ids, cv2.CC_STAT_LEFT], gl_stats[ids, cv2.CC_STAT_TOP]
        right = left + gl_stats[ids, cv2.CC_STAT_WIDTH] - 1
        bottom = top + gl_stats[ids, cv2.CC_STAT_HEIGHT] - 1
        for m in _line_members(left, top, right, bottom, min_h):
            if bottom[m].max() - top[m].min() + 1 > max_h:  # taller than any line of text
                continue
            p90, first, last = _stroke_stats(ids[m], gl_labels, gl_stats, strength)
            kept = _without_tissue_ends(m, p90, left, right, bottom - top + 1)
            m, p90, first, last = m[kept], p90[kept], first[kept], last[kept]
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


def _glyphs_per_line(line_labels: np.ndarray, glyphs: _Glyphs, min_h: int) -> list[np.ndarray]:
    """Glyph labels (ascending) of each joined line, lines in label order, keeping the lines
    with a glyph of min_h rows at least. A glyph lies whole in one line: its dilation holds it."""
    n_glyphs = len(glyphs.stats) - 1
    if n_glyphs == 0:
        return []
    ys, xs, labels = glyphs.pixels
    line_of = np.zeros(n_glyphs + 1, np.int64)
    line_of[labels] = line_labels[ys, xs]
    order = np.argsort(line_of[1:], kind="stable") + 1
    starts = np.flatnonzero(np.diff(line_of[order], prepend=-1))
    tallest = np.maximum.reduceat(glyphs.stats[order, cv2.CC_STAT_HEIGHT], starts)
    return [ids for ids, h in zip(np.split(order, starts[1:]), tallest, strict=True)
            if h >= min_h]


def _line_box(ids: np.ndarray, x0: int, x1: int, y0: int, y1: int, light: bool,
              planes: tuple[np.ndarray, ...]) -> TextBox:
    """The padded box of one line's glyphs `ids`, with its contrast, static share and level."""
    gl_labels, glyphs, strength, static, image = planes
    h_img, w_img = glyphs.shape
    pad = 2  # anti-aliasing and JPEG ringing reach a pixel or two past the strokes
    box = TextBox(max(0, int(x0) - pad), max(0, int(y0) - pad), min(w_img - 1, int(x1) + pad),
                  min(h_img - 1, int(y1) + pad), int(ids.size), light)
    inside = np.isin(gl_labels[box.slices()], ids) & glyphs[box.slices()]
    contrast = int(_p90(strength[box.slices()][inside]))
    around = static[box.slices()][~inside]
    return dataclasses.replace(
        box, contrast=contrast, static_share=float(around.mean()) if around.size else 1.0,
        level=int(_median(image[box.slices()][inside])))


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
    return Candidates(sorted(boxes, key=lambda b: (b.y0, b.x0)), light.mask, dark.mask)


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
