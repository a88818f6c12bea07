"""Header de-identification: PS3.15 Annex E Basic profile, Retain Longitudinal Temporal
Information with Modified Dates, Retain Patient Characteristics (sex, age capped at 90).

Rather than listing the ~500 attributes of Table E.1-1 to remove, the header is rebuilt from an
allow-list by value representation, which is at least as strict as the profile (removing is a
permitted action for every attribute the profile lets one keep):

- private groups, overlays (60xx), curves (50xx) and the listed identifying sequences: removed
- person names (PN) and free text (LO/SH/LT/ST/UT/UC/UR/AE/AS): removed unless allow-listed
  (device make/model, coded concepts); replaced by pseudonyms where the IOD needs them
- UIDs: standard (registry) UIDs such as SOP classes kept, every other UID remapped to
  `2.25.<int>` from a keyed hash, so the same source UID maps to the same new UID in every file,
  references inside sequences included
- dates (DA, DT): moved by the patient's offset; times of day (TM, the time part of DT) dropped:
  the analysis needs none, and a study time with a date narrows down who was scanned
- numbers and coded strings (CS, US, UL, DS, IS, FD, ...): kept (geometry, frame timing, regions)
"""

from __future__ import annotations

import datetime as dt
import re

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

from echocmr import keys
from echocmr.ingest.inventory import parse_da
from echocmr.ingest.normalise import MAX_AGE_YEARS, age_at, identifier, identifier_values

# Free text that says how the image was made, not who it shows (kept as is).
TEXT_KEEP = frozenset({
    "Manufacturer", "ManufacturerModelName", "SoftwareVersions", "CodeValue",
    "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning", "LongCodeValue",
    "TransducerType", "LossyImageCompressionMethod",
})
# Identifying attributes whose VR would otherwise keep them (dates are shifted, not removed).
REMOVE = frozenset({"PatientBirthDate", "PatientBirthTime", "PatientBirthDateInAlternativeCalendar",
                    "PatientDeathDateInAlternativeCalendar"})
# Sequences that identify people, requests or procedures: removed with all they contain.
SEQUENCES_REMOVE = frozenset({
    "ReferencedPatientSequence", "RequestAttributesSequence", "OtherPatientIDsSequence",
    "ReferencedPerformedProcedureStepSequence", "ProcedureCodeSequence",
    "PerformedProtocolCodeSequence", "ReferringPhysicianIdentificationSequence",
    "PhysiciansOfRecordIdentificationSequence", "PerformingPhysicianIdentificationSequence",
    "PhysiciansReadingStudyIdentificationSequence", "OperatorIdentificationSequence",
    "InstitutionCodeSequence", "ReferencedStudySequence", "IssuerOfPatientIDQualifiersSequence",
    "PatientInsurancePlanCodeSequence", "ContentSequence", "AcquisitionContextSequence",
    "IconImageSequence", "OriginalAttributesSequence", "EncryptedAttributesSequence",
    "DigitalSignaturesSequence", "MACParametersSequence",
    "ConsultingPhysicianIdentificationSequence",
    "ScheduledProcedureStepSequence", "SourcePatientGroupIdentificationSequence",
    "GroupOfPatientsIdentificationSequence",
})
TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "UR", "AE", "PN", "AS"})
BINARY_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})
# Top-level type 2 attributes of the US IODs: present (empty) when the source had them.
TYPE2_EMPTY = ("PatientBirthDate", "ReferringPhysicianName", "StudyID", "AccessionNumber",
               "PatientOrientation", "StudyTime", "ContentTime", "SeriesTime",
               "AcquisitionTime")
# Pixel description attributes are copied by the pixel stage, which may change them.
PIXEL_KEYWORDS = frozenset({
    "PixelData", "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration",
    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData", "PaletteColorLookupTableUID",
    "BurnedInAnnotation", "LossyImageCompression", "LossyImageCompressionRatio",
    "LossyImageCompressionMethod", "PixelPaddingValue", "SmallestImagePixelValue",
    "LargestImagePixelValue", "ICCProfile", "ColorSpace", "ExtendedOffsetTable",
    "ExtendedOffsetTableLengths",
})
DEID_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113101", "Clean Pixel Data Option"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
)
DEID_METHOD = "PS3.15 E Basic + Clean Pixel + Modified Dates + Patient Chars"  # LO <= 64


def new_uid(secret: str, uid: str) -> str:
    """Valid, stable replacement UID: `2.25.` + a 128-bit integer from the keyed hash."""
    return "2.25." + str(int(keys.keyed_digest(secret, str(uid).strip(), "uid")[:32], 16))


def is_standard_uid(uid: str) -> bool:
    """SOP classes, transfer syntaxes, coding schemes... (in the UID registry) carry no identity."""
    return UID(str(uid)).name != str(uid)


def shift_da(value: str, offset_days: int) -> str | None:
    day = parse_da(value)
    return None if day is None else (day + dt.timedelta(days=offset_days)).strftime("%Y%m%d")


def shift_dt(value: str, offset_days: int) -> str | None:
    """DT 'YYYYMMDD[HHMMSS...][&ZZXX]': the date part shifted; time and zone dropped."""
    return shift_da(str(value).strip()[:8], offset_days)


def capped_age(value: str) -> str | None:
    """AS 'nnnY' capped at 090Y (PS3.15 retains age, HIPAA bins >89); other units kept."""
    m = re.fullmatch(r"(\d{3})([DWMY])", str(value).strip())
    if not m:
        return None
    if m.group(2) == "Y" and int(m.group(1)) > MAX_AGE_YEARS:
        return f"{MAX_AGE_YEARS:03d}Y"
    return m.group(0)


class HeaderCleaner:
    """Cleans one data set; `secret` drives UIDs, `offset_days` the patient's date shift."""

    def __init__(self, secret: str, offset_days: int):
        self.secret = secret
        self.offset = offset_days

    def clean_item(self, src: Dataset, top: bool = False) -> Dataset:
        out = Dataset()
        for elem in src:
            if top and elem.keyword in PIXEL_KEYWORDS:
                continue
            kept = self._clean_element(elem)
            if kept is not None:
                out.add(kept)
        return out

    def _clean_element(self, elem):
        """A cleaned copy of one element, or None to drop it (the source is never modified)."""
        group = elem.tag.group
        if elem.tag.is_private or group == 0x0002 or 0x5000 <= group <= 0x50FF \
                or 0x6000 <= group <= 0x60FF or elem.tag.element == 0 \
                or elem.keyword in REMOVE or not elem.keyword:
            return None
        vr = elem.VR
        if vr == "SQ":
            if elem.keyword in SEQUENCES_REMOVE:
                return None
            return DataElement(elem.tag, vr, Sequence([self.clean_item(i) for i in elem.value]))
        if vr in BINARY_VRS or (vr in TEXT_VRS and vr != "AS" and elem.keyword not in TEXT_KEEP):
            return None
        if elem.VM == 0:  # empty values are kept for the non-text types (type 2 attributes)
            return None if vr in TEXT_VRS else DataElement(elem.tag, vr, elem.value)
        if vr == "UI":
            return self._map_values(elem, self._uid)
        if vr == "DA":
            return self._map_values(elem, lambda v: shift_da(v, self.offset))
        if vr == "DT":
            return self._map_values(elem, lambda v: shift_dt(v, self.offset))
        if vr == "TM":
            return None  # times of day are dropped (type 2 ones emptied): not needed, identifying
        if vr == "AS":
            return self._map_values(elem, capped_age) if elem.keyword == "PatientAge" else None
        return DataElement(elem.tag, vr, elem.value)  # numbers, coded strings, times, tags

    def _uid(self, value: str) -> str:
        return value if is_standard_uid(value) else new_uid(self.secret, value)

    @staticmethod
    def _map_values(elem, fn):
        values = list(elem.value) if elem.VM > 1 else [elem.value]
        mapped = [fn(str(v)) for v in values]
        mapped = [m for m in mapped if m]
        if not mapped:
            return None
        return DataElement(elem.tag, elem.VR, mapped if len(mapped) > 1 else mapped[0])


def deidentify_header(src: Dataset, secret: str,
                      max_shift_days: int = keys.DATE_SHIFT_MAX_DAYS) -> Dataset:
    """A new data set with the identifying header content removed, remapped or shifted.

    Pixel description attributes are left to the pixel stage; file meta is rebuilt by
    `file_meta_for` once the output transfer syntax is known.
    """
    mrn = identifier(src.PatientID)
    offset = keys.date_offset_days(secret, mrn, max_shift_days)
    out = HeaderCleaner(secret, offset).clean_item(src, top=True)
    out.PatientID = keys.pseudonym(secret, "patient", mrn)
    out.PatientName = out.PatientID
    for kw in TYPE2_EMPTY:
        if kw in src and kw not in out:
            setattr(out, kw, "")
    accession = [keys.pseudonym(secret, "accession", v)
                 for v in identifier_values(src.get("AccessionNumber"))]
    if accession:  # one key per value, as the manifest's accession_key
        out.AccessionNumber = accession if len(accession) > 1 else accession[0]
    _retain_patient_characteristics(src, out)
    _mark_deidentified(out)
    return out


def _retain_patient_characteristics(src: Dataset, out: Dataset) -> None:
    """Sex as is; age from the header, else from birth and study date; >90 capped."""
    if "PatientAge" not in out:
        birth = parse_da(src.get("PatientBirthDate"))
        day = parse_da(src.get("StudyDate")) or parse_da(src.get("ContentDate"))
        if birth and day and day >= birth:
            out.PatientAge = f"{min(age_at(birth, day), MAX_AGE_YEARS):03d}Y"


def _mark_deidentified(out: Dataset) -> None:
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEID_METHOD
    codes = []
    for value, meaning in DEID_CODES:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        codes.append(item)
    out.DeidentificationMethodCodeSequence = Sequence(codes)
    out.LongitudinalTemporalInformationModified = "MODIFIED"


def file_meta_for(ds: Dataset, transfer_syntax: str) -> FileMetaDataset:
    """File meta that matches the cleaned data set (MediaStorageSOPInstanceUID = SOPInstanceUID)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "ECHOCMR"
    return meta
