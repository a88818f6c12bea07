"""The view vocabulary: the three analysis views plus OTHER, and how raw names map onto it."""

from __future__ import annotations

import re

# The one home of the analysis views (tests/.../test_single_homes.py): every stage imports these.
ANALYSIS_VIEWS = ("A4C", "A2C", "PLAX")
VIEW_CLASSES = [*ANALYSIS_VIEWS, "OTHER"]
PROB_COLUMNS = [f"p_{v}" for v in VIEW_CLASSES]

# Spellings seen in reporting systems and public data sets (EchoNet, EchoPrime, CAMUS) for the
# three views the study analyses; every other named view (PSAX, A5C, subcostal, ...) is OTHER.
_SYNONYMS = {
    "A4C": "A4C", "AP4": "A4C", "A4CH": "A4C", "APICAL4": "A4C", "APICAL4CHAMBER": "A4C",
    "4CH": "A4C",
    "A2C": "A2C", "AP2": "A2C", "A2CH": "A2C", "APICAL2": "A2C", "APICAL2CHAMBER": "A2C",
    "2CH": "A2C",
    "PLAX": "PLAX", "PARASTERNALLONG": "PLAX", "PARASTERNALLONGAXIS": "PLAX", "PLA": "PLAX",
}


def normalise_view(raw: object) -> str | None:
    """Map a raw view name to A4C/A2C/PLAX/OTHER; None when the cell is empty (no label)."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    text = re.sub(r"[^A-Z0-9]", "", str(raw).upper())
    if not text:
        return None
    return _SYNONYMS.get(text, "OTHER")
