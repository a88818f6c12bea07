"""The fixed vocabulary of exclusion reasons written by inventory and deidentify.

Every file under the DICOM folder gets one manifest row; an excluded one carries exactly one of
these reasons (the first check it fails, in the order below). docs/ingest.md repeats this table;
`tests/.../test_ingest_inventory.py` checks both agree. `outside_study_period` is also a reason of
deidentify_tables' rejected rows (report dates outside cohort.period).
"""

from __future__ import annotations

INCLUDED, EXCLUDED = "included", "excluded"

# inventory, in the order they are checked (step in results/qc/ingest.csv in brackets)
EMPTY_FILE = "empty_file"  # [readable] zero bytes
NOT_DICOM = "not_dicom"  # [readable] no DICM magic and not parseable as a DICOM data set
UNREADABLE_TRUNCATED = "unreadable_truncated"  # [readable] parse error or data cut short
MISSING_IDENTIFIERS = "missing_identifiers"  # [readable] no patient, study or instance UID
DUPLICATE_INSTANCE = "duplicate_instance"  # [readable] SOPInstanceUID already seen in another file
IDENTITY_CONFLICT = "identity_conflict"  # [readable] StudyInstanceUID under two PatientIDs
# [in study period] raw study date outside cohort.period (step written only when one is set)
OUTSIDE_STUDY_PERIOD = "outside_study_period"
NO_PIXEL_DATA = "no_pixel_data"  # [ultrasound cines] SR, measurements, presentation states
NOT_ULTRASOUND = "not_ultrasound"  # [ultrasound cines] Modality/SOP class is not ultrasound
SINGLE_FRAME = "single_frame"  # [ultrasound cines] a still image
TOO_FEW_FRAMES = "too_few_frames"  # [ultrasound cines] fewer than ingest.min_frames
SPECTRAL_DOPPLER = "spectral_doppler"  # [ultrasound cines] PW/CW Doppler or M-mode strip region
COLOUR_DOPPLER = "colour_doppler"  # [ultrasound cines] colour-flow region or coloured pixels
UNDECODABLE_ENCODING = "undecodable_encoding"  # [ultrasound cines] no decoder / decode error
FRAME_COUNT_MISMATCH = "frame_count_mismatch"  # [ultrasound cines] NumberOfFrames != data

# deidentify (step de-identified in results/qc/deidentify/shards-<n>/shard-N.csv)
NO_TISSUE_REGION = "no_tissue_region"  # no header region and no scan sector found in the pixels
# text still read after cleaning, or too much of the tissue would go
BURNED_IN_TEXT_UNRESOLVED = "burned_in_text_unresolved"
DEID_FAILED = "deid_failed"  # unexpected error while writing (details in the log, no identifiers)

READABLE_REASONS = (EMPTY_FILE, NOT_DICOM, UNREADABLE_TRUNCATED, MISSING_IDENTIFIERS,
                    DUPLICATE_INSTANCE, IDENTITY_CONFLICT)
CINE_REASONS = (NO_PIXEL_DATA, NOT_ULTRASOUND, SINGLE_FRAME, TOO_FEW_FRAMES, SPECTRAL_DOPPLER,
                COLOUR_DOPPLER, UNDECODABLE_ENCODING, FRAME_COUNT_MISMATCH)
PERIOD_REASONS = (OUTSIDE_STUDY_PERIOD,)
INVENTORY_REASONS = READABLE_REASONS + PERIOD_REASONS + CINE_REASONS
DEID_REASONS = (NO_TISSUE_REGION, BURNED_IN_TEXT_UNRESOLVED, UNDECODABLE_ENCODING,
                FRAME_COUNT_MISMATCH, DEID_FAILED)

DESCRIPTIONS = {
    EMPTY_FILE: "file has zero bytes",
    NOT_DICOM: "no DICM magic and not parseable as DICOM",
    UNREADABLE_TRUNCATED: "DICOM parse error, data cut short (truncated), or cannot be opened",
    MISSING_IDENTIFIERS: "PatientID, StudyInstanceUID or SOPInstanceUID missing: cannot be keyed",
    DUPLICATE_INSTANCE: "same SOPInstanceUID as an earlier file (path order); the first is kept",
    IDENTITY_CONFLICT: "the StudyInstanceUID occurs under two or more PatientIDs: which is right "
                       "cannot be known, so every file of the study is excluded",
    OUTSIDE_STUDY_PERIOD: "the raw (unshifted) study date lies outside cohort.period",
    NO_PIXEL_DATA: "no PixelData (structured report, measurements, presentation state)",
    NOT_ULTRASOUND: "Modality is not US and the SOP class is not an ultrasound class",
    SINGLE_FRAME: "one frame: a still image, not a cine",
    TOO_FEW_FRAMES: "fewer frames than ingest.min_frames",
    SPECTRAL_DOPPLER: "a PW/CW spectral Doppler or M-mode region is present",
    COLOUR_DOPPLER: "colour-flow region in the header, or coloured pixels inside the sector",
    UNDECODABLE_ENCODING: "transfer syntax without an installed decoder, or decoding failed",
    FRAME_COUNT_MISMATCH: "NumberOfFrames disagrees with the pixel data",
    NO_TISSUE_REGION: "no tissue region in the header and no scan sector found in the pixels",
    BURNED_IN_TEXT_UNRESOLVED: "text still read by OCR in the cleaned tissue area, or blanking "
                               "the text found would remove too much tissue",
    DEID_FAILED: "unexpected error while de-identifying (see the shard log)",
}
