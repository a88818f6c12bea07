"""Crop one shard: read the de-identified shard table, plan and stream every video into the
store (+ AVI), and write the QC rows of the step "cropped".

What happens to one video is decided in `echocmr.crop.plan` (`crop_one` / `plan_crop`); this
module only walks the shard, turns a failure into a named exclusion reason and keeps going.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from echocmr.crop.plan import REASON_MISSING, REASON_NO_FRAMES, CropConfig, CropExcluded, crop_one
from echocmr.ingest import reasons
from echocmr.logutil import script_logging, terminal_progress
from echocmr.media import decode
from echocmr.media.avi import AviWriter, tee_to_avi
from echocmr.media.store import StoreWriter
from echocmr.vocab.qc import QC_COLUMNS

log = logging.getLogger("echocmr.crop")


@dataclass
class ShardInputs:
    deid_dir: Path    # results/deid/shards-<n>/shard-N/<patient_key>/<study_key>/<video_key>.dcm
    deid_table: Path  # results/deid/shards-<n>/shard-N.csv: video_key, status, reason
    manifest: Path    # results/ingest/manifest.csv


def _videos_to_crop(inputs: ShardInputs) -> pd.DataFrame:
    """De-identified videos of the shard with their keys and fps from the manifest."""
    deid = pd.read_csv(inputs.deid_table, dtype=str, keep_default_na=False)
    deid = deid[deid["status"] == reasons.INCLUDED]
    manifest = pd.read_csv(inputs.manifest, dtype={"video_key": str, "study_key": str,
                                                    "patient_key": str})
    manifest = manifest.drop_duplicates("video_key")[["video_key", "study_key", "patient_key",
                                                        "fps"]]
    videos = deid[["video_key"]].merge(manifest, on="video_key", how="left")
    return videos.sort_values("video_key", kind="stable").reset_index(drop=True)


def _deid_path(deid_dir: Path, row: pd.Series) -> Path:
    return deid_dir / str(row["patient_key"]) / str(row["study_key"]) / f"{row['video_key']}.dcm"


def _fps_or_none(value) -> float | None:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return None
    return fps if np.isfinite(fps) and fps > 0 else None


def crop_shard(inputs: ShardInputs, out_dir: Path, qc_path: Path, cfg: CropConfig,
               write_avi: bool = True, avi_quantiser: int = 2,
               progress: str = "crop") -> pd.DataFrame:
    """Crop every de-identified video of a shard into the store (+ AVI); write the QC rows.

    A video that fails (header, decode, region, colour Doppler, ...) is excluded with its reason
    and the shard goes on. `progress`: the name on its terminal progress line. Returns the
    per-video outcome table (video_key, status, reason).
    """
    out_dir, qc_path = Path(out_dir), Path(qc_path)
    videos = _videos_to_crop(inputs)
    avi_dir = out_dir / "avi"
    avi_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    with StoreWriter(out_dir, cfg.height, cfg.width) as store:
        for _, row in terminal_progress(videos.iterrows(), len(videos), progress):
            key = str(row["video_key"])
            reason = _crop_into_store(row, inputs.deid_dir, store, avi_dir if write_avi else None,
                                      cfg, avi_quantiser)
            outcomes.append(dict(video_key=key, status="excluded" if reason else "included",
                                 reason=reason or ""))
    outcome = pd.DataFrame(outcomes, columns=["video_key", "status", "reason"])
    write_qc(outcome, qc_path)
    return outcome


def _crop_into_store(row: pd.Series, deid_dir: Path, store: StoreWriter, avi_dir: Path | None,
                     cfg: CropConfig, avi_quantiser: int) -> str | None:
    """Crop one video into the store (and its AVI); returns the exclusion reason or None."""
    key = str(row["video_key"])
    if pd.isna(row["study_key"]) or pd.isna(row["patient_key"]):
        log.warning("%s: not in the manifest", key)
        return REASON_MISSING
    writer = None
    try:
        plan = crop_one(_deid_path(deid_dir, row), _fps_or_none(row["fps"]), cfg)
        frames = plan.frames()
        if avi_dir is not None:
            writer = AviWriter(avi_dir / f"{key}.avi", plan.fps, cfg.height, cfg.width,
                               avi_quantiser)
            frames = tee_to_avi(frames, writer)
        n = store.add(key, str(row["study_key"]), str(row["patient_key"]), plan.fps, frames,
                      crop_mask=plan.mask_kind)
        if n == 0:
            raise CropExcluded(REASON_NO_FRAMES)
    except CropExcluded as exc:
        reason = str(exc)
        log.info("%s excluded: %s%s", key, reason,
                 f" ({exc.__cause__})" if exc.__cause__ is not None else "")
        if writer is not None:
            writer.abort()
        return reason
    except decode.DecodeError as exc:      # raised mid-stream, after the plan
        log.info("%s excluded: %s (%s)", key, exc.reason, exc)
        if writer is not None:
            writer.abort()
        return exc.reason
    if writer is not None:
        writer.close()
    if n != plan.n_frames:
        log.warning("%s: %d frames decoded, header says %d", key, n, plan.n_frames)
    log.info("%s: %d frames, fps %.2f, box %s (%s), mask %s, dct 1/%d, colour %s%s", key, n,
             plan.fps, plan.box, plan.box_source, plan.mask_kind, plan.dct_scale,
             plan.colour_mode, "; " + "; ".join(plan.notes) if plan.notes else "")
    return None


def write_qc(outcome: pd.DataFrame, qc_path: Path) -> pd.DataFrame:
    """QC rows of the step "cropped" (docs/ARCHITECTURE.md: one row per exclusion reason)."""
    n_in = len(outcome)
    n_out = int((outcome["status"] == "included").sum())
    excluded = outcome[outcome["status"] == "excluded"]
    rows = [dict(step="cropped", unit="videos", n_in=n_in, n_out=n_out, reason=reason,
                 n_excluded=int(count))
            for reason, count in sorted(excluded["reason"].value_counts().items())]
    if not rows:
        rows = [dict(step="cropped", unit="videos", n_in=n_in, n_out=n_out, reason="",
                     n_excluded=0)]
    qc = pd.DataFrame(rows, columns=QC_COLUMNS)
    qc_path.parent.mkdir(parents=True, exist_ok=True)
    qc.to_csv(qc_path, index=False)
    return qc



def run_crop(smk) -> None:
    """Script entry of `rule crop`: one shard of de-identified DICOM -> uint8 store + AVIs +
    QC rows."""
    import cv2

    with script_logging(smk) as log:
        cv2.setNumThreads(max(1, int(smk.threads)))  # stay within the job
        section = dict(smk.params.crop)
        avi = section.pop("avi", {}) or {}
        cfg = CropConfig.from_config(section)
        inputs = ShardInputs(deid_dir=Path(smk.input.deid_dir),
                             deid_table=Path(smk.input.deid_table),
                             manifest=Path(smk.input.manifest))
        out_dir = Path(smk.output.frames).parent
        outcome = crop_shard(inputs, out_dir, Path(smk.output.qc), cfg,
                             write_avi=bool(avi.get("write", True)),
                             avi_quantiser=int(avi.get("quantiser", 2)),
                             progress=f"crop shard {smk.wildcards.shard}")
        log.info("shard done: %d videos cropped, %d excluded",
                 int((outcome["status"] == "included").sum()),
                 int((outcome["status"] == "excluded").sum()))
