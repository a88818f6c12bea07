"""PHI gate, pixels: burned-in names, numbers and dates left in de-identified frames are read
(Tesseract) and reported by type and place, never by value; clean cines pass."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from conftest import require_font, require_tesseract
from ingest_fixtures import IDENTIFIERS, make_dataset, write
from PIL import Image
from pydicom.encaps import encapsulate

from echocmr import keys
from echocmr.audit.files import build_catalogue, failure_message
from echocmr.audit.pixels import (
    PixelCatalogue,
    chosen_for_ocr,
    repair_ocr,
    scan_pixels,
)
from echocmr.media import ocr
from echocmr.media.avi import AviWriter
from echocmr.media.store import StoreWriter

SECRET = keys.SYNTHETIC_DEMO_SECRET
MRN = IDENTIFIERS["mrn"]
PKEY = keys.pseudonym(SECRET, "patient", MRN)
OTHER = keys.pseudonym(SECRET, "patient", "99900011")
FONT, SMALLEST = cv2.FONT_HERSHEY_SIMPLEX, 0.31  # the synthetic export's font at 256x192
ROWS, COLS = 192, 256

require_tesseract(module_level=True)  # the audit reads pixels with it


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """Raw export: one cine with the fixture identifiers and a clinical table (name, birth)."""
    raw = tmp_path_factory.mktemp("raw")
    write(make_dataset(encoding="native", n_frames=2), raw / "dicom" / MRN / "IM1.dcm")
    clinical = raw / "clinical.csv"
    pd.DataFrame({"mrn": [MRN], "patient_name": ["QUIMBY, HORTENSE"],
                  "birth_date": ["1927-03-14"]}).to_csv(clinical, index=False)
    return build_catalogue(raw / "dicom", {"clinical": clinical}, SECRET)


@pytest.fixture(scope="module")
def pixcat(catalogue):
    return PixelCatalogue.from_catalogue(catalogue)


def _jpeg_grey(img: np.ndarray, quality: int = 85) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def _text(img: np.ndarray, lines: list[str], x: int = 2, colour: int = 255) -> None:
    for i, line in enumerate(lines):
        cv2.putText(img, line, (x, 8 * (i + 1)), FONT, SMALLEST, colour, 1, cv2.LINE_8)


def _fan_frames(n: int, text: list[str] = (), seed: int = 0) -> np.ndarray:
    """(n, 192, 256) uint8: zeros outside a sector, moving speckle inside, static text lines."""
    rng = np.random.default_rng(seed)
    fan = np.zeros((ROWS, COLS), np.uint8)
    cv2.ellipse(fan, (COLS // 2, 30), (150, 150), 90, -40, 40, 1, -1)
    frames = np.zeros((n, ROWS, COLS), np.uint8)
    for t in range(n):
        speckle = rng.gamma(1.5, 40, (ROWS, COLS)).clip(0, 255).astype(np.uint8)
        frames[t] = np.where(fan > 0, cv2.GaussianBlur(speckle, (3, 3), 0), 0)
        _text(frames[t], list(text))
    return frames


def _write_cine(path, frames: np.ndarray, patient: str = PKEY, quality: int = 85) -> None:
    """A de-identified-looking JPEG Baseline cine (YBR_FULL_422, like the synthetic export)."""
    ds = make_dataset(encoding="jpeg", n_frames=2)
    ds.PatientID = ds.PatientName = patient
    ds.Rows, ds.Columns, ds.NumberOfFrames = ROWS, COLS, len(frames)
    encoded = []
    for frame in frames:
        buf = io.BytesIO()
        Image.fromarray(np.repeat(frame[..., None], 3, axis=2)).save(
            buf, "JPEG", quality=quality, subsampling=1)
        encoded.append(buf.getvalue())
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    for keyword in ("SequenceOfUltrasoundRegions", "RequestAttributesSequence"):
        delattr(ds, keyword)
    write(ds, path)


def _deid_path(res, patient: str = PKEY, video: str = "V000000000001"):
    return res / "deid" / "shard-0" / patient / "S000000000000" / f"{video}.dcm"


# ----------------------------------------------------------------------------- OCR and matching


@pytest.mark.parametrize("upscale", [3, 4, 6])
def test_smallest_console_font_is_read_back_after_jpeg(upscale):
    img = np.zeros((40, 128), np.uint8)
    _text(img, ["QUIMBY, HORTENSE", "ID 55512345"])
    words = ocr.read_text(_jpeg_grey(img), upscale=upscale)
    text = " ".join(w.text for w in words)
    assert "QUIMBY" in text and "55512345" in text
    quimby = next(w for w in words if "QUIMBY" in w.text)
    x0, y0, x1, y1 = quimby.box  # original image coordinates, not the upscaled ones
    assert 0 <= x0 < 10 and 0 <= y0 < 8 and 25 < x1 < 45 and y1 < 14


def test_pixel_catalogue_spellings(pixcat):
    def kinds(text, patient=PKEY):
        return set(pixcat.find(text, patient))

    assert kinds("QUIMBY, HORTENSE") == {"person_name"}
    assert kinds("Hortense Quimby") == {"person_name"}
    assert kinds("QUIMBY") == {"person_name"} and kinds("HORTENSE") == {"person_name"}
    assert kinds("ID:55512345") == {"mrn"} and kinds("MRN 0055512345") == {"mrn"}
    assert kinds("ACC-99887766") == {"accession_number"}
    for form in ("DOB:1927-03-14", "14-Mar-1927", "03/14/1927", "14.03.1927", "19270314"):
        assert kinds(form) == {"birth_date"}, form
    for form in ("2020-01-15", "15-JAN-2020", "01/15/2020", "15.01.2020", "20200115"):
        assert kinds(form) == {"date"}, form
    assert kinds("10:15:30") == {"time"}
    assert kinds("GRAYMOOR CARDIAC HOSPITAL") == {"institution"}
    assert kinds("GCH ECHO-ROOM-42") == {"institution", "device"}
    # initials count as capitals only: three letters are also what OCR makes of tissue
    assert kinds("GCH") == {"institution"} and kinds("Gch,") == set() and kinds("gch") == set()
    # exam dates and times belong to their patient; an unkeyed cine is checked against all
    assert kinds("2020-01-15", OTHER) == set() and kinds("10:15:30", OTHER) == set()
    assert kinds("2020-01-15", None) == {"date"} and kinds("10:15:30", None) == set()
    # a lone part of a patient's name counts on that patient's screens (or an unkeyed cine's):
    # another patient's given name is also what OCR makes of tissue now and then. Full names
    # and the staff's names count everywhere
    assert kinds("HORTENSE", OTHER) == set() and kinds("QUIMBY", OTHER) == set()
    assert kinds("HORTENSE", None) == {"person_name"}
    assert kinds("QUIMBY, HORTENSE", OTHER) == {"person_name"}
    assert kinds("Hortense Quimby", OTHER) == {"person_name"}
    assert kinds("ROSALIND", OTHER) == {"person_name"}  # the operator, on anyone's screen


def test_ocr_confusions_repaired_without_touching_words(pixcat):
    assert repair_ocr("2O2O-0l-15 QU1MBY 1D:555l2345 ECHO-ROOM-4Z") == \
        "2020-01-15 QUIMBY 10:55512345 ECHO-ROOM-42"
    assert set(pixcat.find("QU1MBY 1D:555l2345")) == {"person_name", "mrn"}
    assert set(pixcat.find("1055512345")) == {"mrn"}  # `ID:` merged into the number
    ordinary = ("Gain 54 Depth 16cm 2D CF 30Hz FRZ G54 MI 1.2 TIS 0.4 Quick Lisbon Hospital "
                "Heart Rate 72 bpm Echo Lab Apical 4 chamber HORTENSIA QUIMBYS Mar 1927 "
                "2019-03-14 1927 0314 55512 123456789 ID: 10:15 15 Jan")
    assert repair_ocr(ordinary).split() == [
        repair_ocr(w) for w in ordinary.split()]  # token by token, no joins
    for word in ordinary.split():
        assert repair_ocr(word) == word or any(ch.isdigit() for ch in word), word
    assert pixcat.find(ordinary, PKEY) == []
    assert pixcat.find(ordinary, None) == []


def test_ocr_sample_is_seeded_and_order_free():
    keys_ = [f"deid/shard-0/P{i:012x}/S0/V{i}.dcm" for i in range(2000)]
    picked = [k for k in keys_ if chosen_for_ocr(k, 0.05, 7)]
    assert picked == [k for k in reversed(keys_) if chosen_for_ocr(k, 0.05, 7)][::-1]
    assert 60 < len(picked) < 140
    assert picked != [k for k in keys_ if chosen_for_ocr(k, 0.05, 8)]
    assert all(chosen_for_ocr(k, 1.0, 7) for k in keys_[:5])
    assert not any(chosen_for_ocr(k, 0.0, 7) for k in keys_[:5])


# ----------------------------------------------------------------------------- whole cines


def test_burned_in_surname_and_date_found_by_type_never_printed(tmp_path, catalogue, pixcat):
    res = tmp_path / "results"
    leaky = _deid_path(res)
    _write_cine(leaky, _fan_frames(24, ["QUIMBY", "2020-01-15"]))
    _write_cine(_deid_path(res, video="V000000000002"), _fan_frames(24, seed=1))
    hits, stats = scan_pixels(catalogue, res, ocr_sample=0.0, seed=1, pixcat=pixcat)
    shown = leaky.relative_to(res).as_posix()
    assert {(h.file, h.location, h.identifier_type) for h in hits} == {
        (shown, "pixels (OCR)", "person_name"), (shown, "pixels (OCR)", "date")}
    assert stats.checked["DICOM"] == 2 and stats.read["candidates"] >= 1
    assert stats.read["sampled"] == 0
    # two worker processes find the same, in the same order
    assert scan_pixels(catalogue, res, ocr_sample=0.0, seed=1, pixcat=pixcat,
                       workers=2)[0] == hits
    message = failure_message(hits) + stats.summary()
    for value in ("QUIMBY", "Quimby", "2020-01-15", "20200115", MRN):
        assert value not in message


def test_clean_cine_passes_even_when_read_whole(tmp_path, catalogue, pixcat):
    res = tmp_path / "results"
    _write_cine(_deid_path(res), _fan_frames(24, seed=2))
    hits, stats = scan_pixels(catalogue, res, ocr_sample=1.0, seed=1, pixcat=pixcat)
    assert hits == []
    assert stats.checked["DICOM"] == 1
    assert stats.read["sampled"] + stats.read["candidates"] == 1


def test_crop_outputs_avi_and_store_are_read(tmp_path, catalogue, pixcat):
    """The 112x112 crop outputs: an MRN in the AVI copy and in the uint8 store are both found;
    the AVI's patient comes from the store index (its name is the video key)."""
    shard = tmp_path / "results" / "crop" / "shard-0"
    frames = _fan_frames(20, ["ID 55512345", "2020-01-15"], seed=3)[:, :112, :112]
    writer = AviWriter(shard / "avi" / "V000000000009.avi", 30.0, 112, 112)
    for frame in frames:
        writer.write(frame)
    writer.close()
    store = StoreWriter(shard, 112, 112)
    store.add("V000000000009", "S000000000000", PKEY, 30.0, frames)
    store.close()
    hits, stats = scan_pixels(catalogue, tmp_path / "results", ocr_sample=0.0, pixcat=pixcat)
    got = {(h.file, h.identifier_type) for h in hits}
    assert ("crop/shard-0/avi/V000000000009.avi", "mrn") in got
    assert ("crop/shard-0/avi/V000000000009.avi", "date") in got  # scoped via index.csv
    assert ("crop/shard-0/frames.npy[V000000000009]", "mrn") in got
    assert stats.checked == {"video": 1, "store video": 1}


def test_undecodable_cine_is_reported_not_skipped(tmp_path, catalogue, pixcat):
    res = tmp_path / "results"
    path = _deid_path(res)
    _write_cine(path, _fan_frames(4))
    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate([b"\xff\xd8 not a jpeg"] * 4)
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    hits, _ = scan_pixels(catalogue, res, ocr_sample=0.0, pixcat=pixcat)
    assert [(h.location, h.identifier_type) for h in hits] == [
        ("pixels (undecodable)", "unscannable")]


def test_text_on_part_of_a_cine_is_read_by_the_learned_reader(tmp_path, catalogue, pixcat):
    """A name and an MRN typed (PIL, DejaVu Sans 12 px) over the moving sector of frames 10-25
    of a 25-frame cine only: not static, so the stroke detector never sees them; the learned
    reader reads every DICOM on frames spread over it and does."""
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype(str(require_font("DejaVuSans.ttf")), 12)
    frames = _fan_frames(25, seed=3)
    for t in range(9, 25):
        image = Image.fromarray(frames[t])
        draw = ImageDraw.Draw(image)
        draw.text((80, 60), "QUIMBY HORTENSE", font=font, fill=240)
        draw.text((80, 76), f"MRN {MRN}", font=font, fill=240)
        frames[t] = np.asarray(image)
    res = tmp_path / "results"
    leaky = _deid_path(res)
    _write_cine(leaky, frames)
    hits, stats = scan_pixels(catalogue, res, ocr_sample=0.0, seed=1, pixcat=pixcat)
    shown = leaky.relative_to(res).as_posix()
    assert {(h.file, h.identifier_type) for h in hits} >= {(shown, "person_name"), (shown, "mrn")}
    assert stats.checked["DICOM"] == 1


# ----------------------------------------------------------------------------- figures


def _figure_png(path, title: str = "AUROC by view", ticks: tuple[str, ...] = ("A4C", "A2C", "PLAX"),
                ylabel: str = "AUROC", dpi: int = 300):
    """A matplotlib bar plot like the report's, saved as PNG (300 dpi: the report's size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(range(len(ticks)), [0.83, 0.79, 0.88][:len(ticks)])
    ax.set_xticks(range(len(ticks)), ticks)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def test_identifiers_drawn_in_a_figure_are_read(tmp_path, catalogue, pixcat):
    """A name in the title, an MRN as a tick label and the birth date as the (upright) y label
    of a 300-dpi PNG under results/ are each found, by type, with where in the figure; the
    clean figure beside it, with the same layout, passes."""
    res = tmp_path / "results"
    _figure_png(res / "figures" / "leaky.png", title="Patient QUIMBY HORTENSE",
                ticks=("A4C", MRN, "PLAX"), ylabel="born 1927-03-14")
    _figure_png(res / "figures" / "clean.png")
    hits, stats = scan_pixels(catalogue, res, ocr_sample=0.0, pixcat=pixcat)
    assert {(h.file, h.identifier_type) for h in hits} == {
        ("figures/leaky.png", "person_name"), ("figures/leaky.png", "mrn"),
        ("figures/leaky.png", "birth_date")}
    assert all(h.location.startswith("pixels (OCR) at x ") for h in hits)
    # the y label is found on the figure turned a quarter: its box is taller than wide
    x0, x1, y0, y1 = _box_of(next(h for h in hits if h.identifier_type == "birth_date"))
    assert y1 - y0 > x1 - x0
    assert stats.checked["image"] == 2 and "2 PNG/JPEG images" in stats.summary()
    message = failure_message(hits) + stats.summary()
    for value in ("QUIMBY", "HORTENSE", MRN, "1927"):
        assert value not in message


def _box_of(hit) -> tuple[int, int, int, int]:
    """x0, x1, y0, y1 of a figure hit's location (`... at x 10-20, y 5-9`)."""
    xs, ys = hit.location.split(" at x ")[1].split(", y ")
    return (*map(int, xs.split("-")), *map(int, ys.split("-")))


def test_report_gate_reads_embedded_figures(tmp_path, catalogue, pixcat):
    """The report embeds its figures as base64 data URIs (invisible to a byte search): a JPEG
    figure with the MRN as a tick label is read there; the clean PNG beside it is not hit."""
    import base64

    from echocmr.audit.pixels import scan_embedded_images

    leaky = _figure_png(tmp_path / "leaky.png", ticks=("A4C", MRN, "PLAX"), dpi=120)
    as_jpeg = tmp_path / "leaky.jpg"
    Image.open(leaky).convert("RGB").save(as_jpeg, quality=85)
    clean = _figure_png(tmp_path / "clean.png")
    uris = [f"data:{mime};charset=utf8;filename={path.name};base64,"
            + base64.b64encode(path.read_bytes()).decode()
            for mime, path in (("image/png", clean), ("image/jpeg", as_jpeg))]
    page = tmp_path / "results" / "report.html"
    page.parent.mkdir()
    page.write_text("<html><body>" + "".join(f'<img src="{u}"/>' for u in uris) + "</body></html>")
    assert MRN not in page.read_text()
    hits, n_images = scan_embedded_images(catalogue, page, "report.html", pixcat)
    assert n_images == 2
    assert {(h.file, h.identifier_type) for h in hits} == {("report.html", "mrn")}
    assert all(h.location.startswith("embedded leaky.jpg pixels (OCR) at x ") for h in hits)
