"""Site data refuse to start without a pseudonymisation secret; synthetic data use the demo one."""

from __future__ import annotations

import pytest
import yaml
from conftest import copy_workflow, run_snakemake

from echocmr.config_checks import ConfigError, check_config


def _site_config(tmp_path, secret: dict) -> dict:
    (tmp_path / "dicom").mkdir(exist_ok=True)
    (tmp_path / "dicom" / "IM0001").write_bytes(b"\0" * 128 + b"DICM")  # an export, not empty
    paths = {}
    for name in ("cmr_reports", "clinical", "echo_reports"):
        paths[name] = str(tmp_path / f"{name}.csv")
        (tmp_path / f"{name}.csv").write_text("mrn\n")
    return {"input": {"mode": "site", "dicom_dir": str(tmp_path / "dicom"), **paths},
            "secret": secret, "ingest": {"shards": 2}}


def test_site_mode_without_secret_fails_with_key_and_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("ECHOCMR_SECRET", raising=False)
    with pytest.raises(ConfigError, match="secret.*ECHOCMR_SECRET"):
        check_config(_site_config(tmp_path, {"env": "ECHOCMR_SECRET", "file": None}))


def test_site_mode_with_secret_from_env_or_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_SECRET_X", "s3cret")
    check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X", "file": None}))
    monkeypatch.delenv("SITE_SECRET_X")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("s3cret\n")
    check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X", "file": str(secret_file)}))


def test_secret_file_under_results_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("ECHOCMR_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "secret").write_text("x")
    with pytest.raises(ConfigError, match="outside results"):
        check_config(_site_config(tmp_path, {"env": "ECHOCMR_SECRET",
                                             "file": "results/secret"}))


def test_synthetic_mode_needs_no_secret(monkeypatch):
    monkeypatch.delenv("ECHOCMR_SECRET", raising=False)
    check_config({"input": {"mode": "synthetic"}, "secret": {"env": "ECHOCMR_SECRET"}})


@pytest.mark.workflow
def test_snakemake_refuses_to_start_on_site_data_without_secret(tmp_path, monkeypatch):
    wd = copy_workflow(tmp_path / "wf")
    site = _site_config(tmp_path, {"env": "ECHOCMR_SECRET_UNSET_FOR_TEST", "file": None})
    (wd / "site.yaml").write_text(yaml.safe_dump({"input": site["input"],
                                                   "secret": site["secret"]}))
    proc = run_snakemake(wd, "-n", "--configfile", "site.yaml", check=False)
    assert proc.returncode != 0
    assert "ECHOCMR_SECRET_UNSET_FOR_TEST" in proc.stdout + proc.stderr
