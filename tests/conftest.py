"""Shared by both tiers (tests/unit, tests/workflow): a scratch copy of the workflow, one real demo
run reused by the e2e tests (session scope), and the Snakemake and config helpers."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WORKFLOW_PARTS = ["Snakefile", "workflow", "config", "src", "envs", "profiles", "pyproject.toml"]


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow (not results, venv or caches) so a test run cannot touch the checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".snakemake")
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def preset_shards(preset: str | None = "test") -> int:
    """ingest.shards of a run: config/config.yaml overlaid with config/presets/<preset> (None:
    the embedded default, as the demo run)."""
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    overlay = {}
    if preset:
        overlay = yaml.safe_load((REPO / "config" / "presets" / f"{preset}.yaml").read_text())
    return ((overlay or {}).get("ingest") or {}).get("shards", base["ingest"]["shards"])


def merged(base: dict, overlay: dict) -> dict:
    """Snakemake's --configfile overlay: nested sections merge key by key."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def run_config(preset: str | None) -> dict:
    """config/config.yaml (+ a preset), with the schema's defaults filled in, as a run has it."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if preset:
        config = merged(config, yaml.safe_load(
            (REPO / "config" / "presets" / f"{preset}.yaml").read_text()))
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def run_snakemake(workdir: Path, *args: str, check: bool = True, env: dict | None = None,
                  timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the real snakemake CLI of this venv in `workdir`; output is captured for assertions."""
    cmd = [str(VENV_BIN / "snakemake"), "--cores", "2", *args]
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{VENV_BIN}{os.pathsep}{full_env.get('PATH', '')}"
    # No PYTHONPATH of ours: the Snakefile puts the copy's own src/ first for its jobs, the
    # route every run takes (a venv with echocmr installed editable from another checkout must
    # not hand the job scripts that checkout's code).
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=full_env,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


def planned_jobs(output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    table = output.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


# `bash test.sh` installs libjpeg-turbo, Tesseract and pydicom-data, so there (and in CI) a
# missing one is a broken set-up and its tests FAIL; a bare `pytest` elsewhere may skip them.
REQUIRE_COMPONENTS = os.environ.get("ECHOCMR_REQUIRE_COMPONENTS", "") == "1"


def missing_component(what: str, why: str, module_level: bool = False) -> None:
    """A component the test needs is missing: fail where the set-up promised it, else skip."""
    message = f"{what} is missing: {why}"
    if REQUIRE_COMPONENTS:
        pytest.fail(f"{message} (ECHOCMR_REQUIRE_COMPONENTS=1: bash test.sh installs it)",
                    pytrace=False)
    pytest.skip(message, allow_module_level=module_level)


def require_turbojpeg(module_level: bool = False) -> None:
    from echocmr.media import turbojpeg
    if not turbojpeg.available():
        missing_component("libturbojpeg", turbojpeg.why_unavailable(), module_level)


def require_tesseract(module_level: bool = False) -> None:
    from echocmr.media import ocr
    try:
        ocr.require_tesseract()
    except RuntimeError as exc:
        missing_component("Tesseract OCR", str(exc), module_level)


def require_pydicom_data(module_level: bool = False) -> None:
    try:
        import data_store  # noqa: F401  (the pydicom-data package)
    except ImportError as exc:
        missing_component("pydicom-data", str(exc), module_level)


DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def require_font(name: str) -> Path:
    """A DejaVu font file (Debian fonts-dejavu-core, installed by tests/setup_system.sh)."""
    path = DEJAVU / name
    if not path.is_file():
        missing_component(f"font {name}", "install Debian fonts-dejavu-core")
    return path


def pydicom_testdata(name: str) -> Path:
    """Path of a real DICOM file shipped by `pydicom-data` or pydicom (see REQUIRE_COMPONENTS)."""
    from pydicom.data import get_testdata_file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file(name)
    if path is None:
        missing_component(f"{name} (pydicom-data)", "get_testdata_file found no such file")
    return Path(path)


@pytest.fixture
def workflow_dir(tmp_path: Path) -> Path:
    """A fresh copy of the workflow in a temporary folder."""
    return copy_workflow(tmp_path / "wf")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The whole study on the embedded synthetic default, run once per test session.

    Returns the workflow folder; its results/ holds every deliverable.
    """
    wd = copy_workflow(tmp_path_factory.mktemp("demo") / "wf")
    run_snakemake(wd, timeout=3000)
    return wd
