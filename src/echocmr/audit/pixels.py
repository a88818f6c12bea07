"""PHI gate, pixel part: read burned-in text left in the frames under results/ and match it
against the raw identifier catalogue.

What is read (every file under results/ that holds frames):
- every DICOM with pixel data (the de-identified cines of results/deid/, and any other);
- every AVI/MP4/MOV (the crop stage's viewing copies, results/crop/shards-<n>/shard-N/avi/);
- every video of every frame store (`frames.npy` beside an `index.csv`,
  results/crop/shards-<n>/shard-N/);
- every PNG/JPEG image (the figures), read whole by the learned reader at a 150-dpi print
  size, upright and turned a quarter, each box recognised by both readers (`read_figure`);
  the report gate reads the figures the HTML report embeds the same way
  (`scan_embedded_images`).

Per cine the per-pixel minimum and maximum luminance over up to `MAX_FRAMES` evenly spread
frames are kept (`echocmr.deid.burned_text.TemporalStats`). Burned-in text is static, so every
frame shows it and a subset loses nothing; speckle decorrelates within a few frames, so the
minimum over a few dozen frames already separates it from static strokes. The bound keeps a
300-frame cine at the cost of a 64-frame one (JPEG frames that are not sampled are not decoded).
The cheap detector (`text_candidates`) then finds static, high-contrast, glyph-shaped lines.

OCR (`echocmr.media.ocr`, one Tesseract call per cine): every cine with candidates has its candidate
boxes read as one montage; a seeded random share (`ocr_sample`) of the other cines has its whole
static image read, as a check on what the detector misses. The choice is a keyed hash of the
config seed and the file name, so reruns read the same cines.

Every DICOM is also read by the learned reader (`echocmr.media.scene_text`, PP-OCRv4 detection and
recognition) on `scene_text.LEARNED_FRAMES` frames spread over the cine, whatever the stroke
detector found: it does not share the blind spots of the stroke rules that de-identification
used (text on part of a cine, letters broken up by JPEG). Videos and frame stores are crops of
those cines and are read by the stroke detector only.

The text is matched with a pixel view of the catalogue (`PixelCatalogue`): the spellings a
console burns in, plus cheap repairs of the usual OCR confusions inside tokens that are mostly
digits (O/D/Q -> 0, I/l/| -> 1, S -> 5, B -> 8, Z -> 2) or mostly letters (0 -> O, 1 -> I,
5 -> S, 8 -> B). A hit names the file (and video key), never the value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import math
import multiprocessing
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from echocmr.audit.files import (
    PATIENT_KEY,
    Catalogue,
    Hit,
    RawValues,
    embedded_payloads,
    is_dicom,
    normalise,
    redacted_rel,
)
from echocmr.deid.burned_text import TEXT_SCAN_FRAMES, TemporalStats, text_candidates
from echocmr.media import decode, ocr, scene_text

log = logging.getLogger(__name__)

LOCATION = "pixels (OCR)"
PIXEL_DATA_TAGS = (bytes.fromhex("e07f1000"), bytes.fromhex("7fe00010"))  # (7FE0,0010) LE, BE
MAX_FRAMES = TEXT_SCAN_FRAMES  # the frames de-identification judged the text on
VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".mov", ".mkv"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/jpg"})
# Never DICOM (skips the sniff of the many tables, logs and arrays under results/).
NOT_DICOM_SUFFIXES = frozenset({".csv", ".tsv", ".npy", ".npz", ".log", ".txt", ".json", ".md",
                                ".html", ".pdf", ".pt", ".yaml", ".svg"}) | IMAGE_SUFFIXES
# Figures are detected as if printed at this resolution (a 300-dpi figure at half size): its
# smallest matplotlib text (6 pt) is then ~12 px tall, which DBNet finds; reading a 300-dpi
# figure at full size cost 2-8x more on the demo figures for no box more. Text is recognised
# at full size (at half size words ran together).
FIGURE_DPI = 150
# Pixels of one detector pass over a figure (its memory grows with them); a larger figure is
# detected at the scale that fits (its text smaller, as if printed smaller).
MAX_FIGURE_PIXELS = 4_000_000
# Boxes recognised per batch, sorted by width: a batch is padded to its widest box.
REC_CHUNK = 16
# Tesseract reads each box scaled to this height (its best range for printed text).
TESSERACT_ROWS = 40
# Moving pixels vary more than this over the cine; the static image keeps the others.
STATIC_TOLERANCE = 40
MIN_NAME_LETTERS = 4
MIN_ID_DIGITS = 6
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# Single name parts that are also words printed on ultrasound screens: searched only as part of
# a full name (a residue reading `GAIN` is not a patient called Gain).
SCREEN_WORDS = frozenset({
    "AUTO", "AXIS", "BASE", "CARD", "COLOR", "COLOUR", "COMP", "DEPTH", "DYNAMIC", "ECHO",
    "FAST", "FOCUS", "FRAME", "FREQ", "GAIN", "HARM", "HEART", "HIGH", "LEFT", "LONG", "MODE",
    "NEAR", "PEN", "POWER", "RATE", "RIGHT", "SCALE", "SHORT", "SLOW", "TEMP", "VIEW", "ZOOM"})


# ----------------------------------------------------------------------------- catalogue view


def _date_forms(day: dt.date) -> tuple[list[str], list[str]]:
    """(token forms, digit forms) of a date in the formats consoles burn in.

    Numeric dates (YYYYMMDD, YYYY-MM-DD, MM/DD/YYYY, DD.MM.YYYY, unpadded M/D/YYYY) are matched
    as digit runs, whose separators are single characters: as tokens, `2019-03-14 1927` would
    contain `03 14 1927`. Month names (DD-Mon-YYYY, Mon DD YYYY) anchor the token forms."""
    y, m, d = f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"
    um, ud = str(day.month), str(day.day)
    mon = MONTHS[day.month - 1]
    tokens = [f"{d} {mon} {y}", f"{ud} {mon} {y}", f"{mon} {d} {y}", f"{mon} {ud} {y}"]
    digits = [y + m + d, m + d + y, d + m + y, um + ud + y, ud + um + y]
    return tokens, digits


def _name_parts(name: str) -> list[str]:
    return [p for p in re.split(r"[\^,]+|\s+", name) if normalise(p)]


def _full_name_forms(name: str) -> list[str]:
    """Full name as written, and family + given name in both orders."""
    parts = _name_parts(name)
    if not parts:
        return []
    forms = [normalise(" ".join(parts))]
    if len(parts) >= 2:
        forms += [normalise(f"{parts[0]} {parts[1]}"), normalise(f"{parts[1]} {parts[0]}")]
    return forms


def _lone_name_forms(name: str) -> list[str]:
    """Each part of 4+ letters that is not a screen word."""
    forms = []
    for part in _name_parts(name):
        norm = normalise(part)
        if " " not in norm and norm.isalpha() and len(norm) >= MIN_NAME_LETTERS \
                and norm not in SCREEN_WORDS:
            forms.append(norm)
    return forms


def _name_forms(name: str) -> list[str]:
    """Full name in both orders, and each part of 4+ letters that is not a screen word."""
    return _full_name_forms(name) + _lone_name_forms(name)


def institution_short(name: str) -> str:
    """Initials of the words of an institution name (`WESTBROOK HEART INSTITUTE` -> `WHI`)."""
    return "".join(w[0] for w in normalise(name).split(" ") if w and w[0].isalpha())


@dataclass
class _Table:
    """Token needles (first-token index) and digit strings, each with its identifier type."""

    tokens: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    digits: dict[str, str] = field(default_factory=dict)

    def add_tokens(self, norm: str, kind: str) -> None:
        compact = norm.replace(" ", "")
        if not norm or len(compact) < 3 or (compact.isdigit() and len(compact) < MIN_ID_DIGITS):
            return
        needle = f" {norm} "
        if (needle, kind) not in self.tokens[norm.split(" ")[0]]:
            self.tokens[norm.split(" ")[0]].append((needle, kind))

    def add_digits(self, digits: str, kind: str) -> None:
        if digits.isdigit() and len(digits) >= MIN_ID_DIGITS:
            self.digits.setdefault(digits, kind)

    def add_date(self, day: dt.date, kind: str) -> None:
        tokens, digits = _date_forms(day)
        for form in tokens:
            self.add_tokens(form, kind)
        for form in digits:
            self.add_digits(form, kind)

    def merge(self, other: _Table) -> None:
        for first, needles in other.tokens.items():
            for needle, kind in needles:
                if (needle, kind) not in self.tokens[first]:
                    self.tokens[first].append((needle, kind))
        for digits, kind in other.digits.items():
            self.digits.setdefault(digits, kind)

    def find(self, padded: str, tokens: list[str], runs: list[str]) -> list[str]:
        found = [kind for token in set(tokens) for needle, kind in self.tokens.get(token, ())
                 if needle in padded]
        if runs and self.digits:
            lengths = {len(d) for d in self.digits}
        for run in runs if self.digits else ():
            for n in lengths:
                for i in range(len(run) - n + 1):
                    kind = self.digits.get(run[i:i + n])
                    if kind:
                        found.append(kind)
        return found


class PixelCatalogue:
    """The identifiers as burned-in text spells them.

    Global: person names (full name both orders; each family and given name of 4+ letters of
    the staff), MRNs (leading zeros kept and stripped), accession numbers, institutions (full
    name; initials only as a word of capitals), station names and device serials, birth
    dates. Scoped to the patient (when the cine's patient key is known, else all patients):
    exam dates, times of day (HH:MM:SS), and the patient's own family and given names read
    alone: over a thousand patients' given names are also what OCR makes of tissue now and
    then (`anna,` in a 112x112 crop failed a demo run), while a console burns in the name of
    the patient it scans.
    Dates: YYYYMMDD, MM/DD/YYYY, DD.MM.YYYY, YYYY-MM-DD, DD-Mon-YYYY (and unpadded variants);
    numbers of 6+ digits also match inside a longer run of digits (OCR merges `ID:` into `10`).
    """

    def __init__(self, raw: RawValues):
        self.globals = _Table()
        self.dates: dict[str, _Table] = defaultdict(_Table)
        self.times: dict[str, _Table] = defaultdict(_Table)
        self.names: dict[str, _Table] = defaultdict(_Table)  # a patient's lone name parts
        # Institution initials (`WHI`): three letters are also what OCR makes of tissue now and
        # then (`Whi,` read off a ventricular wall failed a demo run), so they count only as a
        # word of capitals as read, the way a console prints them.
        self.initials: dict[str, str] = {}
        for name in raw.names:
            for form in _name_forms(name):
                self.globals.add_tokens(form, "person_name")
        for pkey, names in raw.patient_names.items():
            for name in names:
                for form in _full_name_forms(name):
                    self.globals.add_tokens(form, "person_name")
                for form in _lone_name_forms(name):
                    self.names[pkey].add_tokens(form, "person_name")
        for value, kind in raw.ids.items():
            norm = normalise(value)
            self.globals.add_tokens(norm, kind)
            compact = norm.replace(" ", "")
            if compact.isdigit() and kind in ("mrn", "accession_number"):
                self.globals.add_digits(compact, kind)
                self.globals.add_digits(compact.lstrip("0"), kind)
                self.globals.add_tokens(compact.lstrip("0"), kind)
            if kind == "institution":
                short = institution_short(value)
                if len(short) >= 3:
                    self.initials[short] = kind
        for day in raw.birth_dates:
            self.globals.add_date(day, "birth_date")
        for pkey, days in raw.dates.items():
            for day in days:
                self.dates[pkey].add_date(day, "date")
        for pkey, times in raw.times.items():
            for hhmmss in times:
                self.times[pkey].add_digits(hhmmss, "time")  # HH:MM:SS as a digit run
        self._any_patient: _Table | None = None

    @classmethod
    def from_catalogue(cls, catalogue: Catalogue) -> PixelCatalogue:
        return cls(catalogue.raw)

    def _dates_of_anyone(self) -> _Table:
        """Every patient's dates and lone name parts (for a cine whose patient is unknown);
        times are too generic."""
        if self._any_patient is None:
            self._any_patient = _Table()
            for table in [*self.dates.values(), *self.names.values()]:
                self._any_patient.merge(table)
        return self._any_patient

    def find(self, text: str, patient: str | None = None) -> list[str]:
        """Identifier types in OCR text (each variant: as read, and with confusions repaired)."""
        found = [self.initials[w] for w in _WORD.findall(text) if w in self.initials]
        for variant in dict.fromkeys([text, repair_ocr(text)]):
            norm = normalise(variant)
            if not norm:
                continue
            tokens = norm.split(" ")
            padded, runs = f" {norm} ", digit_runs(variant)
            found += self.globals.find(padded, tokens, runs)
            scoped = ([self.dates.get(patient), self.times.get(patient), self.names.get(patient)]
                      if patient else [self._dates_of_anyone()])
            for table in scoped:
                if table is not None:
                    found += table.find(padded, tokens, runs)
        return list(dict.fromkeys(found))


_WORD = re.compile(r"[A-Za-z]+")
_DIGIT_RUN = re.compile(r"\d+(?:[-/.:]\d+)*")


def digit_runs(text: str) -> list[str]:
    """Numbers with their one-character separators dropped (`2019-03-05` -> `20190305`,
    `10:55512345` -> `1055512345`), 6+ digits only. Numbers apart by a space stay apart."""
    runs = (re.sub(r"\D", "", m.group(0)) for m in _DIGIT_RUN.finditer(text))
    return [r for r in runs if len(r) >= MIN_ID_DIGITS]


_TO_DIGIT = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1",
                           "i": "1", "|": "1", "!": "1", "S": "5", "s": "5", "B": "8",
                           "Z": "2", "z": "2"})
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "|": "I"})
_TOKEN = re.compile(r"[A-Za-z0-9|!]+")


def _repair_token(match: re.Match) -> str:
    token = match.group(0)
    digits = sum(ch.isdigit() for ch in token)
    letters = sum(ch.isalpha() for ch in token)
    if digits and digits >= letters:
        return token.translate(_TO_DIGIT)
    if digits:
        return token.translate(_TO_LETTER)
    if ("l" in token or "|" in token) and token.replace("l", "").replace("|", "").isupper():
        return token.replace("l", "I").replace("|", "I")  # capital I read as l in capitals
    return token


def repair_ocr(text: str) -> str:
    """Undo OCR's usual confusions inside a token: letters in a mostly-digit token become
    digits (`2O19` -> `2019`, `1D:555` -> `10:555`), digits in a mostly-letter token become
    letters (`QU1MBY` -> `QUIMBY`), a lower-case l among capitals becomes I. Tokens without
    digits are left alone (apart from that l), so ordinary words never change."""
    return _TOKEN.sub(_repair_token, text)


# ----------------------------------------------------------------------------- frame sources


@dataclass(frozen=True)
class Source:
    """One cine to audit, small enough to send to a worker process.

    kind: `DICOM`, `video` (AVI/MP4 file) or `store video` (frames `start:start+n_frames` of a
    `frames.npy`); shown: the redacted place named in a hit; patient: its key when known
    (a DICOM's is read from its header); sample: whether its whole image is OCRed anyway.
    """

    kind: str
    path: str
    shown: str
    patient: str | None = None
    sample: bool = False
    start: int = 0
    n_frames: int = 0


def spread_indices(n_frames: int, limit: int = MAX_FRAMES) -> list[int] | None:
    """Evenly spread frame indices (first and last included, `media.decode`); None = all
    frames (also when a video does not say how many it has)."""
    if n_frames <= limit:
        return None
    return decode.spread_indices(n_frames, limit)


def dicom_frames(path: Path) -> tuple[str | None, Iterator[np.ndarray], list[np.ndarray]] | None:
    """(patient key from the header, up to MAX_FRAMES spread frames as luminance, and a list
    that fills with the learned reader's frames as they pass); None without pixel data or with
    a header that does not parse (the header scan reports that file)."""
    try:
        cine = decode.open_cine(path)
    except decode.DecodeError:
        return None
    with open(cine.path, "rb") as fh:
        fh.seek(cine.pixel_offset)
        if fh.read(4) not in PIXEL_DATA_TAGS:
            return None
    found = PATIENT_KEY.fullmatch(str(cine.ds.get("PatientID", "") or ""))
    spread = spread_indices(cine.n_frames)
    # the frames de-identification gave the learned reader: the same sampler, the same count
    learned = set(decode.spread_indices(cine.n_frames, scene_text.LEARNED_FRAMES))
    wanted = None if spread is None else sorted(set(spread) | learned)
    for_learned: list[np.ndarray] = []

    def frames() -> Iterator[np.ndarray]:
        for i, luma, _ in decode.iter_frames(cine, wanted):
            if i in learned:
                for_learned.append(luma)
            if spread is None or i in spread:
                yield luma

    return (found.group(0) if found else None), frames(), for_learned


def _luma_of(frame) -> np.ndarray:
    """8-bit luminance of a PyAV frame: the Y plane as is for full-range YUV (the crop stage's
    MJPEG, 4x faster than a conversion), else a conversion to grey."""
    if frame.format.name.startswith("yuvj") or frame.format.name == "gray":
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return rows[:, :plane.width].copy()
    return frame.to_ndarray(format="gray")


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """Luminance of up to MAX_FRAMES spread frames of an AVI/MP4 (PyAV). Motion-JPEG frames
    are independent, so only the sampled packets are decoded; other codecs decode in order."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        wanted = spread_indices(int(stream.frames or 0))
        keep = None if wanted is None else set(wanted)
        if keep is not None and stream.codec_context.name == "mjpeg":
            for i, packet in enumerate(container.demux(stream)):
                if i in keep:
                    for frame in packet.decode():
                        yield _luma_of(frame)
            return
        for i, frame in enumerate(container.decode(stream)):
            if keep is None or i in keep:
                yield _luma_of(frame)


def store_frames(path: Path, start: int, n_frames: int) -> Iterator[np.ndarray]:
    """Up to MAX_FRAMES spread frames of one video of a memory-mapped frame store."""
    clip = np.load(path, mmap_mode="r")[start:start + n_frames]
    for i in spread_indices(n_frames) or range(n_frames):
        yield np.asarray(clip[i])


def _store_sources(index: Path, shown: str) -> Iterator[Source]:
    meta = pd.read_csv(index, dtype={"video_key": str, "patient_key": str})
    if meta.empty or not {"video_key", "start", "n_frames"} <= set(meta.columns):
        return
    for row in meta.itertuples(index=False):
        yield Source("store video", str(index.parent / "frames.npy"), f"{shown}[{row.video_key}]",
                     getattr(row, "patient_key", None), start=int(row.start),
                     n_frames=int(row.n_frames))


def _patients_by_video(root: Path) -> dict[str, str]:
    """video_key -> patient_key from every store index under root (for AVIs named by key)."""
    out: dict[str, str] = {}
    for index in sorted(root.rglob("index.csv")):
        try:
            meta = pd.read_csv(index, usecols=["video_key", "patient_key"], dtype=str)
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        out.update(zip(meta["video_key"], meta["patient_key"]))
    return out


def iter_sources(cat: Catalogue, root: str | Path, skip: Iterable[str | Path] = ()
                 ) -> Iterator[Source]:
    """Every DICOM (that may hold pixels), video file and frame-store video under root."""
    root = Path(root)
    skipped = {Path(s).resolve() for s in skip}
    patients = None
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for f in sorted(files):
            path = Path(dirpath) / f
            if path.resolve() in skipped:
                continue
            rel = path.relative_to(root)
            suffix = path.suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                yield Source("image", str(path), redacted_rel(cat, rel)[0])
            elif suffix in VIDEO_SUFFIXES:
                if patients is None:
                    patients = _patients_by_video(root)
                yield Source("video", str(path), redacted_rel(cat, rel)[0],
                             patients.get(path.stem))
            elif f == "index.csv" and (path.parent / "frames.npy").is_file():
                yield from _store_sources(path, redacted_rel(cat, rel.parent / "frames.npy")[0])
            elif suffix not in NOT_DICOM_SUFFIXES and is_dicom(path):
                found = PATIENT_KEY.search(rel.as_posix())
                yield Source("DICOM", str(path), redacted_rel(cat, rel)[0],
                             found.group(0) if found else None)


# ----------------------------------------------------------------------------- figures


def load_image(source: Path | bytes) -> tuple[np.ndarray, float]:
    """(RGB uint8, dots per inch; 0 when the file does not say) of a PNG/JPEG file or its bytes.
    Transparent pixels become white, as a viewer shows them."""
    from PIL import Image

    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        image.load()
        dpi = image.info.get("dpi", (0, 0))
        rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return rgb, float(dpi[0] if isinstance(dpi, tuple) else dpi or 0)


def figure_scale(shape: tuple[int, ...], dpi: float) -> float:
    """Detector scale of a figure: down to FIGURE_DPI when the file says it is finer (never
    up: a 100-dpi figure is read as is), and down to MAX_FIGURE_PIXELS in any case."""
    scale = FIGURE_DPI / dpi if dpi > FIGURE_DPI else 1.0
    rows, cols = shape[:2]
    return min(scale, math.sqrt(MAX_FIGURE_PIXELS / max(1, rows * cols)))


def _unrotated(box: scene_text.TextRegion, rows: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in the original figure of a box found on it turned a quarter
    clockwise (`np.rot90(image, -1)`: rotated[i, j] = original[rows - 1 - j, i])."""
    return box.y0, rows - 1 - box.x1, box.y1, rows - 1 - box.x0


def _tesseract_texts(page: np.ndarray, boxes: list[scene_text.TextRegion]) -> list[str]:
    """Tesseract's reading of the same boxes (one call), each scaled to TESSERACT_ROWS."""
    crops = []
    for box in boxes:
        crop = ocr.dark_on_light(page[box.slices()])
        factor = TESSERACT_ROWS / max(1, crop.shape[0])
        crops.append(cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA
                                if factor < 1 else cv2.INTER_CUBIC))
    return [" ".join(w.text for w in line) for line in ocr.read_crops(crops, upscale=1)]


def read_figure(image: np.ndarray, dpi: float = 0.0, threads: int = 1
                ) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(text, box x0, y0, x1, y1) of every line of a figure: boxes found by the learned
    detector (at `figure_scale`) on the figure and on it turned a quarter clockwise (a y-axis
    label reads upwards), each read at full size by the learned recogniser and by Tesseract
    (two entries per box)."""
    rows = image.shape[0]
    found = []
    for turns in (0, 1):
        page = np.ascontiguousarray(np.rot90(image, -turns))
        scale = figure_scale(page.shape, dpi)
        boxes = sorted(scene_text.detect([page], threads, scale=scale)[0],
                       key=lambda b: (b.x1 - b.x0) / (b.y1 - b.y0 + 1))
        if not boxes:
            continue
        texts = [text for i in range(0, len(boxes), REC_CHUNK)
                 for text, _ in scene_text.recognise(page, boxes[i:i + REC_CHUNK], threads)]
        readings = zip(texts, _tesseract_texts(page, boxes), boxes, strict=True)
        for learned, tesseract, box in readings:
            where = (box.x0, box.y0, box.x1, box.y1) if turns == 0 else _unrotated(box, rows)
            found += [(learned, where), (tesseract, where)]
    return found


def figure_hits(pixcat: PixelCatalogue, image: np.ndarray, dpi: float, shown: str,
                where: str = LOCATION, threads: int = 1) -> tuple[Hit, ...]:
    """One hit per identifier type and line of a figure: its file, where (the box in the
    figure's pixels) and the type, never the text read. The figure's patient is unknown, so
    every patient's dates and lone name parts are searched."""
    hits = []
    for text, (x0, y0, x1, y1) in read_figure(image, dpi, threads):
        for kind in pixcat.find(text, None):
            hits.append(Hit(shown, f"{where} at x {x0}-{x1}, y {y0}-{y1}", kind))
    return tuple(dict.fromkeys(hits))


def scan_embedded_images(cat: Catalogue, html: Path, shown: str,
                         pixcat: PixelCatalogue | None = None, threads: int = 1
                         ) -> tuple[list[Hit], int]:
    """(hits, images read) of every PNG/JPEG an HTML page embeds as a base64 data URI (the
    figures of Snakemake's report), read as `figure_hits` reads files."""
    pixcat = pixcat or PixelCatalogue.from_catalogue(cat)
    _, payloads = embedded_payloads(html.read_text(encoding="utf-8", errors="replace"))
    hits: list[Hit] = []
    n_images = 0
    for name, mime, data in payloads:
        if mime.lower() not in IMAGE_MIMES:
            continue
        n_images += 1
        where = f"embedded {name} pixels (OCR)"
        try:
            image, dpi = load_image(data)
        except Exception as exc:  # noqa: BLE001 - an unreadable figure is reported, not skipped
            log.warning("%s: embedded image unreadable (%s)", shown, type(exc).__name__)
            hits.append(Hit(shown, f"embedded {name} pixels (undecodable)", "unscannable"))
            continue
        hits += figure_hits(pixcat, image, dpi, shown, where, threads)
    return list(dict.fromkeys(hits)), n_images


# ----------------------------------------------------------------------------- audit


def chosen_for_ocr(key: str, share: float, seed: int) -> bool:
    """Seeded, order-independent draw: the same file is sampled in every rerun."""
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < share


def static_image(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Pixels that do not move over the cine (their minimum), moving ones black: burned-in text
    without the speckle, which is what whole-image OCR can read."""
    moving = (hi.astype(np.int16) - lo) > STATIC_TOLERANCE
    out = lo.copy()
    out[moving] = 0
    return out


def box_image(lo: np.ndarray, hi: np.ndarray, box) -> np.ndarray:
    """One candidate line as grey dark-on-light: light text from the minimum image (it is
    bright in every frame), dark text from the maximum."""
    image = lo if getattr(box, "light", True) else hi
    return ocr.dark_on_light(image[box.y0:box.y1 + 1, box.x0:box.x1 + 1])


def read_frames(frames: Iterable[np.ndarray], sample: bool) -> tuple[list[str], str]:
    """(texts read, how: `candidates`, `sampled` or ``) for the frames of one cine: one OCR call
    for all candidate lines, else (when sampled) one for the whole static image."""
    stats = TemporalStats()
    for frame in frames:
        stats.add(frame)
    if stats.n == 0 or stats.lo is None:
        return [], ""
    lo, hi = stats.lo, stats.hi
    boxes = text_candidates(lo, hi)
    if boxes:
        words = ocr.read_crops([box_image(lo, hi, b) for b in boxes])
        return [" ".join(w.text for w in line) for line in words], "candidates"
    if sample:
        return [" ".join(w.text for w in ocr.read_text(static_image(lo, hi)))], "sampled"
    return [], ""


def _same_place(a: scene_text.TextRegion, b: scene_text.TextRegion) -> bool:
    """Two boxes of one line seen on two frames: they overlap by most of the smaller."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0) + 1
    h = min(a.y1, b.y1) - max(a.y0, b.y0) + 1
    return w > 0 and h > 0 and w * h >= 0.5 * min(a.area, b.area)


def read_learned(frames: list[np.ndarray], threads: int = 1) -> list[str]:
    """Texts the learned reader reads in these frames of one cine: boxes detected on every
    frame (one batch), a line seen on several frames read once, on the frame where the
    detector was surest of it."""
    if not frames:
        return []
    best: list[tuple[scene_text.TextRegion, int]] = []
    # read where the cine is not black (its kept area): the detector's cost grows with pixels
    per_frame = scene_text.detect_within(frames, scene_text.nonblack(frames), threads,
                                         per_frame=True)
    for i, boxes in enumerate(per_frame):
        for box in boxes:
            same = [k for k, (b, _) in enumerate(best) if _same_place(b, box)]
            if not same:
                best.append((box, i))
            elif box.score > best[same[0]][0].score:
                best[same[0]] = (box, i)
    texts = []
    for i in sorted({i for _, i in best}):
        regions = [b for b, j in best if j == i]
        texts += [text for text, _ in scene_text.recognise(frames[i], regions, threads)]
    return texts


@dataclass(frozen=True)
class Outcome:
    """What one cine gave: its kind (None: no pixel data, not counted), how OCR ran, hits."""

    kind: str | None
    read: str
    hits: tuple[Hit, ...]


def audit_image(pixcat: PixelCatalogue, src: Source) -> Outcome:
    """A PNG/JPEG figure under results/, read whole by the learned reader and Tesseract."""
    try:
        image, dpi = load_image(Path(src.path))
    except Exception as exc:  # noqa: BLE001 - an unreadable figure is reported, not skipped
        log.warning("%s: image unreadable (%s)", src.shown, type(exc).__name__)
        return Outcome(src.kind, "unreadable",
                       (Hit(src.shown, "pixels (undecodable)", "unscannable"),))
    return Outcome(src.kind, "figure", figure_hits(pixcat, image, dpi, src.shown))


def audit_source(pixcat: PixelCatalogue, src: Source) -> Outcome:
    if src.kind == "image":
        return audit_image(pixcat, src)
    patient = src.patient
    for_learned: list[np.ndarray] = []
    try:
        if src.kind == "DICOM":
            opened = dicom_frames(Path(src.path))
            if opened is None:
                return Outcome(None, "", ())
            patient, frames, for_learned = opened[0] or patient, opened[1], opened[2]
        elif src.kind == "video":
            frames = video_frames(Path(src.path))
        else:
            frames = store_frames(Path(src.path), src.start, src.n_frames)
        texts, read = read_frames(frames, src.sample)
        learned = read_learned(for_learned)
        if learned:
            texts, read = texts + learned, read or "learned"
    except Exception as exc:  # noqa: BLE001 - an undecodable output is reported, not skipped
        log.warning("%s: frames unreadable (%s)", src.shown, type(exc).__name__)
        return Outcome(src.kind, "unreadable",
                       (Hit(src.shown, "pixels (undecodable)", "unscannable"),))
    kinds = [k for text in texts for k in pixcat.find(text, patient)]
    return Outcome(src.kind, read,
                   tuple(Hit(src.shown, LOCATION, k) for k in dict.fromkeys(kinds)))


@dataclass
class PixelStats:
    checked: Counter = field(default_factory=Counter)
    read: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    workers: int = 1

    def add(self, outcome: Outcome) -> None:
        if outcome.kind is not None:
            self.checked[outcome.kind] += 1
            if outcome.read:
                self.read[outcome.read] += 1

    def summary(self) -> str:
        cines = {k: n for k, n in self.checked.items() if k != "image"}
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(cines.items())) or "none"
        ocred = self.read["candidates"] + self.read["sampled"]
        return (f"pixel audit: {sum(cines.values())} cines checked ({kinds}); OCR read "
                f"{ocred} ({self.read['candidates']} with text candidates, "
                f"{self.read['sampled']} sampled); every DICOM read by the learned reader "
                f"({self.read['learned']} with text found by it alone); "
                f"{self.checked['image']} PNG/JPEG images read whole by both; "
                f"{self.read['unreadable']} unreadable; "
                f"{self.seconds:.1f} s with {self.workers} process(es)")


_WORKER_CATALOGUE: PixelCatalogue | None = None


def _init_worker(pixcat: PixelCatalogue) -> None:
    global _WORKER_CATALOGUE
    _WORKER_CATALOGUE = pixcat


def _audit_in_worker(src: Source) -> Outcome:
    return audit_source(_WORKER_CATALOGUE, src)


def scan_pixels(cat: Catalogue, root: str | Path, ocr_sample: float = 0.05, seed: int = 0,
                skip: Iterable[str | Path] = (), pixcat: PixelCatalogue | None = None,
                workers: int = 1) -> tuple[list[Hit], PixelStats]:
    """Hits of burned-in identifiers in every frame-holding file under root, and counts.

    `workers` > 1 reads cines in that many processes (results in the same order)."""
    ocr.require_tesseract()
    scene_text.require_models()
    start = time.perf_counter()
    pixcat = pixcat or PixelCatalogue.from_catalogue(cat)
    sources = [replace(s, sample=chosen_for_ocr(s.shown, ocr_sample, seed))
               for s in iter_sources(cat, root, skip)]
    stats = PixelStats(workers=max(1, min(int(workers), len(sources) or 1)))
    if stats.workers > 1:
        ctx = multiprocessing.get_context("fork" if "fork" in
                                          multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(stats.workers, _init_worker, (pixcat,)) as pool:
            outcomes = list(pool.imap(_audit_in_worker, sources, chunksize=8))
    else:
        outcomes = [audit_source(pixcat, s) for s in sources]
    hits: list[Hit] = []
    for outcome in outcomes:
        stats.add(outcome)
        hits += outcome.hits
    stats.seconds = time.perf_counter() - start
    log.info(stats.summary())
    return list(dict.fromkeys(hits)), stats
