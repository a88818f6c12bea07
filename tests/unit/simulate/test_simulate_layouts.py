"""Vendor screen layouts of the synthetic export: geometry, header regions, text boxes, styles.

Videos are rendered one by one (render_file with a chosen layout) rather than whole exports,
so the file runs in seconds; one tiny export checks the truth files.
"""

from __future__ import annotations

import io
import json
import re

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest

from echocmr.simulate import layouts, render
from echocmr.simulate.cohort import build_cohort
from echocmr.simulate.export import render_file, run_export
from echocmr.simulate.settings import LAYOUTS, SimSettings, SimSettingsError

W, H = 256, 192


@pytest.fixture(scope="module")
def cohort():
    s = SimSettings.from_config({"n_patients": 6, "frames": {"min": 8, "max": 10},
                                 "image": {"width": W, "height": H, "alt_fraction": 0.0}}, 21)
    c = build_cohort(s)
    patients = {r["patient_index"]: r for r in c.patients.to_dict("records")}
    studies = {r["study_index"]: r for r in c.studies.to_dict("records")}
    cines = c.videos[c.videos["kind"] == "cine"].to_dict("records")
    return s, patients, studies, cines


def _render(cohort, layout, k=0, encoding="rgb"):
    s, patients, studies, cines = cohort
    v = dict(cines[k % len(cines)], layout=layout, encoding=encoding)
    data, info = render_file(v, patients[v["patient_index"]], studies[v["study_index"]], s)
    ds = pydicom.dcmread(io.BytesIO(data))
    return data, info, ds


def _regions(ds):
    out = {}
    for r in ds.SequenceOfUltrasoundRegions:
        box = (r.RegionLocationMinX0, r.RegionLocationMinY0, r.RegionLocationMaxX1,
               r.RegionLocationMaxY1)
        out.setdefault(int(r.RegionDataType), []).append(box)
    return out


def _glyph_pixels(frames, box, ring=2):
    """Pixels in the box that are static over the cine and differ from the box's surround."""
    x0, y0, x1, y1 = box
    f = frames.astype(int)
    static = (f.max(axis=0) - f.min(axis=0)).max(axis=2) == 0
    first = f[0]
    ya, yb = max(0, y0 - ring), min(f.shape[1], y1 + ring + 1)
    xa, xb = max(0, x0 - ring), min(f.shape[2], x1 + ring + 1)
    around = np.ones((yb - ya, xb - xa), bool)
    around[y0 - ya:y1 - ya + 1, x0 - xa:x1 - xa + 1] = False
    bg = np.median(first[ya:yb, xa:xb][around], axis=0)
    inner = first[y0:y1 + 1, x0:x1 + 1]
    differs = np.abs(inner - bg).max(axis=2) > 60
    return int((differs & static[y0:y1 + 1, x0:x1 + 1]).sum())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_renders_decodes_and_declares_its_region(cohort, layout):
    _, info, ds = _render(cohort, layout)
    frames = ds.pixel_array
    assert frames.shape[1:] == (H, W, 3) and info["layout"] == layout
    reg = _regions(ds)
    [tissue] = reg[0x01]
    scr = render.screen_for(W, H)  # the classic geometry, for comparison
    if layout == "fullscreen_region":
        assert tissue == (0, 0, W - 1, H - 1)
        assert 0x0A not in reg
    else:
        assert tissue != (0, 0, W - 1, H - 1)
        [ecg] = reg[0x0A]
        assert ecg[1] > tissue[3]
    if layout == "classic":
        assert tissue == scr.tissue_box
    # The true scan area: a fan, or the whole rectangle of a linear probe.
    x0, y0, x1, y1 = (info[k] for k in ("scan_x0", "scan_y0", "scan_x1", "scan_y1"))
    if layout != "fullscreen_region":
        assert (x0, y0, x1, y1) == tissue
    moving = (frames.astype(int).max(axis=0) - frames.min(axis=0)).max(axis=2) > 0
    box_area = (x1 - x0 + 1) * (y1 - y0 + 1)
    share = moving[y0:y1 + 1, x0:x1 + 1].sum() / box_area
    if layout == "linear_probe":
        assert share > 0.9, "a linear probe fills its rectangle"
    else:
        assert 0.4 < share < 0.8, "a sector fills about 60% of its bounding box"
    assert not moving[:y0].any() or layout == "sector_annotations"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_truth_boxes_lie_on_the_drawn_glyphs(cohort, layout):
    for k in range(2):
        _, info, ds = _render(cohort, layout, k)
        frames = ds.pixel_array
        boxes = info["text_boxes"]
        kinds = {b["kind"] for b in boxes}
        assert "identifier" in kinds and "settings" in kinds
        types = {b["identifier_type"] for b in boxes if b["kind"] == "identifier"}
        assert {"patient_name", "mrn", "birth_date", "study_date"} <= types
        for b in boxes:
            box = (b["x0"], b["y0"], b["x1"], b["y1"])
            assert 0 <= b["x0"] <= b["x1"] < W and 0 <= b["y0"] <= b["y1"] < H
            if b["kind"] != "settings" or len(b["text"]) > 1:
                assert _glyph_pixels(frames, box) >= 3, (layout, b)
            if b["kind"] != "annotation" and b["identifier_type"] != "" and \
                    layout != "sector_annotations":
                assert not b["inside_sector"], (layout, b)


def test_fullscreen_region_banner_is_inside_the_declared_region(cohort):
    _, info, ds = _render(cohort, "fullscreen_region")
    [region] = _regions(ds)[0x01]
    ident = [b for b in info["text_boxes"] if b["kind"] == "identifier"]
    assert ident
    for b in ident:
        assert b["inside_region"] == 1 and b["inside_sector"] == 0
        assert region[0] <= b["x0"] and b["x1"] <= region[2]
        assert region[1] <= b["y0"] and b["y1"] <= region[3]
    # Every other layout keeps its banner outside the declared region.
    for layout in ("classic", "bottom_banner", "side_banner", "dark_on_light", "linear_probe"):
        _, info, _ = _render(cohort, layout)
        assert not any(b["inside_region"] for b in info["text_boxes"]), layout


def test_banner_positions_of_the_layouts(cohort):
    def ident(layout, k=0):
        _, info, ds = _render(cohort, layout, k)
        [tissue] = _regions(ds)[0x01]
        return [b for b in info["text_boxes"] if b["kind"] == "identifier"], tissue, ds

    boxes, tissue, _ = ident("bottom_banner")
    assert all(b["y0"] > tissue[3] for b in boxes), "bottom banner below the sector"
    boxes, tissue, _ = ident("side_banner")
    assert all(b["x0"] > tissue[2] for b in boxes), "side column right of the sector"
    boxes, tissue, ds = ident("dark_on_light")
    frame = ds.pixel_array[0].astype(int)
    for b in boxes:
        patch = frame[b["y0"]:b["y1"] + 1, b["x0"]:b["x1"] + 1].max(axis=2)
        assert patch.max() > 180 and patch.min() < 60, "dark glyphs on a light bar"
        assert b["y1"] < tissue[1]


def test_sector_annotations_stay_small_and_sometimes_carry_an_identifier(cohort):
    in_sector_ids = set()
    for k in range(8):
        _, info, ds = _render(cohort, "sector_annotations", k)
        screen_fan = (ds.pixel_array.astype(int).max(axis=0)
                      - ds.pixel_array.min(axis=0)).max(axis=2) > 0
        typed = [b for b in info["text_boxes"] if b["inside_sector"]]
        assert typed, "annotations are typed into the sector"
        assert {b["kind"] for b in typed} <= {"annotation", "identifier"}
        area = sum((b["x1"] - b["x0"] + 1) * (b["y1"] - b["y0"] + 1) for b in typed)
        assert area <= layouts.MAX_ANNOTATION_SHARE * screen_fan.sum() * 1.05
        in_sector_ids |= {b["identifier_type"] for b in typed if b["kind"] == "identifier"}
        for b in typed:
            assert b["inside_region"] == 1
    assert in_sector_ids & {"patient_name", "mrn"}, "some videos type an identifier in"


def test_same_seed_same_bytes_and_layouts_change_only_the_screen(cohort):
    for layout in LAYOUTS:
        a, _, _ = _render(cohort, layout, 1, encoding="jpeg_ybr422")
        b, _, _ = _render(cohort, layout, 1, encoding="jpeg_ybr422")
        assert a == b, layout
    # The heart's pose and the depth setting come from the video's own random stream, which
    # the layout does not touch.
    facts = {layout: _render(cohort, layout, 1)[1] for layout in LAYOUTS}
    for key in ("pose_angle_deg", "pose_scale", "depth_cm"):
        assert len({f[key] for f in facts.values()}) == 1, key


def test_styles_vary_and_text_is_never_smaller_than_the_classic_margin():
    rng = np.random.default_rng(0)
    seen = {"font": set(), "date_format": set(), "name_format": set(), "sizes": set()}
    values = {"institution": "WHI ECHO-LAB-03", "patient_name": "CHANDRASEKAR^CHRISTINE^Q",
              "mrn": "00123456", "study_date": "20190305", "birth_date": "19470829",
              "time": "17:50:25", "accession": "EC19-0412876"}
    for i in range(120):
        layout = LAYOUTS[1 + i % (len(LAYOUTS) - 1)]
        style = layouts.draw_style(layout, rng)
        for key in ("font", "date_format", "name_format"):
            seen[key].add(getattr(style, key))
        for w, h in ((256, 192), (128, 96), (320, 240)):
            left, right = layouts.identity_lines(values, style)
            screen, items, _ = layouts.arrange(style, w, h, left, right, ["2D", "30Hz", "G54"])
            floor = layouts.min_text_height(render.screen_for(w, h))
            sizes = set()
            for item in items:
                (_, th), _ = cv2.getTextSize(item.text, item.font, item.scale, 1)
                assert th >= floor, (layout, style.font, item.text, th, floor)
                sizes.add(item.scale)
            assert 1 <= len(sizes) <= 3
            seen["sizes"].add(len(sizes))
            assert screen.radius >= layouts.MIN_RADIUS_SHARE * render.screen_for(w, h).radius
    assert seen["font"] == set(layouts.FONTS)
    assert seen["date_format"] == set(layouts.DATE_FORMATS)
    assert seen["name_format"] == set(layouts.NAME_FORMATS)
    assert 2 in seen["sizes"]
    assert layouts.format_date("20190305", "DD-Mon-YYYY") == "05-Mar-2019"
    assert layouts.format_date("20190305", "MM/DD/YYYY") == "03/05/2019"
    assert layouts.format_date("20190305", "DD.MM.YYYY") == "05.03.2019"
    assert layouts.format_name("DOE^JOHN^Q", "First Last") == "John Doe"
    assert layouts.format_name("DOE^JOHN^Q", "LAST^FIRST") == "DOE^JOHN"


def test_layout_mix_is_respected_and_moves_no_other_draw():
    shares = {"classic": 0.5, "fullscreen_region": 0.1, "bottom_banner": 0.1,
              "side_banner": 0.1, "dark_on_light": 0.1, "sector_annotations": 0.1,
              "linear_probe": 0.0}
    s = SimSettings.from_config({"n_patients": 400, "layouts": shares}, 3)
    c = build_cohort(s)
    n = len(c.videos)
    counts = c.videos["layout"].value_counts()
    assert "linear_probe" not in counts
    for name, p in shares.items():
        if p:
            assert abs(counts[name] / n - p) < 4 * np.sqrt(p * (1 - p) / n), (name, counts)
    only = SimSettings.from_config({"n_patients": 400, "layouts": {
        k: float(k == "classic") for k in LAYOUTS}}, 3)
    c2 = build_cohort(only)
    assert set(c2.videos["layout"]) == {"classic"}
    pd.testing.assert_frame_equal(c.patients, c2.patients)
    pd.testing.assert_frame_equal(c.studies, c2.studies)
    pd.testing.assert_frame_equal(c.videos.drop(columns="layout"),
                                  c2.videos.drop(columns="layout"))
    # MRNs: unique, 8 digits, some zero-padded.
    mrns = c.patients["mrn"]
    assert mrns.is_unique and mrns.str.fullmatch(r"\d{8}").all()
    assert 0.08 < mrns.str.startswith("00").mean() < 0.24


@pytest.mark.parametrize("bad", [{"fancy": 0.1}, {"classic": -1},
                                 {k: 0 for k in LAYOUTS}, {"classic": "lots"}])
def test_wrong_layout_settings_are_named(bad):
    with pytest.raises(SimSettingsError, match="simulate.layouts"):
        SimSettings.from_config({"layouts": bad}, 1)


def test_export_writes_burned_text_truth_without_identifier_values(tmp_path):
    section = {"n_patients": 3, "image": {"width": 160, "height": 120, "alt_fraction": 0.0},
               "frames": {"min": 4, "max": 6}, "fps": {"min": 30, "max": 30},
               "heartbeats": {"min": 1.0, "max": 1.0},
               # Keys left out keep their default share: switch the others off.
               "layouts": {**{k: 0 for k in LAYOUTS}, "classic": 0.3,
                           "sector_annotations": 0.4, "fullscreen_region": 0.3},
               "distractors": {"enabled": False}, "damaged": {"truncated": 0,
                                                               "zero_bytes": 0,
                                                               "not_dicom": 0}}
    run_export(SimSettings.from_config(section, 8), tmp_path, "test-secret", workers=1,
               progress=False)
    truth = tmp_path / "truth"
    videos = pd.read_csv(truth / "videos.csv", keep_default_na=False)
    boxes = pd.read_csv(truth / "burned_text.csv", keep_default_na=False)
    assert list(boxes.columns) == ["video_key", "layout", "kind", "identifier_type", "x0", "y0",
                                   "x1", "y1", "inside_region", "inside_sector", "font"]
    assert set(videos["layout"]) <= {"classic", "sector_annotations", "fullscreen_region"}
    assert set(boxes["video_key"]) == set(videos["video_key"])
    merged = boxes.merge(videos[["video_key", "layout"]], on="video_key", suffixes=("", "_v"))
    assert (merged["layout"] == merged["layout_v"]).all()
    assert set(boxes["kind"]) <= {"identifier", "annotation", "settings"}
    assert set(boxes.loc[boxes["kind"] == "identifier", "identifier_type"]) <= {
        "patient_name", "mrn", "birth_date", "study_date", "study_time", "institution",
        "accession"}
    assert (boxes.loc[boxes["kind"] != "identifier", "identifier_type"] == "").all()
    full = boxes[boxes["layout"] == "fullscreen_region"]
    assert (full["inside_region"] == 1).all()
    classic = boxes[boxes["layout"] == "classic"]
    assert (classic["inside_region"] == 0).all() and (classic["inside_sector"] == 0).all()
    ids = json.loads((truth / "identifiers.json").read_text())
    text = (truth / "burned_text.csv").read_text().upper()
    for group in ("mrns", "patient_family_names", "accession_numbers", "birth_dates_iso"):
        for value in ids[group]:
            assert value.upper() not in text, group
    # Every burned-in date is listed in one of the date forms.
    forms = {v for k, vals in ids.items() if k.startswith(("dates", "birth_dates"))
             for v in vals}
    for line in ids["burned_in_text"]:
        for date in re.findall(r"\d\d[./-]\d\d[./-]\d{4}|\d{4}-\d\d-\d\d|\d\d-[A-Z][a-z]{2}-\d{4}",
                               line):
            assert date in forms, line
    for key in ("patient_names_caret", "patient_names_first_last", "dates_mdy", "dates_dmy",
                "dates_dmon", "birth_dates_mdy", "birth_dates_dmy", "birth_dates_dmon"):
        assert ids[key], key
