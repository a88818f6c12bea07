"""Clean Pixel Data and the de-identified DICOM writer (frame by frame, bounded memory).

Everything outside the kept area is set to zero: burned-in names, dates, the ECG trace, colour
bars, logos, and text found inside the scan sector. The kept area (`keep_area`) never trusts one
source: header regions x the scan sector found from the pixels - boxes of the learned text
detector (frames spread over the cine) - text lines confirmed by OCR, checked again after
cleaning. A first pass over (a sample of) the frames gathers what it needs.
A cine whose cleaned pixels still read as text is refused (`burned_in_text_unresolved`), so
BurnedInAnnotation=NO is only ever written on checked pixels.

Encodings: the transfer-syntax family is kept where that is cheap, so the crop stage can decode
fast: JPEG Baseline in -> JPEG Baseline out (Pillow, quality `jpeg_quality`, 4:2:2), RLE -> RLE,
native -> native (explicit VR little endian). Everything else (JPEG 2000, JPEG lossless/LS,
12-bit JPEG, palette colour) is decoded to native; palette colour goes through its LUT to RGB.
Frames are decoded, cleaned, encoded and written one at a time; the output is streamed straight
to disk (PixelData element written by hand after the header), never held whole in memory.
"""

from __future__ import annotations

import io
import logging
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels.encoders import RLELosslessEncoder
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless

from echocmr import keys
from echocmr.deid import burned_text as bt
from echocmr.deid.header import deidentify_header, file_meta_for
from echocmr.deid.jpeg_blank import blank_jpeg_frame
from echocmr.deid.keep_area import KeepArea, header_mask, keep_area
from echocmr.ingest import reasons as R
from echocmr.media import decode, scene_text
from echocmr.media import regions as reg

log = logging.getLogger(__name__)

PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
ITEM_TAG = b"\xfe\xff\x00\xe0"
SEQ_DELIM = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
LOSSY_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                            "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.81"})
PILLOW_PHOTOMETRICS = frozenset({"YBR_FULL_422", "YBR_FULL", "MONOCHROME2"})


class PixelError(RuntimeError):
    """The pixel data cannot be cleaned; `reason` is a manifest vocabulary word."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class PixelPlan:
    """How frames are read and how they are written."""

    reader: str  # "pillow_jpeg" (encapsulated baseline frames) or "pydicom"
    out_syntax: str
    photometric: str
    samples: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    palette: bool
    lossy: bool


def plan_pixels(ds: Dataset) -> PixelPlan:
    """Choose reader and output encoding for one data set (see module docstring)."""
    ts = str(ds.file_meta.TransferSyntaxUID)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    samples = int(ds.get("SamplesPerPixel", 1))
    bits = int(ds.BitsAllocated)
    palette = photometric == "PALETTE COLOR"
    was_lossy = str(ds.get("LossyImageCompression", "00")) == "01" or ts in LOSSY_SYNTAXES
    colour = palette or samples == 3
    if ts == JPEGBaseline8Bit and bits == 8 and photometric in PILLOW_PHOTOMETRICS:
        return PixelPlan("pillow_jpeg", JPEGBaseline8Bit,
                         "YBR_FULL_422" if samples == 3 else "MONOCHROME2",
                         samples, 8, 8, 0, False, True)
    out_bits = 8 if palette else bits
    out_photometric = "RGB" if colour else (
        photometric if photometric.startswith("MONOCHROME") else "MONOCHROME2")
    out_ts = RLELossless if ts == RLELossless else ExplicitVRLittleEndian
    return PixelPlan("pydicom", out_ts, out_photometric, 3 if colour else 1, out_bits,
                     8 if palette else int(ds.get("BitsStored", bits)),
                     0 if colour else int(ds.get("PixelRepresentation", 0)), palette, was_lossy)


def _pixel_errors(frames: Iterator) -> Iterator:
    """The frames of `frames`; a decoder failure becomes PixelError('undecodable_encoding'),
    whose message carries the exception type only (decoder messages can quote header values)."""
    try:
        yield from frames
    except PixelError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt codestream, missing plugin, short data
        raise PixelError("undecodable_encoding", type(exc).__name__) from None


def iter_source_frames(ds: Dataset, path: Path, plan: PixelPlan) -> Iterator[np.ndarray]:
    """Decoded frames, one at a time: grey (H, W) or RGB (H, W, 3) (`media.decode`)."""
    return _pixel_errors(decode.native_frames(ds, path, plan.reader == "pillow_jpeg",
                                              plan.palette))


# Frames read by the first pass: text is static and the sector moves, so a spread sample of
# the cine shows both while decoding a fraction of a long cine (the same count as the audit).
SCAN_FRAMES = bt.TEXT_SCAN_FRAMES


def indexed_frames(ds: Dataset, path: Path, plan: PixelPlan, wanted: set[int]):
    """(index, decoded frame) of the frames in `wanted` (JPEG: only those fragments are
    decoded)."""
    return _pixel_errors(decode.indexed_native_frames(
        ds, path, plan.reader == "pillow_jpeg", plan.palette, wanted))


def sample_frames(ds: Dataset, path: Path, plan: PixelPlan, k: int = SCAN_FRAMES):
    """Up to k decoded frames spread over the cine (JPEG: only those fragments are decoded)."""
    wanted = set(decode.spread_indices(decode.n_frames_of(ds), k))
    for _, frame in indexed_frames(ds, path, plan, wanted):
        yield frame


def keep_mask(ds: Dataset, path: Path, plan: PixelPlan, threads: int = 1) -> KeepArea:
    """Pixels to keep (see keep_area): one pass over a sample of the frames, which also
    collects the frames the learned text detector reads."""
    n = decode.n_frames_of(ds)
    scan = set(decode.spread_indices(n, SCAN_FRAMES))
    learned = set(decode.spread_indices(n, scene_text.LEARNED_FRAMES))
    acc = reg.FanMaskAccumulator()
    frames = []
    for i, frame in indexed_frames(ds, path, plan, scan | learned):
        if i in scan:
            acc.add(frame)
        if i in learned:
            frames.append(frame)
    if acc.n == 0:
        raise PixelError("undecodable_encoding", "no frame decoded")
    fan = acc.mask(static_fallback=True)
    return keep_area(header_mask(ds), fan, acc.lo, acc.hi, acc.from_motion, frames, threads)


def encode_frame(frame: np.ndarray, plan: PixelPlan, quality: int) -> bytes:
    if plan.out_syntax == JPEGBaseline8Bit:
        buf = io.BytesIO()
        # 4:2:2 chroma as YBR_FULL_422 declares; JFIF YCbCr is what the decoders expect.
        Image.fromarray(frame).save(buf, "JPEG", quality=quality, subsampling=1, optimize=False)
        return buf.getvalue()
    if plan.out_syntax == RLELossless:
        return RLELosslessEncoder.encode(
            np.ascontiguousarray(frame), rows=frame.shape[0], columns=frame.shape[1],
            samples_per_pixel=plan.samples, bits_allocated=plan.bits_allocated,
            bits_stored=plan.bits_stored, pixel_representation=plan.pixel_representation,
            photometric_interpretation=plan.photometric, number_of_frames=1,
            planar_configuration=0)
    dtype = {8: "u1", 16: "<u2", 32: "<u4"}[plan.bits_allocated]
    if plan.pixel_representation:
        dtype = dtype.replace("u", "i")
    return np.ascontiguousarray(frame, dtype=np.dtype(dtype)).tobytes()


def lossless_jpeg_frames(ds: Dataset, mask: np.ndarray, quality: int) -> Iterator[bytes]:
    """JPEG Baseline frames blanked in the DCT domain (`jpeg_blank`): kept blocks stay
    bit-identical and nothing is re-encoded. A frame the DCT path cannot take (progressive,
    12-bit, RGB-coded) is decoded, cleaned and re-encoded instead, and the log says so."""
    keep = {2: mask.astype(np.uint8), 3: mask.astype(np.uint8)[..., None]}
    fallback = 0
    for fragment in decode.jpeg_fragments(ds):
        try:
            yield blank_jpeg_frame(fragment, mask)[0]
            continue
        except ValueError:
            fallback += 1
        frame = decode.decode_jpeg(fragment)
        buf = io.BytesIO()
        Image.fromarray(frame * keep[frame.ndim]).save(buf, "JPEG", quality=quality,
                                                        subsampling=1, optimize=False)
        yield buf.getvalue()
    if fallback:
        log.info("%d JPEG frame(s) could not be blanked losslessly: re-encoded", fallback)


def cleaned_frames(ds: Dataset, path: Path, plan: PixelPlan, mask: np.ndarray,
                   quality: int, lossless_jpeg: bool = True) -> Iterator[bytes]:
    """Blank outside the mask, one frame at a time: in the DCT domain for JPEG Baseline
    (`lossless_jpeg`), otherwise decode, multiply by the mask and encode."""
    if plan.reader == "pillow_jpeg" and lossless_jpeg:
        try:
            yield from lossless_jpeg_frames(ds, mask, quality)
        except PixelError:
            raise
        except Exception as exc:  # noqa: BLE001 - corrupt codestream
            raise PixelError("undecodable_encoding", type(exc).__name__) from None
        return
    keep = {2: mask.astype(np.uint8), 3: mask.astype(np.uint8)[..., None]}
    for frame in iter_source_frames(ds, path, plan):
        if frame.shape[:2] != mask.shape:
            raise PixelError("undecodable_encoding", "frame shape differs from Rows x Columns")
        # multiply instead of boolean indexing: one pass, no index arrays (3x faster)
        frame = frame * keep[frame.ndim].astype(frame.dtype, copy=False)
        yield encode_frame(frame, plan, quality)


def pixel_description(out: Dataset, src: Dataset, plan: PixelPlan, n_frames: int) -> None:
    """Image pixel attributes of the written data; BurnedInAnnotation=NO: callers write only
    cines whose cleaned pixels were checked (keep_area.verified)."""
    out.SamplesPerPixel = plan.samples
    out.PhotometricInterpretation = plan.photometric
    if plan.samples == 3:
        out.PlanarConfiguration = 0
    out.BitsAllocated = plan.bits_allocated
    out.BitsStored = plan.bits_stored
    out.HighBit = plan.bits_stored - 1
    out.PixelRepresentation = plan.pixel_representation
    out.Rows, out.Columns = int(src.Rows), int(src.Columns)
    if "NumberOfFrames" in src or n_frames > 1:
        out.NumberOfFrames = n_frames
    out.BurnedInAnnotation = "NO"
    if plan.lossy or plan.out_syntax == JPEGBaseline8Bit:
        out.LossyImageCompression = "01"
        out.LossyImageCompressionMethod = "ISO_10918_1"


def _write_element_header(fh, vr: bytes, length: int) -> None:
    fh.write(PIXEL_DATA_TAG + vr + b"\x00\x00" + struct.pack("<I", length))


def stream_write(dest: Path, header: Dataset, frames: Iterator[bytes], n_frames: int,
                 encapsulated: bool, native_frame_bytes: int = 0, vr: bytes = b"OB") -> None:
    """Write header then PixelData frame by frame; raises PixelError if the count is wrong.

    Written to a temporary name and renamed, so a failure never leaves a half file behind.
    """
    tmp = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as fh:
            pydicom.dcmwrite(fh, header, enforce_file_format=True)
            count = (_write_encapsulated(fh, frames, n_frames) if encapsulated
                     else _write_native(fh, frames, n_frames, native_frame_bytes, vr))
        if count != n_frames:
            raise PixelError("frame_count_mismatch", f"{count} frames decoded, {n_frames} declared")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _write_encapsulated(fh, frames: Iterator[bytes], n_frames: int) -> int:
    _write_element_header(fh, b"OB", 0xFFFFFFFF)
    fh.write(ITEM_TAG + struct.pack("<I", 4 * n_frames))
    table_at = fh.tell()
    fh.write(b"\x00" * (4 * n_frames))
    offsets, position = [], 0
    for data in frames:
        if len(offsets) == n_frames:
            return n_frames + 1  # more frames than declared
        if len(data) % 2:
            data += b"\x00"
        offsets.append(position)
        fh.write(ITEM_TAG + struct.pack("<I", len(data)))
        fh.write(data)
        position += 8 + len(data)
    fh.write(SEQ_DELIM)
    if len(offsets) == n_frames:
        end = fh.tell()
        fh.seek(table_at)
        fh.write(struct.pack(f"<{n_frames}I", *offsets))
        fh.seek(end)
    return len(offsets)


def _write_native(fh, frames: Iterator[bytes], n_frames: int, frame_bytes: int,
                  vr: bytes) -> int:
    total = n_frames * frame_bytes
    _write_element_header(fh, vr, total + total % 2)
    count = 0
    for data in frames:
        count += 1
        if count > n_frames or len(data) != frame_bytes:
            return count if count > n_frames else -1
        fh.write(data)
    if total % 2:
        fh.write(b"\x00")
    return count


@dataclass(frozen=True)
class DeidResult:
    mask_source: str
    out_syntax: str
    n_frames: int
    text_boxes: int = 0
    text_share: float = 0.0


def deidentify_file(src_path: str | Path, dest: str | Path, secret: str,
                    max_shift_days: int = keys.DATE_SHIFT_MAX_DAYS, jpeg_quality: int = 95,
                    lossless_jpeg: bool = True) -> DeidResult:
    """De-identify one DICOM file (header + pixels) into `dest`; raises PixelError on failure."""
    src_path, dest = Path(src_path), Path(dest)
    ds = pydicom.dcmread(src_path, defer_size="64 KB")
    if not str(ds.get("PatientID", "") or "").strip():
        raise PixelError("missing_identifiers", "no PatientID to key the patient")
    plan = plan_pixels(ds)
    n = decode.n_frames_of(ds)
    area = keep_mask(ds, src_path, plan)
    if not area.mask.any():
        raise PixelError(R.NO_TISSUE_REGION)
    if not area.verified:
        raise PixelError(R.BURNED_IN_TEXT_UNRESOLVED,
                         f"{len(area.text_boxes)} text lines, {area.text_share:.1%} of tissue")
    mask = area.mask
    header = deidentify_header(ds, secret, max_shift_days)
    pixel_description(header, ds, plan, n)
    header.file_meta = file_meta_for(header, plan.out_syntax)
    encapsulated = plan.out_syntax != ExplicitVRLittleEndian
    frame_bytes = int(ds.Rows) * int(ds.Columns) * plan.samples * (plan.bits_allocated // 8)
    frames = cleaned_frames(ds, src_path, plan, mask, jpeg_quality, lossless_jpeg)
    stream_write(dest, header, frames, n,
                 encapsulated, frame_bytes, b"OW" if plan.bits_allocated > 8 else b"OB")
    return DeidResult(area.source, str(plan.out_syntax), n,
                      len(area.text_boxes) + area.learned_blanked, area.text_share)
