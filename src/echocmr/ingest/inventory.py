"""Inventory: one manifest row per file under the DICOM folder, included or excluded with a reason.

Nothing is dropped silently: every file gets a row keyed by pseudonyms only (the raw path holds
identifiers, so it is never written; deidentify re-derives `file_key` from the path). The checks
run in the order of `reasons.INVENTORY_REASONS`; the first one a file fails is its reason.
Pixel checks decode only the first and last frame, so memory stays bounded on long cines.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import warnings
from collections.abc import Iterator
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
from pydicom.encaps import parse_basic_offsets, parse_fragments
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from echocmr import keys
from echocmr.ingest import reasons as R
from echocmr.ingest.normalise import age_years, identifier, identifier_values, parse_date
from echocmr.ingest.settings import InventorySettings
from echocmr.keys import file_key_of
from echocmr.logutil import script_logging, terminal_progress
from echocmr.media import regions as reg
from echocmr.media.decode import n_frames_of
from echocmr.vocab.qc import qc_rows

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = [
    "file_key", "patient_key", "study_key", "video_key", "shard", "sop_class", "modality",
    "n_frames", "rows", "columns", "transfer_syntax", "photometric", "fps", "file_bytes",
    "accession_key", "study_date", "age_years", "status", "reason",
]
ULTRASOUND_SOP_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image Storage
    "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image Storage
    "1.2.840.10008.5.1.4.1.1.6",  # retired Ultrasound Image Storage
    "1.2.840.10008.5.1.4.1.1.3",  # retired Ultrasound Multi-frame Image Storage
    "1.2.840.10008.5.1.4.1.1.6.2",  # Enhanced US Volume
})


# Snakemake's marker in directory outputs (the synthetic export); never part of a PACS export.
IGNORED_NAMES = frozenset({".snakemake_timestamp"})


def list_files(root: str | Path) -> list[Path]:
    """Every regular file under root in a stable (sorted relative path) order, hidden ones too
    (only Snakemake's own directory marker is skipped)."""
    root = Path(root)
    found = [Path(dp) / f for dp, _, fs in os.walk(root) for f in fs if f not in IGNORED_NAMES]
    # Broken links stay in the list (they get a row); devices, sockets and folders do not.
    return sorted((p for p in found if p.is_file() or p.is_symlink()),
                  key=lambda p: p.relative_to(root).as_posix())


def fps_of(ds) -> float | None:
    """Frames per second from FrameTime (ms), FrameTimeVector, CineRate or display rate."""
    try:
        frame_time = float(ds.get("FrameTime") or 0)
        if frame_time > 0:
            return round(1000.0 / frame_time, 4)
        vector = [float(v) for v in (ds.get("FrameTimeVector") or [])][1:]
        if vector and np.mean(vector) > 0:
            return round(1000.0 / float(np.mean(vector)), 4)
        for kw in ("CineRate", "RecommendedDisplayFrameRate"):
            rate = float(ds.get(kw) or 0)
            if rate > 0:
                return rate
    except (TypeError, ValueError):
        pass
    return None


parse_da = parse_date  # the one date reader (echocmr.ingest.normalise); old name kept


def raw_study_date(ds) -> dt.date | None:
    """The study's original date (StudyDate, else the series, content or acquisition date)."""
    for kw in ("StudyDate", "SeriesDate", "ContentDate", "AcquisitionDate"):
        day = parse_da(ds.get(kw))
        if day is not None:
            return day
    return None


def shifted_study_date(ds, secret: str, max_days: int) -> str:
    """Study date moved by the patient's offset, ISO formatted; '' when the header has none."""
    day = raw_study_date(ds)
    if day is None:
        return ""
    offset = keys.date_offset_days(secret, identifier(ds.get("PatientID")), max_days)
    return (day + dt.timedelta(days=offset)).isoformat()


def header_age(ds) -> int | str:
    """Whole years of age at the study (PatientAge, else birth to study date; capped at 90), so
    the cohort stage can apply cohort.min_age without any date of birth; '' when unknown."""
    age = age_years(ds.get("PatientAge"), ds.get("PatientBirthDate"), raw_study_date(ds))
    return "" if age is None else age


def frame_bytes_of(ds) -> int:
    """Bytes per frame of native pixel data as the header declares it."""
    bits = int(ds.BitsAllocated)
    pixels = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1)
    return (pixels * bits + 7) // 8


def is_ultrasound(ds) -> bool:
    return str(ds.get("Modality", "")).upper() == "US" or str(
        ds.get("SOPClassUID", "")) in ULTRASOUND_SOP_CLASSES


def _read(path: Path):
    """Parse the header (pixel data deferred); returns (dataset, reason or None)."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    has_magic = len(head) == 132 and head[128:132] == b"DICM"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(path, defer_size=1024, force=not has_magic)
        except InvalidDicomError:
            return None, R.NOT_DICOM
        except Exception:  # noqa: BLE001 - any parser failure means the file cannot be used
            return None, (R.UNREADABLE_TRUNCATED if has_magic else R.NOT_DICOM)
    if not has_magic and not ("SOPClassUID" in ds or "PatientID" in ds):
        return None, R.NOT_DICOM  # force-read garbage: no DICOM structure at all
    if any("End of file" in str(w.message) or "Expected" in str(w.message) for w in caught):
        return ds, R.UNREADABLE_TRUNCATED
    if _ends_early(ds, path.stat().st_size):
        return ds, R.UNREADABLE_TRUNCATED
    return ds, None


def _ends_early(ds, file_size: int) -> bool:
    """True when the last top-level element does not end at the end of the file.

    pydicom stops quietly when a file is cut inside an element header or value; the raw
    (not yet converted) elements still know where their values start and how long they claim
    to be, so a cut shows as a last element ending before or after the file does.
    """
    raws = [el for el in ds._dict.values() if hasattr(el, "value_tell")]  # noqa: SLF001
    if not raws:
        return True
    last = max(raws, key=lambda el: el.tag)
    if last.length == 0xFFFFFFFF:  # undefined length: the delimiter check (warnings) covers it
        return False
    return last.value_tell + last.length != file_size


def _pixel_length_reason(ds, path: Path) -> str | None:
    """Truncation and frame-count checks that need no decoding (native data, offset tables)."""
    raw = ds._dict.get(0x7FE00010)  # noqa: SLF001 - the deferred raw element knows its length
    length = getattr(raw, "length", None)
    n = n_frames_of(ds)
    if length is None or length == 0xFFFFFFFF:  # encapsulated: offset table and fragment count
        try:
            return _encapsulated_count_reason(ds.PixelData, n)
        except Exception:  # noqa: BLE001 - item structure broken: data cut short
            return R.UNREADABLE_TRUNCATED
    if raw.value_tell + length > path.stat().st_size:
        return R.UNREADABLE_TRUNCATED
    frame_bytes = frame_bytes_of(ds)
    allowed = {n * frame_bytes}
    if str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422":
        # Some vendors store uncompressed YBR_FULL_422 at 3 bytes/pixel (pydicom copes).
        allowed.add(n * int(ds.Rows) * int(ds.Columns) * 2)
        allowed.add(n * int(ds.Rows) * int(ds.Columns) * 3)
    if length in allowed or length - 1 in allowed:  # odd lengths are padded by one byte
        return None
    return R.FRAME_COUNT_MISMATCH


def _encapsulated_count_reason(data: bytes, n: int) -> str | None:
    """Basic offset table entries must equal NumberOfFrames; fragments may not be fewer."""
    if data[:4] != b"\xfe\xff\x00\xe0":
        return R.UNREADABLE_TRUNCATED
    offsets = parse_basic_offsets(data)
    if offsets and len(offsets) != n:
        return R.FRAME_COUNT_MISMATCH
    bot_length = int.from_bytes(data[4:8], "little")
    n_fragments, _ = parse_fragments(data[8 + bot_length:])
    if n_fragments < n:
        return R.FRAME_COUNT_MISMATCH
    return None


def decode_frame(ds, path: Path, index: int) -> np.ndarray:
    """One frame as grey (H, W) or RGB (H, W, 3); palette colour expanded through its LUT."""
    arr = pydicom.pixels.pixel_array(path, index=index)
    if str(ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        arr = pydicom.pixels.apply_color_lut(arr, ds)
    return arr


def colour_share(frame: np.ndarray, mask: np.ndarray | None) -> float:
    """Share of (masked) pixels that are clearly coloured: channel spread > 40 on 8-bit scale."""
    if frame.ndim != 3:
        return 0.0
    f = frame.astype(np.int32)
    if f.max() > 255:
        f = f >> 8
    coloured = (f.max(axis=2) - f.min(axis=2)) > 40
    if mask is not None and mask.any():
        coloured = coloured[mask]
    return float(coloured.mean()) if coloured.size else 0.0


def _decode_reason(ds, path: Path, s: InventorySettings) -> str | None:
    """Decode the first and the last frame: decoder present, count right, not colour Doppler."""
    n = n_frames_of(ds)
    rows, cols = int(ds.Rows), int(ds.Columns)
    regions = reg.tissue_regions(ds)
    mask = reg.regions_mask(regions, rows, cols) if regions else None
    frames = []
    for index in sorted({0, n - 1}):
        try:
            frame = decode_frame(ds, path, index)
        except (IndexError, ValueError) as exc:
            if index > 0 or "frame" in str(exc).lower():
                return R.FRAME_COUNT_MISMATCH
            return R.UNDECODABLE_ENCODING
        except Exception:  # noqa: BLE001 - missing plugin, corrupt codestream, ...
            return R.UNDECODABLE_ENCODING
        if frame.shape[:2] != (rows, cols):
            return R.UNDECODABLE_ENCODING
        frames.append(frame)
    flow = _flow_mask(mask, frames)
    if flow is not None and not flow.any():  # nothing changes: no flow to colour
        return None
    if any(colour_share(f, flow) > s.colour_fraction for f in frames):
        return R.COLOUR_DOPPLER
    return None


def _flow_mask(mask: np.ndarray | None, frames: list[np.ndarray]) -> np.ndarray | None:
    """Where colour flow can be: the declared regions intersected with the scan sector found
    from the first and last frame. A region that covers the whole screen also holds coloured
    banner text, the ECG trace and its moving cursor, which are not flow."""
    if len(frames) < 2 or frames[0].ndim != 3:
        return mask
    sector = reg.fan_mask_from_pixels(frames)
    if not sector.any():
        return mask
    return sector if mask is None else (mask & sector)


def probe(path: Path, root: Path, s: InventorySettings) -> dict:
    """Everything the manifest needs about one file; never raises."""
    row = {c: "" for c in MANIFEST_COLUMNS}
    row["file_key"] = file_key_of(s.secret, root, path)
    row["status"] = R.EXCLUDED
    try:
        row["file_bytes"] = path.stat().st_size
    except OSError:  # broken link, permission denied
        row["reason"] = R.UNREADABLE_TRUNCATED
        return row
    if row["file_bytes"] == 0:
        row["reason"] = R.EMPTY_FILE
        return row
    try:
        ds, reason = _read(path)
    except OSError:
        ds, reason = None, R.UNREADABLE_TRUNCATED
    if ds is None:
        row["reason"] = reason
        return row
    try:
        _describe(ds, row, s)
        reason = (reason or _header_reason(ds, row) or _period_reason(ds, s)
                  or _cine_reason(ds, path, s))
    except Exception:  # noqa: BLE001 - a malformed value anywhere: the file cannot be trusted
        log.warning("file %s: unexpected header content", row["file_key"], exc_info=False)
        reason = reason or R.UNREADABLE_TRUNCATED
    row["reason"] = reason or ""
    row["status"] = R.EXCLUDED if reason else R.INCLUDED
    return row


def _describe(ds, row: dict, s: InventorySettings) -> None:
    """Fill the descriptive manifest columns (pseudonyms only; raw values never leave)."""
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    row["transfer_syntax"] = str(ts) if ts else ""
    row["sop_class"] = str(ds.get("SOPClassUID", "")) if _is_registered(ds.get("SOPClassUID")) \
        else ""
    row["modality"] = str(ds.get("Modality", ""))
    row["photometric"] = str(ds.get("PhotometricInterpretation", ""))
    for col, kw in (("rows", "Rows"), ("columns", "Columns")):
        row[col] = int(ds.get(kw) or 0) or ""
    row["n_frames"] = n_frames_of(ds) if "PixelData" in ds else 0
    fps = fps_of(ds)
    row["fps"] = fps if fps is not None else ""
    pid, study, sop = (identifier(ds.get(k))
                       for k in ("PatientID", "StudyInstanceUID", "SOPInstanceUID"))
    if pid:
        row["patient_key"] = keys.pseudonym(s.secret, "patient", pid)
        row["study_date"] = shifted_study_date(ds, s.secret, s.date_shift_max_days)
        row["age_years"] = header_age(ds)
    if study:
        row["study_key"] = keys.pseudonym(s.secret, "study", study)
        row["shard"] = keys.shard_of(row["study_key"], s.n_shards)
    if sop:
        row["video_key"] = keys.pseudonym(s.secret, "video", sop)
    # value by value: `PR\\US` -> two keys, so an echo report naming either one joins
    row["accession_key"] = keys.pseudonyms(s.secret, "accession",
                                           identifier_values(ds.get("AccessionNumber")))


def _is_registered(uid) -> bool:
    """True for standard (dictionary) UIDs such as SOP classes; private class UIDs are hidden."""
    return bool(uid) and UID(str(uid)).name != str(uid)


def _header_reason(ds, row: dict) -> str | None:
    if not (row["patient_key"] and row["study_key"] and row["video_key"]):
        return R.MISSING_IDENTIFIERS
    return None


def _period_reason(ds, s: InventorySettings) -> str | None:
    """Only here are the dates raw (later stages see shifted ones). A file without any date is
    kept: pairing drops its study as undated."""
    day = raw_study_date(ds)
    if s.period is None or day is None or s.period.contains(day):
        return None
    return R.OUTSIDE_STUDY_PERIOD


def _cine_reason(ds, path: Path, s: InventorySettings) -> str | None:
    if "PixelData" not in ds:
        return R.NO_PIXEL_DATA
    if not is_ultrasound(ds):
        return R.NOT_ULTRASOUND
    n = n_frames_of(ds)
    if n == 1:
        return R.SINGLE_FRAME
    if n < s.min_frames:
        return R.TOO_FEW_FRAMES
    all_regions = reg.ultrasound_regions(ds)
    if any(r.spatial_format in (reg.SPATIAL_MMODE, reg.SPATIAL_SPECTRAL)
           or r.data_type in (reg.DATA_PW_DOPPLER, reg.DATA_CW_DOPPLER) for r in all_regions):
        return R.SPECTRAL_DOPPLER
    if any(r.data_type == reg.DATA_COLOUR_FLOW for r in all_regions):
        return R.COLOUR_DOPPLER
    return _pixel_length_reason(ds, path) or _decode_reason(ds, path, s)


def _probe_star(args) -> dict:
    return probe(*args)


def build_manifest(root: str | Path, s: InventorySettings, processes: int = 1) -> pd.DataFrame:
    """Probe every file under root (in parallel when processes > 1) and mark duplicates."""
    root = Path(root)
    paths = list_files(root)
    jobs = [(p, root, s) for p in paths]
    if processes > 1 and len(jobs) > 1:
        # fork: the children inherit the settings; spawn would re-run the Snakemake script
        with get_context("fork").Pool(processes) as pool:
            rows = list(terminal_progress(pool.imap(_probe_star, jobs, chunksize=8), len(jobs),
                                          "inventory"))
    else:
        rows = [probe(*job) for job in terminal_progress(jobs, len(jobs), "inventory")]
    seen: set[str] = set()
    for row in rows:  # path order: the first copy of an instance wins
        if row["status"] == R.INCLUDED:
            if row["video_key"] in seen:
                row["status"], row["reason"] = R.EXCLUDED, R.DUPLICATE_INSTANCE
            seen.add(row["video_key"])
    mark_identity_conflicts(rows)
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    log.info("inventory: %d files, %d included, %d outside the study period", len(manifest),
             int((manifest["status"] == R.INCLUDED).sum()),
             int((manifest["reason"] == R.OUTSIDE_STUDY_PERIOD).sum()))
    return manifest


def mark_identity_conflicts(rows: list[dict]) -> None:
    """A StudyInstanceUID under two or more PatientIDs (a merge or a typing error at the site):
    every file of the study that passed the readable checks is excluded as `identity_conflict`
    (a readable check: it comes before the study period and the cine checks), since which
    patient is right cannot be known. Every keyed file counts towards the conflict, duplicates
    too; files excluded at an earlier readable check keep their reason."""
    patients: dict[str, set[str]] = {}
    for row in rows:
        if row["study_key"] and row["patient_key"]:
            patients.setdefault(row["study_key"], set()).add(row["patient_key"])
    conflicting = {study for study, keys_ in patients.items() if len(keys_) > 1}
    if not conflicting:
        return
    for row in rows:
        if row["study_key"] in conflicting and (row["status"] == R.INCLUDED or row["reason"]
                                                in R.PERIOD_REASONS + R.CINE_REASONS):
            row["status"], row["reason"] = R.EXCLUDED, R.IDENTITY_CONFLICT
    log.warning("inventory: %d stud(ies) under more than one patient: excluded as %s",
                len(conflicting), R.IDENTITY_CONFLICT)


def inventory_qc(manifest: pd.DataFrame, unit: str = "files", period: bool = False
                 ) -> pd.DataFrame:
    """QC accounting for steps found -> readable -> [in study period] -> ultrasound cines
    (n_in - excluded = n_out). The period step only when cohort.period is set (`period`)."""
    excluded = manifest.loc[manifest["status"] == R.EXCLUDED, "reason"]
    steps = [("found", ()), ("readable", R.READABLE_REASONS),
             *([("in study period", R.PERIOD_REASONS)] if period else []),
             ("ultrasound cines", R.CINE_REASONS)]
    tables, n = [], len(manifest)
    for step, vocabulary in steps:
        rows = qc_rows(step, unit, n, excluded[excluded.isin(vocabulary)], order=vocabulary)
        tables.append(rows)
        n = int(rows["n_out"].iloc[0])
    return pd.concat(tables, ignore_index=True)


def included_files(root: str | Path, manifest: pd.DataFrame, secret: str,
                   shard: int | None = None) -> Iterator[tuple[Path, dict]]:
    """(raw path, manifest row) of the included files, optionally of one shard, in path order."""
    rows = manifest[manifest["status"] == R.INCLUDED]
    if shard is not None:
        rows = rows[rows["shard"].astype(int) == int(shard)]
    by_key = {r["file_key"]: r for r in rows.to_dict("records")}
    for path in list_files(root):
        row = by_key.get(file_key_of(secret, root, path))
        if row is not None:
            yield path, row



def run_inventory(smk) -> None:
    """Script entry of `rule inventory`: every file under the DICOM folder -> one manifest row
    + QC rows."""
    from echocmr.ingest.settings import inventory_settings
    from echocmr.keys import secret_from

    with script_logging(smk) as log:
        secret = secret_from(smk.params.secret, smk.params.synthetic)
        settings = inventory_settings(smk.params.ingest, secret, smk.params.period)
        manifest = build_manifest(smk.input.dicom, settings,
                                  processes=max(1, int(smk.threads)))
        Path(smk.output.manifest).parent.mkdir(parents=True, exist_ok=True)
        manifest.to_csv(smk.output.manifest, index=False)
        inventory_qc(manifest, period=settings.period is not None).to_csv(smk.output.qc,
                                                                     index=False)
        log.info("manifest: %d rows", len(manifest))
        record_run_secret(smk, secret)


def record_run_secret(smk, secret: str) -> None:
    """The secret's fingerprint beside the manifest (a later run with another secret refuses
    to start), and the operator-only key-to-path map (`python -m echocmr.secret lookup`)."""
    from echocmr import secret as private

    private.record_fingerprint(secret, Path(smk.output.manifest).parents[1])
    folder = private.private_dir_of(smk, Path(smk.output.manifest).parents[1])
    private.write_key_map(folder, secret, smk.input.dicom, list_files(smk.input.dicom))
    log.info("key-to-path map written to the operator-only folder (secret.private_dir)")
