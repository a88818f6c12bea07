"""Red-team test bed for pixel de-identification: burned-in identifiers this project never drew.

Kept apart from the project's generator (`echocmr.simulate`) and from the data the stroke rules'
thresholds were tuned on, so neither can be fitted to it: text is rendered here with PIL in
DejaVu Sans / Serif / Mono (regular, bold, condensed), 9-20 px, with and without anti-aliasing,
on real vendor cines from pydicom-data (SonoSite YBR JPEG) and on moving tissue synthesised here,
from its own held-out seed (`REDTEAM_SEED`).

Families (one layout each; font, size, colour, codec and header flags vary per file):

  corner_block      GE-like 3-line block (name, MRN, birth date) in the top-left corner
  colour_two_line   two coloured lines (yellow name, cyan accession) top right
  bottom_bar        one line of name, MRN and exam date on a grey bar at the bottom
  over_tissue       a name typed inside the sector over moving tissue
  part_of_cine      name and MRN shown on frames 10-24 of 25 only (a label added mid-loop)
  sector_edge       a name whose line runs across the sector's edge
  small_unsmoothed  9-10 px text without anti-aliasing (name and MRN)
  colour_ybr        green/yellow text inside the sector, always YBR_FULL_422 JPEG

Files are real DICOM cines (pydicom; JPEG Baseline frames from Pillow, encapsulated; or RGB
native) with BurnedInAnnotation NO, YES or absent in turn, and an ultrasound region covering
the sector, the whole screen, or none. The truth of every planted identifier (its string, type,
frames shown, box and stroke mask) is kept beside the files.

Scoring (`score_file`), stricter than a box-brightness rule: an identifier is KEPT when
- any glyph of it survives with contrast: in some frame where it was shown, at least
  `GLYPH_SURVIVES` of the glyph's truth stroke pixels stand `STROKE_CONTRAST` levels above the
  median of the pixels just around its strokes (brightest channel), or
- a reader reads any token of it: Tesseract (`echocmr.media.ocr`, the project's wrapper) and, when
  installed, PP-OCR (`rapidocr_onnxruntime`) read the region around its truth box, in up to
  `READ_FRAMES` of the frames it was shown on.

    from deid_redteam import build_bed, score_file
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

REDTEAM_SEED = 2405_1777  # held out: never used to set a threshold or to tune the generator
N_FRAMES = 25
PART_FRAMES = (10, 25)  # part_of_cine: shown on frames [10, 25)
FAMILIES = ("corner_block", "colour_two_line", "bottom_bar", "over_tissue", "part_of_cine",
            "sector_edge", "small_unsmoothed", "colour_ybr")
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf",
              "DejaVuSansCondensed-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
              "DejaVuSerifCondensed.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf")
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
# Own name lists (not the generator's): none is a word printed on ultrasound screens.
FAMILY_NAMES = ("HALVORSEN", "OKONKWO", "VASQUEZ", "LINDQVIST", "NAKAMURA", "PETROVA",
                "ABERNATHY", "FITZGERALD", "MORCOMBE", "TREMBLAY", "KOWALCZYK", "DUBOIS",
                "ESPINOZA", "GALLAGHER", "IVANOVA", "SANTORO")
GIVEN_NAMES = ("MARGUERITE", "THEODORE", "BEATRIX", "LEOPOLD", "ROSALIND", "CORNELIUS",
               "HENRIETTA", "AUGUSTIN", "WILHELMINA", "BARNABY", "OTTILIE", "FREDERICK")
REAL_BACKGROUNDS = ("color3d_jpeg_baseline.dcm", "examples_ybr_color.dcm")
# Real ultrasound of pydicom-data scored for tissue lost (no text planted): name -> cardiac?
# The SonoSite cines are a parasternal view; the Philips files are obstetric, the GE stills a
# power-Doppler lymph node (reported beside the cardiac ones, not pooled with them).
REAL_FILES = {"color3d_jpeg_baseline.dcm": True, "examples_ybr_color.dcm": True,
              "OBXXXX1A_2frame.dcm": False, "OBXXXX1A_rle_2frame.dcm": False,
              "US1_UNCR.dcm": False, "US1_J2KR.dcm": False}

STROKE_CONTRAST = 40   # levels a surviving stroke pixel stands above the ground around it
GLYPH_SURVIVES = 0.4   # share of a glyph's stroke pixels that must stand out
MIN_GLYPH_PX = 6       # smaller stroke pieces (dots, JPEG crumbs of a glyph) are not scored alone
READ_FRAMES = 4
MIN_NAME_TOKEN = 3


# ----------------------------------------------------------------------------- fonts and text


def font_path(name: str) -> Path:
    """A DejaVu TTF from the system fonts, else matplotlib's copy (no condensed faces there:
    the regular face of the same family stands in)."""
    import matplotlib

    dirs = [*FONT_DIRS, Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"]
    for candidate in (name, name.replace("Condensed", "")):
        for d in dirs:
            if (d / candidate).is_file():
                return d / candidate
    raise FileNotFoundError(f"no DejaVu font {name} (install fonts-dejavu-core)")


@dataclass(frozen=True)
class Style:
    font: str
    size: int
    antialias: bool
    colour: tuple[int, int, int]

    def pil_font(self) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(font_path(self.font)), self.size)


def render_strokes(shape: tuple[int, int], xy: tuple[int, int], text: str,
                   style: Style) -> np.ndarray:
    """Coverage 0..1 of `text` drawn at `xy` (top-left of the ink box), (H, W) float32."""
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "L" if style.antialias else "1"
    font = style.pil_font()
    left, top, _, _ = draw.textbbox((0, 0), text, font=font)
    draw.text((xy[0] - left, xy[1] - top), text, fill=255, font=font)
    return np.asarray(canvas, np.float32) / 255.0


def text_size(text: str, style: Style) -> tuple[int, int]:
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox(
        (0, 0), text, font=style.pil_font())
    return right - left, bottom - top


# ----------------------------------------------------------------------------- backgrounds


@functools.lru_cache(maxsize=4)
def real_background(name: str, n_frames: int = N_FRAMES) -> np.ndarray:
    """(n, H, W, 3) uint8: the first n frames of a real vendor cine of pydicom-data."""
    from pydicom.data import get_testdata_file

    frames = read_frames_rgb(Path(get_testdata_file(name)), n_frames)
    frames.flags.writeable = False  # cached: callers copy before drawing
    return frames


def synthetic_background(rng: np.random.Generator, shape=(600, 800),
                         n_frames: int = N_FRAMES) -> np.ndarray:
    """(n, H, W, 3) uint8 grey: a sector (apex top centre, +-40 degrees) of speckle that
    decorrelates frame to frame, with two bright walls that swing with a beating period.
    Independent of `echocmr.simulate`."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    apex = (w / 2, 0.06 * h)
    radius = np.hypot(xx - apex[0], yy - apex[1])
    angle = np.degrees(np.arctan2(xx - apex[0], yy - apex[1]))
    sector = (np.abs(angle) < 40) & (radius > 0.04 * h) & (radius < 0.88 * h)
    base = cv2.GaussianBlur(rng.random((h, w), np.float32), (0, 0), 6)
    base = (base - base.min()) / (np.ptp(base) + 1e-6)
    frames = np.zeros((n_frames, h, w, 3), np.uint8)
    for t in range(n_frames):
        phase = 2 * np.pi * t / 12.0
        speckle = cv2.GaussianBlur(rng.random((h, w), np.float32), (0, 0), 1.2)
        speckle = (speckle - speckle.mean()) / speckle.std()  # unit speckle, new every frame
        tissue = 45 + 70 * base + 22 * speckle
        walls = np.zeros(w, np.float32)
        for centre, amp in ((0.35 * w, 18), (0.63 * w, 22)):  # vertical walls that swing
            walls += 110 * np.exp(-((np.arange(w) - centre - amp * np.sin(phase)) / 9.0) ** 2)
        tissue += walls[None, :] * (1 + 0.2 * speckle)
        depth_gain = np.clip(1.1 - radius / h, 0.3, 1.0)
        img = np.clip(tissue * depth_gain, 0, 255) * sector
        frames[t] = img.astype(np.uint8)[..., None]
    return frames


def moving_mask(frames: np.ndarray) -> np.ndarray:
    """Pixels that move over the cine: this bed's own sector estimate (for placing text)."""
    grey = frames.max(axis=-1).astype(np.int16)
    moving = (grey.max(axis=0) - grey.min(axis=0)) > 20
    moving = cv2.morphologyEx(moving.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(moving)
    if n < 2:
        return moving.astype(bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    hull = cv2.convexHull(np.argwhere(labels == largest)[:, ::-1].astype(np.int32))
    out = np.zeros_like(moving)
    cv2.fillConvexPoly(out, hull, 1)
    return out.astype(bool)


# ----------------------------------------------------------------------------- planted text


@dataclass
class Planted:
    """One planted identifier: its value, where and when it was drawn, and its strokes."""

    family: str
    kind: str  # person_name | mrn | birth_date | exam_date | accession_number
    value: str
    frames: tuple[int, int]  # shown on frames [start, stop)
    box: tuple[int, int, int, int]  # inclusive x0, y0, x1, y1 of its ink
    strokes: np.ndarray = field(repr=False)  # bool (H, W) truth stroke mask


@dataclass
class Line:
    """One drawn line: a non-identifying prefix (`ID:`) then the identifier value."""

    prefix: str
    value: str
    kind: str
    xy: tuple[int, int]
    style: Style
    frames: tuple[int, int] = (0, N_FRAMES)


def draw_line(frames: np.ndarray, line: Line, family: str) -> tuple[Planted, np.ndarray]:
    """Blend the line into its frames; returns the identifier's truth and the whole line's
    box (prefix included: text, though not identifying) as a mask."""
    shape = frames.shape[1:3]
    gap = text_size(line.prefix + " ", line.style)[0] if line.prefix else 0
    prefix = (render_strokes(shape, line.xy, line.prefix, line.style) if line.prefix
              else np.zeros(shape, np.float32))
    value = render_strokes(shape, (line.xy[0] + gap, line.xy[1]), line.value, line.style)
    cover = np.maximum(prefix, value)[..., None]
    colour = np.asarray(line.style.colour, np.float32)
    start, stop = line.frames
    frames[start:stop] = (frames[start:stop] * (1 - cover) + colour * cover).astype(np.uint8)
    strokes = value >= 0.5
    ys, xs = np.nonzero(strokes)
    box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
    line_box = np.zeros(shape, bool)
    ly, lx = np.nonzero(cover[..., 0] > 0)
    line_box[ly.min():ly.max() + 1, lx.min():lx.max() + 1] = True
    return Planted(family, line.kind, line.value, line.frames, box, strokes), line_box


@dataclass
class Identity:
    name: str
    mrn: str
    birth: dt.date
    exam: dt.date
    accession: str


def draw_identity(rng: np.random.Generator) -> Identity:
    birth = dt.date(1930, 1, 1) + dt.timedelta(days=int(rng.integers(0, 25000)))
    exam = dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3000)))
    return Identity(f"{rng.choice(FAMILY_NAMES)}^{rng.choice(GIVEN_NAMES)}",
                    f"{int(rng.integers(10**7, 10**8))}", birth, exam,
                    f"A{int(rng.integers(10**8, 10**9))}")


def pick_style(rng: np.random.Generator, sizes: tuple[int, int], colours, antialias=None,
               fonts=FONT_FILES) -> Style:
    return Style(str(rng.choice(fonts)), int(rng.integers(sizes[0], sizes[1] + 1)),
                 bool(rng.integers(0, 2)) if antialias is None else antialias,
                 tuple(int(c) for c in colours[int(rng.integers(0, len(colours)))]))


WHITES = ((255, 255, 255), (235, 235, 235), (210, 210, 210))
COLOURS = ((255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 160, 0), (255, 90, 255))


def shown_name(person: Identity) -> str:
    family, given = person.name.split("^")
    return f"{family}, {given}"


def sector_rows(sector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with sector pixels and, per such row, the sector's first and last column."""
    rows = np.nonzero(sector.any(axis=1))[0]
    first = np.array([np.argmax(sector[r]) for r in rows])
    last = np.array([sector.shape[1] - 1 - np.argmax(sector[r][::-1]) for r in rows])
    return rows, first, last


def lines_for(family: str, person: Identity, rng: np.random.Generator, sector: np.ndarray,
              shape: tuple[int, int]) -> list[Line]:
    """The lines of one family, placed on this background (its sector, its size)."""
    h, w = shape
    scale = h / 480  # real SonoSite cines are 240 or 480 rows; fonts keep to 9-20 px
    big = (max(9, int(11 * scale)), max(10, int(20 * scale)))
    rows, first, last = sector_rows(sector)
    mid = rows[len(rows) // 2]
    if family == "corner_block":
        style = pick_style(rng, big, WHITES)
        step = int(style.size * 1.4)
        y0 = int(0.2 * h)
        return [Line("", shown_name(person), "person_name", (4, y0), style),
                Line("ID:", person.mrn, "mrn", (4, y0 + step), style),
                Line("DOB:", person.birth.strftime("%d/%m/%Y"), "birth_date",
                     (4, y0 + 2 * step), style)]
    if family == "colour_two_line":
        a, b = pick_style(rng, big, COLOURS[:1]), pick_style(rng, big, COLOURS[1:2])
        text_w = max(text_size(person.name.replace("^", " "), a)[0],
                     text_size("Acc " + person.accession, b)[0])
        x = w - text_w - 6
        return [Line("", person.name.replace("^", " "), "person_name", (x, 4), a),
                Line("Acc", person.accession, "accession_number",
                     (x, 4 + int(a.size * 1.5)), b)]
    if family == "bottom_bar":
        style = pick_style(rng, big, WHITES)
        y = h - style.size - 8
        x = int(0.1 * w)
        name_w = text_size(shown_name(person) + "   ", style)[0]
        mrn_w = text_size(person.mrn + "   ", style)[0]
        return [Line("", shown_name(person), "person_name", (x, y), style),
                Line("", person.mrn, "mrn", (x + name_w, y), style),
                Line("", person.exam.strftime("%Y-%m-%d"), "exam_date",
                     (x + name_w + mrn_w, y), style)]
    if family == "over_tissue":
        style = pick_style(rng, (max(10, int(12 * scale)), max(12, int(16 * scale))), WHITES,
                           fonts=("DejaVuSansMono.ttf", "DejaVuSans.ttf", "DejaVuSerif.ttf"))
        text = person.name.split("^")[0]
        width = text_size(text, style)[0]
        i = int(np.searchsorted(rows, mid))
        return [Line("", text, "person_name",
                     (int((first[i] + last[i]) / 2 - width / 2), int(mid)), style)]
    if family == "part_of_cine":
        style = pick_style(rng, big, WHITES)
        y0 = int(0.55 * h)
        shown = PART_FRAMES
        return [Line("", shown_name(person), "person_name", (4, y0), style, shown),
                Line("MRN", person.mrn, "mrn", (4, y0 + int(style.size * 1.5)), style, shown)]
    if family == "sector_edge":
        style = pick_style(rng, big, WHITES)
        text = shown_name(person)
        width = text_size(text, style)[0]
        i = int(len(rows) * 0.4)
        return [Line("", text, "person_name", (int(first[i] - width / 2), int(rows[i])), style)]
    if family == "small_unsmoothed":
        style = pick_style(rng, (9, 10), WHITES + COLOURS[:2], antialias=False)
        y0 = int(0.12 * h)
        return [Line("", shown_name(person), "person_name", (int(0.78 * w) - 40, y0), style),
                Line("", person.mrn, "mrn", (int(0.78 * w) - 40, y0 + 13), style)]
    if family == "colour_ybr":
        a, b = pick_style(rng, big, COLOURS[2:3]), pick_style(rng, big, COLOURS[:1])
        i = int(len(rows) * 0.3)
        x = int(first[i] + 0.1 * (last[i] - first[i]))
        y = int(rows[i])
        return [Line("", person.name.split("^")[0], "person_name", (x, y), a),
                Line("", person.exam.strftime("%d.%m.%Y"), "exam_date",
                     (x, y + int(a.size * 1.5)), b)]
    raise ValueError(family)


# ----------------------------------------------------------------------------- DICOM writing


CODECS = ("jpeg_ybr", "rgb")
FLAGS = ("NO", "YES", None)
REGIONS = ("sector", "whole", None)


def us_region(x0: int, y0: int, x1: int, y1: int) -> Dataset:
    r = Dataset()
    r.RegionSpatialFormat, r.RegionDataType, r.RegionFlags = 1, 1, 0
    r.RegionLocationMinX0, r.RegionLocationMinY0 = x0, y0
    r.RegionLocationMaxX1, r.RegionLocationMaxY1 = x1, y1
    r.PhysicalUnitsXDirection = r.PhysicalUnitsYDirection = 3
    r.PhysicalDeltaX = r.PhysicalDeltaY = 0.03
    r.ReferencePixelX0 = r.ReferencePixelY0 = 0
    return r


def _uid(key: str, part: str) -> str:
    return generate_uid(entropy_srcs=[key, part])


def jpeg_frame(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, subsampling=1)  # 4:2:2, YBR_FULL_422
    return buf.getvalue()


def write_cine(path: Path, frames: np.ndarray, person: Identity, codec: str,
               burned: str | None, region: tuple[int, int, int, int] | None) -> None:
    """A multi-frame US DICOM with the identity in its header and the frames as given."""
    n, h, w, _ = frames.shape
    uid = functools.partial(_uid, f"{person.mrn}/{path.name}")  # same bed, same UIDs
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"  # US multi-frame
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = JPEGBaseline8Bit if codec == "jpeg_ybr" else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.Modality, ds.Manufacturer = "US", "RedTeam Imaging"
    ds.PatientName, ds.PatientID = person.name, person.mrn
    ds.PatientBirthDate = person.birth.strftime("%Y%m%d")
    ds.StudyDate = ds.SeriesDate = person.exam.strftime("%Y%m%d")
    ds.AccessionNumber, ds.PatientSex = person.accession, "F"
    ds.Rows, ds.Columns, ds.NumberOfFrames = h, w, n
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.FrameTime, ds.CineRate = 40.0, 25
    if burned is not None:
        ds.BurnedInAnnotation = burned
    if region is not None:
        ds.SequenceOfUltrasoundRegions = [us_region(*region)]
    if codec == "jpeg_ybr":
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.PixelData = encapsulate([jpeg_frame(f) for f in frames])
    else:
        ds.PhotometricInterpretation = "RGB"
        ds.PixelData = np.ascontiguousarray(frames).tobytes()
    ds.save_as(path, enforce_file_format=True)


# ----------------------------------------------------------------------------- the bed


@dataclass
class BedFile:
    path: Path
    family: str
    background: str
    codec: str
    burned: str | None
    region: str | None
    fonts: list[str]
    planted: list[Planted]
    text_mask: np.ndarray = field(repr=False)  # boxes of every drawn line, for tissue lost


def background_for(index: int, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """Real vendor cines and synthetic tissue in turn."""
    options = (*REAL_BACKGROUNDS, "synthetic")
    name = options[index % len(options)]
    if name == "synthetic":
        return name, synthetic_background(rng)
    return name, real_background(name)


def region_box(kind: str | None, sector: np.ndarray) -> tuple[int, int, int, int] | None:
    h, w = sector.shape
    if kind == "whole":
        return (0, 0, w - 1, h - 1)
    if kind == "sector":
        ys, xs = np.nonzero(sector)
        return (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
    return None


def make_file(out_dir: Path, family: str, index: int, rng: np.random.Generator) -> BedFile:
    background, frames = background_for(index, rng)
    person = draw_identity(rng)
    codec = "jpeg_ybr" if family == "colour_ybr" else CODECS[index % len(CODECS)]
    burned = FLAGS[(index // 3) % len(FLAGS)]
    region = REGIONS[(index // 2) % len(REGIONS)]
    lines = lines_for(family, person, rng, moving_mask(frames), frames.shape[1:3])
    return write_case(out_dir / f"{family}-{index:03d}.dcm", family, background, frames, person,
                      lines, codec, burned, region)


def write_case(path: Path, family: str, background: str, frames: np.ndarray, person: Identity,
               lines: list[Line], codec: str, burned: str | None,
               region: str | None) -> BedFile:
    """Draw `lines` on a copy of `frames` and write the cine with its truth."""
    frames = frames.copy()
    sector = moving_mask(frames)
    planted, ink = [], np.zeros(frames.shape[1:3], bool)
    for line in lines:
        truth, drawn = draw_line(frames, line, family)
        planted.append(truth)
        ink |= drawn
    write_cine(path, frames, person, codec, burned, region_box(region, sector))
    fonts = sorted({f"{ln.style.font}@{ln.style.size}px{'' if ln.style.antialias else ' no-AA'}"
                    for ln in lines})
    return BedFile(path, family, background, codec, burned, region, fonts, planted, ink)


def build_bed(out_dir: str | Path, per_family: int, seed: int = REDTEAM_SEED,
              families=FAMILIES) -> list[BedFile]:
    """`per_family` files of every family under out_dir (raw, identifiers burned in)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # the running number cycles backgrounds, codecs, header flags and regions across families
    return [make_file(out_dir, family, k * per_family + i, rng)
            for k, family in enumerate(families) for i in range(per_family)]


# ----------------------------------------------------------------------------- scoring


def read_frames_rgb(path: Path, limit: int | None = None) -> np.ndarray:
    """(n, H, W, 3) uint8 frames of a cine: JPEG Baseline frames by Pillow (YCbCr to RGB,
    not the project's decoder), anything else by pydicom."""
    ds = pydicom.dcmread(path)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit:
        out = []
        for i, fragment in enumerate(generate_frames(ds.PixelData, number_of_frames=n)):
            if limit is not None and i >= limit:
                break
            with Image.open(io.BytesIO(fragment)) as img:
                out.append(np.asarray(img.convert("RGB")))
        return np.stack(out)
    arr = ds.pixel_array
    if n == 1:
        arr = arr[None]
    if arr.ndim == 3:  # grey cine
        arr = np.repeat(arr[..., None], 3, axis=-1)
    return arr[:limit].astype(np.uint8)


def glyphs_of(strokes: np.ndarray) -> list[np.ndarray]:
    """Connected stroke pieces of a truth mask with at least MIN_GLYPH_PX pixels."""
    n, labels = cv2.connectedComponents(strokes.astype(np.uint8), connectivity=8)
    return [labels == i for i in range(1, n) if (labels == i).sum() >= MIN_GLYPH_PX]


def ground_ring(strokes: np.ndarray) -> np.ndarray:
    """Pixels 2-3 px around the strokes: the ground a reader sees the letters against."""
    inner = cv2.dilate(strokes.astype(np.uint8), np.ones((3, 3), np.uint8))
    outer = cv2.dilate(strokes.astype(np.uint8), np.ones((7, 7), np.uint8))
    return (outer > 0) & (inner == 0)


def glyph_survives(bright: np.ndarray, glyph: np.ndarray, ring: np.ndarray) -> bool:
    """True when the glyph still stands out from the ground around it in this frame."""
    ys, xs = np.nonzero(glyph)
    y0, y1, x0, x1 = max(ys.min() - 4, 0), ys.max() + 5, max(xs.min() - 4, 0), xs.max() + 5
    local = ring[y0:y1, x0:x1]
    if not local.any():
        return False
    ground = float(np.median(bright[y0:y1, x0:x1][local]))
    stand = bright[glyph].astype(np.float32) - ground >= STROKE_CONTRAST
    return float(stand.mean()) >= GLYPH_SURVIVES


def strokes_survive(frames: np.ndarray, planted: Planted) -> bool:
    bright = frames.max(axis=-1)  # brightest channel: coloured text stands out in it
    ring = ground_ring(planted.strokes)
    glyphs = glyphs_of(planted.strokes)
    start, stop = planted.frames
    return any(glyph_survives(bright[t], g, ring)
               for t in range(start, min(stop, len(bright))) for g in glyphs)


def tokens_of(planted: Planted) -> list[str]:
    """What a reader must not read: name parts of 3+ letters; a number or date as its digits."""
    if planted.kind == "person_name":
        return [p for p in re.split(r"[^A-Z]+", planted.value.upper()) if len(p) >= MIN_NAME_TOKEN]
    return [re.sub(r"\D", "", planted.value)]


def token_read(tokens: list[str], text: str) -> bool:
    from echocmr.audit.pixels import repair_ocr

    for variant in (text, repair_ocr(text)):
        letters = re.sub(r"[^A-Z]", "", variant.upper())
        digits = re.sub(r"\D", "", variant)
        for token in tokens:
            if (token.isdigit() and token in digits) or (token.isalpha() and token in letters):
                return True
    return False


def read_crop(frame: np.ndarray, box: tuple[int, int, int, int], pad: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    h, w = frame.shape[:2]
    return frame[max(y0 - pad, 0):min(y1 + pad + 1, h), max(x0 - pad, 0):min(x1 + pad + 1, w)]


@functools.lru_cache(maxsize=1)
def _pp_rec():
    """PP-OCRv4's recogniser (ONNX weights inside the `rapidocr-onnxruntime` wheel) run by
    onnxruntime with this bed's own pre- and post-processing (not the project's
    `scene_text`, not rapidocr's code); None when the weights or onnxruntime are missing."""
    import importlib.util

    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or importlib.util.find_spec("onnxruntime") is None:
        return None
    model = Path(spec.submodule_search_locations[0]) / "models" / "ch_PP-OCRv4_rec_infer.onnx"
    if not model.is_file():
        return None
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    chars = session.get_modelmeta().custom_metadata_map["character"].splitlines()
    return session, ["", *chars, " "]  # CTC blank first, space last


def pp_read_line(crop: np.ndarray) -> str:
    """One text line read by the PP-OCRv4 recogniser (greedy CTC)."""
    session, chars = _pp_rec()
    height = 48
    width = min(height * 25, max(8, int(np.ceil(height * crop.shape[1] / max(1, crop.shape[0])))))
    bgr = cv2.resize(np.ascontiguousarray(crop[..., ::-1]), (width, height))
    batch = (bgr.transpose(2, 0, 1)[None].astype(np.float32) / 127.5) - 1
    probs = session.run(None, {session.get_inputs()[0].name: batch})[0][0]
    best = probs.argmax(axis=1)
    keep = (best != 0) & np.concatenate([[True], best[1:] != best[:-1]])
    return "".join(chars[i] if i < len(chars) else "" for i in best[keep])


def readers_available() -> list[str]:
    return ["tesseract"] + (["pp-ocr"] if _pp_rec() is not None else [])


def read_texts(frame: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, str]:
    """What each reader reads around one planted box of one frame (RGB): Tesseract over the
    region (sparse text), PP-OCR's recogniser on the line itself."""
    from echocmr.media import ocr

    height = box[3] - box[1] + 1
    region = read_crop(frame, box, pad=max(6, height))
    out = {"tesseract": " ".join(w.text for w in ocr.read_text(region)) if region.any() else ""}
    if _pp_rec() is not None:
        line = read_crop(frame, box, pad=max(3, height // 3))
        out["pp-ocr"] = pp_read_line(line) if line.any() else ""
    return out


def read_frames_of(planted: Planted, n_frames: int) -> list[int]:
    start, stop = planted.frames[0], min(planted.frames[1], n_frames)
    return sorted(set(np.linspace(start, stop - 1, READ_FRAMES).round().astype(int).tolist()))


def who_reads(frames: np.ndarray, planted: Planted) -> list[str]:
    """Readers that read a token of the identifier around its box in some shown frame."""
    tokens = tokens_of(planted)
    readers = set()
    for t in read_frames_of(planted, len(frames)):
        readers |= {name for name, text in read_texts(frames[t], planted.box).items()
                    if token_read(tokens, text)}
    return sorted(readers)


@dataclass
class Score:
    family: str
    kind: str
    strokes_kept: bool
    read_by: list[str]

    @property
    def kept(self) -> bool:
        return self.strokes_kept or bool(self.read_by)


def score_file(path: Path, planted: list[Planted]) -> list[Score]:
    """One score per planted identifier of a (de-identified or raw) cine."""
    frames = read_frames_rgb(path)
    return [Score(p.family, p.kind, strokes_survive(frames, p), who_reads(frames, p))
            for p in planted]


def tissue_lost(path: Path, text_mask: np.ndarray) -> float | None:
    """Share of the sector that text removal would blank outside every drawn line's box
    (2 px margin), from the project's `keep_mask`; None when it finds no sector."""
    from echocmr.deid import pixels as dp

    ds = pydicom.dcmread(path)
    area = dp.keep_mask(ds, path, dp.plan_pixels(ds))
    if not area.sector.any():
        return None
    drawn = cv2.dilate(text_mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    # sector = kept before text removal, mask = after: whatever any text rule took
    lost = area.sector & ~area.mask & ~drawn
    return float(lost.sum() / area.sector.sum())


# ----------------------------------------------------------------------------- running the bed


@dataclass
class FileResult:
    """What de-identification did with one bed file, and what is left of its identifiers."""

    family: str
    name: str
    background: str
    codec: str
    burned_in_source: str | None
    region: str | None
    outcome: str  # "written" or the exclusion reason
    burned_in_written: str | None
    scores: list[Score]
    tissue_lost: float | None
    seconds: float

    @property
    def kept(self) -> list[Score]:
        return [s for s in self.scores if s.kept]


def deidentify_bed_file(bed_file: BedFile, out_dir: Path, secret: str) -> FileResult:
    """Run the project's `deidentify_file` (what `rule deidentify` runs per file) and score
    its output against the truth."""
    import time

    from echocmr.deid.pixels import PixelError, deidentify_file

    dest = out_dir / bed_file.path.name
    start = time.perf_counter()
    try:
        deidentify_file(bed_file.path, dest, secret)
        outcome = "written"
    except PixelError as exc:
        outcome = exc.reason
    seconds = time.perf_counter() - start
    written_flag, scores = None, []
    if dest.exists():
        written_flag = str(pydicom.dcmread(dest, stop_before_pixels=True)
                           .get("BurnedInAnnotation", "")) or None
        scores = score_file(dest, bed_file.planted)
    return FileResult(bed_file.family, bed_file.path.name, bed_file.background, bed_file.codec,
                      bed_file.burned, bed_file.region, outcome, written_flag, scores,
                      tissue_lost(bed_file.path, bed_file.text_mask), seconds)


def shares_summary(shares: list[float]) -> dict:
    if not shares:
        return {"cines": 0}
    arr = np.asarray(shares)
    return {"cines": len(shares), "median": float(np.median(arr)),
            "p99": float(np.quantile(arr, 0.99)), "worst": float(arr.max())}


def summarise(results: list[FileResult]) -> dict:
    """Identifiers kept (by strokes, by each reader), refusals and flags, per family and all."""
    def block(rows: list[FileResult]) -> dict:
        scores = [s for r in rows for s in r.scores]
        planted = sum(len(r.scores) if r.outcome == "written" else 0 for r in rows)
        return {"files": len(rows), "written": sum(r.outcome == "written" for r in rows),
                "refused": sum(r.outcome != "written" for r in rows),
                "identifiers_in_written": planted,
                "identifiers_kept": sum(s.kept for s in scores),
                "kept_by_strokes": sum(s.strokes_kept for s in scores),
                "read_by": {name: sum(name in s.read_by for s in scores)
                            for name in readers_available()},
                "files_with_kept": sum(bool(r.kept) for r in rows),
                "flag_no_with_text_left": sum(bool(r.kept) and r.burned_in_written == "NO"
                                              for r in rows),
                "tissue_lost": shares_summary([r.tissue_lost for r in rows
                                               if r.tissue_lost is not None])}

    families = sorted({r.family for r in results}, key=FAMILIES.index)
    by_flag = {str(flag): block([r for r in results if r.burned_in_source == flag])
                for flag in FLAGS}
    return {"all": block(results),
            "by_family": {f: block([r for r in results if r.family == f]) for f in families},
            "by_source_flag": by_flag,
            "refusal_reasons": dict(sorted(_count(r.outcome for r in results
                                                  if r.outcome != "written").items())),
            "readers": readers_available()}


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def real_file_results(out_dir: Path, secret: str) -> list[dict]:
    """The real pydicom-data ultrasound files (no planted text): written or refused, and the
    share of the sector that text removal takes (all of it counts: no truth to spare)."""
    from pydicom.data import get_testdata_file

    from echocmr.deid.pixels import PixelError, deidentify_file

    rows = []
    for name, cardiac in REAL_FILES.items():
        path = Path(get_testdata_file(name))
        try:
            deidentify_file(path, out_dir / name, secret)
            outcome = "written"
        except PixelError as exc:
            outcome = exc.reason
        header = pydicom.dcmread(path, stop_before_pixels=True)
        shape = (int(header.Rows), int(header.Columns))
        try:
            lost = tissue_lost(path, np.zeros(shape, bool))
        except Exception:  # noqa: BLE001 - a file keep_mask cannot read has no share to report
            lost = None
        rows.append({"file": name, "cardiac": cardiac, "outcome": outcome, "tissue_lost": lost})
    return rows
