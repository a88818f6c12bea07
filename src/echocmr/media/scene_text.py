"""The project's learned text reader: PP-OCRv4 detection (DBNet) and recognition (CRNN/CTC)
run with onnxruntime, independent of the stroke rules of `echocmr.deid.burned_text`.

The stroke rules find static, letter-shaped strokes and were tuned on the project's own
synthetic export; a scene-text detector trained on natural images has other blind spots, so
de-identification blanks the union of both and the pixel audit reads with this one.

The ONNX weights ship inside the PyPI wheel `rapidocr-onnxruntime` (installed without its
dependencies: it would pull in `opencv-python`, which clashes with `opencv-python-headless`);
only its model files are used, never its code, and nothing is downloaded at run time. Pre- and
post-processing are our own: frames are scaled (see `det_scale`), padded to a multiple of 32,
normalised to [-1, 1] and run as one batch; the probability map is thresholded and every
connected blob scored by its mean probability becomes an axis-aligned box, grown by DBNet's
unclip distance (area x ratio / perimeter), in the frame's coordinates.

onnxruntime runs on the CPU with `threads` intra-op threads (the job's threads) and
deterministic compute, so the same frames give the same boxes.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

INSTALL_HINT = ("install the PP-OCR weights: `pip install --no-deps rapidocr-onnxruntime==1.4.4` "
                "(requirements-nodeps.txt; setup.sh does it)")
DET_MODEL = "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"
# Frames per cine read by the learned detector, evenly spread (first and last included), in
# de-identification and in the pixel audit alike: text shown on at least 1/7 of a cine's
# frames (the gap between two read frames) is on one of them.
LEARNED_FRAMES = 8
# DBNet's own defaults (PaddleOCR): a pixel is text above 0.3, a box needs mean 0.5.
PIXEL_THRESH, BOX_THRESH, UNCLIP_RATIO = 0.3, 0.5, 1.6
# Frames are scaled so their short side is at least this (console fonts of 7-9 px on a
# 192-row screen are then ~12 px, which DBNet finds) and their long side at most
# `MAX_SIDE` (a 14-px name on an 800x600 screen is read at ~9 px, which it still finds): the
# cost grows with the pixels read.
MIN_SIDE, MAX_SIDE = 192, 512
# The core DBNet marks of a line of text is at least this much wider than tall.
LINE_ASPECT = 1.5
# Recogniser input height and the widest crop it reads (PP-OCRv4 rec: 48 x up to 320+).
REC_HEIGHT, REC_MAX_RATIO = 48, 25


@dataclass(frozen=True)
class TextRegion:
    """A detected text box: inclusive pixel coordinates and DBNet's mean probability."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float
    # the blob DBNet marked (inside the text), before the box was grown to the text's edges
    core: tuple[int, int, int, int] | None = None

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1 + 1), slice(self.x0, self.x1 + 1)

    @property
    def area(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)


def models_dir() -> Path:
    """Folder of the wheel's ONNX files, found without importing the package (its code needs
    dependencies we do not install); RuntimeError naming the fix when it is missing."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"learned text detector: rapidocr-onnxruntime not found; {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not (folder / DET_MODEL).is_file():
        raise RuntimeError(f"learned text detector: {DET_MODEL} missing; {INSTALL_HINT}")
    return folder


def require_models() -> None:
    """Fail fast with the fix when the learned reader cannot run (no session is made here: a
    process that forks workers afterwards should not hold one)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("learned text detector: onnxruntime is not installed (pip install "
                           "-r requirements.txt)") from exc
    for model in (DET_MODEL, REC_MODEL):
        if not (models_dir() / model).is_file():
            raise RuntimeError(f"learned text detector: {model} missing; {INSTALL_HINT}")


@functools.lru_cache(maxsize=8)
def _session(model: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.use_deterministic_compute = True
    opts.log_severity_level = 3
    return ort.InferenceSession(str(models_dir() / model), opts,
                                providers=["CPUExecutionProvider"])


def det_scale(rows: int, cols: int) -> float:
    """Scale of a frame for the detector: short side up to MIN_SIDE, long side down to
    MAX_SIDE (the long side wins)."""
    scale = max(1.0, MIN_SIDE / max(1, min(rows, cols)))
    return min(scale, MAX_SIDE / max(1, rows, cols))


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    """uint8 3-channel in the channel order PaddleOCR trains on (BGR); grey is repeated."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:  # 12/16-bit grey: stretched to 8 bits (clipping would saturate)
        peak = float(frame.max(initial=0))
        frame = (np.clip(frame, 0, None) * (255.0 / peak if peak > 255 else 1.0)).astype(np.uint8)
    if frame.ndim == 2:
        return np.repeat(frame[..., None], 3, axis=2)
    return np.ascontiguousarray(frame[..., ::-1])


def _det_batch(frames: Sequence[np.ndarray], scale: float) -> np.ndarray:
    """(N, 3, H, W) float32 in [-1, 1], H and W padded up to multiples of 32 with black."""
    rows, cols = frames[0].shape[:2]
    h, w = max(1, round(rows * scale)), max(1, round(cols * scale))
    ph, pw = 32 * math.ceil(h / 32), 32 * math.ceil(w / 32)
    batch = np.full((len(frames), 3, ph, pw), -1.0, np.float32)
    for i, frame in enumerate(frames):
        image = _as_bgr(frame)
        if scale != 1.0:
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        batch[i, :, :h, :w] = image.transpose(2, 0, 1) / np.float32(127.5) - 1
    return batch


def boxes_from_probability(prob: np.ndarray, scale: float, shape: tuple[int, int],
                           box_thresh: float = BOX_THRESH,
                           screen_rows: int | None = None) -> list[TextRegion]:
    """Text boxes of one probability map, in the frame's coordinates (`shape`: its rows,
    columns). Each blob above PIXEL_THRESH whose mean probability reaches `box_thresh` is a
    box, grown by the unclip distance DBNet's shrunk training targets call for."""
    binary = (prob > PIXEL_THRESH).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return []
    sums = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=n)
    rows, cols = shape
    screen_rows = screen_rows or rows
    out = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        score = float(sums[i] / max(1, area))
        if score < box_thresh or not _line_shaped(w, h, scale, screen_rows):
            continue
        grow = w * h * UNCLIP_RATIO / (2 * (w + h))
        x0, y0 = (x - grow) / scale, (y - grow) / scale
        x1, y1 = (x + w + grow) / scale, (y + h + grow) / scale
        core = (int(x / scale), int(y / scale), min(cols - 1, int((x + w - 1) / scale)),
                min(rows - 1, int((y + h - 1) / scale)))
        box = TextRegion(max(0, int(x0)), max(0, int(y0)), min(cols - 1, math.ceil(x1)),
                         min(rows - 1, math.ceil(y1)), round(score, 4), core)
        if box.x1 >= box.x0 and box.y1 >= box.y0:
            out.append(box)
    return out


def _line_shaped(w: int, h: int, scale: float, rows: int) -> bool:
    """A blob of the probability map that can be a line of text: DBNet marks a shrunk core of
    each line, wider than tall (its margin is taken from both sides), and no line is taller
    than the glyphs the stroke rules look for. A ring (a short-axis ventricle reads as an
    'O') or a speck of tissue is not: on the synthetic export these were the detector's only
    boxes off the drawn text."""
    return h >= 2 and w >= LINE_ASPECT * h and h / scale <= max_line_height(rows)


def max_line_height(rows: int) -> int:
    """Tallest text line searched for in a screen of `rows` rows (as `burned_text`)."""
    return max(24, rows // 10)


def detect(frames: Sequence[np.ndarray], threads: int = 1, box_thresh: float = BOX_THRESH,
           screen: tuple[int, int] | None = None, scale: float | None = None
           ) -> list[list[TextRegion]]:
    """Text boxes of each frame (one batch through the detector; frames of one shape).
    `screen`: rows, columns of the whole frame when these are crops of it (the scale is the
    screen's: it follows the console's font size). `scale`: the detector's scale when the
    caller knows the text size better than a console screen's (a figure: its print size)."""
    if not len(frames):
        return []
    rows, cols = frames[0].shape[:2]
    scale = scale or det_scale(*(screen or (rows, cols)))
    session = _session(DET_MODEL, threads)
    prob = session.run(None, {session.get_inputs()[0].name: _det_batch(frames, scale)})[0]
    return [boxes_from_probability(p[0], scale, (rows, cols), box_thresh,
                                   (screen or (rows, cols))[0]) for p in prob]


def nonblack(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Pixels that are not black in some of the frames (a de-identified cine's kept area)."""
    peak = np.max(np.stack([np.asarray(f) for f in frames]), axis=0)
    return peak.max(axis=-1) > 0 if peak.ndim == 3 else peak > 0


def detect_within(frames: Sequence[np.ndarray], within: np.ndarray, threads: int = 1,
                  per_frame: bool = False) -> list:
    """Text boxes over the frames of one cine, read inside `within` only (pixels outside are
    black, frames cropped to its bounding box: the detector's cost grows with pixels), in the
    frames' coordinates. Boxes that touch no pixel of `within` are dropped. All frames' boxes
    in one list, or (`per_frame`) one list per frame."""
    ys, xs = np.nonzero(within)
    if not len(frames) or ys.size == 0:
        return [[] for _ in frames] if per_frame else []
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    keep = within[y0:y1 + 1, x0:x1 + 1]
    crops = [_masked(np.asarray(f)[y0:y1 + 1, x0:x1 + 1], keep) for f in frames]
    found = []
    for boxes in detect(crops, threads, screen=within.shape):
        moved = [_moved(b, x0, y0) for b in boxes]
        found.append([b for b in moved if within[b.slices()].any()])
    return found if per_frame else [b for boxes in found for b in boxes]


def _moved(box: TextRegion, dx: int, dy: int) -> TextRegion:
    core = None if box.core is None else (box.core[0] + dx, box.core[1] + dy,
                                          box.core[2] + dx, box.core[3] + dy)
    return TextRegion(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy, box.score, core)


def _masked(frame: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return frame * (keep if frame.ndim == 2 else keep[..., None]).astype(frame.dtype)


def regions_mask(regions: Sequence[TextRegion], shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask, True inside every box."""
    mask = np.zeros(shape, bool)
    for r in regions:
        mask[r.slices()] = True
    return mask


# ----------------------------------------------------------------------------- recognition


@functools.lru_cache(maxsize=1)
def _characters() -> list[str]:
    """CTC classes of the recogniser: blank, the model's character list, space."""
    session = _session(REC_MODEL, 1)
    chars = session.get_modelmeta().custom_metadata_map["character"].splitlines()
    return ["", *chars, " "]


def _rec_batch(crops: Sequence[np.ndarray]) -> np.ndarray:
    widths = [min(REC_HEIGHT * REC_MAX_RATIO, max(1, math.ceil(REC_HEIGHT * c.shape[1]
                                                               / max(1, c.shape[0]))))
              for c in crops]
    batch = np.zeros((len(crops), 3, REC_HEIGHT, max(widths)), np.float32)
    for i, (crop, w) in enumerate(zip(crops, widths, strict=True)):
        image = cv2.resize(_as_bgr(crop), (w, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
        batch[i, :, :, :w] = image.transpose(2, 0, 1) / np.float32(127.5) - 1
    return batch


def _ctc_decode(probs: np.ndarray, chars: list[str]) -> tuple[str, float]:
    """Greedy CTC: best class per step, repeats merged, blanks dropped; mean confidence."""
    best, conf = probs.argmax(axis=1), probs.max(axis=1)
    keep = (best != 0) & np.concatenate([[True], best[1:] != best[:-1]])
    text = "".join(chars[i] if i < len(chars) else "" for i in best[keep])
    return text, float(conf[keep].mean()) if keep.any() else 0.0


def recognise(frame: np.ndarray, regions: Sequence[TextRegion], threads: int = 1
              ) -> list[tuple[str, float]]:
    """(text, confidence 0-1) of each box of one frame, read in one batch."""
    crops = [np.asarray(frame)[r.slices()] for r in regions]
    crops = [c for c in crops if c.size]
    if not crops:
        return []
    session = _session(REC_MODEL, threads)
    out = session.run(None, {session.get_inputs()[0].name: _rec_batch(crops)})[0]
    chars = _characters()
    return [_ctc_decode(p, chars) for p in out]
