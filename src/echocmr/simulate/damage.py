"""Damaged files a real export contains: truncated transfers, empty files, non-DICOM files.

Ingest must exclude each with a named reason and carry on.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

DAMAGE_KINDS = ("truncated", "zero_bytes", "not_dicom")


def truncate(data: bytes, rng: np.random.Generator) -> bytes:
    """Cut a valid file somewhere inside its pixel data (an interrupted transfer)."""
    keep = float(rng.uniform(0.35, 0.75))
    return data[: max(200, int(len(data) * keep))]


def not_dicom(rng: np.random.Generator) -> bytes:
    """A JPEG thumbnail saved with a .dcm name (no preamble, no DICM prefix)."""
    ramp = np.linspace(0, 255, 64, dtype=np.float32)
    img = (ramp[None, :] * 0.5 + rng.normal(0, 10, (48, 64))).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img, "L").save(buf, "JPEG", quality=70)
    return buf.getvalue()


def damaged_bytes(kind: str, valid: bytes | None, rng: np.random.Generator) -> bytes:
    if kind == "truncated":
        if valid is None:
            raise ValueError("a truncated file needs the valid bytes it was cut from")
        return truncate(valid, rng)
    if kind == "zero_bytes":
        return b""
    if kind == "not_dicom":
        return not_dicom(rng)
    raise ValueError(f"unknown damage {kind!r}; expected one of {DAMAGE_KINDS}")


# ----------------------------------------------------------------------------- table rows

# One malformed value per defect, as clinical exports produce them (typos, placeholders).
TABLE_DEFECTS = {
    "cmr_reports": ("wm_07", "hypokinetc", "wall-motion grade outside the vocabulary"),
    "clinical": ("birth_date", "1962-13-45", "impossible birth date"),
    "echo_reports": ("echo_lvef_pct", "n/a", "non-numeric LVEF"),
}


def plant_table_defects(tables: dict, per_table: int, rng: np.random.Generator) -> list[dict]:
    """Corrupt `per_table` rows of each raw table in place; returns what was corrupted.

    `row_number` is the 1-based data row (the CSV line minus the header), as ingest reports it.
    """
    records = []
    for name, (column, value, what) in TABLE_DEFECTS.items():
        df = tables[name]
        k = min(per_table, len(df))
        for row in sorted(rng.choice(len(df), size=k, replace=False)) if k else []:
            df.iloc[int(row), df.columns.get_loc(column)] = value
            records.append({"table": name, "row_number": int(row) + 1, "column": column,
                            "value": value, "defect": what, "mrn": df.iloc[int(row)]["mrn"]})
    return records
