"""A wrong setting stops `snakemake` before any job: site mode with no DICOM file under
input.dicom_dir names the key and the folder, never a file in it (real Snakemake CLI)."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO, run_snakemake

from echocmr.config_checks import has_dicom_file

pytestmark = pytest.mark.workflow


def _site_yaml(tmp_path, dicom_dir) -> str:
    tables = {}
    for name in ("cmr_reports", "clinical", "echo_reports"):
        tables[name] = str(tmp_path / f"{name}.csv")
        (tmp_path / f"{name}.csv").write_text("mrn\n")
    (tmp_path / "secret").write_text("a-site-secret-of-enough-length-0123456789abcdef\n")
    config = {"input": {"mode": "site", "dicom_dir": str(dicom_dir), **tables},
              "secret": {"file": str(tmp_path / "secret")}}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(config))
    return str(tmp_path / "site.yaml")


def test_no_dicom_under_dicom_dir_stops_before_any_job(tmp_path):
    export = tmp_path / "export"
    (export / "smith_john").mkdir(parents=True)
    (export / "smith_john" / "notes_smith.txt").write_text("not an image\n")
    proc = run_snakemake(tmp_path, "-s", str(REPO / "Snakefile"), "--configfile",
                         _site_yaml(tmp_path, export), check=False, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"input.dicom_dir={export} holds no DICOM file" in out
    assert "notes_smith" not in out and "smith_john" not in out  # files are never listed
    assert not (tmp_path / "results").exists()  # no job ran


def test_one_dicom_file_anywhere_in_the_tree_is_an_export(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "readme.txt").write_text("x")
    assert not has_dicom_file(str(tmp_path))
    (tmp_path / "a" / "b" / "IM0001").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 16)
    assert has_dicom_file(str(tmp_path))
    assert not has_dicom_file(str(tmp_path / "missing"))
