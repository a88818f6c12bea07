"""The site secret and the operator-only files kept beside it.

- `results/ingest/secret_fingerprint.txt`: a keyed fingerprint of the secret (an HMAC of a fixed
  message under it; it reveals nothing of the secret). A run whose secret gives another
  fingerprint refuses to start: its keys would not join the old outputs' keys.
- The operator-only folder (`secret.private_dir`; default the secret file's folder, or
  `private/` in the working directory when the secret comes from the environment or is the
  demo's), never under `results/`: the key-to-path map of the export's files, written by
  `rule inventory`, and the detail of a failed PHI audit (values, written by `rule audit`).

Command line:

    python -m echocmr.secret new FILE              # a 256-bit secret, mode 0600
    python -m echocmr.secret lookup KEY [DIR]      # the raw file of a manifest file_key
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import sys
from pathlib import Path

from echocmr import keys

FINGERPRINT_FILE = Path("ingest") / "secret_fingerprint.txt"
KEY_MAP_NAME = "echocmr_file_keys.csv"
AUDIT_DETAIL_NAME = "echocmr_audit_detail.csv"
DEFAULT_PRIVATE_DIR = "private"


def fingerprint(secret: str) -> str:
    return keys.keyed_digest(secret, "echocmr", "secret-fingerprint")[:16]


def check_fingerprint(secret: str, results_dir: str | Path = "results") -> None:
    """Refuse a secret other than the one the outputs under results_dir were keyed with."""
    path = Path(results_dir) / FINGERPRINT_FILE
    if not path.is_file():
        return
    words = path.read_text().split()
    recorded = words[-1] if words else ""
    if recorded != fingerprint(secret):
        raise keys.SecretError(
            f"{results_dir}/ was built with another secret (fingerprint {recorded}, this "
            f"secret's {fingerprint(secret)}): its keys would not join this run's. Use the "
            f"secret it was built with, or start clean: move {results_dir}/ aside (e.g. "
            f"`mv {results_dir} {results_dir}.old`) and run again.")


def record_fingerprint(secret: str, results_dir: str | Path = "results") -> None:
    path = Path(results_dir) / FINGERPRINT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"keyed fingerprint of the pseudonymisation secret: {fingerprint(secret)}\n")


def private_dir(secret_cfg: dict, results_dir: str | Path = "results") -> Path:
    """The operator-only folder, refused under results_dir (which is shared)."""
    if secret_cfg.get("private_dir"):
        folder = Path(secret_cfg["private_dir"])
    elif secret_cfg.get("file") and not os.environ.get(secret_cfg.get("env") or ""):
        folder = Path(secret_cfg["file"]).parent
    else:
        folder = Path(DEFAULT_PRIVATE_DIR)
    if Path(results_dir).resolve() in [folder.resolve(), *folder.resolve().parents]:
        raise keys.SecretError(f"secret.private_dir={folder} lies under {results_dir}/, which is "
                               "shared: choose a folder outside it.")
    return folder


def private_dir_of(smk, results_dir: str | Path) -> Path:
    """The operator-only folder of a job: secret.private_dir from the run's config (not a param,
    so moving the folder reruns nothing), else beside the secret file of its params."""
    private = ((smk.config or {}).get("secret") or {}).get("private_dir")
    return private_dir({**smk.params.secret, "private_dir": private}, results_dir)


def write_key_map(folder: Path, secret: str, root: str | Path, paths: list[Path]) -> Path:
    """`file_key, path` of every file of the export (operator-only: paths hold identifiers)."""
    from echocmr.keys import file_key_of

    folder.mkdir(parents=True, exist_ok=True)
    out = folder / KEY_MAP_NAME
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file_key", "path"])
        for path in paths:
            writer.writerow([file_key_of(secret, root, path), str(Path(path).resolve())])
    out.chmod(0o600)
    return out


def lookup(key: str, folder: str | Path = DEFAULT_PRIVATE_DIR) -> list[str]:
    """Raw paths whose file_key starts with `key` (a manifest key or a prefix of one)."""
    path = Path(folder) / KEY_MAP_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no key map at {path}: run the inventory first, or give the "
                                "folder of secret.private_dir (the secret file's folder)")
    with open(path, newline="") as fh:
        return [row["path"] for row in csv.DictReader(fh) if row["file_key"].startswith(key)]


def new_secret(path: str | Path) -> Path:
    """A 256-bit random secret in a new file readable by its owner only (never overwrites)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m echocmr.secret", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="write a strong secret to a new file (mode 0600)")
    new.add_argument("file")
    find = sub.add_parser("lookup", help="the raw file of a manifest file_key")
    find.add_argument("key")
    find.add_argument("folder", nargs="?", default=DEFAULT_PRIVATE_DIR,
                      help="the operator-only folder (default: private)")
    args = parser.parse_args(argv)
    try:
        if args.command == "new":
            print(f"wrote a 256-bit secret to {new_secret(args.file)} (mode 0600); keep it "
                  "outside results/ and set secret.file to it")
            return 0
        found = lookup(args.key, args.folder)
    except (FileExistsError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(found) if found else f"no file with key {args.key}", file=sys.stdout)
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
