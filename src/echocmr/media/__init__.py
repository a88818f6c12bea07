"""Pixels and their containers, shared by de-identification, crop, the views and the audit:
DICOM frame decoding and sampling (`decode`), libjpeg-turbo (`turbojpeg`), ultrasound regions
(`regions`), the frame store (`store`), AVI files (`avi`), OCR (`ocr`) and the learned text
detector (`scene_text`)."""
