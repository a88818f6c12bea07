"""The synthetic DICOM export: valid, decodable, every encoding, regions, identifiers, bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.errors import InvalidDicomError

from echocmr.simulate.export import run_export
from echocmr.simulate.settings import SimSettings

TINY = {
    "n_patients": 8,
    "image": {"width": 128, "height": 96, "alt_fraction": 0.3},
    "frames": {"min": 20, "max": 26},
    "fps": {"min": 30, "max": 40},
    "heartbeats": {"min": 1.0, "max": 1.5},
    "distractors": {"psax": 0.4, "a5c": 0.3, "subcostal": 0.3, "doppler": 0.5, "still": 0.5,
                    "sr": 0.5},
    "damaged": {"truncated": 1, "zero_bytes": 1, "not_dicom": 1},
}


def _export(root: Path, section: dict, seed: int = 11, workers: int = 1) -> Path:
    run_export(SimSettings.from_config(section, seed), root, "test-secret", workers=workers,
               progress=False)
    return root


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = _export(tmp_path_factory.mktemp("sim") / "synthetic", TINY)
    videos = pd.read_csv(root / "truth" / "videos.csv", keep_default_na=False,
                         dtype={"rows": str, "columns": str})
    for col in ("rows", "columns"):
        videos[col] = pd.to_numeric(videos[col]).astype("Int64")
    return root, videos


def _read(root, rel):
    return pydicom.dcmread(root / "raw" / "dicom" / rel)


def test_every_file_but_the_damaged_is_valid_and_decodes(export):
    root, videos = export
    on_disk = {str(p.relative_to(root / "raw" / "dicom"))
               for p in (root / "raw" / "dicom").rglob("*") if p.is_file()}
    assert on_disk == set(videos["relative_path"])
    for row in videos.itertuples():
        if row.kind == "damaged":
            continue
        ds = _read(root, row.relative_path)
        assert ds.SOPInstanceUID == row.sop_instance_uid
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        if row.kind == "sr":
            assert ds.Modality == "SR" and "PixelData" not in ds
            continue
        arr = ds.pixel_array
        assert (row.rows, row.columns) in {(96, 128), (120, 160)}
        if row.kind == "still":
            assert arr.shape[:2] == (row.rows, row.columns) and "NumberOfFrames" not in ds
        else:
            assert arr.shape[:3] == (row.n_frames, row.rows, row.columns)
            assert ds.NumberOfFrames == row.n_frames
            assert 30 <= float(ds.CineRate) <= 60 or 30 <= 1000 / float(ds.FrameTime) <= 60
        assert ds.file_meta.TransferSyntaxUID == row.transfer_syntax


def test_two_machines_two_image_sizes(export):
    _, videos = export
    rendered = videos[videos["kind"].isin(["cine", "doppler", "still"])]
    assert set(zip(rendered["rows"], rendered["columns"], strict=True)) == {(96, 128), (120, 160)}
    # One machine per study: all images of a study share a size.
    assert (rendered.groupby("study_key")["rows"].nunique() == 1).all()


def test_every_encoding_appears_with_its_photometric(export):
    root, videos = export
    seen = {}
    for row in videos[videos["kind"].isin(["cine", "doppler", "still"])].itertuples():
        ds = _read(root, row.relative_path)
        seen.setdefault(row.encoding, set()).add(
            (ds.file_meta.TransferSyntaxUID.name, ds.PhotometricInterpretation))
    assert seen["jpeg_ybr422"] == {("JPEG Baseline (Process 1)", "YBR_FULL_422")}
    assert seen["rgb"] == {("Explicit VR Little Endian", "RGB")}
    assert seen["mono2"] == {("Explicit VR Little Endian", "MONOCHROME2")}
    assert seen["rle"] == {("RLE Lossless", "MONOCHROME2")}


def test_damaged_files_are_not_readable_dicom(export):
    root, videos = export
    damaged = videos[videos["kind"] == "damaged"]
    assert set(damaged["damage"]) == {"truncated", "zero_bytes", "not_dicom"}
    for row in damaged.itertuples():
        path = root / "raw" / "dicom" / row.relative_path
        if row.damage == "zero_bytes":
            assert path.stat().st_size == 0
            continue
        with pytest.raises((InvalidDicomError, EOFError, ValueError, OSError, KeyError,
                            AttributeError)):
            ds = pydicom.dcmread(path)
            ds.pixel_array  # noqa: B018  (a truncated file fails at the latest here)


def _regions(ds):
    out = {}
    for r in ds.SequenceOfUltrasoundRegions:
        box = (r.RegionLocationMinX0, r.RegionLocationMinY0, r.RegionLocationMaxX1,
               r.RegionLocationMaxY1)
        out.setdefault(int(r.RegionDataType), []).append((int(r.RegionSpatialFormat), box))
    return out


def test_ecg_and_text_lie_where_the_layout_puts_them(export):
    """Outside the declared region, except what the layout puts inside it on purpose (the
    whole-image region of `fullscreen_region`, the text typed into the sector): static pixels
    inside the region then lie in the boxes of truth/burned_text.csv."""
    root, videos = export
    boxes = pd.read_csv(root / "truth" / "burned_text.csv", keep_default_na=False)
    for row in videos[videos["kind"].isin(["cine", "doppler"])].itertuples():
        ds = _read(root, row.relative_path)
        reg = _regions(ds)
        [(fmt, (x0, y0, x1, y1))] = reg[0x01]
        assert fmt == 1
        frames = ds.pixel_array
        if frames.ndim == 3:
            frames = frames[..., None].repeat(3, axis=3)
        inside = np.zeros(frames.shape[1:3], bool)
        inside[y0:y1 + 1, x0:x1 + 1] = True
        if row.layout == "fullscreen_region":
            assert (x0, y0, x1, y1) == (0, 0, row.columns - 1, row.rows - 1)
            assert 0x0A not in reg, "a whole-image region has no ECG item"
        else:
            [(ecg_fmt, (ex0, ey0, ex1, ey1))] = reg[0x0A]
            assert ecg_fmt == 4
            assert ey0 > y1, "ECG strip must lie below the sector box"
        # Burned-in text is bright and identical in every frame; tissue never is (speckle and
        # noise change every frame), so static bright pixels mark burned-in graphics.
        lo, hi = frames.min(axis=0).max(axis=2), frames.max(axis=0).max(axis=2)
        static = (lo > 120) & (hi.astype(int) - lo <= 2)
        assert (static & ~inside).any() or row.layout == "fullscreen_region"
        typed = np.zeros_like(inside)
        for b in boxes[boxes["video_key"] == row.video_key].itertuples():
            if b.inside_region:
                typed[b.y0:b.y1 + 1, b.x0:b.x1 + 1] = True
        if row.layout not in ("fullscreen_region", "sector_annotations"):
            assert not typed.any()
        # JPEG ringing can make a pixel next to a glyph look static too: allow one pixel.
        near = cv2.dilate(typed.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        if row.layout != "fullscreen_region":  # there depth marks and ECG are inside too
            assert not (static & inside & ~near).any()
        if (row.kind == "cine" and row.encoding not in ("mono2", "rle")
                and row.layout != "fullscreen_region"):
            f = frames.astype(int)
            colour = (np.abs(f[..., 0] - f[..., 1]) > 60) | (np.abs(f[..., 1] - f[..., 2]) > 60)
            any_colour = colour.any(axis=0)
            assert any_colour[ey0:ey1 + 1, ex0:ex1 + 1].any(), "ECG trace is drawn in colour"
            assert not any_colour[inside & ~near].any()
        if row.kind == "doppler":
            assert 0x02 in reg and ds.UltrasoundColorDataPresent == 1
            (_, (cx0, cy0, cx1, cy1)), = reg[0x02]
            assert x0 <= cx0 and cx1 <= x1 and y0 <= cy0 and cy1 <= y1


def test_headers_carry_the_planted_identifiers(export):
    root, videos = export
    ids = json.loads((root / "truth" / "identifiers.json").read_text())
    row = videos[videos["kind"] == "cine"].iloc[0]
    ds = _read(root, row.relative_path)
    assert str(ds.PatientName) in ids["patient_names"]
    assert ds.PatientID in ids["mrns"]
    assert ds.PatientBirthDate in ids["birth_dates"]
    assert ds.AccessionNumber in ids["accession_numbers"]
    assert ds.InstitutionName in ids["institutions"]
    assert str(ds.ReferringPhysicianName) in ids["physicians"]
    assert ds.StationName in ids["stations"]
    assert ds.StudyDate in ids["dates"]
    assert ds.StudyInstanceUID in ids["study_uids"]
    assert ds.SeriesInstanceUID in ids["series_uids"]
    private = [e for e in ds if e.tag.is_private and e.VR == "LO" and e.value == ds.PatientID]
    assert private, "vendor private group must copy the patient ID"
    # The folder names carry identifiers exactly as real exports do.
    mrn, study_dir = row.relative_path.split("/")[:2]
    assert mrn == ds.PatientID and ds.AccessionNumber in study_dir
    assert ds.BurnedInAnnotation == "YES"


def test_raw_tables_and_view_labels(export):
    root, videos = export
    labels = pd.read_csv(root / "raw" / "view_labels.csv")
    assert list(labels.columns) == ["sop_instance_uid", "view"]
    truth = videos.set_index("sop_instance_uid")
    assert (truth.loc[labels["sop_instance_uid"], "view"].to_numpy() == labels["view"]).all()
    assert set(labels["view"]) <= {"A4C", "A2C", "PLAX", "PSAX", "A5C", "SUBCOSTAL"}
    echo = pd.read_csv(root / "raw" / "echo_reports.csv", dtype=str)
    accessions = {_read(root, r).AccessionNumber
                  for r in videos.loc[videos["kind"] == "cine", "relative_path"]}
    assert accessions <= set(echo["accession_number"])
    for name in ("patients", "studies", "cmrs"):
        assert (root / "truth" / f"{name}.csv").stat().st_size > 0


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    section = {**TINY, "n_patients": 3}
    a = _export(tmp_path / "a", section, seed=5, workers=1)
    # Another interpreter (other hash seed), two worker processes: the same bytes.
    code = ("import json, sys; from pathlib import Path; "
            "from echocmr.simulate.export import run_export; "
            "from echocmr.simulate.settings import SimSettings; "
            "run_export(SimSettings.from_config(json.loads(sys.argv[1]), 5), Path(sys.argv[2]), "
            "'test-secret', workers=2, progress=False)")
    env = {**os.environ, "PYTHONHASHSEED": "12345",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    subprocess.run([sys.executable, "-c", code, json.dumps(section), str(tmp_path / "b")],
                   check=True, env=env, timeout=600)
    b = tmp_path / "b"
    assert _digest(a) == _digest(b)
    c = _export(tmp_path / "c", section, seed=6, workers=1)
    assert _digest(a) != _digest(c)


def test_table_defects_are_planted_and_listed(tmp_path):
    from echocmr.simulate.cohort import build_cohort
    from echocmr.simulate.export import write_raw_tables

    s = SimSettings.from_config({"n_patients": 12, "table_defects": 2}, seed=4)
    defects = write_raw_tables(build_cohort(s), tmp_path, s)
    assert sorted(set(defects["table"])) == ["clinical", "cmr_reports", "echo_reports"]
    assert len(defects) == 6
    for d in defects.itertuples():
        table = pd.read_csv(tmp_path / f"{d.table}.csv", dtype=str, keep_default_na=False)
        assert table.iloc[d.row_number - 1][d.column] == d.value
    clean = SimSettings.from_config({"n_patients": 12}, seed=4)
    assert write_raw_tables(build_cohort(clean), tmp_path / "clean", clean).empty


IDENTIFYING = ["PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
               "InstitutionName", "InstitutionAddress", "ReferringPhysicianName",
               "PerformingPhysicianName", "OperatorsName", "StationName", "DeviceSerialNumber",
               "StudyDate", "SeriesDate", "ContentDate", "StudyInstanceUID",
               "SeriesInstanceUID", "SOPInstanceUID", "StudyID", "StudyTime", "ContentTime"]


def test_identifiers_json_lists_every_identifier_in_the_headers(export):
    root, videos = export
    ids = json.loads((root / "truth" / "identifiers.json").read_text())
    known = {v for values in ids.values() for v in values}
    for row in videos[videos["kind"] != "damaged"].itertuples():
        ds = _read(root, row.relative_path)
        for keyword in IDENTIFYING:
            assert str(ds.get(keyword, "")) in known, (keyword, row.kind)
    # Burned-in identity lines are listed too (for pixel-level audits).
    assert any(line.startswith("ID:") for line in ids["burned_in_text"])
