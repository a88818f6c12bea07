#!/usr/bin/env bash
# Create .venv from the exact pins (idempotent) and make sure OCR language data is present (pixel
# de-identification needs Tesseract's eng.traineddata). Used by run.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")"
if ! ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 \
   && [ -z "${TESSDATA_PREFIX:-}" ]; then
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null
  else
    echo "setup: OCR data missing: install tesseract-ocr + tesseract-ocr-eng (apt), or conda" \
         "'tesseract', or set TESSDATA_PREFIX to a folder with eng.traineddata" >&2
    exit 1
  fi
fi
want="$(sha256sum requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)"
if [ -f .venv/.installed ] && [ "$(cat .venv/.installed)" = "$want" ]; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip==26.3
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
echo "$want" > .venv/.installed
