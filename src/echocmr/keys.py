"""Pseudonymous keys, per-patient date offsets and shard assignment.

Every pseudonym is an HMAC-SHA256 of the raw identifier under the site secret, so the same raw
value maps to the same key in every stage and rerun, and nobody without the secret can reverse
or re-derive it (a plain hash of an MRN can be brute-forced over the MRN space).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import string
from pathlib import Path

# Used only for the embedded synthetic export, whose identifiers are fictitious.
SYNTHETIC_DEMO_SECRET = "echocmr-synthetic-demo-secret-not-for-real-data"

_PREFIX = {
    "patient": "P", "study": "S", "video": "V", "file": "F", "cmr": "C", "series": "E",
    "accession": "A",
}


class SecretError(RuntimeError):
    """The pseudonymisation secret is missing, too weak or stored somewhere unsafe."""


# Below this, an MRN list plus the keyed fingerprint under results/ would allow a brute force.
MIN_SECRET_BITS = 128
MIN_DISTINCT_CHARS = 10  # `aaaa...a` is long but has no entropy
_CHAR_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def estimated_bits(secret: str) -> float:
    """Upper estimate of a secret's entropy: length x log2 of the character classes it uses
    (hex digits alone: 16; else lower, upper, digits, other printable). 32 hex digits give
    128, `s3cret` 31."""
    if secret and all(ch in string.hexdigits for ch in secret) and \
            (secret.lower() == secret or secret.upper() == secret):
        return len(secret) * 4.0
    pool = sum(len(c) for c in _CHAR_CLASSES if any(ch in c for ch in secret))
    if any(not ch.isascii() or not ch.isalnum() for ch in secret):
        pool += len(string.punctuation) + 1
    return len(secret) * math.log2(pool) if pool else 0.0


def check_strength(secret: str, where: str) -> None:
    """Refuse a secret of under MIN_SECRET_BITS (estimated) or with few distinct characters."""
    if estimated_bits(secret) < MIN_SECRET_BITS or len(set(secret)) < MIN_DISTINCT_CHARS:
        raise SecretError(
            f"the secret from {where} is too weak (under {MIN_SECRET_BITS} bits): write a strong "
            "one with `python -m echocmr.secret new FILE` and set secret.file: FILE.")


def keyed_digest(secret: str, value: str, purpose: str) -> str:
    """Hex HMAC of `value`; `purpose` keeps equal strings of different kinds apart."""
    msg = f"{purpose}\x1f{value}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def pseudonym(secret: str, kind: str, value: str, length: int = 12) -> str:
    """Stable pseudonymous key such as `P3fa9c01b22de` for a raw identifier of one kind."""
    if kind not in _PREFIX:
        raise ValueError(f"unknown key kind {kind!r}; expected one of {sorted(_PREFIX)}")
    return _PREFIX[kind] + keyed_digest(secret, str(value).strip(), kind)[:length]


KEY_SEPARATOR = ";"


def file_key_of(secret: str, root: str | Path, path: str | Path) -> str:
    """The `file_key` of a file: its path relative to the export's root, keyed."""
    return pseudonym(secret, "file", Path(path).relative_to(root).as_posix())


def pseudonyms(secret: str, kind: str, values: list[str]) -> str:
    """Keys of a multi-valued identifier (an AccessionNumber `PR\\US`), one per value in order,
    joined by `;` ('' for none): a table row naming any one of the values shares one key."""
    return KEY_SEPARATOR.join(pseudonym(secret, kind, v) for v in values)


def split_keys(cell) -> list[str]:
    """The keys of a `pseudonyms` cell (empty or missing -> [])."""
    if cell is None or cell != cell:  # None or NaN
        return []
    return [k for k in str(cell).split(KEY_SEPARATOR) if k]


# The library's fallback for `ingest.date_shift_max_days` (equal to the config schema's default,
# tests/unit/core/test_defaults.py); every date-shifting function defaults to it.
DATE_SHIFT_MAX_DAYS = 365


def date_offset_days(secret: str, patient_id: str, max_days: int = DATE_SHIFT_MAX_DAYS) -> int:
    """One shift per patient, in [-max_days, -1]: applied to every date of that patient."""
    h = int(keyed_digest(secret, str(patient_id).strip(), "date-offset")[:12], 16)
    return -(1 + h % max_days)


def shard_of(study_key: str, n_shards: int) -> int:
    """Stable shard of a study; all videos of a study land in the same shard."""
    h = int(hashlib.sha256(study_key.encode()).hexdigest()[:12], 16)
    return h % n_shards


# The environment variable holding the secret when `secret.env` is not set: the library's one
# copy of the schema's default (workflow/schemas/config.schema.yaml).
SECRET_ENV = "ECHOCMR_SECRET"


def secret_from(secret_cfg: dict, synthetic: bool) -> str:
    """The pseudonymisation secret of the `secret:` config section (env variable, then file;
    demo secret only for synthetic). Loaded at run time, never passed through Snakemake params
    (params are recorded in job metadata)."""
    return load_secret(env=secret_cfg.get("env") or SECRET_ENV, file=secret_cfg.get("file"),
                       synthetic=bool(synthetic))


def load_secret(
    env: str = SECRET_ENV,
    file: str | None = None,
    synthetic: bool = False,
    results_dir: str | Path = "results",
) -> str:
    """Read the secret from the environment or a file; refuse to run on site data without one."""
    value = os.environ.get(env)
    if value:
        check_strength(value.strip(), f"${env}")
        return value.strip()
    if file:
        path = Path(file).resolve()
        if Path(results_dir).resolve() in path.parents:
            raise SecretError(
                f"secret.file={file} lies under {results_dir}/, which is shared as output; "
                "move it outside results/ (e.g. ~/.echocmr_secret)."
            )
        if not path.is_file():
            raise SecretError(f"secret.file={file} does not exist; create it or set ${env}.")
        value = path.read_text().strip()
        check_strength(value, f"secret.file={file}")
        return value
    if synthetic:
        return SYNTHETIC_DEMO_SECRET
    raise SecretError(
        f"no pseudonymisation secret: set the environment variable {env} "
        "or config secret.file to a file outside results/ (input.mode=site requires one)."
    )
