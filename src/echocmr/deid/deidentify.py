"""One shard of de-identification: every included file of the shard -> a clean DICOM, or a reason.

Output layout (docs/ARCHITECTURE.md): `<out_dir>/<patient_key>/<study_key>/<video_key>.dcm` and a
per-video table `video_key, status, reason`. A file that fails is excluded with a vocabulary reason
and the shard goes on; the log names files by `video_key` only.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from echocmr import keys
from echocmr.deid.pixels import PixelError, deidentify_file
from echocmr.ingest import reasons as R
from echocmr.ingest.inventory import included_files
from echocmr.ingest.settings import shift_days
from echocmr.logutil import script_logging, terminal_progress
from echocmr.vocab.qc import qc_rows

log = logging.getLogger(__name__)

# mask_source: header+pixels | header | pixels; text_lines: burned-in text lines blanked inside
# the tissue area; text_share: share of the tissue area they took (docs/ingest.md)
SHARD_COLUMNS = ["video_key", "status", "reason", "mask_source", "text_lines", "text_share"]
QC_STEP, QC_UNIT = "de-identified", "videos"


@dataclass(frozen=True)
class DeidSettings:
    secret: str
    max_shift_days: int = keys.DATE_SHIFT_MAX_DAYS
    jpeg_quality: int = 95
    lossless_jpeg: bool = True


def deid_settings(ingest: dict, secret: str) -> DeidSettings:
    return DeidSettings(secret=secret,
                        max_shift_days=shift_days(ingest),
                        jpeg_quality=int(ingest.get("jpeg_quality", 95)),
                        lossless_jpeg=ingest.get("jpeg_blanking", "lossless") == "lossless")


def deidentify_one(path: Path, row: dict, out_dir: Path, s: DeidSettings) -> dict:
    """De-identify one file; returns its shard-table row (reason '' on success)."""
    dest = out_dir / row["patient_key"] / row["study_key"] / f"{row['video_key']}.dcm"
    out = dict(video_key=row["video_key"], status=R.INCLUDED, reason="", mask_source="",
               text_lines="", text_share="")
    try:
        result = deidentify_file(path, dest, s.secret, s.max_shift_days, s.jpeg_quality,
                                 s.lossless_jpeg)
    except PixelError as exc:
        reason = exc.reason if exc.reason in R.DESCRIPTIONS else R.DEID_FAILED
        return out | dict(status=R.EXCLUDED, reason=reason)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the shard
        # The exception text may quote header values: log its type only.
        log.warning("%s: %s while de-identifying", row["video_key"], type(exc).__name__)
        return out | dict(status=R.EXCLUDED, reason=R.DEID_FAILED)
    log.debug("%s: mask from %s, %d frames, %d text lines blanked (%.2f%% of tissue)",
              row["video_key"], result.mask_source, result.n_frames, result.text_boxes,
              100 * result.text_share)
    return out | dict(mask_source=result.mask_source, text_lines=result.text_boxes,
                      text_share=round(result.text_share, 5))


def deidentify_shard(dicom_dir: str | Path, manifest: pd.DataFrame, shard: int,
                     out_dir: str | Path, s: DeidSettings) -> pd.DataFrame:
    """All included files of one shard; returns the shard table (video_key, status, reason)."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a rerun must not keep files of videos now excluded
    out_dir.mkdir(parents=True)
    rows = []
    todo = list(included_files(dicom_dir, manifest, s.secret, shard))
    for path, row in terminal_progress(todo, len(todo), f"de-identify shard {shard}"):
        rows.append(deidentify_one(path, row, out_dir, s))
    table = pd.DataFrame(rows, columns=SHARD_COLUMNS)
    expected = int(((manifest["status"] == R.INCLUDED)
                    & (pd.to_numeric(manifest["shard"], errors="coerce") == shard)).sum())
    if len(table) != expected:  # a manifest row whose file vanished since the inventory
        raise RuntimeError(f"shard {shard}: {expected} included files in the manifest but "
                           f"{len(table)} found under the DICOM folder; rerun the inventory.")
    log.info("shard %d: %d de-identified, %d excluded", shard,
             int((table["status"] == R.INCLUDED).sum()), int((table["status"] == R.EXCLUDED).sum()))
    return table


def deid_qc(table: pd.DataFrame) -> pd.DataFrame:
    """The QC rows of one shard: every video in, the included ones out."""
    excluded = table.loc[table["status"] == R.EXCLUDED, "reason"]
    return qc_rows(QC_STEP, QC_UNIT, len(table), excluded)



def run_deidentify(smk) -> None:
    """Script entry of `rule deidentify`: the included files of one shard -> de-identified
    DICOM + shard table + QC."""
    from echocmr.keys import secret_from

    with script_logging(smk):
        secret = secret_from(smk.params.secret, smk.params.synthetic)
        manifest = pd.read_csv(smk.input.manifest, dtype=str, keep_default_na=False)
        table = deidentify_shard(smk.input.dicom, manifest, int(smk.wildcards.shard),
                                 smk.output.dir, deid_settings(smk.params.ingest, secret))
        table.to_csv(smk.output.table, index=False)
        deid_qc(table).to_csv(smk.output.qc, index=False)
