"""The README "Your own data" example, as written: ingest-only targets run without view
settings, the whole study names the missing view setting before any job starts (dry runs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_workflow, preset_shards, run_snakemake

from echocmr.ingest.paths import shard_path

pytestmark = pytest.mark.workflow


def _readme_site_config(tmp_path: Path, view_labels: bool) -> Path:
    """The README's example config with its /data and /secure paths moved under tmp_path."""
    section = REPO.joinpath("README.md").read_text().split("### Your own data")[1]
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))
    for key, path in list(config["input"].items()):
        if key == "mode":
            continue
        local = tmp_path / "data" / Path(path).name
        local.parent.mkdir(parents=True, exist_ok=True)
        if key == "dicom_dir":
            local.mkdir()
            (local / "IM0001").write_bytes(b"\0" * 128 + b"DICM")  # an export, not empty
        else:
            local.write_text("mrn\n")
        config["input"][key] = str(local)
    if not view_labels:
        del config["input"]["view_labels"]
    secret = tmp_path / "secure" / "echocmr_secret"
    secret.parent.mkdir(parents=True)
    secret.write_text("a-site-secret-of-enough-length-0123456789\n")
    config["secret"]["file"] = str(secret)
    out = tmp_path / "site.yaml"
    out.write_text(yaml.safe_dump(config))
    return out


def test_readme_example_runs_ingest_targets_without_view_settings(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    site = _readme_site_config(tmp_path, view_labels=False)
    n_shards = (yaml.safe_load(site.read_text()).get("ingest") or {}).get("shards")
    shard0 = shard_path("results/deid", n_shards or preset_shards(None), 0, ".csv")
    proc = run_snakemake(wd, "-n", "results/ingest/manifest.csv", shard0,
                         "results/deid/tables/clinical.csv", "--configfile", str(site))
    assert "inventory" in proc.stdout and "deidentify_tables" in proc.stdout
    # the whole study needs a view setting, and says which, before any job runs
    proc = run_snakemake(wd, "-n", "--configfile", str(site), check=False)
    assert proc.returncode != 0
    assert "input.view_labels is not set" in proc.stdout + proc.stderr
    # with the README's view_labels line the whole study's DAG builds
    site = _readme_site_config(tmp_path / "with_labels", view_labels=True)
    run_snakemake(wd, "-n", "--configfile", str(site))
