"""AHA 17-segment model and the segments each echo view shows.

Segment numbering after Cerqueira et al., Circulation 2002;105:539 (the paper's ref. 15). The
view -> segment sets follow the ASE/EACVI chamber quantification recommendations (Lang et al.,
J Am Soc Echocardiogr 2015;28:1-39, Figure 3). Both `simulate` (which moves exactly these
segments) and `cohort` (which derives per-view labels) use them; `cohort.segments` in the config
overrides them for a site with another convention.
"""

from __future__ import annotations

AHA_SEGMENTS: dict[int, str] = {
    1: "basal anterior", 2: "basal anteroseptal", 3: "basal inferoseptal",
    4: "basal inferior", 5: "basal inferolateral", 6: "basal anterolateral",
    7: "mid anterior", 8: "mid anteroseptal", 9: "mid inferoseptal",
    10: "mid inferior", 11: "mid inferolateral", 12: "mid anterolateral",
    13: "apical anterior", 14: "apical septal", 15: "apical inferior", 16: "apical lateral",
    17: "apex",
}

# Ordered along the wall as drawn in the image: from the base of one wall, over the apex, to the
# base of the opposite wall (the order `simulate` draws them in).
VIEW_SEGMENTS: dict[str, list[int]] = {
    "A4C": [3, 9, 14, 17, 16, 12, 6],
    "A2C": [4, 10, 15, 17, 13, 7, 1],
    "PLAX": [2, 8, 5, 11],
}

WALL_MOTION_GRADES = ["normal", "hypokinetic", "akinetic", "dyskinetic"]


def segment_columns(prefix: str) -> list[str]:
    """Column names of a per-segment field, e.g. `wm_01` .. `wm_17`."""
    return [f"{prefix}_{i:02d}" for i in range(1, 18)]
