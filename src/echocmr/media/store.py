"""The compact video store: every cropped video of a shard back to back in one uint8 `.npy`.

Training reads clips by slicing a memory map, so no video file is decoded per sample and many
DataLoader workers share the page cache instead of each holding copies. One store per shard:

    shard-N/frames.npy   uint8 (total_frames, H, W), luminance
    shard-N/index.csv    video_key, study_key, patient_key, start, n_frames, fps, height, width,
                         crop_mask (which pixel mask the crop used: `crop_mask.MASK_KINDS`)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

INDEX_COLUMNS = ["video_key", "study_key", "patient_key", "start", "n_frames", "fps", "height",
                 "width", "crop_mask"]


class StoreWriter:
    """Appends videos frame-block by frame-block, then writes a valid `.npy` without a second copy.

    Frames are streamed to a raw file (bounded memory for long cines); `close()` prepends the
    `.npy` header by writing the header file and appending the raw bytes.
    """

    def __init__(self, shard_dir: str | Path, height: int, width: int):
        self.dir = Path(shard_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.height, self.width = height, width
        self._raw_path = self.dir / "frames.raw.tmp"
        self._raw = open(self._raw_path, "wb")
        self._rows: list[dict] = []
        self._total = 0

    def add(self, video_key: str, study_key: str, patient_key: str, fps: float,
            frames: Iterable[np.ndarray], crop_mask: str = "") -> int:
        """Append one video's frames (each uint8 HxW); returns the number of frames written.

        If `frames` raises part-way (a frame that cannot be decoded), the frames already written
        for this video are taken back and the exception propagates: the store stays consistent
        and the caller can exclude the video and go on.
        """
        start, n = self._total, 0
        offset = self._raw.tell()
        try:
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                if frame.shape != (self.height, self.width):
                    raise ValueError(f"frame shape {frame.shape} != store shape "
                                     f"{(self.height, self.width)} for {video_key}")
                self._raw.write(frame.tobytes())
                n += 1
        except BaseException:
            self._raw.seek(offset)
            self._raw.truncate()
            raise
        self._total += n
        self._rows.append(dict(video_key=video_key, study_key=study_key, patient_key=patient_key,
                               start=start, n_frames=n, fps=float(fps), height=self.height,
                               width=self.width, crop_mask=crop_mask))
        return n

    def close(self) -> None:
        self._raw.close()
        shape = (self._total, self.height, self.width)
        npy_path = self.dir / "frames.npy"
        with open(npy_path, "wb") as out:
            np.lib.format.write_array_header_1_0(
                out, {"descr": "|u1", "fortran_order": False, "shape": shape})
            with open(self._raw_path, "rb") as raw:
                while chunk := raw.read(1 << 24):
                    out.write(chunk)
        self._raw_path.unlink()
        pd.DataFrame(self._rows, columns=INDEX_COLUMNS).to_csv(self.dir / "index.csv", index=False)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoStore:
    """Read-only view over one or more shard stores; `frames(key)` is a zero-copy memmap slice."""

    def __init__(self, shard_dirs: Iterable[str | Path]):
        metas, self._arrays = [], []
        for i, shard_dir in enumerate(shard_dirs):
            shard_dir = Path(shard_dir)
            meta = pd.read_csv(shard_dir / "index.csv")
            meta["_array"] = i
            metas.append(meta)
            self._arrays.append(np.load(shard_dir / "frames.npy", mmap_mode="r")
                                if len(meta) else np.zeros((0, 1, 1), np.uint8))
        self.meta = (pd.concat(metas, ignore_index=True) if metas
                     else pd.DataFrame(columns=INDEX_COLUMNS + ["_array"]))
        if self.meta["video_key"].duplicated().any():
            raise ValueError("a video_key appears in more than one shard store")
        self._row = {k: i for i, k in enumerate(self.meta["video_key"])}

    def keys(self) -> list[str]:
        return list(self.meta["video_key"])

    def __len__(self) -> int:
        return len(self.meta)

    def __contains__(self, key: str) -> bool:
        return key in self._row

    def info(self, key: str) -> pd.Series:
        return self.meta.iloc[self._row[key]]

    def frames(self, key: str) -> np.ndarray:
        """All frames of one video, (T, H, W) uint8, memory-mapped (copy before writing)."""
        row = self.meta.iloc[self._row[key]]
        start = int(row["start"])
        return self._arrays[int(row["_array"])][start:start + int(row["n_frames"])]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())
