"""Write the whole synthetic export: raw tables, the DICOM tree and the truth files.

Every file is rendered from its own random stream (seed, file index), so the bytes do not depend
on the number of worker processes or on the order in which files are written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from echocmr.logutil import script_logging
from echocmr.simulate import damage, dicomio, identity, layouts, render, truth
from echocmr.simulate.cohort import (
    Cohort,
    build_cohort,
    clinical_table,
    cmr_reports_table,
    echo_reports_table,
    view_labels_table,
)
from echocmr.simulate.quirks import PLACEHOLDER_FIELDS, quirks_truth
from echocmr.simulate.settings import SimSettings

log = logging.getLogger("echocmr.simulate")

# Standardisation of T1/T2/ECV for the optional echogenicity effect (Table 1 mean, SD).
TISSUE_NORMS = {"t1": ("t1_native_ms", 1020.7, 72.1), "t2": ("t2_ms", 48.7, 6.1),
                "ecv": ("ecv_pct", 28.4, 5.7)}


def _video_rng(seed: int, video_index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 5, int(video_index)]))


def _style_rng(seed: int, video_index: int) -> np.random.Generator:
    """Layout style and in-sector annotations: a stream apart from the pixels' one."""
    return np.random.default_rng(np.random.SeedSequence([seed, 9, int(video_index)]))


def _add_seconds(hhmmss: str, seconds: int) -> str:
    t = dt.datetime(2000, 1, 1, int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:6]))
    t += dt.timedelta(seconds=seconds)
    return f"{t:%H%M%S}"


def _age_string(birth: dt.date, on: dt.date) -> str:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return f"{years:03d}Y"


def header_for(video: dict, patient: dict, study: dict) -> dicomio.Header:
    inst = identity.INSTITUTIONS[int(patient["institution"])]
    st_date: dt.date = study["study_date"]
    header = dicomio.Header(
        # header_mrn: the PatientID written, another patient's for an identity-conflict quirk
        patient_name=patient["patient_name"], patient_id=video.get("header_mrn") or patient["mrn"],
        birth_date=f"{patient['birth_date']:%Y%m%d}", sex=patient["sex"],
        age=_age_string(patient["birth_date"], st_date), accession=study["accession_number"],
        study_uid=study["study_uid"], series_uid=video["series_instance_uid"],
        sop_uid=video["sop_instance_uid"], study_date=f"{st_date:%Y%m%d}",
        study_time=study["study_time"],
        content_time=_add_seconds(study["study_time"], 40 * int(video["instance_number"])),
        series_number=int(video["series_number"]),
        instance_number=int(video["instance_number"]), institution=inst[0],
        institution_address=inst[2], referring=identity.STAFF[int(study["referring"])],
        performing=identity.STAFF[int(study["reader"])],
        operator=identity.SONOGRAPHERS[int(study["sonographer"])],
        station=identity.STATIONS[int(study["station"])],
        device_serial=identity.DEVICE_SERIALS[int(study["station"])],
        study_id=str(1000 + int(study["study_index"])))
    if study.get("placeholder_department"):  # simulate.quirks.placeholder_headers
        header = dataclasses.replace(header, department=study["placeholder_department"],
                                     **PLACEHOLDER_FIELDS)
    return header


def identity_values(h: dicomio.Header) -> dict:
    """The identifiers a console can burn in, before any display format."""
    inst_short = next((i[1] for i in identity.INSTITUTIONS if i[0] == h.institution),
                      h.institution)  # a placeholder institution is burned in as written
    return {"institution": f"{inst_short} {h.station}", "patient_name": h.patient_name,
            "mrn": h.patient_id, "study_date": h.study_date, "birth_date": h.birth_date,
            "time": f"{h.content_time[:2]}:{h.content_time[2:4]}:{h.content_time[4:]}",
            "accession": h.accession}


def burned_text(h: dicomio.Header, patient: dict, fps: float, kind: str,
                style: layouts.Style | None = None) -> dict:
    """What the console burns into the image: identity lines as (text, identifier_type) in the
    style's formats (classic: on top), settings for the margin."""
    left, right = layouts.identity_lines(identity_values(h), style or layouts.Style())
    return {
        "left": left,
        "right": right,
        "margin": ["CF" if kind == "doppler" else "2D", f"{fps:.0f}Hz" if fps else "FRZ",
                   "G54"],
    }


def text_truth(rendered: render.Rendered) -> list[dict]:
    """One record per drawn text item: kind, identifier type, inclusive box, where it lies."""
    scr = rendered.screen
    fan = render.sector_mask(scr)
    rx0, ry0, rx1, ry1 = scr.region_box
    out = []
    for item in rendered.text_items:
        x0, y0, x1, y1 = item.box(scr.width, scr.height)
        if x1 < x0 or y1 < y0:
            continue
        inside_region = int(x0 <= rx1 and rx0 <= x1 and y0 <= ry1 and ry0 <= y1)
        out.append({"kind": item.kind, "identifier_type": item.identifier_type,
                    "x0": x0, "y0": y0, "x1": x1, "y1": y1, "inside_region": inside_region,
                    "inside_sector": int(fan[y0:y1 + 1, x0:x1 + 1].any()),
                    "font": next(k for k, v in layouts.FONTS.items() if v == item.font),
                    "text": item.text})
    return out


def heart_spec(video: dict, patient: dict, s: SimSettings, rng: np.random.Generator):
    """The planted findings of the patient, seen through this video's pose."""
    jit = float(s["pose_jitter"])
    pose = (float(rng.normal(0, 4.0)) * jit, 1.0 + float(rng.normal(0, 0.03)) * jit,
            float(rng.normal(0, 0.02)) * jit, float(rng.normal(0, 0.015)) * jit)
    grades = {k: patient[f"wm_{k:02d}"] for k in range(1, 18)}
    lge = {k for k in range(1, 18) if int(patient[f"lge_{k:02d}"])}
    tissue_z = {k: (float(patient[col]) - m) / sd for k, (col, m, sd) in TISSUE_NORMS.items()}
    return render.HeartSpec(
        view=video["view"], grades=grades, lge=lge, effects=dict(s.effects),
        motion_scale=float(patient["motion_scale"]), heart_scale=float(patient["heart_scale"]),
        gain=float(np.clip(1 + 0.08 * float(patient["echogenicity_z"]), 0.8, 1.2)),
        tissue_z=tissue_z, pose=pose)


def render_file(video: dict, patient: dict, study: dict, s: SimSettings) -> tuple[bytes, dict]:
    """Bytes of one file of the export plus what the truth table records about it."""
    rng = _video_rng(s.seed, video["video_index"])
    h = header_for(video, patient, study)
    kind, info = video["kind"], {"content_time": h.content_time}
    if kind == "sr":
        return dicomio.to_bytes(dicomio.sr_dataset(
            h, float(study["echo_lvef_pct"]), identity.STAFF[int(study["reader"])])), info
    if kind == "damaged" and video["damage"] != "truncated":
        return damage.damaged_bytes(video["damage"], None, rng), info
    layout = str(video.get("layout") or "classic")
    srng = _style_rng(s.seed, video["video_index"])
    style = layouts.draw_style(layout, srng)
    spec = heart_spec(video, patient, s, rng)
    still = kind == "still"
    fps = float(video["fps"]) if not still else 0.0
    n_frames = 1 if still else int(video["n_frames"])
    text = burned_text(h, patient, fps, kind, style)
    screen, items, bars = layouts.arrange(style, int(video["width"]), int(video["height"]),
                                          text["left"], text["right"], text["margin"])
    text.update(items=items, bars=bars)
    if layout == "sector_annotations":
        typed = layouts.annotation_texts(video["view"], identity_values(h), style, srng)
        text["annotations"] = layouts.place_annotations(screen, style, typed, srng)
    text["depth_cm"] = float(rng.choice([14.0, 15.0, 16.0, 18.0]))
    rendered = render.render_video(
        spec, screen, n_frames, fps if fps else 1.0, float(video["heart_rate_bpm"]),
        float(video["phase0"]), text, rng, doppler=kind == "doppler", still_calipers=still)
    ds = dicomio.cine_dataset(h, rendered, fps if fps else 1.0, float(video["heart_rate_bpm"]),
                              video["encoding"], int(s["jpeg_quality"]), kind == "doppler",
                              still)
    data = dicomio.to_bytes(ds)
    boxes = text_truth(rendered)
    info.update({"pose_angle_deg": round(spec.pose[0], 3), "pose_scale": round(spec.pose[1], 4),
                 "depth_cm": text["depth_cm"], "rows": screen.height, "columns": screen.width,
                 "layout": screen.layout, "text_boxes": boxes,
                 **dict(zip(("scan_x0", "scan_y0", "scan_x1", "scan_y1"), screen.tissue_box,
                            strict=True)),
                 "burned_text": [b["text"] for b in boxes if b["kind"] == "identifier"]})
    if kind == "damaged":
        data = damage.damaged_bytes("truncated", data, rng)
    return data, info


# ----------------------------------------------------------------------------- parallel driver

_CTX: dict = {}


def _init(patients: dict, studies: dict, s: SimSettings, dicom_dir: str) -> None:
    _CTX.update(patients=patients, studies=studies, s=s, dicom_dir=dicom_dir)


def _write_one(video: dict) -> dict:
    patient = _CTX["patients"][video["patient_index"]]
    study = _CTX["studies"][video["study_index"]]
    data, info = render_file(video, patient, study, _CTX["s"])
    path = Path(_CTX["dicom_dir"]) / video["rel_path"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    info.update(video_index=video["video_index"], file_bytes=len(data))
    return info


def write_dicom_tree(cohort: Cohort, s: SimSettings, dicom_dir: Path, workers: int = 1,
                     progress: bool = True) -> pd.DataFrame:
    """Render and write every file; returns per-file facts for the truth table."""
    patients = {r["patient_index"]: r for r in cohort.patients.to_dict("records")}
    studies = {r["study_index"]: r for r in cohort.studies.to_dict("records")}
    videos = cohort.videos.to_dict("records")
    # Largest first keeps the pool busy to the end.
    videos.sort(key=lambda v: -(v["n_frames"] or 0))
    dicom_dir.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(videos), desc="simulate files", mininterval=5, disable=not progress)
    results = []
    if workers <= 1:
        _init(patients, studies, s, str(dicom_dir))
        for v in videos:
            results.append(_write_one(v))
            bar.update()
    else:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=_init,
                      initargs=(patients, studies, s, str(dicom_dir))) as pool:
            for r in pool.imap_unordered(_write_one, videos, chunksize=2):
                results.append(r)
                bar.update()
    bar.close()
    return pd.DataFrame(results).sort_values("video_index").reset_index(drop=True)


def write_raw_tables(cohort: Cohort, raw_dir: Path, s: SimSettings) -> pd.DataFrame:
    """The CMR, clinical, echo-report and view-label exports; returns planted row defects."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    tables = {"cmr_reports": cmr_reports_table(cohort), "clinical": clinical_table(cohort),
              "echo_reports": echo_reports_table(cohort)}
    for name in tables:
        tables[name] = tables[name].astype(str).replace({"nan": ""})
    rng = np.random.default_rng(np.random.SeedSequence([s.seed, 6]))
    defects = damage.plant_table_defects(tables, int(s["table_defects"]), rng)
    for name, df in tables.items():
        df.to_csv(raw_dir / f"{name}.csv", index=False)
    view_labels_table(cohort).to_csv(raw_dir / "view_labels.csv", index=False)
    return pd.DataFrame(defects, columns=["table", "row_number", "column", "value", "defect",
                                          "mrn"])


def run_export(s: SimSettings, outdir: str | Path, secret: str, workers: int | None = None,
               progress: bool = True) -> Cohort:
    """Build the cohort, write raw/ (tables + DICOM tree) and truth/ under `outdir`."""
    outdir = Path(outdir)
    workers = workers or int(s["workers"]) or 1
    cohort = build_cohort(s)
    log.info("cohort: %d patients, %d CMRs, %d echo studies (%d within 30 days), %d files",
             len(cohort.patients), len(cohort.cmrs), len(cohort.studies),
             int(cohort.studies["paired"].sum()), len(cohort.videos))
    defects = write_raw_tables(cohort, outdir / "raw", s)
    facts = write_dicom_tree(cohort, s, outdir / "raw" / "dicom", workers, progress)
    truth.write_truth(cohort, facts, outdir / "truth", secret)
    quirks_truth(cohort, cohort.quirks, secret).to_csv(outdir / "truth" / "quirks.csv",
                                                       index=False)
    defects.to_csv(outdir / "truth" / "table_defects.csv", index=False)
    log.info("wrote %d files, %.1f MB", len(facts), facts["file_bytes"].sum() / 1e6)
    return cohort



def run_simulate(smk) -> None:
    """Script entry of `rule simulate`: write the synthetic raw export and its truth."""
    from echocmr.keys import load_secret

    with script_logging(smk) as log:
        settings = SimSettings.from_config(smk.params.settings, smk.params.seed)
        secret = load_secret(smk.params.secret["env"], smk.params.secret["file"],
                             synthetic=True)
        outdir = Path(smk.output.cmr_reports).parent.parent
        workers = int(settings["workers"]) or smk.threads
        log.info("simulate: seed %d, %d worker(s), out %s", settings.seed, workers, outdir)
        run_export(settings, outdir, secret, workers=workers)
