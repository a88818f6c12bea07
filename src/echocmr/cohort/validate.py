"""Validate the de-identified input tables against their row schemas (workflow/schemas/*.yaml).

Each schema is a JSON Schema (draft 2020-12) for ONE row. CSV cells are strings, so a cell is
first coerced to the type its column declares (empty -> null; a number column's cell -> float or
int when it parses as a finite number, else it stays a string and fails `type`). Every row is then
checked with `jsonschema`. A bad value in a column that may be empty (a measurement, a grade, a
flag: its schema allows null) drops that value only: the cell becomes missing, so only the labels
built from it are lost, and the row keeps its other grades (`dropped` = `value`). A bad key or
date drops the row (`dropped` = `row`). Either way the reason names the column and the rule
(never the value: a mistyped cell could hold an identifier), and the run goes on. `x-unique`
(a list of key columns) excludes every row of a duplicated key, since which copy is right cannot
be known; the reason says `duplicated` when the copies share a patient_key, and `identity
conflict` when one key appears under two or more patient_keys (an accession typed for the wrong
patient, two MRNs merged). A missing column is a broken export, not a bad row: it stops the
run, naming the column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pandas as pd
import yaml

EXCLUDED_COLUMNS = ["table", "row", "patient_key", "dropped", "reason"]
VALUE_DROPPED = " (value dropped)"
_PATIENT_KEY = re.compile(r"^P[0-9a-f]{12}$")


class TableSchemaError(ValueError):
    """A table lacks a column its schema requires (the export or an upstream stage is broken)."""


@dataclass
class ValidatedTable:
    valid: pd.DataFrame  # typed rows that passed (original column order)
    excluded: pd.DataFrame  # EXCLUDED_COLUMNS


def load_schema(path: str | Path) -> dict:
    with open(path) as handle:
        schema = yaml.safe_load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _column_schema(schema: dict, column: str) -> dict:
    if column in schema.get("properties", {}):
        return schema["properties"][column]
    for pattern, sub in schema.get("patternProperties", {}).items():
        if re.search(pattern, column):
            return sub
    return {}


def _is_numeric_column(col_schema: dict) -> bool:
    types = col_schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "number" in types or "integer" in types:
        return True
    enum = col_schema.get("enum", [])
    return any(isinstance(v, int | float) and not isinstance(v, bool) for v in enum)


def _coerce_number(cell: str):
    """'12' -> 12, '12.5' -> 12.5, '12.0' -> 12; anything else stays a string (fails `type`)."""
    try:
        value = float(cell)
    except ValueError:
        return cell
    if not math.isfinite(value):
        return cell
    return int(value) if value.is_integer() else value


def _coerce_row(raw: dict, numeric: set[str]) -> dict:
    row = {}
    for column, cell in raw.items():
        cell = cell.strip()
        if cell == "":
            row[column] = None
        elif column in numeric:
            row[column] = _coerce_number(cell)
        else:
            row[column] = cell
    return row


def _describe(error: jsonschema.ValidationError) -> str:
    """Column + rule of one schema violation, without echoing the offending value."""
    column = str(error.path[0]) if error.path else "row"
    rule, limit = error.validator, error.validator_value
    if error.instance is None:
        text = "missing (required)"
    elif rule == "type":
        text = f"not {' or '.join(limit) if isinstance(limit, list) else limit}"
        text = text.replace(" or null", "")
    elif rule == "minimum":
        text = f"below minimum {limit}"
    elif rule == "maximum":
        text = f"above maximum {limit}"
    elif rule == "enum":
        text = "not one of " + "|".join("empty" if v is None else str(v) for v in limit)
    elif rule == "format":
        text = f"not a valid {limit} (YYYY-MM-DD)" if limit == "date" else f"not a valid {limit}"
    elif rule == "pattern":
        text = "malformed key"
    elif rule == "required":
        text = "missing"
    else:
        text = f"fails {rule}"
    return f"{column}: {text}"


def _is_nullable(col_schema: dict) -> bool:
    """A column whose cells may be empty: a bad value there is dropped, not its row."""
    types = col_schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    return "null" in types or None in col_schema.get("enum", [])


def _drop_bad_values(row: dict, errors: list, schema: dict) -> tuple[list, list[str]]:
    """Empty the cells whose value failed a nullable column's rule; returns the errors that
    still drop the row and the reasons of the values dropped."""
    row_errors, dropped = [], []
    for error in errors:
        column = str(error.path[0]) if error.path else None
        if column and error.instance is not None and _is_nullable(_column_schema(schema, column)):
            row[column] = None
            dropped.append(_describe(error) + VALUE_DROPPED)
        else:
            row_errors.append(error)
    return row_errors, dropped


def _safe_patient_key(value) -> str:
    """The patient_key only when well formed: a malformed one could be a raw identifier."""
    return value if isinstance(value, str) and _PATIENT_KEY.match(value) else ""


def validate_table(raw: pd.DataFrame, schema: dict, table: str) -> ValidatedTable:
    """Split `raw` (all cells as strings) into typed valid rows and excluded rows with reasons.

    `row` in the excluded table is the 1-based data row number of the CSV (header not counted).
    """
    missing = [c for c in schema.get("required", []) if c not in raw.columns]
    if missing:
        raise TableSchemaError(
            f"table {table} lacks required column(s) {', '.join(missing)}: the export or the "
            "ingest stage must provide every column of docs/ARCHITECTURE.md"
        )
    numeric = {c for c in raw.columns if _is_numeric_column(_column_schema(schema, c))}
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    rows, reasons, value_reasons = [], [], []
    for raw_row in raw.fillna("").astype(str).to_dict(orient="records"):
        row = _coerce_row(raw_row, numeric)
        errors, dropped = _drop_bad_values(row, list(validator.iter_errors(row)), schema)
        rows.append(row)
        reasons.append("; ".join(sorted({_describe(e) for e in errors})))
        value_reasons.append("; ".join(sorted(set(dropped))))
    for key in schema.get("x-unique", []):
        values = pd.Series([r.get(key) for r in rows])
        duplicated = values.duplicated(keep=False) & values.notna()
        owners = pd.Series([r.get("patient_key") for r in rows])
        n_patients = owners[duplicated].groupby(values[duplicated]).nunique()
        for i in duplicated[duplicated].index:
            n = int(n_patients.get(values[i], 1)) if key != "patient_key" else 1
            problem = (f"identity conflict (one {key} under {n} patient_keys)" if n > 1
                       else "duplicated")
            reasons[i] = "; ".join(filter(None, [reasons[i], f"{key}: {problem}"]))
    # a dropped row lists every reason; a kept row with dropped values lists those
    listed = [i for i in range(len(rows)) if reasons[i] or value_reasons[i]]
    excluded = pd.DataFrame(
        {
            "table": table,
            "row": pd.Series([i + 1 for i in listed], dtype="int64"),
            "patient_key": [_safe_patient_key(rows[i].get("patient_key")) for i in listed],
            "dropped": ["row" if reasons[i] else "value" for i in listed],
            "reason": ["; ".join(filter(None, [reasons[i], value_reasons[i]])) for i in listed],
        },
        columns=EXCLUDED_COLUMNS,
    )
    good = [rows[i] for i, reason in enumerate(reasons) if not reason]
    valid = pd.DataFrame(good, columns=list(raw.columns))
    for column in numeric:
        valid[column] = pd.to_numeric(valid[column], errors="raise").astype("Float64")
    return ValidatedTable(valid=valid, excluded=excluded)


def read_raw_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV with every cell as a string (typing is the schema's job)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def validate_files(tables: dict[str, tuple[str | Path, str | Path]]) -> tuple[dict, pd.DataFrame]:
    """{name: (csv, schema)} -> ({name: valid DataFrame}, all excluded rows)."""
    valid, excluded = {}, []
    for name, (csv_path, schema_path) in tables.items():
        result = validate_table(read_raw_table(csv_path), load_schema(schema_path), name)
        valid[name] = result.valid
        excluded.append(result.excluded)
    excluded = pd.concat(excluded, ignore_index=True)
    excluded["row"] = excluded["row"].astype("int64")  # an empty table's column would be float
    return valid, excluded
