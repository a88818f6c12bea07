"""Semantic config checks a JSON schema cannot express; each error names the key and the fix."""

from __future__ import annotations

import os

from echocmr.study_period import study_period


class ConfigError(ValueError):
    """A config value is wrong; the message names the key, the value and what is allowed."""


def _require_site_inputs(config: dict) -> None:
    missing = [k for k in ("dicom_dir", "cmr_reports", "clinical", "echo_reports")
               if not config["input"].get(k)]
    if missing:
        keys = ", ".join(f"input.{k}" for k in missing)
        raise ConfigError(
            f"input.mode is 'site' but {keys} is not set: point it at your export "
            "(see config/README.md), or use input.mode: synthetic for the demo."
        )
    for key in ("dicom_dir", "cmr_reports", "clinical", "echo_reports", "view_labels"):
        path = config["input"].get(key)
        if path and not os.path.exists(path):
            raise ConfigError(f"input.{key}={path} does not exist: fix the path in your config.")


def _looks_like_dicom(path: str) -> bool:
    """A Part 10 file ('DICM' after the 128-byte preamble) or a bare data set starting with a
    group 0002/0008 element: the inventory's full checks come later, per file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM" or head[:2] in (b"\x02\x00", b"\x08\x00")


def has_dicom_file(root: str) -> bool:
    """True at the first DICOM-looking file under root (an export usually starts with one, so
    this reads a few bytes of one file, not the tree)."""
    for folder, _, names in os.walk(root):
        if any(_looks_like_dicom(os.path.join(folder, name)) for name in names):
            return True
    return False


def _require_dicom_files(config: dict) -> None:
    """No DICOM under input.dicom_dir is a wrong setting, not data: stop before any job (an
    empty export would otherwise run every stage and end with an empty study). The message
    names the folder only, never a file in it."""
    root = config["input"]["dicom_dir"]
    if not os.path.isdir(root) or not has_dicom_file(root):
        raise ConfigError(
            f"input.dicom_dir={root} holds no DICOM file: point input.dicom_dir at the folder "
            "of your PACS export (any folder tree of echo DICOM files).")


def _require_secret(config: dict) -> None:
    """Site data are pseudonymised with a keyed hash: refuse to start without the key.

    Synthetic mode falls back to the fixed demo secret (its identifiers are fictitious). A
    secret other than the one results/ was keyed with, or a weak one, is refused too.
    """
    from echocmr.keys import SecretError, secret_from
    from echocmr.secret import check_fingerprint, private_dir

    secret = config.get("secret") or {}
    try:
        value = secret_from(secret, synthetic=config["input"]["mode"] == "synthetic")
        check_fingerprint(value)  # outputs keyed by another secret would silently not join
        private_dir(secret)
    except SecretError as exc:
        raise ConfigError(f"secret: {exc}") from None


def _check_study_period(config: dict) -> None:
    try:
        study_period((config.get("cohort") or {}).get("period"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_config(config: dict) -> None:
    """Fail fast, before any job runs, on values that are valid JSON but wrong for the study.

    Only what every target needs is checked here, at parse time; stage settings (views) are
    checked when a job of that stage enters the DAG, so ingest-only targets run without them."""
    if config["input"]["mode"] == "site":
        _require_site_inputs(config)
        _require_dicom_files(config)
    _require_secret(config)
    _check_study_period(config)  # read by inventory and deidentify_tables, which every target needs
