"""Site data refuse to start without a strong pseudonymisation secret, or with another secret
than the one results/ was keyed with; synthetic data use the demo one. The operator-only key map
finds an excluded file again."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, run_snakemake
from ingest_fixtures import make_dataset, write

from echocmr import keys, secret
from echocmr.config_checks import ConfigError, check_config

STRONG = "0f3c9a8e5b7d4e21a6c0b9f8e7d6c5b4"  # 32 hex digits: 128 bits


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
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITE_SECRET_X", STRONG)
    check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X", "file": None}))
    monkeypatch.delenv("SITE_SECRET_X")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(STRONG + "\n")
    check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X", "file": str(secret_file)}))


def test_secret_file_under_results_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("ECHOCMR_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "secret").write_text("x")
    with pytest.raises(ConfigError, match="outside results"):
        check_config(_site_config(tmp_path, {"env": "ECHOCMR_SECRET",
                                             "file": "results/secret"}))


@pytest.mark.parametrize("weak", ["s3cret", "x", "correct horse", "a" * 64,
                                  "0f3c9a8e5b7d4e21a6c0b9f8e7d6c5"])  # 30 hex digits: 120 bits
def test_a_secret_under_128_bits_is_refused_from_env_or_file(tmp_path, monkeypatch, weak):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITE_SECRET_X", weak)
    with pytest.raises(ConfigError, match="too weak.*echocmr.secret new"):
        check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X", "file": None}))
    monkeypatch.delenv("SITE_SECRET_X")
    (tmp_path / "weak").write_text(weak)
    with pytest.raises(ConfigError, match="too weak"):
        check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X",
                                             "file": str(tmp_path / "weak")}))


def test_new_secret_is_strong_private_and_never_overwrites(tmp_path):
    path = tmp_path / "site.secret"
    cmd = [sys.executable, "-m", "echocmr.secret", "new", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "256-bit" in done.stdout and stat.S_IMODE(path.stat().st_mode) == 0o600
    value = path.read_text().strip()
    assert len(value) == 64 and keys.estimated_bits(value) >= keys.MIN_SECRET_BITS
    assert keys.load_secret(env="ECHOCMR_SECRET_UNSET_FOR_TEST", file=str(path)) == value
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 1 and path.read_text().strip() == value


def test_another_secret_than_results_was_keyed_with_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
    secret.record_fingerprint(STRONG, tmp_path / "results")
    text = (tmp_path / "results" / secret.FINGERPRINT_FILE).read_text()
    assert STRONG not in text and secret.fingerprint(STRONG) in text
    monkeypatch.setenv("SITE_SECRET_X", STRONG)
    check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X", "file": None}))
    monkeypatch.setenv("SITE_SECRET_X", other)
    with pytest.raises(ConfigError, match=r"another secret.*mv results results.old"):
        check_config(_site_config(tmp_path, {"env": "SITE_SECRET_X", "file": None}))


def test_private_dir_under_results_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITE_SECRET_X", STRONG)
    config = _site_config(tmp_path, {"env": "SITE_SECRET_X", "private_dir": "results/private"})
    with pytest.raises(ConfigError, match="private_dir.*shared"):
        check_config(config)


def test_synthetic_mode_needs_no_secret(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
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


@pytest.mark.workflow
def test_key_map_finds_an_excluded_file_and_a_new_secret_will_not_mix(tmp_path):
    """Inventory on a site export: the manifest has keys only; the key map beside the secret
    (never under results/) and one command lead back to the operator's file. A rerun with
    another secret stops before any job and says how to start clean."""
    export = tmp_path / "export" / "QUIMBY_55512345"
    write(make_dataset(n_frames=2), export / "still_too_short.dcm")  # excluded: too few frames
    (export / "notes.txt").write_text("not dicom\n")
    secret_file = tmp_path / "vault" / "site.secret"
    secret_file.parent.mkdir()
    secret.main(["new", str(secret_file)])
    wd = copy_workflow(tmp_path / "wf")
    site = _site_config(tmp_path, {"file": str(secret_file)})
    site["input"]["dicom_dir"] = str(tmp_path / "export")
    (wd / "site.yaml").write_text(yaml.safe_dump(site))
    run_snakemake(wd, "results/ingest/manifest.csv", "--configfile", "site.yaml")
    manifest = pd.read_csv(wd / "results" / "ingest" / "manifest.csv", keep_default_na=False)
    assert set(manifest["status"]) == {"excluded"} and len(manifest) == 2
    key_map = secret_file.parent / secret.KEY_MAP_NAME
    assert stat.S_IMODE(key_map.stat().st_mode) == 0o600
    for key in manifest["file_key"]:
        found = subprocess.run([sys.executable, "-m", "echocmr.secret", "lookup", key[:8],
                                str(secret_file.parent)], capture_output=True, text=True,
                               check=True).stdout.strip()
        assert found.startswith(str(export.resolve())) and os.path.isfile(found)
    for path in (wd / "results").rglob("*"):  # no raw path or folder name under results/
        assert "QUIMBY" not in path.name
        if path.is_file():
            assert "QUIMBY" not in path.read_text(errors="replace")
    proc = run_snakemake(wd, "-n", "results/ingest/manifest.csv", "--configfile", "site.yaml",
                         "--forcerun", "inventory", check=False,
                         env={"ECHOCMR_SECRET": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"})
    assert proc.returncode != 0
    assert "another secret" in proc.stdout + proc.stderr
    assert "mv results results.old" in proc.stdout + proc.stderr


def test_operator_folder_is_the_configured_one_else_beside_the_secret_file(tmp_path,
                                                                          monkeypatch):
    """Jobs read secret.private_dir from the run's config (not their params: moving the folder
    reruns nothing)."""
    from types import SimpleNamespace

    monkeypatch.delenv("ECHOCMR_SECRET", raising=False)
    params = SimpleNamespace(secret={"env": "ECHOCMR_SECRET", "file": str(tmp_path / "s" / "k")})
    job = SimpleNamespace(params=params, config={"secret": {"private_dir": str(tmp_path / "op")}})
    assert secret.private_dir_of(job, tmp_path / "results") == tmp_path / "op"
    job.config = {"secret": {"private_dir": None}}
    assert secret.private_dir_of(job, tmp_path / "results") == tmp_path / "s"
    params.secret["file"] = None
    assert str(secret.private_dir_of(job, tmp_path / "results")) == "private"
