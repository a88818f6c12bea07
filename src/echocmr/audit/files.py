"""PHI gate: look for every raw identifier anywhere under results/ and fail if one is found.

The catalogue of identifiers is built from the raw inputs themselves (DICOM headers including
nested sequences and file meta, folder names of the export, the CMR/clinical/echo/view-label
tables): names, MRNs, accession numbers, birth dates, institutions, devices, original UIDs and
original dates. Then every file under results/ is scanned: DICOM headers element by element,
text files line by line (HTML with the text files it embeds as base64 data URIs decoded, as
Snakemake's self-contained report does), and every file and folder name. Other binary files
(.npy, .pt, ...) are checked by name only here; `echocmr.audit.pixels` reads the pixels of
cines, videos and PNG/JPEG figures (the report's embedded figures too).

Matching is on whole tokens after normalisation (upper case, runs of non-alphanumerics -> one
space), so `DOE^JOHN`, `Doe John` and `doe, john` all match, `2019-03-05` matches `2019/03/05`,
and an MRN does not match inside a longer number.

Dates are scoped to their patient: a patient's original study/CMR dates are searched only where
that patient's key appears (same file path, DICOM file or text line), because the shifted dates of
one patient routinely coincide with the original dates of another. A patient's own shifted date
that equals one of their original dates is not a leak and is left out. Birth dates are dropped by
de-identification, so they are searched everywhere.

Reports never contain an identifier: a hit gives file, field or line, and the identifier *type*;
a path component that itself holds an identifier is shown as `<type>`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pydicom

from echocmr import keys
from echocmr.audit.generic_values import MAX_GENERIC_WORDS, is_generic
from echocmr.deid.header import is_standard_uid
from echocmr.ingest.inventory import parse_da
from echocmr.ingest.normalise import identifier, identifier_values

log = logging.getLogger(__name__)

AUDIT_COLUMNS = ["file", "location", "identifier_type"]
TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".md", ".html", ".htm", ".txt", ".log", ".json",
                           ".yaml", ".yml", ".rst", ".xml", ".svg", ".ini", ".cfg", ".err",
                           ".out"})
BINARY_SUFFIXES = frozenset({".npy", ".npz", ".pt", ".pth", ".ckpt", ".png", ".jpg", ".jpeg",
                             ".pdf", ".avi", ".mp4", ".gz", ".zip", ".pkl", ".bin", ".raw",
                             ".tmp", ".h5", ".parquet"})
MAX_SNIFF_BYTES = 5 << 20
# A date element holds a date: there an 8-digit MRN equal to the written (shifted) date is a
# coincidence of two numbers (`20150211` was both in a demo run), not that MRN. Original and
# birth dates are still searched in it.
DATE_VRS = frozenset({"DA", "DT"})
DATE_KINDS = frozenset({"date", "birth_date"})
PATIENT_KEY = re.compile(r"P[0-9a-f]{12}")
MIN_TOKEN_CHARS = 4
# Purely numeric identifiers shorter than this (study IDs like `1004`) collide with measurements
# (T1 of 1004 ms) and are not searched; MRNs and accession numbers are longer.
MIN_DIGITS = 6

# Person-name keywords naming the patient (or the patient's family), not the staff.
PATIENT_NAME_KEYWORDS = frozenset({"PatientName", "OtherPatientNames", "PatientBirthName",
                                   "PatientMotherBirthName"})
# DICOM keywords whose values identify (besides every PN, UI and DA, handled by VR).
ID_KEYWORDS = {
    "PatientID": "mrn", "OtherPatientIDs": "mrn", "IssuerOfPatientID": "mrn",
    "AccessionNumber": "accession_number", "InstitutionName": "institution",
    "InstitutionAddress": "institution", "InstitutionalDepartmentName": "institution",
    "StationName": "device", "DeviceSerialNumber": "device", "StudyID": "study_id",
    "PatientAddress": "address", "PatientTelephoneNumbers": "phone",
    "MedicalRecordLocator": "mrn", "PerformedProcedureStepID": "study_id",
}
# An institution's own name or address is generic only as one placeholder word (`DEFAULT`,
# `HOSPITAL`): two dictionary words can name a real place (`Mercy Hospital`), matched as a phrase.
ONE_WORD_GENERIC = frozenset({"InstitutionName", "InstitutionAddress"})
# Identify software, not people: the same toolkit UID may be in raw and de-identified files.
NOT_IDENTIFYING = frozenset({"ImplementationClassUID", "ImplementationVersionName"})


def normalise(text: str) -> str:
    """Upper-case alphanumeric tokens separated by single spaces."""
    return " ".join(re.findall(r"[A-Za-z0-9]+", str(text))).upper()


def date_forms(day: dt.date) -> list[str]:
    return [day.strftime("%Y%m%d"), day.isoformat()]


def name_forms(name: str) -> list[str]:
    """A person name as full name in both orders, plus a distinctive family name (>= 5 chars).

    Given names alone are not searched: `MARK` or `AMY` would hit ordinary words in reports.
    """
    parts = [p for p in re.split(r"[\^,]+|\s+", str(name).strip()) if p]
    if not parts:
        return []
    forms = [" ".join(parts)]
    if len(parts) >= 2:
        forms += [f"{parts[0]} {parts[1]}", f"{parts[1]} {parts[0]}"]
    if len(parts[0]) >= 5:
        forms.append(parts[0])
    return forms


# Kinds whose raw values the pixel audit spells its own way (`echocmr.audit.pixels`).
RAW_KINDS = frozenset({"mrn", "accession_number", "institution", "device"})


@dataclass
class RawValues:
    """Identifier values as found in the raw inputs, before normalisation, for catalogue views
    that need their own spellings: the pixel audit matches what a console burns in
    (`DOB:1927-03-14`, `15-Jan-2020`, `10:15:30`, initials of the institution)."""

    names: set[str] = field(default_factory=set)  # staff and other names, any patient's screen
    patient_names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    ids: dict[str, str] = field(default_factory=dict)  # value -> kind (RAW_KINDS)
    birth_dates: set[dt.date] = field(default_factory=set)
    dates: dict[str, set[dt.date]] = field(default_factory=lambda: defaultdict(set))
    times: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # HHMMSS


@dataclass
class Catalogue:
    """Normalised identifiers: global ones, and dates scoped to a patient key."""

    secret: str
    max_shift_days: int = keys.DATE_SHIFT_MAX_DAYS
    global_ids: dict[str, str] = field(default_factory=dict)
    dates: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    raw: RawValues = field(default_factory=RawValues)
    _shifted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    n_generic: int = 0  # placeholder values left out (counted, never listed)

    def add(self, value, kind: str, generic_words: int = MAX_GENERIC_WORDS) -> None:
        """One identifier value; a placeholder or dictionary phrase of up to `generic_words`
        words (`DEFAULT`, `Echo Lab`) identifies no one and is left out."""
        if is_generic(value, generic_words):
            self.n_generic += 1
            return
        if kind in RAW_KINDS and str(value).strip():
            self.raw.ids.setdefault(str(value).strip(), kind)
        norm = normalise(value)
        compact = norm.replace(" ", "")
        if len(compact) < MIN_TOKEN_CHARS or (compact.isdigit() and len(compact) < MIN_DIGITS):
            return  # too short to tell apart from ordinary words and measurements
        self.global_ids.setdefault(norm, kind)

    def add_name(self, value, mrn: str = "") -> None:
        """A person name; `mrn` when it is that patient's own (name fields of the patient):
        the pixel audit then reads a lone part of it on that patient's screens only."""
        if str(value).strip() and not is_generic(value, 1):
            if mrn:
                pkey = keys.pseudonym(self.secret, "patient", mrn)
                self.raw.patient_names[pkey].add(str(value).strip())
            else:
                self.raw.names.add(str(value).strip())
        for form in name_forms(value):  # a real name may be two words (`Rose White`)
            self.add(form, "person_name", generic_words=1)

    def add_patient_date(self, mrn: str, value, kind: str = "date") -> None:
        day = parse_da(value)
        if day is None or not mrn:
            return
        pkey = keys.pseudonym(self.secret, "patient", mrn)
        self.raw.dates[pkey].add(day)
        offset = keys.date_offset_days(self.secret, mrn, self.max_shift_days)
        shifted = day + dt.timedelta(days=offset)
        for form in date_forms(day):
            self.dates[pkey].setdefault(normalise(form), kind)
        for form in date_forms(shifted):
            self._shifted[pkey].add(normalise(form))

    def add_patient_time(self, mrn: str, value) -> None:
        """A time of day (TM, or the time part of a DT) of the patient: kept for the pixel audit
        only (times are dropped from the headers; as bare numbers they collide with values)."""
        digits = re.sub(r"\D", "", str(value).split(".")[0])
        if mrn and len(digits) >= 6:
            self.raw.times[keys.pseudonym(self.secret, "patient", mrn)].add(digits[:6])

    def add_birth_date(self, value) -> None:
        day = parse_da(value)
        if day is not None:
            self.raw.birth_dates.add(day)
            for form in date_forms(day):
                self.add(form, "birth_date")

    def finalise(self) -> None:
        """Drop scoped dates equal to the same patient's shifted dates (legitimate values)."""
        for pkey, table in self.dates.items():
            for norm in self._shifted.get(pkey, ()):
                table.pop(norm, None)
        self._index = _first_token_index(self.global_ids)
        self._date_index = {p: _first_token_index(t) for p, t in self.dates.items()}

    def __len__(self) -> int:
        return len(self.global_ids) + sum(len(t) for t in self.dates.values())

    def find(self, text: str, patients: Iterable[str] = ()) -> list[str]:
        """Identifier types found in `text` (globals, and dates of the given patients)."""
        return [kind for kind, _ in self.find_values(text, patients)]

    def find_values(self, text: str, patients: Iterable[str] = ()) -> list[tuple[str, str]]:
        """(type, normalised value) of each identifier in `text`; values are for the
        operator-only detail file, never for anything under results/."""
        norm = normalise(text)
        if not norm:
            return []
        padded, tokens = f" {norm} ", set(norm.split(" "))
        found = _match(padded, tokens, self._index)
        for pkey in patients:
            if pkey in self._date_index:
                found += _match(padded, tokens, self._date_index[pkey])
        return found

    def types_of_globals(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for kind in self.global_ids.values():
            counts[kind] += 1
        counts["date"] = sum(len(t) for t in self.dates.values())
        return dict(counts)


def _first_token_index(table: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for norm, kind in table.items():
        index[norm.split(" ")[0]].append((f" {norm} ", kind))
    return index


def _match(padded: str, tokens: set[str], index) -> list[tuple[str, str]]:
    found = []
    for token in tokens:
        for needle, kind in index.get(token, ()):
            if needle in padded:
                found.append((kind, needle.strip()))
    return found


# ----------------------------------------------------------------------------- catalogue


def _walk_elements(ds) -> Iterator:
    """Every data element, recursing into sequences, file meta included."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from meta
    stack = [ds]
    while stack:
        item = stack.pop()
        for elem in item:
            if elem.VR == "SQ":
                stack.extend(elem.value or [])
            else:
                yield elem


def _values(elem) -> list[str]:
    if elem.value is None or elem.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        return []
    values = elem.value if elem.VM > 1 else [elem.value]
    return [str(v) for v in values if str(v).strip()]


def catalogue_dicom(cat: Catalogue, path: Path) -> None:
    """Add the identifiers of one raw DICOM header (unreadable files contribute what parses)."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # noqa: BLE001 - damaged raw files: nothing readable to catalogue
        return
    mrn = identifier(ds.get("PatientID"))
    for elem in _walk_elements(ds):
        if elem.keyword in NOT_IDENTIFYING:
            continue
        for value in _values(elem):
            kind = ID_KEYWORDS.get(elem.keyword)
            if elem.keyword == "PatientBirthDate":
                cat.add_birth_date(value)
            elif elem.VR == "PN":
                cat.add_name(value, mrn if elem.keyword in PATIENT_NAME_KEYWORDS else "")
            elif elem.VR == "UI" and not is_standard_uid(value):
                cat.add(value, "uid")
            elif elem.VR in ("DA", "DT"):
                cat.add_patient_date(mrn, value[:8])
                if elem.VR == "DT":
                    cat.add_patient_time(mrn, value[8:])
            elif elem.VR == "TM":
                cat.add_patient_time(mrn, value)
            elif kind:
                cat.add(value, kind, 1 if elem.keyword in ONE_WORD_GENERIC else MAX_GENERIC_WORDS)
            elif elem.tag.is_private and "^" in value:
                cat.add_name(value)  # a name copied into a vendor tag


# Export folder/file names that are counters, not identifiers (SE0001, IM0003, IMG00012, ...).
GENERIC_NAME = re.compile(r"(?i)(se|ser|series|st|study|im|img|image|i|s|dicom|dir|f|file)?"
                          r"[_-]?\d{1,7}")


def catalogue_path(cat: Catalogue, rel: Path) -> None:
    """Folder and file names of the export that look like identifiers (>= 6 chars with a digit,
    not a plain counter such as SE0001 or IM0003)."""
    for part in rel.parts:
        stem = part.rsplit(".", 1)[0] if part.lower().endswith(".dcm") else part
        if len(stem) >= 6 and any(ch.isdigit() for ch in stem) \
                and not GENERIC_NAME.fullmatch(stem):
            cat.add(stem, "raw_path_name")


def catalogue_tables(cat: Catalogue, tables: dict[str, str | Path | None]) -> None:
    for path in tables.values():
        if not path or not Path(path).is_file():
            continue
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        cols = set(df.columns)
        for _, row in df.iterrows():
            mrn = identifier(row.get("mrn", ""))
            if mrn:
                cat.add(mrn, "mrn")
            if "patient_name" in cols:
                cat.add_name(row["patient_name"], mrn)
            if "birth_date" in cols:
                cat.add_birth_date(row["birth_date"])
            if "accession_number" in cols:  # a multi-valued accession: each value
                for value in identifier_values(row["accession_number"]):
                    cat.add(value, "accession_number")
            if "sop_instance_uid" in cols and row["sop_instance_uid"]:
                cat.add(row["sop_instance_uid"], "uid")
            for col in ("cmr_date", "study_date"):
                if col in cols:
                    cat.add_patient_date(mrn, row[col])


RAW_TABLES = ("cmr_reports", "clinical", "echo_reports", "view_labels")


def raw_tables_of(inputs) -> dict[str, str | None]:
    """The raw tables among a rule's inputs (each absent one None): the catalogue's sources."""
    return {name: inputs.get(name) for name in RAW_TABLES}


def build_catalogue(dicom_dir: str | Path, tables: dict[str, str | Path | None], secret: str,
                    max_shift_days: int = keys.DATE_SHIFT_MAX_DAYS) -> Catalogue:
    cat = Catalogue(secret, max_shift_days)
    root = Path(dicom_dir)
    paths = sorted(Path(dp) / f for dp, _, fs in os.walk(root) for f in fs)
    # Most specific sources first: an MRN is typed `mrn`, not `raw_path_name`.
    for path in paths:
        catalogue_dicom(cat, path)
    catalogue_tables(cat, tables)
    for path in paths:
        catalogue_path(cat, path.relative_to(root))
    cat.finalise()
    log.info("catalogue: %s; %d placeholder or dictionary value(s) left out",
             json.dumps(cat.types_of_globals(), sort_keys=True), cat.n_generic)
    return cat


# ----------------------------------------------------------------------------- scan


@dataclass(frozen=True)
class Hit:
    file: str
    location: str
    identifier_type: str
    value: str = ""  # operator-only (`write_private_detail`); never under results/


def redacted_rel(cat: Catalogue, rel: Path) -> tuple[str, list[Hit]]:
    """Path with identifier-bearing components replaced by `<type>`, and one hit per component."""
    parts, hits = [], []
    patients = set(PATIENT_KEY.findall(rel.as_posix()))
    for part in rel.parts:
        found = cat.find_values(part, patients)
        parts.append(f"<{found[0][0]}>" if found else part)
        hits += [Hit("", "file or folder name", k, v) for k, v in dict.fromkeys(found)]
    shown = "/".join(parts)
    return shown, [Hit(shown, h.location, h.identifier_type, h.value) for h in hits]


def is_dicom(path: Path) -> bool:
    if path.suffix.lower() == ".dcm":
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
        return head[128:132] == b"DICM"
    except OSError:
        return False


def scan_dicom(cat: Catalogue, path: Path, shown: str, patients: set[str]) -> list[Hit]:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # noqa: BLE001 - an unreadable output is reported as such, not skipped
        return [Hit(shown, "unreadable DICOM header", "unscannable")]
    hits = []
    patients = patients | set(PATIENT_KEY.findall(str(ds.get("PatientID", ""))))
    for elem in _walk_elements(ds):
        for value in _values(elem):
            for kind, found in dict.fromkeys(cat.find_values(value, patients)):
                if elem.VR in DATE_VRS and kind not in DATE_KINDS:
                    continue
                name = elem.keyword or str(elem.tag)
                hits.append(Hit(shown, f"header {name}", kind, found))
    return hits


def scan_text(cat: Catalogue, path: Path, shown: str, patients: set[str]) -> list[Hit]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return _scan_lines(cat, fh, shown, patients)


# A base64 data URI (`data:text/csv;charset=utf8;filename=x.csv;base64,...`): Snakemake's HTML
# report embeds every table, page and figure it shows this way.
DATA_URI = re.compile(r"data:([\w.+/-]+)((?:;[\w.=-]+)*);base64,([A-Za-z0-9+/=]+)")
EMBEDDED_TEXT = re.compile(r"^(text/|image/svg|application/(json|xml))")


def _scan_lines(cat: Catalogue, lines: Iterable[str], shown: str, patients: set[str],
                where: str = "line") -> list[Hit]:
    hits = []
    for number, line in enumerate(lines, start=1):
        line_patients = patients | set(PATIENT_KEY.findall(line))
        for kind, found in dict.fromkeys(cat.find_values(line, line_patients)):
            hits.append(Hit(shown, f"{where} {number}", kind, found))
    return hits


def embedded_payloads(html: str) -> tuple[str, list[tuple[str, str, bytes]]]:
    """(the HTML with its base64 data URIs cut out, [(name, mime type, decoded bytes)])."""
    payloads = []

    def cut(match: re.Match) -> str:
        params = dict(p.split("=", 1) for p in match.group(2).split(";") if "=" in p)
        try:
            data = base64.b64decode(match.group(3), validate=False)
        except (binascii.Error, ValueError):
            data = b""
        payloads.append((params.get("filename", match.group(1)), match.group(1), data))
        return "data:"

    return DATA_URI.sub(cut, html), payloads


def scan_html(cat: Catalogue, path: Path, shown: str, patients: set[str]) -> list[Hit]:
    """The page's own text and every embedded text file (tables, pages, SVG), decoded. Embedded
    raster images are read by `audit.pixels.scan_embedded_images` (OCR, in the report gate)."""
    page, payloads = embedded_payloads(path.read_text(encoding="utf-8", errors="replace"))
    hits = _scan_lines(cat, page.splitlines(), shown, patients)
    for name, mime, data in payloads:
        if EMBEDDED_TEXT.match(mime):
            text = data.decode("utf-8", errors="replace").splitlines()
            hits += _scan_lines(cat, text, shown, patients, f"embedded {name} line")
    return hits


def _looks_like_text(path: Path) -> bool:
    if path.stat().st_size > MAX_SNIFF_BYTES:
        return False
    with open(path, "rb") as fh:
        chunk = fh.read(8192)
    if b"\x00" in chunk:
        return False
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def scan_file(cat: Catalogue, path: Path, root: Path) -> list[Hit]:
    """One file: its path under `root` (names), then its content by kind."""
    rel = path.relative_to(root)
    shown, hits = redacted_rel(cat, rel)
    patients = set(PATIENT_KEY.findall(rel.as_posix()))
    suffix = path.suffix.lower()
    if is_dicom(path):
        hits += scan_dicom(cat, path, shown, patients)
    elif suffix in (".html", ".htm"):
        hits += scan_html(cat, path, shown, patients)
    elif suffix in TEXT_SUFFIXES or (suffix not in BINARY_SUFFIXES and _looks_like_text(path)):
        hits += scan_text(cat, path, shown, patients)
    return hits


def scan_tree(cat: Catalogue, root: str | Path, skip: Iterable[str | Path] = ()) -> list[Hit]:
    """Every file and folder under root; `skip` = paths (e.g. this audit's own outputs)."""
    root = Path(root)
    skipped = {Path(s).resolve() for s in skip}
    hits: list[Hit] = []
    n_files = 0
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for d in dirnames:
            shown, h = redacted_rel(cat, (Path(dirpath) / d).relative_to(root))
            hits += h
        for f in sorted(files):
            path = Path(dirpath) / f
            if path.resolve() in skipped:
                continue
            n_files += 1
            hits += scan_file(cat, path, root)
    log.info("scanned %d files under %s: %d hit(s)", n_files, root, len(hits))
    return list(dict.fromkeys(hits))


def hits_frame(hits: list[Hit]) -> pd.DataFrame:
    """The shareable table: places and types, no value."""
    frame = pd.DataFrame([h.__dict__ for h in hits], columns=AUDIT_COLUMNS)
    return frame.drop_duplicates(ignore_index=True)


DETAIL_COLUMNS = ["value", "identifier_type", "file", "location"]


def write_private_detail(hits: list[Hit], folder: Path) -> Path:
    """The operator-only detail of a failed audit (each hit with the value it matched, as
    normalised), so a site can tell a leak from a false positive without the value entering
    results/. Mode 0600."""
    from echocmr.secret import AUDIT_DETAIL_NAME

    folder.mkdir(parents=True, exist_ok=True)
    out = folder / AUDIT_DETAIL_NAME
    pd.DataFrame([h.__dict__ for h in hits], columns=DETAIL_COLUMNS).to_csv(out, index=False)
    out.chmod(0o600)
    return out


def fail_with_detail(hits: list[Hit], private: Path, log, advice: str = "") -> None:
    """Log the places and types, write the values to the operator-only folder, print where
    (the terminal only: the log is under results/), and exit 1."""
    import sys

    message = failure_message(hits) + advice
    log.error(message + "\nThe values are in the operator-only folder (secret.private_dir).")
    detail = write_private_detail(hits, private)
    print(f"{message}\nOperator-only detail (values, never share): {detail.resolve()}",
          file=sys.__stderr__)
    sys.exit(1)


def clear_private_detail(private: Path) -> None:
    """A passed audit removes the detail of an earlier failure (it described other outputs)."""
    from echocmr.secret import AUDIT_DETAIL_NAME

    (private / AUDIT_DETAIL_NAME).unlink(missing_ok=True)


def failure_message(hits: list[Hit], limit: int = 50) -> str:
    lines = [f"PHI audit failed: {len(hits)} identifier hit(s) under results/ "
             "(types and places only; values are never printed):"]
    lines += [f"  {h.file} [{h.location}]: {h.identifier_type}" for h in hits[:limit]]
    if len(hits) > limit:
        lines.append(f"  ... and {len(hits) - limit} more in the audit table")
    return "\n".join(lines)
