#!/usr/bin/env bash
# Create .venv from the exact pins (idempotent) and make sure OCR language data is present (pixel
# de-identification needs Tesseract's eng.traineddata) and libturbojpeg where apt can install it.
# Used by run.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")"
# Debian packages: Tesseract's English data (required) and libturbojpeg (optional: JPEG frames
# are then blanked in memory; without it through jpeglib's temporary files, ~2x slower).
apt_missing=()
if ! ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 \
   && [ -z "${TESSDATA_PREFIX:-}" ]; then
  apt_missing+=(tesseract-ocr tesseract-ocr-eng)
fi
if ! ldconfig -p 2>/dev/null | grep -q "libturbojpeg\.so\.0"; then
  apt_missing+=(libturbojpeg0)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  elif [[ " ${apt_missing[*]} " == *" tesseract-ocr "* ]]; then
    echo "setup: OCR data missing: install tesseract-ocr + tesseract-ocr-eng (apt), or conda" \
         "'tesseract', or set TESSDATA_PREFIX to a folder with eng.traineddata" >&2
    exit 1
  else
    echo "setup: libturbojpeg not found (apt libturbojpeg0, conda libjpeg-turbo): JPEG frames" \
         "will be blanked through jpeglib instead (same pixels, slower)" >&2
  fi
fi
want="$(sha256sum requirements.txt requirements-dev.txt requirements-nodeps.txt | sha256sum | cut -c1-16)"
if [ -f .venv/.installed ] && [ "$(cat .venv/.installed)" = "$want" ]; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip==26.3
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
# PP-OCR weights only: its declared dependencies would install opencv-python beside -headless
.venv/bin/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
echo "$want" > .venv/.installed
