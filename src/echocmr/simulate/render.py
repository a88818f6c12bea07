"""Pixels that look like an echo export: sector fan (or a linear probe's rectangle) with
speckle, the heart of `anatomy`, burned-in text where the screen layout puts it (see `layouts`),
a colour ECG trace, depth marks, and colour flow for Doppler cines.

Only OpenCV drawing and whole-array numpy run per frame, so the demo export renders in about a
minute on one core. Every random draw comes from the per-video generator passed in, so the same
seed gives the same pixels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from echocmr.simulate import anatomy
from echocmr.simulate.anatomy import Layout

HALF_ANGLE_DEG = 38.0
FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_COLOUR = (225, 225, 225)
ECG_COLOUR = (40, 230, 60)
CURSOR_COLOUR = (250, 230, 40)


@dataclass(frozen=True)
class Screen:
    """Pixel layout of one image: text band, scan area, ECG strip (all boxes inclusive).

    `tissue_box` is the bounding box of the true scan area (the fan, or the rectangle of a
    linear probe); what the DICOM header declares is `region_box` (the whole image for the
    `fullscreen_region` layout).
    """

    width: int
    height: int
    line_h: int
    apex_x: float
    apex_y: float
    radius: float
    tissue_box: tuple[int, int, int, int]
    ecg_box: tuple[int, int, int, int]
    layout: str = "classic"
    linear: bool = False

    def to_px(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts) * self.radius + np.array([self.apex_x, self.apex_y])

    @property
    def region_box(self) -> tuple[int, int, int, int]:
        """The tissue region the header declares."""
        if self.layout == "fullscreen_region":
            return (0, 0, self.width - 1, self.height - 1)
        return self.tissue_box

    @property
    def ecg_region(self) -> bool:
        """Whether the header declares the ECG strip as a region of its own."""
        return self.layout != "fullscreen_region"


def base_line_h(height: int) -> int:
    return max(7, round(height * 0.047))


def screen_for(width: int, height: int, layout: str = "classic", pitch: int | None = None,
               top_lines: int = 3, bottom_lines: int = 0, banner_below_ecg: bool = False,
               side_width: int = 0, left_margin: int = 0) -> Screen:
    """Place the text band(s), the ECG strip at the bottom and the scan area in between.

    Defaults: the classic console (three text lines on top). `bottom_lines` reserve a banner
    above the ECG (or below it with `banner_below_ecg`); `side_width` reserves a text column
    at the right (the scan area then starts `left_margin` px from the left edge).
    """
    line_h = base_line_h(height)
    pitch = pitch or line_h
    band = top_lines * pitch + 3 if top_lines else 3
    ecg_h = max(10, round(height * 0.1))
    bottom = bottom_lines * pitch + 2 if bottom_lines else 0
    ecg_y1 = height - 2 - (bottom if banner_below_ecg else 0)
    ecg_y0 = ecg_y1 - ecg_h + 1
    floor = ecg_y0 - (0 if banner_below_ecg else bottom)
    apex_y = band + 1
    sin_a = np.sin(np.deg2rad(HALF_ANGLE_DEG))
    if side_width:
        fan_w = width - left_margin - 24 - side_width  # 24: depth marks and numbers
        radius = min(floor - 4 - apex_y, fan_w / (2 * sin_a))
        apex_x = float(np.floor(left_margin + radius * sin_a + 1))
    else:
        radius = min(floor - 4 - apex_y, (width * 0.72) / (2 * sin_a))
        apex_x = (width - 1) / 2
    box = (int(np.floor(apex_x - radius * sin_a)), int(apex_y),
           int(np.ceil(apex_x + radius * sin_a)), int(np.ceil(apex_y + radius)))
    ecg_x1 = int(width * 0.92)
    if side_width:  # the text column runs down beside the ECG strip
        ecg_x1 = min(ecg_x1, width - side_width - 3)
    ecg = (int(width * 0.08), ecg_y0, ecg_x1, ecg_y1)
    return Screen(width, height, line_h, apex_x, float(apex_y), float(radius), box, ecg,
                  layout, layout == "linear_probe")


@functools.lru_cache(maxsize=8)
def polar_grid(screen: Screen) -> tuple[np.ndarray, np.ndarray]:
    """Radius (in sector radii) and angle (degrees) of every pixel (cached, read-only).

    A linear probe scans a rectangle: depth plays the radius and the lateral position the
    angle (the rectangle is the fan's bounding box), so speckle, gain and masks need no
    special case.
    """
    yy, xx = np.mgrid[0:screen.height, 0:screen.width].astype(np.float32)
    dx, dy = (xx - screen.apex_x) / screen.radius, (yy - screen.apex_y) / screen.radius
    if screen.linear:
        sin_a = np.sin(np.deg2rad(HALF_ANGLE_DEG))
        r = np.where(dy >= 0, dy, 9.0).astype(np.float32)
        ang = (dx / sin_a * HALF_ANGLE_DEG).astype(np.float32)
    else:
        r, ang = np.hypot(dx, dy), np.degrees(np.arctan2(dx, dy))
    r.flags.writeable = ang.flags.writeable = False
    return r, ang


@functools.lru_cache(maxsize=8)
def sector_mask(screen: Screen) -> np.ndarray:
    r, ang = polar_grid(screen)
    m = (r <= 1.0) & (np.abs(ang) <= HALF_ANGLE_DEG) & (r >= 0.015)
    m.flags.writeable = False
    return m


def speckle_field(rng: np.random.Generator, screen: Screen) -> np.ndarray:
    """Multiplicative Rayleigh speckle, elongated laterally and widening with depth (mean ~1)."""
    n_r, n_a = int(screen.radius) + 2, 110
    raw = rng.rayleigh(np.sqrt(2 / np.pi), size=(n_r, n_a)).astype(np.float32)
    raw = cv2.GaussianBlur(raw, (0, 0), sigmaX=0.6, sigmaY=0.5)
    raw /= raw.mean()
    r, ang = polar_grid(screen)
    map_r = np.clip(r * screen.radius, 0, n_r - 1).astype(np.float32)
    map_a = np.clip((ang + HALF_ANGLE_DEG) / (2 * HALF_ANGLE_DEG) * (n_a - 1), 0, n_a - 1)
    field = cv2.remap(raw, map_a.astype(np.float32), map_r, interpolation=cv2.INTER_LINEAR)
    fine = rng.rayleigh(np.sqrt(2 / np.pi), size=field.shape).astype(np.float32)
    return (0.55 * field + 0.45 * cv2.GaussianBlur(fine, (0, 0), 0.7) / fine.mean()).astype(
        np.float32)


def _speckle_u8(field: np.ndarray, gain: np.ndarray, fan: np.ndarray) -> np.ndarray:
    out = np.clip(field * gain * 64, 0, 255).astype(np.uint8)
    out[~fan] = 0
    return out


@functools.lru_cache(maxsize=8)
def depth_gain(screen: Screen) -> np.ndarray:
    """Time-gain compensation is never perfect: slight loss with depth and at the fan edges."""
    r, ang = polar_grid(screen)
    g = ((1.0 - 0.25 * np.clip(r, 0, 1)) * (1.0 - 0.18 * (np.abs(ang) / HALF_ANGLE_DEG) ** 4)
         ).astype(np.float32)
    g.flags.writeable = False
    return g


# ----------------------------------------------------------------------------- the heart

@dataclass
class HeartSpec:
    """What one video shows: the view, its pose, the planted findings and their strengths."""

    view: str
    grades: dict[int, str]
    lge: set[int]
    effects: dict
    motion_scale: float = 1.0
    heart_scale: float = 1.0
    gain: float = 1.0
    tissue_z: dict = field(default_factory=dict)  # standardised T1/T2/ECV of the patient
    pose: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 0.0)  # angle, scale, dx, dy


def posed_layout(spec: HeartSpec) -> Layout:
    angle, scale, dx, dy = spec.pose
    return anatomy.transform_layout(anatomy.base_layout(spec.view), angle,
                                    scale * spec.heart_scale, (dx, dy), (0.0, 0.5))


def myocardial_level(spec: HeartSpec) -> float:
    """Brightness of the myocardium: T1/T2/ECV add signal only if their strength is non-zero."""
    e = spec.effects
    shift = sum(float(e.get(f"{k}_echogenicity", 0.0)) * spec.tissue_z.get(k, 0.0)
                for k in ("t1", "t2", "ecv"))
    return float(np.clip(anatomy.MYOCARDIUM * (1 + 0.12 * shift), 60, 250))


def _poly(screen: Screen, pts: np.ndarray) -> np.ndarray:
    return np.round(screen.to_px(pts) * 16).astype(np.int32)  # 4 fractional bits (shift=4)


def grow(outline: np.ndarray, by: float) -> np.ndarray:
    """Outline pushed outwards by `by` (cheaper than drawing a thick anti-aliased border)."""
    c = outline.mean(axis=0)
    d = outline - c
    return c + d * (1 + by / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-9))


def _fill(img, screen, pts, level):
    cv2.fillPoly(img, [_poly(screen, pts)], int(level), lineType=cv2.LINE_AA, shift=4)


class HeartPainter:
    """Draws the heart of one video frame by frame.

    Every drawn outline is linear in the contraction c, so it is prepared once as
    `start + c * delta` in fixed-point pixels; a frame then costs a few multiply-adds and
    OpenCV fills.
    """

    def __init__(self, spec: HeartSpec, screen: Screen):
        self.spec, self.screen = spec, screen
        self.layout = lay = posed_layout(spec)
        wall = lay.wall
        self.motion = anatomy.segment_motion(wall, spec.grades,
                                             float(spec.effects.get("wma_motion", 1.0)))
        thin = float(spec.effects.get("lge_thinning", 0.0))
        in_lge = np.isin(wall.segment, sorted(spec.lge))
        self.thickness = wall.thickness * np.where(in_lge, 1.0 - thin, 1.0)
        self.in_lge = in_lge
        self.myo = myocardial_level(spec)
        self.lge_level = self.myo * (1 + 0.3 * float(spec.effects.get("lge_echogenicity", 0.0)))
        self.wall_px = max(1, int(round(0.02 * screen.radius)))

        def lin(at0, at1):
            a, b = screen.to_px(at0) * 16, screen.to_px(at1) * 16
            return a, b - a

        self.bright = [np.round(screen.to_px(b) * 16).astype(np.int32) for b in lay.bright]
        self.chambers, self.valved = [], []
        for ch in lay.chambers:
            cen = ch.outline.mean(axis=0)
            grown = grow(ch.outline, ch.wall)
            cavity = lin(ch.outline, ch.outline + (ch.outline - cen) * ch.pulse)
            self.chambers.append((lin(grown, grown + (grown - cen) * ch.pulse), cavity))
            if ch.valve:
                width = np.linalg.norm(ch.outline[-1] - ch.outline[0])
                self.valved.append((cavity, 0.6 * 16 * screen.radius * width / 2))
        self.aorta = []
        for ch in lay.aorta:
            cen = ch.outline.mean(axis=0)
            self.aorta.append(lin(ch.outline, ch.outline + (ch.outline - cen) * ch.pulse))
        e0, p0 = anatomy.wall_at(wall, self.motion, 0.0, self.thickness, spec.motion_scale)
        e1, p1 = anatomy.wall_at(wall, self.motion, 1.0, self.thickness, spec.motion_scale)
        self.endo = lin(e0, e1)
        if wall.closed:
            self.band = lin(p0, p1)
            self.cavity = self.endo
        else:
            self.band = lin(np.concatenate([p0, e0[::-1]]), np.concatenate([p1, e1[::-1]]))
            self.cavity = lin(self._open_cavity(e0), self._open_cavity(e1))
        idx = np.nonzero(in_lge[:-1] & in_lge[1:])[0]
        self.lge_quads = [lin(np.array([p0[i], p0[i + 1], e0[i + 1], e0[i]]),
                              np.array([p1[i], p1[i + 1], e1[i + 1], e1[i]])) for i in idx]
        self.leaflet_len = (0.55 * 16 * screen.radius * np.linalg.norm(e0[-1] - e0[0]) / 2
                            + 0.1 * 16 * screen.radius * wall.half_width)

    @staticmethod
    def _open_cavity(endo):
        """Close the U across the base and reach into the atrium (the open mitral orifice)."""
        base_mid = (endo[0] + endo[-1]) / 2
        return np.concatenate([endo, [base_mid + (base_mid - endo[len(endo) // 2]) * 0.22]])

    @staticmethod
    def _at(form, c):
        return np.round(form[0] + c * form[1]).astype(np.int32)

    def paint(self, canvas: np.ndarray, blood: np.ndarray | None, phase: float) -> None:
        """Draw chambers, LV wall, cavities and valves at one cardiac phase into `canvas`."""
        c = anatomy.contraction(phase)
        aa = cv2.LINE_AA
        if self.bright:
            cv2.fillPoly(canvas, self.bright, 95, lineType=aa, shift=4)
        for wall_form, cav_form in self.chambers:
            cv2.fillPoly(canvas, [self._at(wall_form, c)], anatomy.CHAMBER_WALL, aa, 4)
            cav = self._at(cav_form, c)
            cv2.fillPoly(canvas, [cav], anatomy.CAVITY, aa, 4)
            if blood is not None:
                cv2.fillPoly(blood, [cav], 255, aa, 4)
        cv2.fillPoly(canvas, [self._at(self.band, c)], int(self.myo), aa, 4)
        if self.lge_quads and self.lge_level != self.myo:
            cv2.fillPoly(canvas, [self._at(q, c) for q in self.lge_quads], int(self.lge_level),
                         aa, 4)
        cav = self._at(self.cavity, c)
        cv2.fillPoly(canvas, [cav], anatomy.CAVITY, aa, 4)
        if blood is not None:
            cv2.fillPoly(blood, [cav], 255, aa, 4)
        for form in self.aorta:
            cv2.fillPoly(canvas, [self._at(form, c)], anatomy.CAVITY, aa, 4)
        if not self.layout.wall.closed:
            opening = anatomy.mitral_opening(phase)
            self._leaflets(canvas, self.endo[0] + c * self.endo[1], opening, self.leaflet_len)
            for form, length in self.valved:
                self._leaflets(canvas, form[0] + c * form[1], opening, length)

    def _leaflets(self, canvas, endo16, opening, length):
        """Two leaflets hinged at the annulus: closed across it, open towards the apex."""
        a, b = endo16[0], endo16[-1]
        mid = (a + b) / 2
        apex_dir = endo16[len(endo16) // 2] - mid
        apex_dir /= np.hypot(*apex_dir) + 1e-9
        for hinge in (a, b):
            closed_dir = (mid - hinge) / (np.hypot(*(mid - hinge)) + 1e-9)
            d = (1 - opening) * closed_dir + opening * apex_dir
            tip = hinge + d / (np.hypot(*d) + 1e-9) * length
            cv2.line(canvas, (int(hinge[0]), int(hinge[1])), (int(tip[0]), int(tip[1])),
                     anatomy.VALVE, self.wall_px, cv2.LINE_AA, 4)


# ----------------------------------------------------------------------------- overlays

@dataclass
class Overlay:
    """Static burned-in graphics of one video, stored as the pixels they cover (fast to burn)."""

    mask: np.ndarray  # (H, W) bool
    opaque_idx: np.ndarray  # flat pixel indices of text and marks
    opaque_vals: np.ndarray  # (n, 3) uint8
    soft_idx: np.ndarray  # flat indices of the anti-aliased ECG trace
    soft_vals: np.ndarray  # (m, 3) float32 premultiplied colour
    soft_alpha: np.ndarray  # (m, 1) float32 coverage
    duration_s: float
    items: list = field(default_factory=list)  # every TextItem drawn, depth numbers included


@dataclass
class TextItem:
    """One burned-in text string: what it is, where its baseline starts and how it is drawn.

    `kind` is identifier | annotation | settings; `identifier_type` names the identifier
    (patient_name, mrn, birth_date, study_date, study_time, institution, accession) or is "".
    """

    text: str
    kind: str
    identifier_type: str
    org: tuple[int, int]
    scale: float
    font: int = FONT
    colour: tuple[int, int, int] = TEXT_COLOUR

    def box(self, width: int | None = None, height: int | None = None):
        """Inclusive (x0, y0, x1, y1) of the glyphs: cv2.getTextSize incl. the baseline."""
        (tw, th), base = cv2.getTextSize(self.text, self.font, self.scale, 1)
        x, y = self.org
        x0, y0, x1, y1 = x, y - th, x + tw - 1, y + base
        if width is not None:
            x0, x1 = max(0, x0), min(width - 1, x1)
        if height is not None:
            y0, y1 = max(0, y0), min(height - 1, y1)
        return int(x0), int(y0), int(x1), int(y1)


def _text(img, text, org, scale, colour=TEXT_COLOUR, font=FONT):
    # Plain 8-connected glyphs: ultrasound consoles burn in bitmap fonts, and it is 100x faster.
    cv2.putText(img, text, org, font, scale, colour, 1, cv2.LINE_8)


def _draw(img, item: TextItem) -> None:
    _text(img, item.text, item.org, item.scale, item.colour, item.font)


def text_scale(screen: Screen) -> float:
    return screen.line_h / 26.0


def ecg_wave(phase: np.ndarray) -> np.ndarray:
    """PQRST shape with the R wave at phase 0 (end-diastole)."""
    p = (np.mod(phase + 0.5, 1.0) - 0.5)
    wave = (0.12 * np.exp(-((p + 0.14) / 0.03) ** 2) - 0.12 * np.exp(-((p + 0.02) / 0.008) ** 2)
            + 1.0 * np.exp(-(p / 0.011) ** 2) - 0.25 * np.exp(-((p - 0.022) / 0.01) ** 2)
            + 0.28 * np.exp(-((p - 0.3) / 0.05) ** 2))
    return wave


def classic_items(screen: Screen, lines_left, lines_right, margin_text) -> list[TextItem]:
    """The original console: identity lines on top (left and right), settings in the margin.

    Lines are strings or (text, identifier_type) pairs; margin lines are settings.
    """
    w, lh, scale = screen.width, screen.line_h, text_scale(screen)
    y0 = screen.tissue_box[1]
    items = []
    for i, line in enumerate(lines_left):
        text, kind = line if isinstance(line, tuple) else (line, "")
        items.append(TextItem(text, "identifier", kind, (2, lh * (i + 1)), scale))
    for i, line in enumerate(lines_right):
        text, kind = line if isinstance(line, tuple) else (line, "")
        (tw, _), _ = cv2.getTextSize(text, FONT, scale, 1)
        items.append(TextItem(text, "identifier", kind, (w - 2 - tw, lh * (i + 1)), scale,
                              colour=(200, 220, 255)))
    for i, line in enumerate(margin_text):
        items.append(TextItem(line, "settings", "", (2, y0 + lh * (i + 2)), scale * 0.9))
    return items


def build_overlay(screen: Screen, items: list[TextItem], depth_cm: float, duration_s: float,
                  hr_bpm: float, phase0: float, colour_bar: bool, rng: np.random.Generator,
                  bars: tuple = (), annotations: tuple = ()) -> Overlay:
    """Text items, depth marks, ECG trace, optional colour bar; then in-sector annotations.

    `bars` are ((x0, y0, x1, y1), colour) filled first (light banner backgrounds). Nothing but
    `annotations` may reach into the bounding box of the scan area.
    """
    h, w = screen.height, screen.width
    rgb = np.zeros((h, w, 3), np.uint8)
    scale = text_scale(screen)
    lh = screen.line_h
    for (bx0, by0, bx1, by1), colour in bars:
        rgb[by0:by1 + 1, bx0:bx1 + 1] = colour
    drawn = list(items)
    for item in items:
        _draw(rgb, item)
    x0, y0, x1, y1 = screen.tissue_box
    # Depth marks right of the fan: a dot per cm, a tick and number every 5 cm.
    px_per_cm = screen.radius / depth_cm
    xm = min(x1 + 3, w - 4)
    for cm in range(0, int(depth_cm) + 1):
        y = int(round(screen.apex_y + cm * px_per_cm))
        if y >= h:
            break
        big = cm % 5 == 0
        cv2.line(rgb, (xm, y), (xm + (3 if big else 1), y), TEXT_COLOUR, 1)
        if big and cm and xm + 6 < w - 6:
            mark = TextItem(str(cm), "settings", "", (xm + 5, y + lh // 3), scale * 0.8)
            _draw(rgb, mark)
            drawn.append(mark)
    if colour_bar:
        bx0, bx1 = max(1, x0 - 10), max(3, x0 - 5)
        by0, by1 = y0 + lh * 5, y0 + lh * 5 + int(screen.radius * 0.35)
        by1 = min(by1, screen.ecg_box[1] - 2)  # tiny images: keep it above the ECG strip
        by0 = min(by0, by1 - 4)
        for y in range(by0, by1):
            t = (y - by0) / max(1, by1 - by0 - 1)
            rgb[y, bx0:bx1] = (int(255 * (1 - t) ** 0.7), int(120 * (1 - 2 * abs(t - 0.5))),
                               int(255 * t ** 0.7))
    ex0, ey0, ex1, ey1 = screen.ecg_box
    xs = np.arange(ex0, ex1 + 1)
    t = (xs - ex0) / max(1, ex1 - ex0) * duration_s
    wave = ecg_wave(phase0 + t * hr_bpm / 60.0) + rng.normal(0, 0.015, len(xs))
    mid, amp = (ey0 + ey1) / 2 + (ey1 - ey0) * 0.2, (ey1 - ey0) * 0.55
    ys = np.clip(mid - amp * wave, ey0, ey1)
    pts = np.round(np.stack([xs, ys], axis=1) * 16).astype(np.int32)
    cv2.polylines(rgb, [pts], False, ECG_COLOUR, 1, cv2.LINE_AA, shift=4)
    cover = rgb.max(axis=2)
    # Nothing burned in may reach into the scan area's bounding box...
    cover[y0:y1 + 1, x0:x1 + 1] = 0
    # ...except what the sonographer typed into the sector (static over the cine).
    for item in annotations:
        _draw(rgb, item)
        bx0, by0, bx1, by1 = item.box(w, h)
        sub = rgb[by0:by1 + 1, bx0:bx1 + 1].max(axis=2)
        cover[by0:by1 + 1, bx0:bx1 + 1] = np.maximum(cover[by0:by1 + 1, bx0:bx1 + 1], sub)
        drawn.append(item)
    mask = cover > 0
    in_ecg = np.zeros_like(mask)
    in_ecg[ey0:ey1 + 1] = True
    # Text and marks are opaque; anti-aliased ECG pixels are blended with what lies beneath.
    opaque, soft = mask & ~in_ecg, mask & in_ecg
    soft_vals = rgb[soft].astype(np.float32)
    alpha = np.clip(soft_vals.max(axis=1, keepdims=True) / 230.0, 1e-3, 1)
    return Overlay(mask=mask, opaque_idx=np.flatnonzero(opaque),
                   opaque_vals=rgb[opaque].copy(), soft_idx=np.flatnonzero(soft),
                   soft_vals=np.clip(soft_vals / alpha, 0, 255) * alpha, soft_alpha=alpha,
                   duration_s=duration_s, items=drawn)


def apply_overlay(frame_rgb: np.ndarray, ov: Overlay, t_s: float, screen: Screen) -> None:
    """Burn the static graphics and the moving ECG cursor into one RGB frame (in place)."""
    flat = frame_rgb.reshape(-1, 3)
    flat[ov.opaque_idx] = ov.opaque_vals
    under = flat[ov.soft_idx].astype(np.float32)
    flat[ov.soft_idx] = (under * (1 - ov.soft_alpha) + ov.soft_vals).astype(np.uint8)
    ex0, ey0, ex1, ey1 = screen.ecg_box
    x = int(round(ex0 + (ex1 - ex0) * min(t_s / max(ov.duration_s, 1e-6), 1.0)))
    frame_rgb[ey0:ey1 + 1, x] = CURSOR_COLOUR


# ----------------------------------------------------------------------------- colour flow

def colour_box(screen: Screen) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Colour-flow box over the mitral inflow: mask and its bounding box (inclusive)."""
    r, ang = polar_grid(screen)
    m = (np.abs(ang) <= 15) & (r >= 0.36) & (r <= 0.86)
    ys, xs = np.nonzero(m)
    return m, (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))


def colourise(frame_rgb, blood, box_mask, phase, texture) -> None:
    """Red inflow in diastole, blue outflow in systole, where blood lies inside the box."""
    inflow = float(anatomy.mitral_opening(phase))
    outflow = float(anatomy.contraction(phase)) * (np.mod(phase, 1.0) < 0.4)
    v = inflow - 0.8 * outflow
    if abs(v) < 0.08:
        return
    m = box_mask & (blood > 127)
    mag = np.clip(abs(v) * texture[m], 0, 1)
    keep = mag > 0.15
    idx = tuple(a[keep] for a in np.nonzero(m))
    mag = mag[keep]
    col = np.zeros((len(mag), 3), np.float32)
    if v > 0:
        col[:, 0], col[:, 1] = 70 + 185 * mag, 90 * mag**2
    else:
        col[:, 2], col[:, 1] = 70 + 185 * mag, 60 * mag**2
    frame_rgb[idx] = col.astype(np.uint8)


# ----------------------------------------------------------------------------- whole video

@dataclass
class Rendered:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    screen: Screen
    overlay_mask: np.ndarray  # (H, W) where text/ECG/marks were burned in
    colour_box: tuple[int, int, int, int] | None
    depth_cm: float
    text_items: list = field(default_factory=list)  # TextItem, as drawn


def render_video(spec: HeartSpec, screen: Screen, n_frames: int, fps: float, hr_bpm: float,
                 phase0: float, text: dict, rng: np.random.Generator, doppler: bool = False,
                 still_calipers: bool = False) -> Rendered:
    """Render every frame of one cine (or one still) as RGB uint8."""
    fan = sector_mask(screen)
    gain = depth_gain(screen) * np.float32(spec.gain)
    s1, s2 = speckle_field(rng, screen), speckle_field(rng, screen)
    bg = np.full((screen.height, screen.width), anatomy.BACKGROUND, np.uint8)
    r, _ = polar_grid(screen)
    bg[r < 0.07] = 120  # near-field clutter under the transducer
    painter = HeartPainter(spec, screen)
    depth_cm = float(text.get("depth_cm", 16.0))
    duration = n_frames / fps if fps > 0 else 1.0
    items = text.get("items")
    if items is None:
        items = classic_items(screen, text["left"], text["right"], text["margin"])
    ov = build_overlay(screen, items, depth_cm, duration, hr_bpm, phase0, doppler, rng,
                       text.get("bars", ()), text.get("annotations", ()))
    box_mask, box = colour_box(screen) if doppler else (None, None)
    texture = None
    if doppler:
        tex = rng.random((screen.height // 4 + 1, screen.width // 4 + 1)).astype(np.float32)
        texture = cv2.resize(tex, (screen.width, screen.height), interpolation=cv2.INTER_CUBIC)
        texture = np.clip(0.55 + 0.7 * texture, 0, 1.3)
    sigma = max(0.6, screen.radius / 160)
    ksize = 2 * int(round(2 * sigma)) + 1
    # Speckle (with gain and fan mask folded in) as uint8 in units of 1/64 so that each frame
    # is a handful of saturating OpenCV operations.
    s1 = _speckle_u8(s1, gain, fan)
    s2 = _speckle_u8(s2, gain, fan)
    # Electronic noise: a fresh-looking pattern every frame (a small bank, cycled), +-8 levels.
    noise = np.clip(rng.normal(8, 4.0, (5, screen.height, screen.width)), 0, 16).astype(np.uint8)
    frames = np.empty((n_frames, screen.height, screen.width, 3), np.uint8)
    canvas = np.empty_like(bg)
    blood = np.zeros_like(bg) if doppler else None
    slow = 1.3  # seconds for the speckle pattern to decorrelate once
    for i in range(n_frames):
        t = i / fps if fps > 0 else 0.0
        phase = phase0 + t * hr_bpm / 60.0
        np.copyto(canvas, bg)
        if blood is not None:
            blood[:] = 0
        painter.paint(canvas, blood, phase)
        img = cv2.GaussianBlur(canvas, (ksize, ksize), sigma)
        img = cv2.subtract(cv2.add(img, noise[i % len(noise)]), 8)
        a = 0.5 - 0.5 * np.cos(2 * np.pi * t / slow)
        speckle = cv2.addWeighted(s1, 1 - a, s2, a, 0)
        gray = cv2.multiply(img, speckle, scale=1 / 64)
        rgb = frames[i]
        cv2.merge((gray, gray, gray), dst=rgb)
        if doppler:
            colourise(rgb, blood, box_mask, phase, texture)
        if still_calipers:
            draw_calipers(rgb, painter, screen, phase)
        apply_overlay(rgb, ov, t, screen)
    return Rendered(frames, screen, ov.mask, box, depth_cm, ov.items)


def draw_calipers(rgb, painter: HeartPainter, screen: Screen, phase: float) -> None:
    """Measurement crosses across the LV (stills carry measurements)."""
    c = float(anatomy.contraction(phase))
    endo, _ = anatomy.wall_at(painter.layout.wall, painter.motion, c, painter.thickness)
    n = len(endo)
    for p in (endo[n // 6], endo[n - 1 - n // 6]):
        x, y = np.round(screen.to_px(p)).astype(int)
        cv2.drawMarker(rgb, (int(x), int(y)), (255, 255, 0), cv2.MARKER_CROSS, 5, 1)


def segment_probe(spec: HeartSpec, screen: Screen, segment: int):
    """Pixel position and inward normal of the mid-point of one segment's endocardium (ED).

    Used by tests to measure the planted wall motion in decoded pixels.
    """
    lay = posed_layout(spec)
    idx = np.nonzero(lay.wall.segment == segment)[0]
    if len(idx) == 0:
        raise ValueError(f"segment {segment} is not shown in view {spec.view}")
    mid = idx[len(idx) // 2]
    return screen.to_px(lay.wall.endo[mid]), lay.wall.normal[mid], lay.wall.thickness[mid]
