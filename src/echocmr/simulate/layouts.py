"""Vendor screen layouts: where the console burns identity text, in which font and format.

A pixel de-identifier that trusts SequenceOfUltrasoundRegions fails on real exports whose
region covers the whole image, whose banner sits at the bottom or the side, whose text is dark
on a light bar, whose sonographer typed into the sector, or whose probe is linear. Each video
draws one layout (`simulate.layouts` shares, drawn in `cohort`) and, except `classic`, a style:
Hershey font, 2-3 text sizes, date/name/MRN formats. Every text item drawn is recorded with its
box (`truth/burned_text.csv`).

| layout | what it exercises |
|--------|-------------------|
| classic | the original console: identity on top, settings left, ECG at the bottom |
| fullscreen_region | one tissue region = whole image (banner inside it), no ECG region |
| bottom_banner | identity at the bottom, above or below the ECG strip |
| side_banner | identity in a right-side column, sector shifted left |
| dark_on_light | dark text on a light bar (thresholding for bright text misses it) |
| sector_annotations | labels, a measurement and sometimes an identifier typed inside the sector |
| linear_probe | rectangular scan area, region = that rectangle |

Style draws come from their own random stream (seed, 9, video index), so the pixels of the
heart, speckle and ECG of a video are those of the classic layout's random stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from echocmr.simulate import render
from echocmr.simulate.render import Screen, TextItem

FONTS = {
    "SIMPLEX": cv2.FONT_HERSHEY_SIMPLEX,
    "PLAIN": cv2.FONT_HERSHEY_PLAIN,
    "DUPLEX": cv2.FONT_HERSHEY_DUPLEX,
    "COMPLEX": cv2.FONT_HERSHEY_COMPLEX,
}
DATE_FORMATS = ("MM/DD/YYYY", "DD.MM.YYYY", "YYYY-MM-DD", "DD-Mon-YYYY")
NAME_FORMATS = ("LAST^FIRST", "LAST, FIRST", "First Last")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BANNER_SIZES = (1.0, 1.15, 1.3)  # x text_scale(screen), SIMPLEX-equivalent glyph height
SMALL_SIZES = (0.9, 1.0)  # settings and annotations; 0.9 = the classic margin text
LIGHT_BAR = (212, 216, 222)
DARK_TEXT = (22, 22, 30)
ANNOTATION_COLOUR = (235, 235, 235)
MEASUREMENT_COLOUR = (242, 238, 205)  # pale yellow: channel spread 37, not "colour"
MAX_ANNOTATION_SHARE = 0.15  # annotation boxes cover at most this share of the sector
MIN_RADIUS_SHARE = 0.55  # a layout may shrink the sector to this share of the classic radius
VIEW_LABELS = {
    "A4C": ("LV", "RV", "LA", "RA", "MV", "TV"),
    "A2C": ("LV", "LA", "MV"),
    "PLAX": ("LV", "RV", "AO", "LA", "MV"),
    "PSAX": ("LV", "RV"),
    "A5C": ("LV", "LA", "AO", "RV"),
    "SUBCOSTAL": ("LV", "RV", "LIVER"),
}


def format_date(yyyymmdd: str, fmt: str) -> str:
    """A DICOM date in one of DATE_FORMATS (e.g. 05-Mar-2019)."""
    y, m, d = yyyymmdd[:4], yyyymmdd[4:6], yyyymmdd[6:8]
    if fmt == "MM/DD/YYYY":
        return f"{m}/{d}/{y}"
    if fmt == "DD.MM.YYYY":
        return f"{d}.{m}.{y}"
    if fmt == "YYYY-MM-DD":
        return f"{y}-{m}-{d}"
    if fmt == "DD-Mon-YYYY":
        return f"{d}-{MONTHS[int(m) - 1]}-{y}"
    raise ValueError(f"unknown date format {fmt!r}")


def format_name(dicom_name: str, fmt: str) -> str:
    """A DICOM person name FAMILY^GIVEN^... in one of NAME_FORMATS (middle parts dropped)."""
    family, given = (dicom_name.split("^") + [""])[:2]
    if fmt == "LAST^FIRST":
        return f"{family}^{given}"
    if fmt == "LAST, FIRST":
        return f"{family}, {given}"
    if fmt == "First Last":
        return f"{given.title()} {family.title()}"
    raise ValueError(f"unknown name format {fmt!r}")


@dataclass(frozen=True)
class Style:
    """How one video's console draws text. The defaults are the classic console."""

    layout: str = "classic"
    font: str = "SIMPLEX"
    banner_size: float = 1.0
    small_size: float = 0.9
    date_format: str = "YYYY-MM-DD"
    name_format: str = "LAST, FIRST"
    mrn_label: str = "ID:"
    dob_label: str = "DOB:"
    accession: bool = False
    banner_below_ecg: bool = False
    in_sector_identifier: str = ""  # sector_annotations: "", "family_name" or "mrn"


def draw_style(layout: str, rng: np.random.Generator) -> Style:
    """The classic console is fixed; every other layout draws font, sizes and formats."""
    if layout == "classic":
        return Style()
    return Style(
        layout=layout,
        font=str(rng.choice(list(FONTS))),
        banner_size=float(rng.choice(BANNER_SIZES)),
        small_size=float(rng.choice(SMALL_SIZES)),
        date_format=str(rng.choice(DATE_FORMATS)),
        name_format=str(rng.choice(NAME_FORMATS)),
        mrn_label=str(rng.choice(["ID:", "MRN ", "PID:", ""])),
        dob_label=str(rng.choice(["DOB:", "DOB ", "Born "])),
        accession=bool(rng.random() < 0.5),
        banner_below_ecg=bool(rng.random() < 0.5),
        in_sector_identifier=str(rng.choice(["", "family_name", "mrn"], p=[0.4, 0.3, 0.3])),
    )


def min_text_height(screen: Screen) -> int:
    """Glyph height (cv2.getTextSize, without baseline) of the classic margin text."""
    return cv2.getTextSize("0", render.FONT, render.text_scale(screen) * 0.9, 1)[0][1]


def font_scale(font: int, size: float, screen: Screen) -> float:
    """Scale that gives `font` the glyph height of SIMPLEX at size x text_scale, and never a
    smaller height than the classic margin text."""
    ref = cv2.getTextSize("0", render.FONT, 1.0, 1)[0][1]
    own = cv2.getTextSize("0", font, 1.0, 1)[0][1]
    scale = render.text_scale(screen) * max(size, 0.9) * ref / own
    floor = min_text_height(screen)
    while cv2.getTextSize("0", font, scale, 1)[0][1] < floor:
        scale *= 1.03
    return float(round(scale, 4))


def identity_lines(values: dict, style: Style) -> tuple[list, list]:
    """Left and right banner lines as (text, identifier_type).

    `values`: institution (short name + station), patient_name (DICOM form), mrn, study_date
    and birth_date (YYYYMMDD), time (HH:MM:SS), accession.
    """
    if style.layout == "classic":
        family, given = (values["patient_name"].split("^") + [""])[:2]
        d, b = values["study_date"], values["birth_date"]
        return ([(values["institution"], "institution"), (f"{family}, {given}", "patient_name"),
                 (f"ID:{values['mrn']}", "mrn")],
                [(f"{d[:4]}-{d[4:6]}-{d[6:]}", "study_date"), (values["time"], "study_time"),
                 (f"DOB:{b[:4]}-{b[4:6]}-{b[6:]}", "birth_date")])
    left = [(values["institution"], "institution"),
            (format_name(values["patient_name"], style.name_format), "patient_name"),
            (f"{style.mrn_label}{values['mrn']}", "mrn")]
    if style.accession:
        left.append((f"Acc:{values['accession']}", "accession"))
    right = [(format_date(values["study_date"], style.date_format), "study_date"),
             (values["time"], "study_time"),
             (f"{style.dob_label}{format_date(values['birth_date'], style.date_format)}",
              "birth_date")]
    return left, right


def _size(text: str, font: int, scale: float) -> tuple[int, int, int]:
    (tw, th), base = cv2.getTextSize(text, font, scale, 1)
    return tw, th, base


def _wrap(text: str, font: int, scale: float, max_w: int) -> list[str]:
    """Split a line at spaces, commas, carets or colons so that each piece fits in max_w."""
    if _size(text, font, scale)[0] <= max_w:
        return [text]
    cuts = [i + 1 for i, ch in enumerate(text) if ch in " ,^:"]
    for cut in reversed(cuts):
        head = text[:cut].rstrip()
        if head and _size(head, font, scale)[0] <= max_w:
            rest = text[cut:].lstrip()
            return [head] + (_wrap(rest, font, scale, max_w) if rest else [])
    return [text]


def arrange(style: Style, width: int, height: int, left: list, right: list,
            margin: list[str]) -> tuple[Screen, list[TextItem], tuple]:
    """Screen geometry, banner and settings text items, and light bars for one video.

    `screen.layout` is the layout drawn: a side column that would leave the sector less than
    MIN_RADIUS_SHARE of the classic radius (tiny images) becomes a bottom banner.
    """
    probe = render.screen_for(width, height)  # text sizes follow the image height only
    if style.layout == "classic":
        return probe, render.classic_items(probe, left, right, margin), ()
    font = FONTS[style.font]
    bscale = font_scale(font, style.banner_size, probe)
    sscale = font_scale(font, style.small_size, probe)
    minscale = font_scale(font, 0.9, probe)
    if style.layout == "side_banner":
        out = _arrange_side(style, width, height, left + right, margin, font, bscale, sscale,
                            minscale)
        if out[0].radius >= MIN_RADIUS_SHARE * probe.radius:
            return out
        style = replace(style, layout="bottom_banner")
    out = _arrange_banner(style, width, height, left, right, margin, font, bscale, sscale,
                          minscale)
    if out[0].radius < MIN_RADIUS_SHARE * probe.radius and style.accession:
        out = _arrange_banner(replace(style, accession=False), width, height,
                              [r for r in left if r[1] != "accession"], right, margin, font,
                              minscale, sscale, minscale)
    return out


def _arrange_banner(style, width, height, left, right, margin, font, bscale, sscale, minscale):
    """Identity lines left and right in a band on top, or at the bottom (bottom_banner)."""
    rows = max(len(left), len(right))
    for scale in (bscale, minscale):
        bscale = scale
        widest = max(_size(a[0], font, scale)[0] + _size(b[0], font, scale)[0]
                     for a, b in zip(left, right, strict=False))
        if widest + 8 <= width:
            break
    _, th, base = _size("Ag", font, bscale)
    pitch = th + base + 2
    dark = style.layout == "dark_on_light"
    if style.layout == "bottom_banner":
        screen = render.screen_for(width, height, style.layout, pitch, top_lines=0,
                                   bottom_lines=rows,
                                   banner_below_ecg=style.banner_below_ecg)
        ex0, ey0, ex1, ey1 = screen.ecg_box
        start = ey1 + 1 if style.banner_below_ecg else ey0 - (rows * pitch + 2)
    else:
        screen = render.screen_for(width, height, style.layout, pitch, top_lines=rows)
        start = 0
    bars = ()
    if dark:
        bars = (((0, start, width - 1, start + rows * pitch + 1), LIGHT_BAR),)
    colours = (DARK_TEXT, DARK_TEXT) if dark else (render.TEXT_COLOUR, (200, 220, 255))
    items = []
    for i, (text, kind) in enumerate(left):
        items.append(TextItem(text, "identifier", kind, (2, start + pitch * i + th + 1), bscale,
                              font, colours[0]))
    for i, (text, kind) in enumerate(right):
        tw = _size(text, font, bscale)[0]
        items.append(TextItem(text, "identifier", kind,
                              (width - 2 - tw, start + pitch * i + th + 1), bscale, font,
                              colours[1]))
    items += _margin_items(screen, margin, font, sscale)
    return screen, items, bars


def _margin_items(screen: Screen, margin: list[str], font: int, scale: float) -> list:
    _, th, base = _size("0", font, scale)
    pitch = max(screen.line_h, th + base + 2)
    y0, y1 = screen.tissue_box[1], screen.tissue_box[3]
    # Only lines that end beside the scan area (small images: a bottom banner lies below).
    return [TextItem(line, "settings", "", (2, y0 + pitch * (i + 2)), scale, font)
            for i, line in enumerate(margin) if y0 + pitch * (i + 2) + base < y1]


def _arrange_side(style, width, height, lines, margin, font, bscale, sscale, minscale):
    """All identity lines in one right-hand column of at most a third of the width.

    Lines are wrapped at spaces, commas, carets and colons; the banner size is used when the
    column then fits, else the smaller sizes.
    """
    cap = max(24, round(width / 3))
    margin_w = max(_size(m, font, sscale)[0] for m in margin) + 8
    for scale in sorted({bscale, sscale, minscale}, reverse=True):
        _, th, base = _size("Ag", font, scale)
        pitch = th + base + 2
        rows = [(piece, kind) for text, kind in lines for piece in _wrap(text, font, scale, cap)]
        optional = ["accession", "study_time"]
        while len(rows) * pitch + 4 > height and optional:
            drop = optional.pop(0)
            rows = [r for r in rows if r[1] != drop]
        col_w = max(_size(t, font, scale)[0] for t, _ in rows) + 4
        if len(rows) * pitch + 4 <= height and col_w <= cap + 4:
            break
    screen = render.screen_for(width, height, style.layout, pitch, top_lines=0,
                               side_width=col_w, left_margin=margin_w)
    x = width - col_w + 2
    items = [TextItem(t, "identifier", kind, (x, 2 + pitch * i + th + 1), scale, font)
             for i, (t, kind) in enumerate(rows)]
    items += _margin_items(screen, margin, font, sscale)
    return screen, items, ()


def annotation_texts(view: str, values: dict, style: Style,
                     rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """(text, kind, identifier_type) typed into the sector: identifier first, then a
    measurement, then 1-3 chamber/valve labels."""
    out = []
    if style.in_sector_identifier == "family_name":
        out.append((values["patient_name"].split("^")[0], "identifier", "patient_name"))
    elif style.in_sector_identifier == "mrn":
        out.append((values["mrn"], "identifier", "mrn"))
    name, lo, hi, unit = [("LVIDd", 3.8, 6.2, "cm"), ("IVSd", 0.7, 1.5, "cm"),
                          ("LA", 2.8, 4.8, "cm"), ("LVOT", 1.8, 2.4, "cm")][int(rng.integers(4))]
    out.append((f"{name} {rng.uniform(lo, hi):.1f} {unit}", "annotation", ""))
    labels = VIEW_LABELS.get(view, ("LV",))
    k = int(rng.integers(1, min(3, len(labels)) + 1))
    for i in rng.choice(len(labels), size=k, replace=False):
        out.append((labels[int(i)], "annotation", ""))
    return out


def place_annotations(screen: Screen, style: Style, texts: list,
                      rng: np.random.Generator) -> list[TextItem]:
    """Put each text where its whole box lies inside the sector, apart from the others.

    Texts that find no place, or would push the boxes past MAX_ANNOTATION_SHARE of the sector,
    are left out (an identifier is placed first, so it is left out only when it cannot fit).
    """
    font = FONTS[style.font]
    scale = font_scale(font, style.small_size, screen)
    fan = render.sector_mask(screen)
    inner = cv2.erode(fan.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    budget = MAX_ANNOTATION_SHARE * fan.sum()
    placed: list[TextItem] = []
    boxes: list[tuple[int, int, int, int]] = []
    used = 0
    for text, kind, id_type in texts:
        tw, th, base = _size(text, font, scale)
        area = tw * (th + base + 1)
        if used + area > budget:
            continue
        for _ in range(80):
            r = rng.uniform(0.2, 0.95)
            ang = np.deg2rad(rng.uniform(-34, 34))
            cx = screen.apex_x + r * screen.radius * np.sin(ang)
            cy = screen.apex_y + r * screen.radius * np.cos(ang)
            org = (int(round(cx - tw / 2)), int(round(cy + th / 2)))
            colour = MEASUREMENT_COLOUR if " " in text and kind == "annotation" else \
                ANNOTATION_COLOUR
            item = TextItem(text, kind, id_type, org, scale, font, colour)
            x0, y0, x1, y1 = item.box()
            if x0 < 0 or y0 < 0 or x1 >= screen.width or y1 >= screen.height:
                continue
            if not inner[y0:y1 + 1, x0:x1 + 1].all():
                continue
            if any(x0 <= b[2] + 2 and b[0] <= x1 + 2 and y0 <= b[3] + 2 and b[1] <= y1 + 2
                   for b in boxes):
                continue
            placed.append(item)
            boxes.append((x0, y0, x1, y1))
            used += area
            break
    return placed
