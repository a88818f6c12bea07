"""Truth kept apart from the raw export: planted parameters and every planted identifier.

Never read by the workflow except by tests and the replication check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from echocmr import keys
from echocmr.simulate import identity, layouts
from echocmr.simulate.cohort import Cohort, view_wma
from echocmr.simulate.dicomio import TRANSFER_SYNTAX
from echocmr.simulate.quirks import ACCESSION_SEPARATOR
from echocmr.vocab.segments import VIEW_SEGMENTS
from echocmr.vocab.views import ANALYSIS_VIEWS


def view_lge(row, view: str) -> int:
    return int(any(int(row[f"lge_{s:02d}"]) for s in VIEW_SEGMENTS.get(view, [])))


def patients_truth(cohort: Cohort, secret: str) -> pd.DataFrame:
    p = cohort.patients.copy()
    p.insert(1, "patient_key", [keys.pseudonym(secret, "patient", m) for m in p["mrn"]])
    for view in ANALYSIS_VIEWS:
        p[f"wma_{view.lower()}"] = [view_wma(r, view) for _, r in p.iterrows()]
        p[f"lge_{view.lower()}"] = [view_lge(r, view) for _, r in p.iterrows()]
    wm_cols = [f"wm_{s:02d}" for s in range(1, 18)]
    lge_cols = [f"lge_{s:02d}" for s in range(1, 18)]
    p["wma_global"] = (p[wm_cols] != "normal").any(axis=1).astype(int)
    p["lge_global"] = p[lge_cols].astype(int).any(axis=1).astype(int)
    p["birth_date"] = [f"{d:%Y-%m-%d}" for d in p["birth_date"]]
    p["first_cmr_date"] = [f"{d:%Y-%m-%d}" for d in p["first_cmr_date"]]
    return p


def studies_truth(cohort: Cohort, secret: str) -> pd.DataFrame:
    st = cohort.studies.copy()
    st.insert(0, "study_key", [keys.pseudonym(secret, "study", u) for u in st["study_uid"]])
    st.insert(1, "patient_key", [keys.pseudonym(secret, "patient", m) for m in st["mrn"]])
    # one key per value of a multi-valued accession, `;`-joined, as ingest writes it
    st["accession_key"] = [";".join(keys.pseudonym(secret, "accession", v)
                                    for v in a.split(ACCESSION_SEPARATOR))
                           for a in st["accession_number"]]
    st["study_date"] = [f"{d:%Y-%m-%d}" for d in st["study_date"]]
    return st


def videos_truth(cohort: Cohort, facts: pd.DataFrame, secret: str) -> pd.DataFrame:
    v = cohort.videos.drop(columns=["layout"], errors="ignore").merge(
        facts.drop(columns=["burned_text", "content_time", "text_boxes"], errors="ignore"),
        on="video_index", how="left")
    pat = cohort.patients.set_index("patient_index")
    out = pd.DataFrame({
        "relative_path": v["rel_path"],
        "sop_instance_uid": v["sop_instance_uid"],
        "video_key": [keys.pseudonym(secret, "video", u) for u in v["sop_instance_uid"]],
        "file_key": [keys.pseudonym(secret, "file", p) for p in v["rel_path"]],
        "patient_key": [keys.pseudonym(secret, "patient", m) for m in v["mrn"]],
        "study_key": [keys.pseudonym(secret, "study", u) for u in
                      cohort.studies.set_index("study_index").loc[v["study_index"],
                                                                  "study_uid"]],
        "view": v["view"], "kind": v["kind"], "damage": v["damage"], "encoding": v["encoding"],
        "transfer_syntax": [TRANSFER_SYNTAX[e] if k != "damaged" or d == "truncated" else ""
                            for e, k, d in zip(v["encoding"], v["kind"], v["damage"],
                                               strict=True)],
        "n_frames": v["n_frames"], "fps": v["fps"], "heart_rate_bpm": v["heart_rate_bpm"],
        "phase0": v["phase0"], "labelled": v["labelled"].astype(int),
        # The screen layout drawn ("" for files without pixels: SR, empty, not DICOM).
        "layout": v["layout"].fillna("") if "layout" in v else "",
    })
    scan = ("scan_x0", "scan_y0", "scan_x1", "scan_y1")
    for col in ("rows", "columns", "depth_cm", "pose_angle_deg", "pose_scale", "file_bytes",
                *scan):
        out[col] = v[col] if col in v else None
    for col in ("rows", "columns", "file_bytes", *scan):
        out[col] = pd.to_numeric(out[col]).astype("Int64")
    # Planted per-view labels of the patient (the ground truth the models should recover).
    for view in ANALYSIS_VIEWS:
        lv = view.lower()
        out[f"wma_{lv}"] = [view_wma(pat.loc[i], view) for i in v["patient_index"]]
    out["wma_view"] = [view_wma(pat.loc[i], vw) if vw in VIEW_SEGMENTS else ""
                       for i, vw in zip(v["patient_index"], v["view"], strict=True)]
    out["lge_view"] = [view_lge(pat.loc[i], vw) if vw in VIEW_SEGMENTS else ""
                       for i, vw in zip(v["patient_index"], v["view"], strict=True)]
    return out


BURNED_TEXT_COLUMNS = ["video_key", "layout", "kind", "identifier_type", "x0", "y0", "x1",
                       "y1", "inside_region", "inside_sector", "font"]


def burned_text_truth(cohort: Cohort, facts: pd.DataFrame, secret: str) -> pd.DataFrame:
    """One row per text item drawn into a file's pixels: what it is and its inclusive box.

    Never the text itself (identifier values stay in identifiers.json only).
    """
    uid = cohort.videos.set_index("video_index")["sop_instance_uid"]
    rows = []
    if "text_boxes" in facts:
        for f in facts.itertuples(index=False):
            boxes = f.text_boxes if isinstance(f.text_boxes, list) else []
            key = keys.pseudonym(secret, "video", uid[f.video_index]) if boxes else ""
            for b in boxes:
                rows.append({"video_key": key, "layout": f.layout,
                             **{c: b[c] for c in BURNED_TEXT_COLUMNS[2:]}})
    return pd.DataFrame(rows, columns=BURNED_TEXT_COLUMNS)


def _date_forms(yyyymmdd: list[str], prefix: str) -> dict[str, list[str]]:
    """The burned-in display forms of dates (see layouts.DATE_FORMATS)."""
    names = {"MM/DD/YYYY": "mdy", "DD.MM.YYYY": "dmy", "DD-Mon-YYYY": "dmon"}
    return {f"{prefix}_{short}": sorted({layouts.format_date(d, fmt) for d in yyyymmdd})
            for fmt, short in names.items()}


def identifiers(cohort: Cohort, facts: pd.DataFrame) -> dict[str, list[str]]:
    """Every identifier string planted anywhere in the raw export, by type."""
    p, st, v = cohort.patients, cohort.studies, cohort.videos
    names = sorted(set(p["patient_name"]))
    burned_names = sorted({f"{n.split('^')[0]}, {n.split('^')[1]}" for n in names})
    dates = sorted({f"{d:%Y%m%d}" for d in st["study_date"]}
                   | {f"{d:%Y%m%d}" for d in cohort.cmrs["cmr_date"]})
    births = sorted({f"{d:%Y%m%d}" for d in p["birth_date"]})
    return {
        "patient_names": names,
        "patient_names_burned": burned_names,
        # Burned-in name forms of the layouts (LAST^FIRST, First Last) and the family name
        # alone (typed into the sector).
        "patient_names_caret": sorted({layouts.format_name(n, "LAST^FIRST") for n in names}),
        "patient_names_first_last": sorted({layouts.format_name(n, "First Last")
                                            for n in names}),
        "patient_family_names": sorted({n.split("^")[0] for n in names}),
        **_date_forms(births, "birth_dates"),
        **_date_forms(dates, "dates"),
        "mrns": sorted(p["mrn"]),
        "birth_dates": births,
        "birth_dates_iso": sorted(f"{b[:4]}-{b[4:6]}-{b[6:]}" for b in births),
        "accession_numbers": sorted({v for a in st["accession_number"]
                                     for v in a.split(ACCESSION_SEPARATOR)}),
        "institutions": sorted({i[0] for i in identity.INSTITUTIONS}),
        "institution_short_names": sorted({i[1] for i in identity.INSTITUTIONS}),
        "institution_addresses": sorted({i[2] for i in identity.INSTITUTIONS}),
        "physicians": sorted(set(identity.STAFF)),
        "operators": sorted(set(identity.SONOGRAPHERS)),
        "stations": sorted(set(identity.STATIONS)),
        "device_serials": sorted(set(identity.DEVICE_SERIALS)),
        "study_uids": sorted(st["study_uid"]),
        "series_uids": sorted(set(v["series_instance_uid"])),
        "sop_instance_uids": sorted(v["sop_instance_uid"]),
        "dates": dates,
        "dates_iso": sorted(f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in dates),
        "study_times": sorted(set(st["study_time"])),
        "content_times": sorted(set(facts.get("content_time", pd.Series(dtype=str)).dropna())),
        "burned_in_text": sorted({line for lines in facts.get("burned_text", pd.Series())
                                  .dropna() for line in lines}),
        "study_ids": sorted({str(1000 + int(i)) for i in st["study_index"]}),
    }


def write_truth(cohort: Cohort, facts: pd.DataFrame, truth_dir: Path, secret: str) -> None:
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    patients_truth(cohort, secret).to_csv(truth_dir / "patients.csv", index=False)
    studies_truth(cohort, secret).to_csv(truth_dir / "studies.csv", index=False)
    cmrs = cohort.cmrs.copy()
    cmrs["cmr_date"] = [f"{d:%Y-%m-%d}" for d in cmrs["cmr_date"]]
    # Same key derivation as ingest (MRN | ISO date), so truth joins de-identified tables.
    cmrs.insert(0, "cmr_key", [keys.pseudonym(secret, "cmr", f"{m}|{d}")
                               for m, d in zip(cmrs["mrn"], cmrs["cmr_date"], strict=True)])
    cmrs.insert(1, "patient_key", [keys.pseudonym(secret, "patient", m) for m in cmrs["mrn"]])
    cmrs.to_csv(truth_dir / "cmrs.csv", index=False)
    videos_truth(cohort, facts, secret).to_csv(truth_dir / "videos.csv", index=False)
    burned_text_truth(cohort, facts, secret).to_csv(truth_dir / "burned_text.csv", index=False)
    with open(truth_dir / "identifiers.json", "w") as fh:
        json.dump(identifiers(cohort, facts), fh, indent=1, sort_keys=True)
        fh.write("\n")
