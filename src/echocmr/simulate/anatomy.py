"""Per-view heart geometry and the LV wall, split into AHA segments, moving through the cycle.

Coordinates are normalised to the sector: the transducer sits at (0, 0), `y` is depth and `x`
is lateral, both in units of the sector radius. `render` maps them to pixels.

The planted wall-motion effect lives here: every LV wall point belongs to one AHA segment of
`echocmr.vocab.segments.VIEW_SEGMENTS[view]` and moves inward in systole by an amount set by that
segment's CMR grade (normal full, hypokinetic reduced, akinetic none, dyskinetic outward), so
a view's motion depends on exactly the segments it shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from echocmr.vocab.segments import VIEW_SEGMENTS

# Fraction of normal systolic inward motion per grade (before the configured strength).
GRADE_MOTION = {"normal": 1.0, "hypokinetic": 0.4, "akinetic": 0.0, "dyskinetic": -0.35}
# Endocardial excursion of a normal wall at end-systole, as a fraction of the LV half-width.
NORMAL_EXCURSION = 0.34
# The epicardium follows a fraction of the endocardial motion, so a moving wall thickens.
EPI_FOLLOW = 0.35

CAVITY, BACKGROUND, MYOCARDIUM, CHAMBER_WALL, VALVE = 6.0, 52.0, 150.0, 118.0, 175.0


def contraction(phase: float) -> float:
    """0 at end-diastole (R wave, phase 0), 1 at end-systole (phase 0.33), back to 0 by 0.55."""
    p = phase % 1.0
    if p < 0.33:
        return 0.5 - 0.5 * math.cos(math.pi * p / 0.33)
    return 0.5 + 0.5 * math.cos(math.pi * min((p - 0.33) / 0.22, 1.0))


def mitral_opening(phase: float) -> float:
    """0 closed (systole), 1 wide open (early diastole), partly open at the atrial kick."""
    p = phase % 1.0
    early = math.exp(-(((p - 0.65) / 0.08) ** 2))
    late = 0.7 * math.exp(-(((p - 0.9) / 0.05) ** 2))
    return min(early + late, 1.0)


@dataclass
class Wall:
    """The LV wall at end-diastole: endocardial points, inward normals, segment per point."""

    endo: np.ndarray  # (N, 2)
    normal: np.ndarray  # (N, 2) unit, pointing into the cavity
    segment: np.ndarray  # (N,) AHA segment number
    thickness: np.ndarray  # (N,) end-diastolic wall thickness
    half_width: float
    closed: bool = False  # ring (short axis) or U open at the base (long axis)


@dataclass
class Chamber:
    """A non-LV cavity (RV, atria, aorta) with a wall, drawn before the LV."""

    name: str
    outline: np.ndarray  # (N, 2) closed polygon
    wall: float  # wall thickness
    pulse: float  # relative size change at end-systole (+ grows, - shrinks)
    valve: bool = False  # U-shaped outline whose two ends hinge a valve (tricuspid)


@dataclass
class Layout:
    """Everything drawn for one view, in normalised coordinates."""

    view: str
    wall: Wall
    chambers: list[Chamber]
    aorta: list[Chamber] = field(default_factory=list)  # drawn over the LV (A5C outflow)
    bright: list[np.ndarray] = field(default_factory=list)  # static bright tissue (liver...)


# ----------------------------------------------------------------------------- shapes

def ellipse(center, axes, angle_deg=0.0, n=48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    a = np.deg2rad(angle_deg)
    pts = np.stack([axes[0] * np.cos(t), axes[1] * np.sin(t)], axis=1)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + np.asarray(center, dtype=float)


def bullet(base, apex, half_width, n_side=36) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U-shaped contour from the base of the left/top wall over the apex to the other base.

    Returns points, the long-axis position u (0 base .. 1 apex) and the side (-1 first wall).
    """
    base, apex = np.asarray(base, float), np.asarray(apex, float)
    axis = apex - base
    perp = np.array([-axis[1], axis[0]]) / np.linalg.norm(axis)
    # First wall = the one on the screen's left (or top when the axis is horizontal).
    if perp[0] > 0 or (abs(perp[0]) < 1e-9 and perp[1] > 0):
        perp = -perp
    if abs(axis[0]) > abs(axis[1]) and perp[1] > 0:  # horizontal LV: first wall on top
        perp = -perp
    u = np.sin(np.linspace(0, np.pi / 2, n_side))  # denser near the apex
    h = half_width * np.sqrt(np.clip(1 - u**2.5, 0, 1))
    side_a = base + u[:, None] * axis + h[:, None] * perp
    side_b = base + u[::-1, None] * axis - h[::-1, None] * perp
    pts = np.concatenate([side_a, side_b[1:]])
    uu = np.concatenate([u, u[::-1][1:]])
    side = np.concatenate([-np.ones(n_side), np.ones(n_side - 1)])
    return pts, uu, side


def inward_normals(pts: np.ndarray, centre_line: np.ndarray) -> np.ndarray:
    """Unit normals of a polyline, oriented towards the given interior points."""
    tangent = np.gradient(pts, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    flip = np.sum(normal * (centre_line - pts), axis=1) < 0
    normal[flip] *= -1
    return normal


def apical_segments(view: str, u: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Segment of each point of an apical view: basal/mid/apical by long-axis third, apex cap."""
    order = VIEW_SEGMENTS[view]  # [A basal, A mid, A apical, apex, B apical, B mid, B basal]
    level = np.digitize(u, [0.36, 0.66, 0.9])  # 0 basal, 1 mid, 2 apical, 3 apex
    idx = np.where(level == 3, 3, np.where(side < 0, level, 6 - level))
    return np.asarray(order)[idx]


def plax_segments(u: np.ndarray, side: np.ndarray) -> np.ndarray:
    """PLAX: septum (top) basal 2 / mid 8, posterior wall basal 5 / mid 11; apex off-screen."""
    basal, mid = u < 0.22, u >= 0.22
    seg = np.zeros(len(u), dtype=int)
    top = side < 0
    seg[top & basal], seg[top & mid] = 2, 8
    seg[~top & basal], seg[~top & mid] = 5, 11
    return seg


def long_axis_wall(view, base, apex, half_width, thickness) -> Wall:
    pts, u, side = bullet(base, apex, half_width)
    base_a, apex_a = np.asarray(base, float), np.asarray(apex, float)
    centre = base_a + np.clip(u, 0, 0.97)[:, None] * (apex_a - base_a)
    normal = inward_normals(pts, centre)
    seg = plax_segments(u, side) if view == "PLAX" else apical_segments(
        "A4C" if view in ("A5C", "SUBCOSTAL") else view, u, side)
    return Wall(endo=pts, normal=normal, segment=seg, thickness=np.full(len(pts), thickness),
                half_width=half_width)


def short_axis_wall(center, radius, thickness, n=72) -> Wall:
    """PSAX mid-ventricular ring; anterior (7) on top, septum (8, 9) on the screen's left."""
    pts = ellipse(center, (radius, radius * 0.94), 0, n)
    ang = np.degrees(np.arctan2(-(pts[:, 1] - center[1]), pts[:, 0] - center[0])) % 360
    # Counter-clockwise from the screen's right: 12 anterolateral, 7 anterior (top), 8, 9, 10, 11.
    bins = np.digitize(ang, [60, 120, 180, 240, 300])
    seg = np.array([12, 7, 8, 9, 10, 11])[bins]
    normal = inward_normals(pts, np.tile(np.asarray(center, float), (n, 1)))
    return Wall(endo=pts, normal=normal, segment=seg, thickness=np.full(n, thickness),
                half_width=radius, closed=True)


def base_layout(view: str) -> Layout:
    """The heart of one view before pose jitter (normalised sector coordinates)."""
    if view in ("A4C", "A5C"):
        wall = long_axis_wall(view, (0.14, 0.60), (0.05, 0.13), 0.135, 0.042)
        rv_pts, _, _ = bullet((-0.17, 0.58), (-0.07, 0.22), 0.105, 24)
        chambers = [
            Chamber("RV", rv_pts, 0.018, -0.12, valve=True),
            Chamber("LA", ellipse((0.15, 0.775), (0.12, 0.10)), 0.016, 0.08),
            Chamber("RA", ellipse((-0.17, 0.765), (0.105, 0.10)), 0.016, 0.08),
        ]
        lay = Layout(view, wall, chambers)
        if view == "A5C":
            lay.aorta = [Chamber("AO", ellipse((0.0, 0.62), (0.05, 0.11), 15), 0.02, 0.06)]
        return lay
    if view == "A2C":
        wall = long_axis_wall(view, (0.03, 0.60), (-0.01, 0.13), 0.14, 0.042)
        return Layout(view, wall, [Chamber("LA", ellipse((0.04, 0.78), (0.13, 0.10)), 0.016,
                                           0.08)])
    if view == "PLAX":
        wall = long_axis_wall(view, (0.17, 0.50), (-0.78, 0.40), 0.12, 0.042)
        chambers = [
            Chamber("RV", ellipse((-0.06, 0.235), (0.30, 0.06), -4), 0.018, -0.1),
            Chamber("AO", ellipse((0.29, 0.335), (0.12, 0.055), -3), 0.02, 0.05),
            Chamber("LA", ellipse((0.30, 0.63), (0.12, 0.085)), 0.016, 0.08),
        ]
        return Layout(view, wall, chambers)
    if view == "PSAX":
        wall = short_axis_wall((0.0, 0.55), 0.16, 0.045)
        return Layout(view, wall, [Chamber("RV", ellipse((-0.12, 0.37), (0.22, 0.085), 28),
                                           0.018, -0.1)])
    if view == "SUBCOSTAL":
        lay = base_layout("A4C")
        lay.view = "SUBCOSTAL"
        lay = transform_layout(lay, angle_deg=-62, scale=0.78, shift=(0.02, 0.12),
                               pivot=(0.0, 0.5))
        lay.bright = [np.array([[-0.8, 0.0], [0.45, 0.0], [0.35, 0.22], [-0.1, 0.33],
                                [-0.8, 0.36]])]
        return lay
    raise ValueError(f"no layout for view {view!r}")


def transform_layout(lay: Layout, angle_deg: float, scale: float, shift, pivot) -> Layout:
    """Rotate/scale about `pivot` and shift every shape (per-video pose jitter)."""
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * scale
    pv, sh = np.asarray(pivot, float), np.asarray(shift, float)

    def tf(p):
        return (np.asarray(p) - pv) @ rot.T + pv + sh

    w = lay.wall
    wall = Wall(endo=tf(w.endo), normal=w.normal @ (rot.T / scale), segment=w.segment,
                thickness=w.thickness * scale, half_width=w.half_width * scale, closed=w.closed)
    return Layout(
        view=lay.view, wall=wall,
        chambers=[Chamber(c.name, tf(c.outline), c.wall * scale, c.pulse, c.valve)
                  for c in lay.chambers],
        aorta=[Chamber(c.name, tf(c.outline), c.wall * scale, c.pulse) for c in lay.aorta],
        bright=[tf(b) for b in lay.bright])


# ----------------------------------------------------------------------------- motion

def segment_motion(wall: Wall, grades: dict[int, str], strength: float) -> np.ndarray:
    """Systolic motion factor per wall point from its segment's grade (1 = normal).

    `strength` scales the departure from normal: 0 removes the planted WMA effect, 1 is full.
    A short smoothing along the wall keeps neighbouring segments from tearing apart.
    """
    raw = np.array([GRADE_MOTION[grades.get(int(s), "normal")] for s in wall.segment])
    factor = 1.0 + strength * (raw - 1.0)
    k = np.array([0.25, 0.5, 0.25])
    mode = "wrap" if wall.closed else "edge"
    padded = np.pad(factor, 1, mode=mode)
    return np.convolve(padded, k, mode="valid")


def wall_at(wall: Wall, motion: np.ndarray, c: float, thickness: np.ndarray,
            motion_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Endocardial and epicardial contours at contraction `c` (0 diastole .. 1 systole)."""
    disp = (NORMAL_EXCURSION * wall.half_width * motion_scale * c) * motion
    endo = wall.endo + wall.normal * disp[:, None]
    epi = wall.endo - wall.normal * thickness[:, None] + wall.normal * (EPI_FOLLOW * disp)[:, None]
    return endo, epi
