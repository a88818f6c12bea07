"""The components `bash test.sh` installs are really there and work: libjpeg-turbo through its
ctypes binding, Tesseract with English data, the real DICOM files of pydicom-data. Under
ECHOCMR_REQUIRE_COMPONENTS=1 (CI) a broken one fails here by name, and every test that needs it
fails too instead of skipping."""

from __future__ import annotations

import numpy as np
from conftest import (
    pydicom_testdata,
    require_pydicom_data,
    require_tesseract,
    require_turbojpeg,
)
from PIL import Image, ImageDraw


def test_libturbojpeg_decodes_a_frame():
    require_turbojpeg()
    import io

    from echocmr.media import turbojpeg

    img = np.zeros((16, 24), np.uint8)
    img[4:12, 6:18] = 200
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    decoded = turbojpeg.decode(buf.getvalue(), grey=True)
    assert decoded.shape == img.shape and abs(int(decoded[8, 12]) - 200) <= 3


def test_tesseract_reads_a_word():
    require_tesseract()
    from echocmr.media import ocr

    img = Image.new("L", (220, 60), 0)
    ImageDraw.Draw(img).text((10, 10), "ECHO", fill=255, font_size=36)
    words = " ".join(w.text for w in ocr.read_text(np.asarray(img)))
    assert "ECHO" in words.upper()


def test_pydicom_data_ships_the_real_vendor_cine():
    require_pydicom_data()
    import pydicom

    ds = pydicom.dcmread(pydicom_testdata("color3d_jpeg_baseline.dcm"), stop_before_pixels=True)
    assert ds.Modality == "US" and int(ds.NumberOfFrames) == 120
