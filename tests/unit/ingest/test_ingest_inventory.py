"""Inventory: every file gets one row; damaged inputs are excluded with the right reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_fixtures import IDENTIFIERS, make_dataset, write

from echocmr.deid.deidentify import DeidSettings, deid_qc, deidentify_shard
from echocmr.ingest import reasons as R
from echocmr.ingest.inventory import InventorySettings, build_manifest, inventory_qc

SECRET = "unit-test-secret"
REPO = Path(__file__).resolve().parents[3]


def _bytes(ds) -> bytes:
    from io import BytesIO
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """A small export: good cines plus one file of every kind of damage."""
    root = tmp_path_factory.mktemp("export")
    good = make_dataset(encoding="jpeg", n_frames=8, sop="1.2.3.4.5.100.1.1")
    write(good, root / "P1" / "good_jpeg.dcm")
    write(make_dataset(encoding="native", n_frames=8, sop="1.2.3.4.5.100.1.2"),
          root / "P1" / "good_native.dcm")
    write(make_dataset(encoding="native", n_frames=8, sop="1.2.3.4.5.100.1.2"),
          root / "P1" / "zz_duplicate.dcm")
    data = _bytes(make_dataset(encoding="native", n_frames=8, sop="1.2.3.4.5.100.1.3"))
    (root / "bad").mkdir()
    (root / "bad" / "truncated.dcm").write_bytes(data[: len(data) * 2 // 3])
    (root / "bad" / "truncated_header.dcm").write_bytes(data[:700])
    (root / "bad" / "zero.dcm").write_bytes(b"")
    (root / "bad" / "wrong_magic.dcm").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    (root / "bad" / "notes.txt").write_text("not an image\n")
    (root / "bad" / "broken_link.dcm").symlink_to(root / "bad" / "gone.dcm")
    no_pixels = make_dataset(sop="1.2.3.4.5.100.1.4")
    del no_pixels.PixelData
    write(no_pixels, root / "bad" / "no_pixels.dcm")
    wrong_count = make_dataset(encoding="native", n_frames=8, sop="1.2.3.4.5.100.1.5")
    wrong_count.NumberOfFrames = 10
    write(wrong_count, root / "bad" / "frame_count_native.dcm")
    wrong_jpeg = make_dataset(encoding="jpeg", n_frames=8, sop="1.2.3.4.5.100.1.6")
    wrong_jpeg.NumberOfFrames = 11
    write(wrong_jpeg, root / "bad" / "frame_count_jpeg.dcm")
    mpeg = make_dataset(encoding="jpeg", n_frames=8, sop="1.2.3.4.5.100.1.10")
    mpeg.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG-2: no decoder installed
    write(mpeg, root / "bad" / "mpeg2.dcm")
    write(make_dataset(n_frames=1, sop="1.2.3.4.5.100.1.7"), root / "still.dcm")
    write(make_dataset(n_frames=3, sop="1.2.3.4.5.100.1.8"), root / "short.dcm")
    ct = make_dataset(n_frames=8, sop="1.2.3.4.5.100.1.9")
    ct.Modality, ct.SOPClassUID = "CT", "1.2.840.10008.5.1.4.1.1.2"
    write(ct, root / "ct.dcm")
    return root


@pytest.fixture(scope="module")
def manifest(export) -> pd.DataFrame:
    settings = InventorySettings(secret=SECRET, n_shards=2, min_frames=4)
    return build_manifest(export, settings)


def _reason(manifest, export, rel) -> str:
    from echocmr.ingest.inventory import file_key_of
    row = manifest[manifest["file_key"] == file_key_of(SECRET, export, export / rel)]
    assert len(row) == 1, rel
    return row.iloc[0]["reason"]


@pytest.mark.parametrize("rel,reason", [
    ("P1/good_jpeg.dcm", ""), ("P1/good_native.dcm", ""),
    ("P1/zz_duplicate.dcm", R.DUPLICATE_INSTANCE),
    ("bad/truncated.dcm", R.UNREADABLE_TRUNCATED),
    ("bad/truncated_header.dcm", R.UNREADABLE_TRUNCATED),
    ("bad/zero.dcm", R.EMPTY_FILE), ("bad/wrong_magic.dcm", R.NOT_DICOM),
    ("bad/notes.txt", R.NOT_DICOM), ("bad/broken_link.dcm", R.UNREADABLE_TRUNCATED),
    ("bad/no_pixels.dcm", R.NO_PIXEL_DATA),
    ("bad/frame_count_native.dcm", R.FRAME_COUNT_MISMATCH),
    ("bad/frame_count_jpeg.dcm", R.FRAME_COUNT_MISMATCH),
    ("bad/mpeg2.dcm", R.UNDECODABLE_ENCODING),
    ("still.dcm", R.SINGLE_FRAME), ("short.dcm", R.TOO_FEW_FRAMES), ("ct.dcm", R.NOT_ULTRASOUND),
])
def test_each_file_gets_the_right_reason(manifest, export, rel, reason):
    assert _reason(manifest, export, rel) == reason


def test_one_row_per_file_and_no_identifiers(manifest, export):
    files = [p for p in export.rglob("*") if p.is_file() or p.is_symlink()]
    assert len(manifest) == len(files)
    assert manifest["file_key"].is_unique
    text = manifest.to_csv(index=False).upper()
    for value in IDENTIFIERS.values():
        assert value.upper() not in text
    assert "P1" not in set(manifest["patient_key"])  # folder names never used as keys
    assert set(manifest["status"]) <= {R.INCLUDED, R.EXCLUDED}
    excluded = manifest[manifest["status"] == R.EXCLUDED]
    assert set(excluded["reason"]) <= set(R.INVENTORY_REASONS)
    included = manifest[manifest["status"] == R.INCLUDED]
    assert (included["reason"] == "").all()
    assert included["shard"].astype(int).between(0, 1).all()
    assert included["study_date"].str.match(r"\d{4}-\d{2}-\d{2}$").all()
    assert (included["study_date"] != "2020-01-15").all()  # shifted


def test_qc_rows_add_up(manifest):
    qc = inventory_qc(manifest)
    assert list(qc["step"].drop_duplicates()) == ["found", "readable", "ultrasound cines"]
    for _, rows in qc.groupby("step", sort=False):
        n_in, n_out = rows["n_in"].iloc[0], rows["n_out"].iloc[0]
        assert n_in - rows["n_excluded"].sum() == n_out
    assert qc["n_out"].iloc[-1] == (manifest["status"] == R.INCLUDED).sum()


def test_deidentify_shards_cover_every_included_file(manifest, export, tmp_path):
    settings = DeidSettings(secret=SECRET)
    done = []
    for shard in (0, 1):
        table = deidentify_shard(export, manifest, shard, tmp_path / f"shard-{shard}", settings)
        qc = deid_qc(table)
        assert qc["n_in"].iloc[0] - qc["n_excluded"].sum() == qc["n_out"].iloc[0]
        done += list(table.loc[table["status"] == R.INCLUDED, "video_key"])
        for key in table["video_key"]:
            row = manifest[manifest["video_key"] == key].iloc[0]
            assert (tmp_path / f"shard-{shard}" / row["patient_key"] / row["study_key"]
                    / f"{key}.dcm").is_file()
    assert sorted(done) == sorted(manifest.loc[manifest["status"] == R.INCLUDED, "video_key"])


def test_vocabulary_is_documented():
    doc = (REPO / "docs" / "ingest.md").read_text()
    for reason in (*R.INVENTORY_REASONS, *R.DEID_REASONS):
        assert f"`{reason}`" in doc, f"reason {reason} missing from docs/ingest.md"
        assert reason in R.DESCRIPTIONS
