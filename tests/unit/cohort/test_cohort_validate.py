"""Validation of the de-identified tables against workflow/schemas/*.yaml (issue 5)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from cohort_tables import CLINICAL_COLUMNS, ECHO_COLUMNS, blank_cmr, key
from conftest import REPO

from echocmr.cohort.validate import (
    EXCLUDED_COLUMNS,
    TableSchemaError,
    load_schema,
    validate_table,
)
from echocmr.vocab.segments import VIEW_SEGMENTS

SCHEMAS = REPO / "workflow" / "schemas"


def schema(name):
    return load_schema(SCHEMAS / f"{name}.schema.yaml")


def cmr_row(i, **cells):
    row = blank_cmr(key("P", i), key("C", i), "2020-01-01", t1_native_ms="1000", t2_ms="50",
                    ecv_pct="28", lvef_pct="55", hematocrit_pct="40")
    row.update(cells)
    return row


def as_strings(rows):
    return pd.DataFrame(rows).astype(str)


def test_good_rows_pass_typed():
    result = validate_table(as_strings([cmr_row(0), cmr_row(1, t2_ms="", wm_03="akinetic")]),
                            schema("cmr_reports"), "cmr_reports")
    assert result.excluded.empty
    assert len(result.valid) == 2
    assert result.valid["t1_native_ms"].tolist() == [1000, 1000]
    assert pd.isna(result.valid.loc[1, "t2_ms"])
    assert result.valid.loc[1, "wm_03"] == "akinetic"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"cmr_date": "2020-13-45"}, "cmr_date: not a valid date"),
        ({"cmr_date": "01/02/2020"}, "cmr_date: not a valid date"),
        ({"cmr_key": "C123"}, "cmr_key: malformed key"),
    ],
)
def test_bad_cmr_keys_and_dates_exclude_the_row_with_a_named_reason(cells, reason):
    rows = [cmr_row(0), cmr_row(1, **cells), cmr_row(2)]
    result = validate_table(as_strings(rows), schema("cmr_reports"), "cmr_reports")
    assert list(result.excluded.columns) == EXCLUDED_COLUMNS
    assert result.excluded["row"].tolist() == [2]
    assert result.excluded["dropped"].tolist() == ["row"]
    assert reason in result.excluded["reason"].iloc[0]
    assert result.excluded["patient_key"].iloc[0] == key("P", 1)
    assert len(result.valid) == 2  # the run goes on with the good rows


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"wm_07": "severe"}, "wm_07: not one of normal|hypokinetic|akinetic|dyskinetic|empty"),
        ({"lge_02": "2"}, "lge_02: not one of 0|1|empty"),
        ({"t1_native_ms": "-950"}, "t1_native_ms: below minimum 500"),
        ({"t1_native_ms": "50000"}, "t1_native_ms: above maximum 2500"),
        ({"ecv_pct": "120"}, "ecv_pct: above maximum 90"),
        ({"t2_ms": "abc"}, "t2_ms: not number"),
        ({"lvef_pct": "nan"}, "lvef_pct: not number"),
        ({"hematocrit_pct": "-4"}, "hematocrit_pct: below minimum 10"),
    ],
)
def test_a_bad_value_drops_that_value_not_the_row(cells, reason):
    """A T1 of -950 loses the T1 label of that CMR, not its wall-motion and scar grades."""
    rows = [cmr_row(0), cmr_row(1, **cells), cmr_row(2)]
    result = validate_table(as_strings(rows), schema("cmr_reports"), "cmr_reports")
    assert result.excluded["row"].tolist() == [2]
    assert result.excluded["dropped"].tolist() == ["value"]
    assert result.excluded["reason"].iloc[0] == f"{reason} (value dropped)"
    assert len(result.valid) == 3
    (column,) = cells
    kept = result.valid.iloc[1]
    assert pd.isna(kept[column])
    others = [c for c in ("wm_01", "wm_07", "lge_02", "t1_native_ms", "t2_ms") if c != column]
    assert kept[others].notna().all()  # the row's other grades and values stay


def test_reasons_never_echo_values_and_malformed_patient_keys_are_blanked():
    planted = "MRN-98765432"
    rows = [cmr_row(0, patient_key=planted), cmr_row(1, t1_native_ms=planted)]
    result = validate_table(as_strings(rows), schema("cmr_reports"), "cmr_reports")
    assert len(result.excluded) == 2
    text = result.excluded.to_csv(index=False)
    assert planted not in text
    assert result.excluded["patient_key"].tolist() == ["", key("P", 1)]


def test_duplicated_keys_exclude_every_copy():
    rows = [cmr_row(0), cmr_row(0), cmr_row(1)]
    result = validate_table(as_strings(rows), schema("cmr_reports"), "cmr_reports")
    assert result.excluded["row"].tolist() == [1, 2]
    assert set(result.excluded["reason"]) == {"cmr_key: duplicated"}


def test_clinical_and_echo_schemas():
    clinical = pd.DataFrame([
        [key("P", 0), "56", "F", "Asian", "26.1", "1", "0", "0"],
        [key("P", 1), "150", "F", "Asian", "26.1", "1", "0", "0"],
        [key("P", 2), "40", "X", "Martian", "26.1", "yes", "0", ""],
        [key("P", 3), "", "", "", "", "", "", ""],
    ], columns=CLINICAL_COLUMNS)
    result = validate_table(clinical, schema("clinical"), "clinical")
    assert result.excluded["row"].tolist() == [2, 3]
    assert result.excluded["dropped"].tolist() == ["value", "value"]
    assert "age_years: above maximum 90" in result.excluded["reason"].iloc[0]
    reason = result.excluded["reason"].iloc[1]
    assert "sex:" in reason and "race:" in reason and "hypertension:" in reason
    assert len(result.valid) == 4  # bad values emptied; an all-missing row is valid too
    assert result.valid.loc[2, ["sex", "race", "hypertension"]].isna().all()

    echo = pd.DataFrame([
        [key("P", 0), key("A", 0), "2020-01-01", "55"],
        [key("P", 0), key("A", 1), "2020-02-30", "55"],
        [key("P", 0), key("A", 2), "2020-01-01", "0.55"],
        [key("P", 0), "", "2020-01-01", "55"],  # no accession: cannot join to the images
    ], columns=ECHO_COLUMNS)
    result = validate_table(echo, schema("echo_reports"), "echo_reports")
    assert result.excluded["reason"].tolist() == ["study_date: not a valid date (YYYY-MM-DD)",
                                                  "echo_lvef_pct: below minimum 1 (value dropped)",
                                                  "accession_key: missing (required)"]
    assert result.excluded["dropped"].tolist() == ["row", "value", "row"]


def test_missing_column_stops_with_the_column_named():
    frame = as_strings([cmr_row(0)]).drop(columns=["t2_ms"])
    with pytest.raises(TableSchemaError, match="t2_ms"):
        validate_table(frame, schema("cmr_reports"), "cmr_reports")


def test_config_schema_segment_default_is_the_standard_mapping():
    config_schema = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text())
    cohort = config_schema["properties"]["cohort"]["properties"]
    assert cohort["segments"]["default"] == VIEW_SEGMENTS
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert config["cohort"]["segments"] == VIEW_SEGMENTS
