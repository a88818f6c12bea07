"""DICOM objects as an echo PACS export writes them.

Ultrasound Multi-frame Image Storage cines (JPEG Baseline YBR_FULL_422, uncompressed RGB,
MONOCHROME2 or RLE Lossless), Ultrasound Image Storage stills and Enhanced SR documents, with
the identifiers real exports carry in the header (names, IDs, birth date, accession,
institution, physicians, station, dates/times, UIDs, a vendor private group) and a
SequenceOfUltrasoundRegions describing the sector, the ECG strip and any colour-flow box (or,
for the `fullscreen_region` layout, one tissue region over the whole image).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
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

US_MULTIFRAME = UID("1.2.840.10008.5.1.4.1.1.3.1")
US_IMAGE = UID("1.2.840.10008.5.1.4.1.1.6.1")
ENHANCED_SR = UID("1.2.840.10008.5.1.4.1.1.88.22")
IMPLEMENTATION_UID = UID("1.2.826.0.1.3680043.8.498.1")  # fixed: no version/time in the bytes
VENDOR_CREATOR = "ACME ULTRASOUND 1.0"
TRANSFER_SYNTAX = {
    "jpeg_ybr422": JPEGBaseline8Bit, "rgb": ExplicitVRLittleEndian,
    "mono2": ExplicitVRLittleEndian, "rle": RLELossless, "none": ExplicitVRLittleEndian,
}

# RegionSpatialFormat / RegionDataType codes (PS3.3 C.8.5.5.1).
SPATIAL_2D, SPATIAL_WAVEFORM, SPATIAL_GRAPHICS = 1, 4, 5
DATA_TISSUE, DATA_COLOUR_FLOW, DATA_ECG, DATA_COLOUR_BAR = 0x01, 0x02, 0x0A, 0x0E


@dataclass
class Header:
    """Identifiers and acquisition facts of one object (all fictitious)."""

    patient_name: str
    patient_id: str
    birth_date: str  # YYYYMMDD
    sex: str
    age: str  # e.g. 056Y
    accession: str
    study_uid: str
    series_uid: str
    sop_uid: str
    study_date: str
    study_time: str
    content_time: str
    series_number: int
    instance_number: int
    institution: str
    institution_address: str
    referring: str
    performing: str
    operator: str
    station: str
    device_serial: str
    study_id: str
    department: str = ""  # InstitutionalDepartmentName, written only when set


def base_dataset(h: Header, sop_class: UID, modality: str, transfer_syntax: UID) -> Dataset:
    """Patient, study, series, equipment and instance modules shared by every object."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = h.sop_uid
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = "ECHOCMR_SIM"
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = h.sop_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.InstanceCreationDate = h.study_date
    ds.StudyTime = h.study_time
    ds.SeriesTime = ds.ContentTime = ds.InstanceCreationTime = h.content_time
    ds.AccessionNumber = h.accession
    ds.Modality = modality
    ds.Manufacturer = "Acme Medical Systems"
    ds.InstitutionName = h.institution
    ds.InstitutionAddress = h.institution_address
    if h.department:
        ds.InstitutionalDepartmentName = h.department
    ds.ReferringPhysicianName = h.referring
    ds.StationName = h.station
    ds.StudyDescription = "TTE ADULT COMPLETE"
    ds.SeriesDescription = "Echo" if modality == "US" else "Measurements"
    ds.PerformingPhysicianName = h.performing
    ds.OperatorsName = h.operator
    ds.ManufacturerModelName = "Sonora 7C"
    ds.PatientName = h.patient_name
    ds.PatientID = h.patient_id
    ds.PatientBirthDate = h.birth_date
    ds.PatientSex = h.sex
    ds.PatientAge = h.age
    ds.DeviceSerialNumber = h.device_serial
    ds.SoftwareVersions = "4.1.2"
    ds.StudyInstanceUID = h.study_uid
    ds.SeriesInstanceUID = h.series_uid
    ds.StudyID = h.study_id
    ds.SeriesNumber = h.series_number
    ds.InstanceNumber = h.instance_number
    # Vendor private group: exports often copy the patient ID and operator into private tags.
    block = ds.private_block(0x0009, VENDOR_CREATOR, create=True)
    block.add_new(0x01, "LO", h.patient_id)
    block.add_new(0x02, "LO", h.operator.replace("^", " "))
    block.add_new(0x03, "DS", "1.0")
    return ds


def region(box, spatial: int, data_type: int, delta_x: float, delta_y: float,
           ref=(0, 0), units=(3, 3)) -> Dataset:
    """One item of SequenceOfUltrasoundRegions; `box` is inclusive (x0, y0, x1, y1)."""
    r = Dataset()
    r.RegionSpatialFormat = spatial
    r.RegionDataType = data_type
    r.RegionFlags = 0
    r.RegionLocationMinX0, r.RegionLocationMinY0 = int(box[0]), int(box[1])
    r.RegionLocationMaxX1, r.RegionLocationMaxY1 = int(box[2]), int(box[3])
    r.ReferencePixelX0, r.ReferencePixelY0 = int(ref[0]), int(ref[1])
    r.PhysicalUnitsXDirection, r.PhysicalUnitsYDirection = int(units[0]), int(units[1])
    r.PhysicalDeltaX, r.PhysicalDeltaY = float(delta_x), float(delta_y)
    return r


def ultrasound_regions(rendered, fps: float) -> Sequence:
    """Tissue region, optional colour-flow box and the ECG strip of a rendered video.

    The tissue region is the scan area's bounding box, except for the `fullscreen_region`
    layout: one region over the whole image (banner and ECG inside it) and no ECG item.
    """
    scr = rendered.screen
    cm_per_px = rendered.depth_cm / scr.radius
    x0, y0 = scr.region_box[:2]
    ref = (round(scr.apex_x - x0), round(scr.apex_y - y0))
    items = [region(scr.region_box, SPATIAL_2D, DATA_TISSUE, cm_per_px, cm_per_px, ref)]
    if rendered.colour_box is not None:
        bx0, by0 = rendered.colour_box[:2]
        items.append(region(rendered.colour_box, SPATIAL_2D, DATA_COLOUR_FLOW, cm_per_px,
                            cm_per_px, (round(scr.apex_x - bx0), round(scr.apex_y - by0))))
    if not scr.ecg_region:
        return Sequence(items)
    ex0, ey0, ex1, ey1 = scr.ecg_box
    duration = len(rendered.frames) / fps if fps > 0 else 1.0
    # ECG: x in seconds (units 4), y unitless (0).
    items.append(region(scr.ecg_box, SPATIAL_WAVEFORM, DATA_ECG, duration / max(1, ex1 - ex0),
                         1.0, (0, (ey1 - ey0) // 2), units=(4, 0)))
    return Sequence(items)


def _jpeg_frames(frames_rgb: np.ndarray, quality: int) -> list[bytes]:
    """Baseline JPEG per frame, 4:2:2 chroma subsampling (= YBR_FULL_422 in DICOM)."""
    out = []
    for f in frames_rgb:
        buf = io.BytesIO()
        Image.fromarray(f, "RGB").save(buf, "JPEG", quality=quality, subsampling=1,
                                       optimize=False)
        out.append(buf.getvalue())
    return out


def set_pixels(ds: Dataset, frames_rgb: np.ndarray, encoding: str, quality: int = 90) -> None:
    """Store (T, H, W, 3) RGB frames in the requested encoding."""
    t, h, w, _ = frames_rgb.shape
    ds.Rows, ds.Columns = h, w
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    if encoding in ("mono2", "rle"):
        # Greyscale consoles (and RLE exports, which are mostly greyscale) store luminance only.
        data = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames_rgb])
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        if encoding == "mono2":
            ds.PixelData = data.tobytes()
        else:
            ds.compress(RLELossless, data if t > 1 else data[0], generate_instance_uid=False)
        return
    ds.SamplesPerPixel = 3
    ds.PlanarConfiguration = 0
    if encoding == "jpeg_ybr422":
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.PixelData = encapsulate(_jpeg_frames(frames_rgb, quality), has_bot=True)
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        return
    ds.PhotometricInterpretation = "RGB"
    if encoding == "rgb":
        ds.PixelData = frames_rgb.tobytes()
        return
    raise ValueError(f"unknown encoding {encoding!r}")


def cine_dataset(h: Header, rendered, fps: float, hr_bpm: float, encoding: str,
                 quality: int, colour_flow: bool, still: bool) -> Dataset:
    """A cine (multi-frame) or still ultrasound image with regions and timing."""
    sop_class = US_IMAGE if still else US_MULTIFRAME
    ds = base_dataset(h, sop_class, "US", TRANSFER_SYNTAX[encoding])
    ds.ImageType = ["ORIGINAL", "PRIMARY", "CARDIAC", "0001" if not colour_flow else "0002"]
    ds.AcquisitionDateTime = h.study_date + h.content_time
    ds.BurnedInAnnotation = "YES"
    ds.HeartRate = int(round(hr_bpm))
    ds.UltrasoundColorDataPresent = 1 if colour_flow else 0
    ds.SequenceOfUltrasoundRegions = ultrasound_regions(rendered, fps if fps > 0 else 1.0)
    ds.TransducerData = ["S5-1", "", ""]
    ds.ProcessingFunction = "CARDIAC"
    frames = rendered.frames
    if still:
        frames = frames[:1]
    else:
        ds.NumberOfFrames = len(frames)
        ds.FrameTime = round(1000.0 / fps, 3)
        ds.FrameIncrementPointer = 0x00181063  # FrameTime
        ds.CineRate = int(round(fps))
        ds.RecommendedDisplayFrameRate = int(round(fps))
        ds.ActualFrameDuration = int(round(1000.0 / fps))
    set_pixels(ds, frames, encoding, quality)
    return ds


def sr_dataset(h: Header, lvef: float, reader: str) -> Dataset:
    """Enhanced SR measurement report: no pixel data, identifiers in the header and text."""
    ds = base_dataset(h, ENHANCED_SR, "SR", ExplicitVRLittleEndian)
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    observer = Dataset()
    observer.VerifyingObserverName = reader
    observer.VerificationDateTime = h.study_date + h.content_time
    observer.VerifyingOrganization = h.institution
    ds.VerifyingObserverSequence = Sequence([observer])
    ds.ConceptNameCodeSequence = Sequence([_code("125200", "DCM", "Adult Echocardiography")])
    num = Dataset()
    num.RelationshipType = "CONTAINS"
    num.ValueType = "NUM"
    num.ConceptNameCodeSequence = Sequence([_code("10230-1", "LN", "Left Ventricular Ejection "
                                                  "Fraction")])
    mv = Dataset()
    mv.NumericValue = f"{lvef:g}"
    mv.MeasurementUnitsCodeSequence = Sequence([_code("%", "UCUM", "%")])
    num.MeasuredValueSequence = Sequence([mv])
    text = Dataset()
    text.RelationshipType = "CONTAINS"
    text.ValueType = "TEXT"
    text.ConceptNameCodeSequence = Sequence([_code("121106", "DCM", "Comment")])
    text.TextValue = f"Read by {reader.replace('^', ' ').strip()} for {h.patient_name}"
    ds.ContentSequence = Sequence([num, text])
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def to_bytes(ds: Dataset) -> bytes:
    """Serialise as a DICOM Part 10 file (preamble, meta, dataset)."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
