"""AVI copies of the cropped videos, for viewing and for EchoNet-style tools.

Writer: PyAV (FFmpeg libraries bundled in the wheel; no external ffmpeg binary), Motion-JPEG in
an AVI container - what the EchoNet converters write and what `cv2.VideoCapture` reads.
Why not the alternatives:
- scikit-video 1.1.11 (last release 2018) calls `ndarray.tostring`, removed in numpy 2, and
  shells out to an external ffmpeg binary;
- OpenCV's built-in MJPEG writer rounds the frame rate to an integer in the AVI header
  (29.97 -> 30) and its greyscale mode reads back wrong; PyAV stores the exact rational rate.
Frames are written with `bitexact` flags (no library version string), one thread, fixed quality:
same frames -> same bytes. The AVI is lossy (JPEG, quantiser 2); the uint8 store is the source of
truth for training.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def _rate(fps: float) -> Fraction:
    return Fraction(float(fps)).limit_denominator(1001)


class AviWriter:
    """Streams uint8 (H, W) frames into a greyscale MJPEG AVI (bounded memory)."""

    def __init__(self, path: str | Path, fps: float, height: int, width: int,
                 quantiser: int = 2):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = av.open(str(self.path), "w", format="avi",
                            options={"fflags": "+bitexact"})
        self._stream = self._out.add_stream("mjpeg", rate=_rate(fps))
        ctx = self._stream.codec_context
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuvj420p"
        ctx.thread_count = 1
        ctx.flags |= av.codec.context.Flags.bitexact
        ctx.qmin = ctx.qmax = quantiser
        ctx.options = {"qscale": str(quantiser)}
        self.n = 0
        self._chroma: np.ndarray | None = None

    def write(self, frame: np.ndarray) -> None:
        # Grey = the Y plane with neutral chroma: build the 4:2:0 frame directly (no swscale).
        frame = np.ascontiguousarray(frame, np.uint8)
        h, w = frame.shape
        if h % 2 or w % 2:
            raise ValueError("AVI frames need even height and width (4:2:0 chroma)")
        if self._chroma is None or self._chroma.shape[1] != w:
            self._chroma = np.full((h // 2, w), 128, np.uint8)
        video = av.VideoFrame.from_ndarray(np.concatenate([frame, self._chroma]),
                                           format="yuvj420p")
        video.pts = self.n
        for packet in self._stream.encode(video):
            self._out.mux(packet)
        self.n += 1

    def close(self) -> None:
        for packet in self._stream.encode():
            self._out.mux(packet)
        self._out.close()

    def abort(self) -> None:
        """Close and delete a partial file (the video was excluded mid-stream)."""
        try:
            self._out.close()
        finally:
            self.path.unlink(missing_ok=True)


def tee_to_avi(frames: Iterable[np.ndarray], writer: AviWriter) -> Iterator[np.ndarray]:
    """Pass frames through unchanged while also writing each to the AVI."""
    for frame in frames:
        writer.write(frame)
        yield frame


def read_avi(path: str | Path) -> tuple[np.ndarray, float]:
    """(T, H, W) uint8 luminance and fps of an AVI (tests, viewers)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate)
        frames = [f.to_ndarray(format="gray") for f in container.decode(stream)]
    return np.stack(frames) if frames else np.zeros((0, 0, 0), np.uint8), fps
