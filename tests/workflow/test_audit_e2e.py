"""The PHI gate on the full demo run: the audit table is empty and no planted identifier of the
synthetic export appears anywhere under results/ (names, MRNs, UIDs, birth dates, ...); a name
burned into one de-identified frame afterwards makes the audit fail."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from conftest import run_snakemake
from ingest_fixtures import planted_leaks
from PIL import Image
from pydicom.encaps import encapsulate

pytestmark = [pytest.mark.slow, pytest.mark.workflow]


def test_demo_audit_passes_and_no_planted_identifier_leaks(demo_run):
    audit = pd.read_csv(demo_run / "results" / "audit" / "phi_audit.csv")
    assert list(audit.columns) == ["file", "location", "identifier_type"]
    assert audit.empty
    identifiers = json.loads((demo_run / "synthetic" / "truth" / "identifiers.json").read_text())
    assert planted_leaks(demo_run / "results", identifiers) == []
    log = (demo_run / "results" / "logs" / "audit" / "audit.log").read_text()
    assert "PHI audit passed" in log


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _burn_name(path: Path, text: str) -> None:
    """Re-encode every frame of a de-identified cine with `text` burned in at the top left (the
    console's smallest font, outside the sector), in a new file moved over `path`."""
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array.reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns), -1)
    encoded = []
    for frame in frames:
        frame = np.ascontiguousarray(np.repeat(frame, 3, axis=2) if frame.shape[2] == 1
                                     else frame)
        cv2.putText(frame, text, (2, 8), cv2.FONT_HERSHEY_SIMPLEX, 0.31, (255, 255, 255), 1,
                    cv2.LINE_8)
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, "JPEG", quality=95, subsampling=1)
        encoded.append(buf.getvalue())
    ds.file_meta.TransferSyntaxUID = pydicom.uid.JPEGBaseline8Bit
    ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.PlanarConfiguration = \
        "YBR_FULL_422", 3, 0
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    tmp = path.with_suffix(".planted")
    ds.save_as(tmp, enforce_file_format=True)
    os.replace(tmp, path)  # a new inode: the shared run's hard-linked original is untouched


def _without_audit_outputs(folder: str, names: list[str]) -> set[str]:
    """Snakemake's records anywhere and `results/audit/`; the library's `audit` package
    (`src/echocmr/audit/`) is copied: the job imports it from the copy."""
    skipped = {".snakemake"} & set(names)
    if Path(folder).name == "results" and "audit" in names:
        skipped.add("audit")
    return skipped


def test_audit_fails_on_a_name_burned_into_a_deidentified_frame(demo_run, tmp_path):
    # The shared run's tree, hard-linked (no bytes copied), without the audit's outputs and
    # Snakemake's records (written in place, they would change the shared run's); the audit is
    # rerun alone (`--allowed-rules audit`).
    wd = tmp_path / "wf"
    shutil.copytree(demo_run, wd, symlinks=True, copy_function=_link_or_copy,
                    ignore=_without_audit_outputs)
    identifiers = json.loads((wd / "synthetic" / "truth" / "identifiers.json").read_text())
    family, given = identifiers["patient_names"][0].split("^")[:2]
    victim = sorted((wd / "results" / "deid").rglob("*.dcm"))[0]
    _burn_name(victim, f"{family}, {given}")
    proc = run_snakemake(wd, "results/audit/phi_audit.csv", "--allowed-rules", "audit",
                         check=False)
    assert proc.returncode != 0
    log = (wd / "results" / "logs" / "audit" / "audit.log").read_text()
    shown = victim.relative_to(wd / "results").as_posix()
    assert f"{shown} [pixels (OCR)]: person_name" in log
    assert "pixel audit:" in log and "cines checked" in log
    for text in (proc.stdout, proc.stderr, log):
        for name in (family, given):
            assert not re.search(rf"\b{re.escape(name)}\b", text.upper())
