"""The PHI audit, the last stage: a catalogue of every raw identifier (`files`), then a scan of
everything under results/ for them in bytes and text (`files`) and in pixels (`pixels`, OCR);
`stage` holds the rules' entries."""
