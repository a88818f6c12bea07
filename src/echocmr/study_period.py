"""The study period (`cohort.period`): which raw exam dates belong to the study.

Checked where the raw dates still exist (inventory for the echo DICOM, deidentify_tables for the
report tables): de-identification moves every patient's dates by its own offset, so no later
stage can tell whether a study lies inside the period.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

KEY = "cohort.period"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class StudyPeriod:
    """Inclusive date range; an open end (None) does not restrict."""

    start: dt.date | None = None
    end: dt.date | None = None

    def contains(self, day: dt.date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def as_param(self) -> dict:
        """Plain strings for Snakemake params (a quoted and an unquoted YAML date give one value,
        so the rule does not re-run for the quoting)."""
        return {"start": _iso(self.start), "end": _iso(self.end)}


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date(value, key: str) -> dt.date | None:
    """A YAML date (unquoted 2011-05-01 loads as a date) or a 'YYYY-MM-DD' string."""
    if value is None or type(value) is dt.date:
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:  # 2011-02-30
            pass
    raise ValueError(f"{key}={value!r} is not a date: write it as YYYY-MM-DD, e.g. 2011-05-01")


def study_period(value) -> StudyPeriod | None:
    """`cohort.period` ({start, end} or null) as a StudyPeriod; None = no restriction.

    Raises ValueError naming the key and the fix (config checks turn it into a ConfigError)."""
    if value is None:
        return None
    period = StudyPeriod(_date(value.get("start"), f"{KEY}.start"),
                         _date(value.get("end"), f"{KEY}.end"))
    if period.start is None and period.end is None:
        return None
    if period.start and period.end and period.start > period.end:
        raise ValueError(f"{KEY}: start {period.start} is after end {period.end}: swap them, "
                         "or set the first and last day of the study (both inclusive)")
    return period
