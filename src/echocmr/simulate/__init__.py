"""Synthetic hospital export with planted, known effects (the workflow's embedded default).

Modules, one concept each:
  settings   the `simulate:` config section with its defaults (SimSettings)
  identity   fictitious identifiers: names, MRNs, accession numbers, UIDs, staff, devices
  cohort     patient / CMR / echo-study / video-plan tables (no pixels; paper scale in seconds)
  anatomy    per-view heart geometry and LV wall segments moving through the cardiac cycle
  render     sector fan, speckle, burned-in text, ECG trace, depth marks, colour Doppler
  dicomio    DICOM datasets: headers, ultrasound regions, encodings, SR documents
  damage     damaged files a real export contains (truncated, zero bytes, not DICOM)
  truth      truth tables and the list of every planted identifier
  export     orchestration: tables -> pixels -> files (parallel, byte-deterministic)
"""

from echocmr.simulate.settings import SimSettings

__all__ = ["SimSettings"]
