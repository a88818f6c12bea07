"""Cohort tables without pixels: patients, CMRs, echo studies and the plan of every file.

Distributions follow the paper's Table 1 (Sahashi et al.): age 56 +- 18, 41.8% female, race mix,
hypertension 37.7%, hyperlipidemia 28.5%, diabetes 16.5%, WMA 48.3% (N=1,405 read), scar 49.0%
(N=1,252 read), native T1 1020.7 +- 72.1 ms (N=1,116; 25.6% >= 1060), T2 48.7 +- 6.1 ms
(N=1,069; 8.2% >= 58), ECV 28.4 +- 5.7% (N=941; 21.4% >= 33), CMR LVEF 49.2 +- 17.4
(N=1,432), echo LVEF 48.0 +- 18.5, echo-CMR interval median 2 days (IQR -2..+6).
Everything here is vectorised numpy so the paper-scale tables build in about a second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from echocmr.simulate import identity
from echocmr.simulate.quirks import ACCESSION_SEPARATOR, plant_quirks
from echocmr.simulate.settings import ENCODINGS, LAYOUTS, SimSettings
from echocmr.vocab.segments import VIEW_SEGMENTS, segment_columns

RACES = ["American Indian", "Asian", "Black", "Caucasian", "Other"]
RACE_P = np.array([8, 125, 207, 973, 140]) / 1453

# Report completeness (Table 1 Ns over 1,453 patients).
P_WMA_READ = 1405 / 1453
P_ECV = 941 / 1453
P_LGE_READ = 1252 / 1453
P_T1 = 1116 / 1453
P_T2 = 1069 / 1453
P_LVEF_CMR = 1432 / 1453

# Coronary territories (AHA 17-segment assignment) used to draw realistic WMA patterns.
TERRITORIES = {
    "LAD": [1, 2, 7, 8, 13, 14, 17],
    "RCA": [3, 4, 9, 10, 15],
    "LCX": [5, 6, 11, 12, 16],
}
GRADE_WEIGHT = {"normal": 0.0, "hypokinetic": 1.0, "akinetic": 2.0, "dyskinetic": 2.5}
FIRST_CMR = dt.date(2011, 5, 1)
LAST_CMR = dt.date(2022, 6, 30)
INTERVAL_LAPLACE_SCALE = 5.8  # IQR of a Laplace = 2 b ln 2 ~ 8 days (paper: -2 to +6)


@dataclass
class Cohort:
    """All tables of one synthetic export (pixels are rendered later from `videos`)."""

    patients: pd.DataFrame  # one row per patient: identifiers, clinical, planted CMR truth
    cmrs: pd.DataFrame  # one row per CMR (a few patients have two)
    studies: pd.DataFrame  # one row per echo study
    videos: pd.DataFrame  # one row per file to write
    quirks: dict = field(default_factory=dict)  # what simulate.quirks planted (quirks.py)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def _skewnorm(rng, n, mean, sd, a):
    """Skew-normal draws with the given mean and SD (right tail heavier for a > 0)."""
    d = a / np.sqrt(1 + a * a)
    scale = sd / np.sqrt(1 - 2 * d * d / np.pi)
    loc = mean - scale * d * np.sqrt(2 / np.pi)
    return stats.skewnorm.rvs(a, loc=loc, scale=scale, size=n, random_state=rng)


# ----------------------------------------------------------------------------- patients

def draw_demographics(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Age at first CMR, sex, race, BMI and comorbidities with Table 1 marginals."""
    # Drawn wider than 17.9 because the 18-98 truncation narrows it back to Table 1's SD.
    age = rng.normal(55.6, 19.2, size=n * 2)
    age = age[(age >= 18) & (age <= 98)][:n]
    while len(age) < n:  # tiny cohorts: top up
        a = rng.normal(55.6, 19.2)
        if 18 <= a <= 98:
            age = np.append(age, a)
    bmi = np.exp(rng.normal(np.log(26.2) - 0.0512, 0.32, size=n)).clip(14, 75)
    return pd.DataFrame({
        "age_years": age.round(1),
        "sex": np.where(rng.random(n) < 0.418, "F", "M"),
        "race": rng.choice(RACES, size=n, p=RACE_P),
        "bmi": bmi.round(1),
        "hypertension": (rng.random(n) < 0.377).astype(int),
        "hyperlipidemia": (rng.random(n) < 0.285).astype(int),
        "diabetes": (rng.random(n) < 0.165).astype(int),
    })


def _wma_pattern(rng: np.random.Generator) -> tuple[str, dict[int, str]]:
    """One abnormal wall-motion pattern: coronary territory, global hypokinesis or scattered."""
    kind = rng.choice(["territory", "global", "scattered"], p=[0.6, 0.25, 0.15])
    grades: dict[int, str] = {}
    if kind == "territory":
        name = rng.choice(list(TERRITORIES), p=[0.5, 0.3, 0.2])
        segs = TERRITORIES[name]
        k = int(rng.integers(2, len(segs) + 1))
        start = int(rng.integers(0, len(segs) - k + 1))
        for s in segs[start:start + k]:
            g = rng.choice(["hypokinetic", "akinetic", "dyskinetic"], p=[0.55, 0.37, 0.08])
            grades[s] = str(g)
    elif kind == "global":
        for s in range(1, 18):
            grades[s] = "akinetic" if rng.random() < 0.1 else "hypokinetic"
    else:
        for s in rng.choice(np.arange(1, 18), size=int(rng.integers(1, 4)), replace=False):
            grades[int(s)] = "hypokinetic"
    return str(kind), grades


def _lge_segments(rng, pattern: str, grades: dict[int, str], has_lge: bool) -> set[int]:
    """LGE tied to WMA: ischaemic scar under akinetic/dyskinetic (and some hypokinetic) walls."""
    if not has_lge:
        return set()
    if grades and pattern != "global":
        segs = {s for s, g in grades.items() if g != "hypokinetic"}
        segs |= {s for s, g in grades.items() if g == "hypokinetic" and rng.random() < 0.5}
        return segs or {int(rng.choice(sorted(grades)))}
    # Non-ischaemic: septal mid-wall or inferolateral stripe.
    pool = [2, 3, 8, 9] if rng.random() < 0.6 else [5, 11, 6, 12]
    k = int(rng.integers(1, 4))
    return {int(s) for s in rng.choice(pool, size=k, replace=False)}


def draw_cmr_truth(rng: np.random.Generator, n: int, wma_prevalence: float,
                   means: dict) -> pd.DataFrame:
    """Planted CMR findings per patient (complete: what the heart really is like); `means` are
    the T1/T2/ECV means (`simulate.tissue_means`)."""
    p_lge_given_no_wma = 0.28
    p_lge_given_wma = np.clip((0.49 - (1 - wma_prevalence) * p_lge_given_no_wma)
                              / max(wma_prevalence, 1e-6), 0, 0.97)
    rows = []
    for _ in range(n):
        has_wma = rng.random() < wma_prevalence
        pattern, grades = _wma_pattern(rng) if has_wma else ("none", {})
        has_lge = rng.random() < (p_lge_given_wma if has_wma else p_lge_given_no_wma)
        lge = _lge_segments(rng, pattern, grades, has_lge)
        row = {"wma_pattern": pattern}
        for s in range(1, 18):
            row[f"wm_{s:02d}"] = grades.get(s, "normal")
            row[f"lge_{s:02d}"] = int(s in lge)
        rows.append(row)
    truth = pd.DataFrame(rows)
    burden = sum(truth[f"wm_{s:02d}"].map(GRADE_WEIGHT) for s in range(1, 18))
    truth["wma_burden"] = burden
    truth["lvef_pct"] = (57.5 - 2.3 * burden + rng.normal(0, 11.5, n)).clip(8, 80).round(1)
    truth["t1_native_ms"] = _skewnorm(rng, n, float(means["t1_native_ms"]), 72.1,
                                      8.0).clip(850, 1450).round(0)
    truth["t2_ms"] = _skewnorm(rng, n, float(means["t2_ms"]), 6.1, 4.0).clip(36, 95).round(1)
    truth["ecv_pct"] = rng.normal(float(means["ecv_pct"]), 5.7, n).clip(14, 65).round(1)
    truth["hematocrit_pct"] = rng.normal(39.5, 5.0, n).clip(22, 55).round(1)
    return truth


def draw_report_completeness(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Which sequences each CMR had. ECV needs T1 maps and contrast (so LGE is read too)."""
    ecv = rng.random(n) < P_ECV
    lge = ecv | (rng.random(n) < (P_LGE_READ - P_ECV) / (1 - P_ECV))
    t1 = ecv | (rng.random(n) < (P_T1 - P_ECV) / (1 - P_ECV))
    t2 = np.where(t1, rng.random(n) < 0.9, rng.random(n) < (P_T2 - 0.9 * P_T1) / (1 - P_T1))
    return pd.DataFrame({
        "has_wm": rng.random(n) < P_WMA_READ, "has_lge": lge, "has_t1": t1, "has_t2": t2,
        "has_ecv": ecv, "has_lvef": rng.random(n) < P_LVEF_CMR,
    })


def _random_dates(rng, n) -> list[dt.date]:
    span = (LAST_CMR - FIRST_CMR).days
    return [FIRST_CMR + dt.timedelta(days=int(d)) for d in rng.integers(0, span, size=n)]


def build_patients(s: SimSettings) -> pd.DataFrame:
    n = int(s["n_patients"])
    rng = _rng(s.seed, 1)
    demo = draw_demographics(rng, n)
    truth = draw_cmr_truth(rng, n, float(s["wma_prevalence"]), s["tissue_means"])
    complete = draw_report_completeness(rng, n)
    cmr_date = _random_dates(rng, n)
    birth = [d - dt.timedelta(days=int(round(a * 365.25)) + int(rng.integers(0, 365)))
             for d, a in zip(cmr_date, demo["age_years"], strict=True)]
    patients = pd.concat([demo, truth, complete], axis=1)
    patients.insert(0, "mrn", identity.draw_mrns(rng, n, zero_rng=_rng(s.seed, 1, 1)))
    patients.insert(1, "patient_name", identity.draw_names(rng, list(demo["sex"])))
    patients.insert(2, "birth_date", birth)
    patients["first_cmr_date"] = cmr_date
    patients["institution"] = rng.integers(0, len(identity.INSTITUTIONS), size=n)
    # Per-patient drawing parameters (no link to any label): heart size and rate, motion scale.
    patients["heart_scale"] = rng.normal(1.0, 0.06, n).clip(0.85, 1.15).round(4)
    patients["heart_rate_bpm"] = rng.normal(74, 12, n).clip(48, 120).round(1)
    patients["motion_scale"] = rng.normal(1.0, 0.08, n).clip(0.8, 1.2).round(4)
    patients["echogenicity_z"] = rng.normal(0, 1, n).round(4)  # nuisance brightness, no label
    patients["patient_index"] = np.arange(n)
    return patients


def build_cmrs(s: SimSettings, patients: pd.DataFrame) -> pd.DataFrame:
    """One CMR per patient, a second one for a few (re-measured T1/T2/ECV, same walls)."""
    rng = _rng(s.seed, 2)
    rows = []
    for p in patients.itertuples(index=False):
        rows.append({"patient_index": p.patient_index, "cmr_number": 1,
                     "cmr_date": p.first_cmr_date})
        if rng.random() < float(s["second_cmr_fraction"]):
            gap = int(rng.integers(12, 600))
            rows.append({"patient_index": p.patient_index, "cmr_number": 2,
                         "cmr_date": p.first_cmr_date + dt.timedelta(days=gap)})
    cmrs = pd.DataFrame(rows)
    base = patients.set_index("patient_index").loc[cmrs["patient_index"]].reset_index(drop=True)
    second = (cmrs["cmr_number"] == 2).to_numpy()
    cmrs["mrn"] = base["mrn"].to_numpy()
    for col, sd in [("t1_native_ms", 25), ("t2_ms", 2.5), ("ecv_pct", 2.0),
                    ("lvef_pct", 4.0), ("hematocrit_pct", 2.0)]:
        vals = base[col].to_numpy(dtype=float).copy()
        vals[second] += rng.normal(0, sd, second.sum())
        cmrs[col] = vals.round(1 if col != "t1_native_ms" else 0)
    for col in [c for c in patients.columns if c.startswith(("wm_", "lge_", "has_"))]:
        cmrs[col] = base[col].to_numpy()
    return cmrs


def _interval(rng) -> int:
    while True:
        v = int(round(2 + rng.laplace(0, INTERVAL_LAPLACE_SCALE)))
        if -30 <= v <= 30:
            return v


def build_studies(s: SimSettings, patients: pd.DataFrame, cmrs: pd.DataFrame) -> pd.DataFrame:
    """Echo studies: most within +-30 days of a CMR, some further away (pairing drops them)."""
    rng = _rng(s.seed, 3)
    extra_mean = max(float(s["studies_per_patient"]) - 1.0, 0.0)
    rows = []
    by_patient = {k: g["cmr_date"].tolist() for k, g in cmrs.groupby("patient_index")}
    for p in patients.itertuples(index=False):
        cmr_dates = by_patient[p.patient_index]
        n_paired = 1 + int(rng.poisson(extra_mean))
        dates: list[dt.date] = []
        tries = 0
        while len(dates) < n_paired and tries < 200:
            tries += 1
            anchor = cmr_dates[int(rng.integers(len(cmr_dates)))]
            d = anchor + dt.timedelta(days=_interval(rng))
            if d not in dates:
                dates.append(d)
        if rng.random() < float(s["unpaired_study_fraction"]):
            for _ in range(100):
                off = int(rng.integers(31, 366)) * (1 if rng.random() < 0.5 else -1)
                d = cmr_dates[0] + dt.timedelta(days=off)
                if min(abs((d - c).days) for c in cmr_dates) > 30 and d not in dates:
                    dates.append(d)
                    break
        for d in sorted(dates):
            gaps = [(d - c).days for c in cmr_dates]
            nearest = int(np.argmin(np.abs(gaps)))
            rows.append({"patient_index": p.patient_index, "mrn": p.mrn, "study_date": d,
                         "nearest_cmr_number": nearest + 1, "interval_days": gaps[nearest],
                         "paired": abs(gaps[nearest]) <= 30})
    studies = pd.DataFrame(rows)
    n = len(studies)
    studies["study_index"] = np.arange(n)
    years = [d.year for d in studies["study_date"]]
    studies["accession_number"] = identity.draw_accessions(rng, n, years)
    seconds = rng.integers(7 * 3600, 18 * 3600, size=n)
    studies["study_time"] = [f"{t // 3600:02d}{t % 3600 // 60:02d}{t % 60:02d}" for t in seconds]
    studies["station"] = rng.integers(0, len(identity.STATIONS), size=n)
    studies["sonographer"] = rng.integers(0, len(identity.SONOGRAPHERS), size=n)
    studies["referring"] = rng.integers(0, len(identity.STAFF), size=n)
    studies["reader"] = rng.integers(0, len(identity.STAFF), size=n)
    # Echo LVEF from the report: the CMR LVEF seen through echo measurement noise.
    lvef = patients.set_index("patient_index").loc[studies["patient_index"], "lvef_pct"]
    studies["echo_lvef_pct"] = (lvef.to_numpy() - 1.2 + rng.normal(0, 6.0, n)).clip(5, 85).round(0)
    studies["study_uid"] = [identity.make_uid(s.seed, "study", i) for i in range(n)]
    return studies


# ----------------------------------------------------------------------------- file plan

def _cine_timing(rng, s: SimSettings, hr_bpm: float) -> tuple[int, float, float]:
    """Frame count, frame rate and heart rate with 1.5-3 beats in the clip."""
    fmin, fmax = int(s["frames"]["min"]), int(s["frames"]["max"])
    n_frames = int(rng.integers(fmin, fmax + 1))
    beats = float(rng.uniform(s["heartbeats"]["min"], s["heartbeats"]["max"]))
    hr = float(np.clip(hr_bpm * rng.normal(1, 0.04), 40, 150))
    fps = n_frames * hr / (60.0 * beats)
    fps = float(np.clip(fps, s["fps"]["min"], s["fps"]["max"]))
    # Keep 1.5-3 beats in the clip by adjusting the heart rate to the clamped frame rate.
    hr = float(np.clip(beats * 60.0 * fps / n_frames, 35, 180))
    return n_frames, round(fps, 2), round(hr, 1)


def _study_items(rng, s: SimSettings) -> list[tuple[str, str]]:
    """(kind, view) of every object in one study, before damage is planted."""
    items = []
    views = list(s["views"])
    for view in views:
        if rng.random() < float(s["view_probability"].get(view, 1.0)):
            items.append(("cine", view))
            if rng.random() < float(s["extra_clip_probability"]):
                items.append(("cine", view))
    if not any(k == "cine" for k, _ in items) and views:
        items.append(("cine", views[int(rng.integers(len(views)))]))
    d = s["distractors"]
    if d["enabled"]:
        for key, view in (("psax", "PSAX"), ("a5c", "A5C"), ("subcostal", "SUBCOSTAL")):
            if rng.random() < float(d[key]):
                items.append(("cine", view))
        if rng.random() < float(d["doppler"]):
            items.append(("doppler", str(rng.choice(["A4C", "A5C", "A2C"], p=[0.5, 0.3, 0.2]))))
        if rng.random() < float(d["still"]):
            items.append(("still", str(rng.choice(["A4C", "PLAX", "PSAX", "A2C"]))))
        if rng.random() < float(d["sr"]):
            items.append(("sr", ""))
    order = rng.permutation(len(items))
    return [items[i] for i in order]


def _encoding(rng, s: SimSettings, kind: str) -> str:
    if kind == "sr":
        return "none"
    weights = dict(s["encodings"])
    if kind in ("doppler",):
        weights["mono2"] = 0.0  # colour flow needs colour
    keys = [k for k in ENCODINGS if weights.get(k, 0) > 0]
    p = np.array([weights[k] for k in keys], dtype=float)
    return str(rng.choice(keys, p=p / p.sum()))


def build_videos(s: SimSettings, patients: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """The plan of every file: kind, view, encoding, timing, UIDs and its path in the tree."""
    rng = _rng(s.seed, 4)
    hr = patients.set_index("patient_index")["heart_rate_bpm"]
    rows = []
    for st in studies.itertuples(index=False):
        items = _study_items(rng, s)
        two_series = rng.random() < 0.3
        width, height = s.image_size(rng.random() < float(s["image"]["alt_fraction"]))
        for inst, (kind, view) in enumerate(items, start=1):
            series = 99 if kind == "sr" else (2 if two_series and inst > len(items) // 2 else 1)
            if kind == "cine" or kind == "doppler":
                n_frames, fps, rate = _cine_timing(rng, s, float(hr[st.patient_index]))
            else:
                n_frames, fps, rate = (1 if kind == "still" else 0), 0.0, float(
                    hr[st.patient_index])
            rows.append({
                "patient_index": st.patient_index, "study_index": st.study_index,
                "mrn": st.mrn, "accession_number": st.accession_number,
                "kind": kind, "view": view, "damage": "",
                "encoding": _encoding(rng, s, kind), "n_frames": n_frames, "fps": fps,
                "heart_rate_bpm": rate, "phase0": round(float(rng.random()), 4),
                "series_number": series, "instance_number": inst,
                "width": width, "height": height,
            })
    videos = pd.DataFrame(rows)
    videos = _ensure_every_encoding(rng, videos)
    videos = _plant_damage(rng, s, videos)
    videos["video_index"] = np.arange(len(videos))
    dates = studies.set_index("study_index")["study_date"]
    videos["rel_path"] = [
        f"{v.mrn}/{dates[v.study_index]:%Y%m%d}_{v.accession_number}/"
        f"SE{v.series_number:04d}/IM{v.instance_number:04d}.dcm"
        for v in videos.itertuples(index=False)]
    videos["sop_instance_uid"] = [identity.make_uid(s.seed, "sop", i) for i in videos.video_index]
    videos["series_instance_uid"] = [identity.make_uid(s.seed, "series", v.study_index,
                                                       v.series_number)
                                     for v in videos.itertuples(index=False)]
    videos["labelled"] = (videos["kind"] == "cine") & (
        rng.random(len(videos)) < float(s["view_label_fraction"]))
    return videos


def _ensure_every_encoding(rng, videos: pd.DataFrame) -> pd.DataFrame:
    """Every encoding must occur (the tests and ingest exercise each decoder)."""
    cines = videos.index[videos["kind"] == "cine"].to_numpy()
    if len(cines) < len(ENCODINGS):
        return videos
    used = set(videos["encoding"])
    free = list(rng.permutation(cines))
    for enc in ENCODINGS:
        if enc not in used:
            idx = free.pop()
            videos.loc[idx, "encoding"] = enc
    return videos


def _plant_damage(rng, s: SimSettings, videos: pd.DataFrame) -> pd.DataFrame:
    """Add damaged files next to real ones: a truncated cine, an empty file, a non-DICOM file."""
    extra = []
    for damage, count in s["damaged"].items():
        for _ in range(int(count)):
            host = videos.iloc[int(rng.integers(len(videos)))]
            row = host.to_dict()
            row.update({"kind": "damaged", "damage": damage,
                        "instance_number": int(videos.loc[videos["study_index"]
                                                          == host["study_index"],
                                                          "instance_number"].max()) + 1
                        + len([e for e in extra if e["study_index"] == host["study_index"]])})
            if damage == "truncated":
                row.update({"view": "A4C", "encoding": "rgb"})
                row["n_frames"], row["fps"], row["heart_rate_bpm"] = _cine_timing(
                    rng, s, float(host["heart_rate_bpm"] or 70))
            else:
                row.update({"view": "", "encoding": "none", "n_frames": 0, "fps": 0.0})
            extra.append(row)
    if extra:
        videos = pd.concat([videos, pd.DataFrame(extra)], ignore_index=True)
    return videos


def draw_layouts(rng: np.random.Generator, s: SimSettings, n: int) -> np.ndarray:
    """Screen layout of every file, by the `simulate.layouts` shares.

    Its own random stream, so adding layouts moved no other draw (patients, files, pixels).
    """
    names = [k for k in LAYOUTS if float(s["layouts"].get(k, 0)) > 0]
    p = np.array([float(s["layouts"][k]) for k in names])
    return rng.choice(np.array(names, dtype=object), size=n, p=p / p.sum()).astype(str)


def build_cohort(s: SimSettings) -> Cohort:
    patients = build_patients(s)
    cmrs = build_cmrs(s, patients)
    studies = build_studies(s, patients, cmrs)
    videos = build_videos(s, patients, studies)
    videos["layout"] = draw_layouts(_rng(s.seed, 7), s, len(videos))
    cohort = Cohort(patients=patients, cmrs=cmrs, studies=studies, videos=videos)
    cohort.quirks = plant_quirks(cohort, s["quirks"], s.seed)
    return cohort


# ----------------------------------------------------------------------------- raw tables

def cmr_reports_table(cohort: Cohort) -> pd.DataFrame:
    """The CMR report export: blanks where the study lacked the sequence."""
    c = cohort.cmrs
    out = pd.DataFrame({"mrn": c["mrn"], "cmr_date": [f"{d:%Y-%m-%d}" for d in c["cmr_date"]]})
    ungraded = c.get("wm_ungraded", pd.Series("", index=c.index)).str.split(";")
    for col in segment_columns("wm"):
        graded = pd.Series([col.removeprefix("wm_").lstrip("0") not in u for u in ungraded],
                           index=c.index)
        out[col] = c[col].where(c["has_wm"] & graded, "")
    for col in segment_columns("lge"):
        out[col] = c[col].astype(int).astype(str).where(c["has_lge"], "")
    for col, flag in [("t1_native_ms", "has_t1"), ("t2_ms", "has_t2"), ("ecv_pct", "has_ecv"),
                      ("lvef_pct", "has_lvef"), ("hematocrit_pct", "has_ecv")]:
        vals = c[col].map(lambda v: f"{v:g}")
        out[col] = vals.where(c[flag], "")
    return out


def clinical_table(cohort: Cohort) -> pd.DataFrame:
    p = cohort.patients
    return pd.DataFrame({
        "mrn": p["mrn"], "patient_name": p["patient_name"],
        "birth_date": [f"{d:%Y-%m-%d}" for d in p["birth_date"]],
        "sex": p["sex"], "race": p["race"], "bmi": p["bmi"].map(lambda v: f"{v:g}"),
        "hypertension": p["hypertension"], "hyperlipidemia": p["hyperlipidemia"],
        "diabetes": p["diabetes"],
    })


def echo_reports_table(cohort: Cohort) -> pd.DataFrame:
    st = cohort.studies
    return pd.DataFrame({
        "mrn": st["mrn"],
        # a multi-valued accession (simulate.quirks): the report system knows its first value
        "accession_number": st["accession_number"].str.split(ACCESSION_SEPARATOR,
                                                             regex=False).str[0],
        "study_date": [f"{d:%Y-%m-%d}" for d in st["study_date"]],
        "echo_lvef_pct": st["echo_lvef_pct"].map(lambda v: f"{v:g}"),
    })


def view_labels_table(cohort: Cohort) -> pd.DataFrame:
    v = cohort.videos[cohort.videos["labelled"]]
    return pd.DataFrame({"sop_instance_uid": v["sop_instance_uid"], "view": v["view"]})


def view_wma(grades: dict[int, str] | pd.Series, view: str) -> int:
    """1 if any segment the view shows is abnormal (the per-view label the model must learn)."""
    return int(any(grades[f"wm_{s:02d}"] != "normal" for s in VIEW_SEGMENTS.get(view, [])))
