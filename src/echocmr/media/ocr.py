"""The project's one OCR engine: Tesseract 5 through tesserocr (in-process, no subprocess).

De-identification uses it to confirm that candidate strokes are text; the pixel audit uses it to
read what is left in de-identified cines. Tesseract is loaded once per process (~0.2 s), after
which a small image takes ~20 ms, so one call per cine is affordable even on a laptop.

Console fonts are small (7-9 px tall on a 256x192 screen), so images are upscaled before
reading; text is given to Tesseract as dark on light. Word boxes are returned in the
coordinates of the image passed in.

The language data (`eng.traineddata`) comes from the system: Debian/Ubuntu `tesseract-ocr-eng`,
conda-forge `tesseract`, or any folder named by TESSDATA_PREFIX.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

INSTALL_HINT = ("install Tesseract's English data: `apt-get install tesseract-ocr "
                "tesseract-ocr-eng` (Debian/Ubuntu), `conda install -c conda-forge tesseract`, "
                "or set TESSDATA_PREFIX to a folder holding eng.traineddata")
UPSCALE = 4
GAP = 12  # white rows between stacked crops (before upscaling)


@dataclass(frozen=True)
class Word:
    """One recognised word: text, confidence 0-100 and inclusive box (x0, y0, x1, y1)."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]

    @property
    def alnum(self) -> str:
        return re.sub(r"[^A-Za-z0-9]", "", self.text)


def tessdata_dir() -> Path:
    """Folder with eng.traineddata; RuntimeError naming the fix when there is none."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    candidates += [f"/usr/share/tesseract-ocr/{v}/tessdata" for v in ("5", "4.00")]
    candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata",
                   os.path.join(sys.prefix, "share", "tessdata")]
    for c in candidates:
        if c and (Path(c) / "eng.traineddata").is_file():
            return Path(c)
    raise RuntimeError(f"OCR: no eng.traineddata found; {INSTALL_HINT}")


def require_tesseract() -> str:
    """Fail fast with the fix when OCR cannot run; returns the engine version."""
    try:
        import tesserocr
    except ImportError as exc:
        raise RuntimeError(f"OCR: tesserocr is not installed (pip install -r "
                           f"requirements.txt); {INSTALL_HINT}") from exc
    tessdata_dir()
    return tesserocr.tesseract_version().splitlines()[0]


@functools.lru_cache(maxsize=4)
def _api(psm: int):
    import tesserocr

    api = tesserocr.PyTessBaseAPI(path=str(tessdata_dir()) + os.sep, lang="eng", psm=psm)
    # Never guess words from a dictionary: identifiers are names and numbers.
    api.SetVariable("load_system_dawg", "F")
    api.SetVariable("load_freq_dawg", "F")
    return api


def dark_on_light(image: np.ndarray) -> np.ndarray:
    """Grey uint8 with text darker than its ground (inverted when the image is mostly dark)."""
    image = np.asarray(image)
    if image.ndim == 3:
        image = image.max(axis=2)
    image = image.astype(np.uint8, copy=False)
    return 255 - image if float(np.median(image)) < 128 else image


def _recognise(image: np.ndarray, psm: int) -> list[Word]:
    import tesserocr

    api = _api(psm)
    api.SetImage(Image.fromarray(image))
    api.Recognize()
    level = tesserocr.RIL.WORD
    words = []
    iterator = api.GetIterator()
    if iterator is None:  # nothing recognised at all
        return words
    for r in tesserocr.iterate_level(iterator, level):
        try:
            text = (r.GetUTF8Text(level) or "").strip()
        except RuntimeError:  # an empty word
            continue
        box = r.BoundingBox(level)
        if text and box:
            words.append(Word(text, float(r.Confidence(level)), tuple(int(v) for v in box)))
    return words


def read_text(image: np.ndarray, upscale: int = UPSCALE) -> list[Word]:
    """Every word Tesseract finds anywhere in `image` (sparse text), boxes in image coords."""
    import tesserocr

    grey = dark_on_light(image)
    big = cv2.resize(grey, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    words = _recognise(big, int(tesserocr.PSM.SPARSE_TEXT))
    return [Word(w.text, w.confidence, tuple(int(v) // upscale for v in w.box)) for w in words]


def read_crops(crops: Sequence[np.ndarray], upscale: int = UPSCALE) -> list[list[Word]]:
    """Read many small crops (dark text on light) with one engine call: they are stacked into
    one column with white gaps and each word goes back to the crop its centre lies in."""
    import tesserocr

    crops = [np.asarray(c, np.uint8) for c in crops]
    if not crops:
        return []
    width = max(c.shape[1] for c in crops) + 2 * GAP
    tops, parts = [], []
    y = GAP
    for c in crops:
        tops.append(y)
        parts.append(np.full((GAP if not parts else 0, width), 255, np.uint8))
        row = np.full((c.shape[0], width), 255, np.uint8)
        row[:, GAP:GAP + c.shape[1]] = c
        parts += [row, np.full((GAP, width), 255, np.uint8)]
        y += c.shape[0] + GAP
    sheet = np.concatenate([p for p in parts if p.size])
    big = cv2.resize(sheet, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    out: list[list[Word]] = [[] for _ in crops]
    bottoms = [t + c.shape[0] for t, c in zip(tops, crops, strict=True)]
    for w in _recognise(big, int(tesserocr.PSM.SPARSE_TEXT)):
        cy = (w.box[1] + w.box[3]) / 2 / upscale
        for i, (top, bottom) in enumerate(zip(tops, bottoms, strict=True)):
            if top - GAP / 2 <= cy < bottom + GAP / 2:
                x0, y0, x1, y1 = (v / upscale for v in w.box)
                out[i].append(Word(w.text, w.confidence,
                                   (int(x0) - GAP, int(y0) - top, int(x1) - GAP, int(y1) - top)))
                break
    return out

