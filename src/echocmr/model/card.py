"""Reading a model bundle's card (no torch): what external mode needs at parse time and in
the fuse and baseline jobs. Writing bundles lives in `echocmr.model.bundle`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CARD = "model_card.json"
FORMAT = "echocmr-bundle/1"


class BundleError(ValueError):
    """A bundle is missing, incomplete or was changed after it was written."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_card(bundle, verify: bool = False) -> dict:
    """The bundle's model card; `verify` also checks every file's sha256."""
    root = Path(bundle)
    path = root / CARD
    if not path.is_file():
        raise BundleError(f"model.bundle={bundle}: no {CARD} there; export a bundle with "
                          "`python -m echocmr.model.bundle export` (docs/external.md)")
    card = json.loads(path.read_text())
    if card.get("format") != FORMAT:
        raise BundleError(f"{path}: format {card.get('format')!r}, expected {FORMAT!r}")
    for rel, digest in card.get("files", {}).items():
        f = root / rel
        if not f.is_file():
            raise BundleError(f"model.bundle={bundle}: {rel} is missing")
        if verify and sha256(f) != digest:
            raise BundleError(f"model.bundle={bundle}: {rel} differs from the model card "
                              "(changed or damaged after export)")
    return card


def model_entry(card: dict, view: str, model: str) -> dict:
    for entry in card["models"]:
        if entry["view"] == view and entry["model"] == model:
            return entry
    raise BundleError(f"the bundle has no {view} model {model!r}")


