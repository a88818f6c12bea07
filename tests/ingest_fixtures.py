"""Tiny ultrasound DICOM built in tests: planted identifiers, burned-in text, an ECG strip.

Layout of every image (rows x cols = 64 x 96):
  rows 0-7      burned-in text band (patient name), outside every region
  rows 10-49    tissue region x 20-75 (moving speckle), declared in SequenceOfUltrasoundRegions
  rows 52-61    ECG strip region (data type 0x0A), bright trace
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
)

ROWS, COLS = 64, 96
TISSUE = (20, 10, 75, 49)  # x0, y0, x1, y1 inclusive
ECG = (0, 52, 95, 61)
TEXT_ROWS = slice(0, 8)
US_MULTIFRAME = UID("1.2.840.10008.5.1.4.1.1.3.1")

IDENTIFIERS = {
    "name": "QUIMBY^HORTENSE^Z",
    "mrn": "55512345",
    "accession": "ACC-99887766",
    "birth": "19270314",
    "institution": "GRAYMOOR CARDIAC HOSPITAL",
    "operator": "FENWICK^ROSALIND",
    "study_date": "20200115",
    "station": "ECHO-ROOM-42",
}


def frames_rgb(n: int, seed: int = 0, with_text: bool = True) -> np.ndarray:
    """(n, ROWS, COLS, 3) uint8: speckle moving in the tissue box, static text, ECG trace."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, ROWS, COLS, 3), np.uint8)
    x0, y0, x1, y1 = TISSUE
    for t in range(n):
        out[t, y0:y1 + 1, x0:x1 + 1] = rng.integers(40, 200, (y1 - y0 + 1, x1 - x0 + 1, 1))
        if with_text:
            out[t, 2:6, 4:60] = 255  # a white block standing for burned-in name text
        out[t, 56, :] = (0, 255, 0)  # ECG baseline
        out[t, 53:60, (t * 7) % COLS] = (0, 255, 0)  # moving ECG spike
    return out


def region_item(box, spatial: int, data_type: int) -> Dataset:
    r = Dataset()
    r.RegionSpatialFormat, r.RegionDataType, r.RegionFlags = spatial, data_type, 0
    r.RegionLocationMinX0, r.RegionLocationMinY0 = box[0], box[1]
    r.RegionLocationMaxX1, r.RegionLocationMaxY1 = box[2], box[3]
    r.PhysicalUnitsXDirection = r.PhysicalUnitsYDirection = 3
    r.PhysicalDeltaX = r.PhysicalDeltaY = 0.05
    return r


def make_dataset(n_frames: int = 12, encoding: str = "native", study: str = "1.2.3.4.5.100",
                 sop: str = "1.2.3.4.5.100.1.1", series: str = "1.2.3.4.5.100.1",
                 regions: bool = True, seed: int = 0, ids: dict | None = None) -> Dataset:
    """An ultrasound multi-frame cine carrying the identifiers of `ids` (default IDENTIFIERS).

    encoding: native (RGB), jpeg (YBR_FULL_422 baseline), rle (RGB), mono (MONOCHROME2 native).
    """
    ids = {**IDENTIFIERS, **(ids or {})}
    ts = {"native": ExplicitVRLittleEndian, "mono": ExplicitVRLittleEndian,
          "jpeg": JPEGBaseline8Bit, "rle": RLELossless}[encoding]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = US_MULTIFRAME
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = "1.2.3.999"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = US_MULTIFRAME, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.FrameOfReferenceUID = study + ".9"
    ds.Modality = "US"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ids["study_date"]
    ds.StudyTime = "101530"
    ds.AcquisitionDateTime = ids["study_date"] + "101530"
    ds.AccessionNumber = ids["accession"]
    ds.PatientName, ds.PatientID = ids["name"], ids["mrn"]
    ds.PatientBirthDate, ds.PatientSex, ds.PatientAge = ids["birth"], "F", "096Y"
    ds.InstitutionName = ids["institution"]
    ds.OperatorsName = ids["operator"]
    ds.StationName = ids["station"]
    ds.StudyDescription = f"ECHO {ids['name']}"
    ds.ImageComments = f"MRN {ids['mrn']}"
    ds.Manufacturer = "Test Vendor"
    ds.StudyID = "4711"
    ds.FrameTime, ds.HeartRate = 33.3, 72
    ds.FrameIncrementPointer = 0x00181063
    # A reference inside a sequence (must be remapped like the top-level UIDs).
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = US_MULTIFRAME, sop + ".7"
    ds.ReferencedImageSequence = Sequence([ref])
    req = Dataset()
    req.AccessionNumber, req.RequestedProcedureID = ids["accession"], ids["mrn"]
    ds.RequestAttributesSequence = Sequence([req])
    ds.add_new(0x00091010, "LO", "VENDOR")
    ds.add_new(0x00091011, "LO", ids["mrn"])  # private tag copying the MRN
    if regions:
        ds.SequenceOfUltrasoundRegions = Sequence([
            region_item(TISSUE, 1, 1), region_item(ECG, 4, 0x0A)])
    frames = frames_rgb(n_frames, seed)
    ds.Rows, ds.Columns, ds.NumberOfFrames = ROWS, COLS, n_frames
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.BurnedInAnnotation = "YES"
    if encoding == "mono":
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.PixelData = frames.max(axis=3).tobytes()
        return ds
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    if encoding == "native":
        ds.PhotometricInterpretation = "RGB"
        ds.PixelData = frames.tobytes()
    elif encoding == "jpeg":
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.PixelData = encapsulate([_jpeg(f) for f in frames])
        ds["PixelData"].VR = "OB"
    else:
        from pydicom.pixels.encoders import RLELosslessEncoder
        ds.PhotometricInterpretation = "RGB"
        ds.PixelData = encapsulate([RLELosslessEncoder.encode(
            f, rows=ROWS, columns=COLS, samples_per_pixel=3, bits_allocated=8, bits_stored=8,
            pixel_representation=0, photometric_interpretation="RGB", number_of_frames=1,
            planar_configuration=0) for f in frames])
        ds["PixelData"].VR = "OB"
    return ds


def _jpeg(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, "JPEG", quality=95, subsampling=1)
    return buf.getvalue()


def write(ds: Dataset, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


# ---------------------------------------------------------------------- synthetic-export checks

TEXT_SUFFIXES = {".csv", ".tsv", ".md", ".html", ".txt", ".log", ".json", ".yaml", ".yml",
                 ".rst", ".svg"}
# Identifier groups of truth/identifiers.json searched everywhere. Not here: dates (scoped to
# their patient, see `scoped_date_leaks`), 4-digit study IDs and times of day (only searched as
# whole DICOM header values: as bare numbers they collide with measurements).
GLOBAL_GROUPS = ("accession_numbers", "birth_dates", "birth_dates_iso", "device_serials",
                 "institution_addresses", "institutions", "mrns", "operators", "patient_names",
                 "patient_names_burned", "physicians", "series_uids", "sop_instance_uids",
                 "stations", "study_uids")
HEADER_ONLY_GROUPS = ("study_ids", "study_times")


def _header_values(ds) -> list[str]:
    values = [str(e.value) for e in getattr(ds, "file_meta", [])]
    stack = [ds]
    while stack:
        for elem in stack.pop():
            if elem.VR == "SQ":
                stack.extend(elem.value)
            elif elem.keyword != "PixelData" and elem.VR not in ("OB", "OW", "UN"):
                values.append(str(elem.value))
    return values


def _pattern(values: list[str]):
    import re
    forms = set()
    for v in values:
        forms.add(re.escape(v.upper()))
        if "^" in v:
            forms.add(re.escape(" ".join(p for p in v.split("^") if p).upper()))
    return re.compile(r"(?<![A-Z0-9])(" + "|".join(sorted(forms)) + r")(?![A-Z0-9])")


def planted_leaks(results: Path, identifiers: dict) -> list[tuple[str, str]]:
    """(file, identifier group) for every planted identifier found under results/."""
    import pydicom
    groups = {g: _pattern(identifiers[g]) for g in GLOBAL_GROUPS if identifiers.get(g)}
    whole = {g: {str(v) for v in identifiers.get(g, [])} for g in HEADER_ONLY_GROUPS}
    leaks = []
    for path in sorted(results.rglob("*")):
        rel = path.relative_to(results).as_posix()
        texts = [rel.upper()]
        if path.is_file() and path.suffix == ".dcm":
            values = _header_values(pydicom.dcmread(path, stop_before_pixels=True))
            texts += [v.upper() for v in values]
            leaks += [(rel, g) for g, vals in whole.items() if vals & set(values)]
        elif path.is_file() and path.suffix in TEXT_SUFFIXES:
            texts.append(path.read_text(errors="replace").upper())
        for group, pattern in groups.items():
            if any(pattern.search(t) for t in texts):
                leaks.append((rel, group))
    return leaks
