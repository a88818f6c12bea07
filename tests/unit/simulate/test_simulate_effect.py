"""The planted effects are measurable in the decoded DICOM pixels.

The endocardial border of one segment is tracked frame by frame along the wall normal (the
brightest-to-darkest step of the intensity profile), so the test measures what a model sees:
an akinetic segment barely moves, a normal one moves several pixels, a dyskinetic one moves
outward, and nothing in a view depends on the segments the view does not show.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from scipy.ndimage import gaussian_filter1d, map_coordinates

from echocmr.simulate import anatomy, export, render
from echocmr.simulate.cohort import build_cohort
from echocmr.simulate.settings import SimSettings

W, H = 256, 192


def _setup(effects=None):
    s = SimSettings.from_config({"n_patients": 2, "pose_jitter": 0.0,
                                 "image": {"width": W, "height": H},
                                 "effects": effects or {}}, seed=7)
    c = build_cohort(s)
    patient = c.patients.iloc[0].to_dict()
    patient.update(heart_scale=1.0, motion_scale=1.0, echogenicity_z=0.0)
    for k in range(1, 18):
        patient[f"wm_{k:02d}"] = "normal"
        patient[f"lge_{k:02d}"] = 0
    study = c.studies.iloc[0].to_dict()
    video = c.videos.iloc[0].to_dict()
    video.update(kind="cine", view="A4C", encoding="mono2", n_frames=48, fps=40.0,
                 heart_rate_bpm=60.0, phase0=0.0, damage="", width=W, height=H,
                 layout="classic")  # the classic screen geometry (`_border_track`)
    return s, patient, study, video


def _decode(s, video, patient, study) -> np.ndarray:
    data, _ = export.render_file(video, patient, study, s)
    return pydicom.dcmread(io.BytesIO(data)).pixel_array.astype(np.float32)


def _border_track(frames, s, video, patient, segment) -> np.ndarray:
    """Inward position (px) of the endocardial border of one segment in every frame."""
    rng = np.random.default_rng(0)
    spec = export.heart_spec(video, patient, s, rng)
    screen = render.screen_for(W, H)
    point, normal, thickness = render.segment_probe(spec, screen, segment)
    tangent = np.array([-normal[1], normal[0]])
    steps = np.arange(-2.5 * thickness * screen.radius, 0.09 * screen.radius, 0.25)
    offsets = np.arange(-2.0, 2.01, 1.0)
    xs = point[0] + normal[0] * steps[None, :] + tangent[0] * offsets[:, None]
    ys = point[1] + normal[1] * steps[None, :] + tangent[1] * offsets[:, None]
    track = []
    for f in frames:
        prof = map_coordinates(f, [ys.ravel(), xs.ravel()], order=1).reshape(xs.shape)
        prof = gaussian_filter1d(prof.mean(axis=0), 4)
        track.append(steps[int(np.argmin(np.diff(prof)))])  # bright wall -> dark cavity
    return np.asarray(track)


def _excursion(track):
    return float(np.percentile(track, 95) - np.percentile(track, 5))


def _systolic_shift(track, video):
    """Border position at end-systole minus end-diastole (+ = inward)."""
    t = np.arange(len(track)) / video["fps"]
    c = np.array([anatomy.contraction(video["phase0"] + x * video["heart_rate_bpm"] / 60)
                  for x in t])
    return float(track[c > 0.9].mean() - track[c < 0.05].mean())


def test_akinetic_segment_moves_less_than_a_normal_one():
    s, patient, study, video = _setup()
    patient["wm_09"] = "akinetic"  # A4C: mid inferoseptal (septum); 12 = mid anterolateral
    frames = _decode(s, video, patient, study)
    akinetic = _excursion(_border_track(frames, s, video, patient, 9))
    normal = _excursion(_border_track(frames, s, video, patient, 12))
    assert normal > 3.0, normal
    assert akinetic < 0.35 * normal, (akinetic, normal)


def test_dyskinetic_segment_moves_outward_and_hypokinetic_less():
    s, patient, study, video = _setup()
    video["view"] = "A2C"
    patient["wm_10"] = "dyskinetic"  # A2C mid inferior
    patient["wm_07"] = "hypokinetic"  # A2C mid anterior
    patient["wm_15"] = "normal"
    frames = _decode(s, video, patient, study)
    dysk = _systolic_shift(_border_track(frames, s, video, patient, 10), video)
    hypo = _systolic_shift(_border_track(frames, s, video, patient, 7), video)
    normal = _systolic_shift(_border_track(frames, s, video, patient, 15), video)
    assert dysk < -0.5, dysk
    assert 0.5 < hypo < 0.75 * normal, (hypo, normal)


def test_strength_zero_removes_the_wma_signal():
    s, patient, study, video = _setup(effects={"wma_motion": 0.0})
    patient["wm_09"] = "akinetic"
    frames = _decode(s, video, patient, study)
    akinetic = _excursion(_border_track(frames, s, video, patient, 9))
    normal = _excursion(_border_track(frames, s, video, patient, 12))
    assert akinetic > 0.7 * normal


@pytest.mark.parametrize("view,hidden", [("A2C", 9), ("PLAX", 15), ("A4C", 1)])
def test_a_view_depends_only_on_the_segments_it_shows(view, hidden):
    s, patient, study, video = _setup()
    video["view"] = view
    base = _decode(s, video, patient, study)
    patient[f"wm_{hidden:02d}"] = "akinetic"
    patient[f"lge_{hidden:02d}"] = 1
    assert np.array_equal(base, _decode(s, video, patient, study))


def test_tissue_values_carry_signal_only_with_a_strength():
    s, patient, study, video = _setup()
    low = dict(patient, t1_native_ms=950.0)
    high = dict(patient, t1_native_ms=1150.0)
    assert np.array_equal(_decode(s, video, low, study), _decode(s, video, high, study))
    s2, *_ = _setup(effects={"t1_echogenicity": 1.0})
    assert _decode(s2, video, high, study).mean() > _decode(s2, video, low, study).mean() + 0.5


def test_lge_thins_the_wall():
    s, patient, study, video = _setup()
    spec_plain = export.heart_spec(video, patient, s, np.random.default_rng(0))
    patient["lge_09"] = 1
    spec_lge = export.heart_spec(video, patient, s, np.random.default_rng(0))
    plain = render.HeartPainter(spec_plain, render.screen_for(W, H))
    lge = render.HeartPainter(spec_lge, render.screen_for(W, H))
    seg9 = plain.layout.wall.segment == 9
    assert np.allclose(lge.thickness[seg9], plain.thickness[seg9] * (1 - 0.35))
    assert np.allclose(lge.thickness[~seg9], plain.thickness[~seg9])
