"""One normalisation of raw identifiers and dates, for the DICOM headers and the site tables alike.

The manifest (`inventory`), the de-identified header (`deid.header`), the pseudonymised tables
(`tables`) and the PHI audit's catalogue all read raw values through these functions, so the same
identifier gets the same pseudonym wherever it was typed:

- padding and spaces around a value (DICOM pads to even length with a space or NUL; table
  exports add spaces) are dropped, and Unicode is NFKC-normalised (full-width digits and letters
  of Japanese/Chinese character sets become ASCII);
- a multi-valued element (`AccessionNumber` of `PR\\US`, read by pydicom as a list; the same
  value typed with a backslash in a table) gives its values one by one, and a multi-valued
  accession is pseudonymised value by value (`keys.pseudonyms`), so a report row that names any
  one of them joins;
- dates: DICOM DA `YYYYMMDD`, the retired ACR-NEMA `YYYY.MM.DD`, ISO `YYYY-MM-DD`, `YYYY/MM/DD`,
  a DT or a date with a time part (`20190503101500`, `2019-05-03 10:15:00`, `2019-05-03T10:15`),
  the first value of a multi-valued date. Day-first or month-first forms (`03/05/2019`) are
  ambiguous and are refused (None), never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

DICOM_SEPARATOR = "\\"
# year, separator (none, '-', '.', '/': the same twice), month, day, then an optional time of day
# (DT 'HHMMSS.ffffff&ZZXX', or ' HH:MM[:SS]' / 'THH:MM[:SS]') that is ignored.
_DATE = re.compile(r"(\d{4})([-./]?)(\d{2})\2(\d{2})"
                   r"(?:[ T]?\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?)?(?:[+-]\d{4}|Z)?")


def _text(value) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip(" \t\r\n\x00")


def identifier_values(value) -> list[str]:
    """The values of a raw identifier, padding removed, empty and repeated values dropped.

    Accepts what pydicom returns (str, MultiValue, PersonName, None) and table cells."""
    if value is None:
        return []
    items = list(value) if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) \
        else [value]
    out: list[str] = []
    for item in items:
        for part in _text(item).split(DICOM_SEPARATOR):
            part = part.strip(" \t\r\n\x00")
            if part and part not in out:
                out.append(part)
    return out


def identifier(value) -> str:
    """One raw identifier as text (PatientID, a UID, an MRN cell): values joined by backslash,
    as DICOM writes them; '' when there is none."""
    return DICOM_SEPARATOR.join(identifier_values(value))


def parse_date(value) -> dt.date | None:
    """A calendar date from a DICOM DA/DT or a table cell (forms above); None if empty, ambiguous
    or not a real date."""
    values = identifier_values(value)
    match = _DATE.fullmatch(values[0]) if values else None
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        return None


# Ages: whole years, capped (HIPAA Safe Harbor bins ages over 89; PS3.15 retains age).
MAX_AGE_YEARS = 90
_AGE = re.compile(r"(\d{3})([DWMY])")
_DAYS_PER_UNIT = {"D": 1, "W": 7}


def age_at(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_years(age_string, birth, day: dt.date | None) -> int | None:
    """Whole years of age on `day`: DICOM PatientAge (AS 'nnnY', 'nnnM', 'nnnW', 'nnnD'), else
    the birth date to `day`; capped at MAX_AGE_YEARS. None when neither gives an age."""
    match = _AGE.fullmatch(_text(age_string)) if age_string else None
    if match:
        n, unit = int(match[1]), match[2]
        years = n if unit == "Y" else n // 12 if unit == "M" else n * _DAYS_PER_UNIT[unit] // 366
        return min(years, MAX_AGE_YEARS)
    birth = parse_date(birth)
    if birth is None or day is None or day < birth:
        return None
    return min(age_at(birth, day), MAX_AGE_YEARS)
