"""Site quirks (`simulate.quirks`): what a real pilot export holds that a clean cohort lacks.

Each quirk is a count (0 = off, the default) and is planted after the clean cohort is drawn,
from its own random stream, so switching one on changes no other draw:

- `children`: patients younger than 18 at their CMR and echo (`cohort.min_age` drops them);
- `multi_accession`: studies whose AccessionNumber holds two values (DICOM VM 2, `A\\B`); the echo
  report lists the first, so the study joins on either value;
- `identity_conflict`: studies of which one file carries another patient's PatientID (one
  StudyInstanceUID under two PatientIDs: ingest excludes the whole study as `identity_conflict`);
- `partial_grading`: CMRs whose report grades wall motion for some segments only (the segments
  of one view left blank; `cohort.segment_missing` decides what the view's label is then);
- `placeholder_headers`: studies whose files carry placeholders in the institution, department,
  station and physician fields (`DEFAULT`, `UNKNOWN`, `ANONYMOUS`, `Radiology`, ...), as real
  consoles write them: they identify no one and must not stop the PHI audit.

Every planted quirk is one row of `truth/quirks.csv` (`quirk, patient_key, study_key,
video_key, detail`; keys as ingest derives them, no identifier).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from echocmr import keys
from echocmr.vocab.segments import VIEW_SEGMENTS

QUIRKS = ("children", "multi_accession", "identity_conflict", "partial_grading",
          "placeholder_headers")
QUIRK_COLUMNS = ["quirk", "patient_key", "study_key", "video_key", "detail"]
CHILD_AGES = (6, 17)  # whole years at the first CMR
ACCESSION_SEPARATOR = "\\"  # DICOM's value separator


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 8]))


def _pick(rng, candidates, n: int) -> list:
    """Up to n of the candidates, drawn without replacement (a tiny cohort may have fewer)."""
    candidates = list(candidates)
    n = min(int(n), len(candidates))
    return [candidates[i] for i in sorted(rng.choice(len(candidates), size=n, replace=False))]


def make_children(rng, patients: pd.DataFrame, n: int) -> list[int]:
    """Redraw age (and birth date) of n patients as 6-17 years at the first CMR."""
    chosen = _pick(rng, patients.index, n)
    for i in chosen:
        age = int(rng.integers(CHILD_AGES[0], CHILD_AGES[1] + 1))
        patients.loc[i, "age_years"] = float(age)
        days = int(round(age * 365.25)) + int(rng.integers(0, 365))
        patients.at[i, "birth_date"] = patients.loc[i, "first_cmr_date"] - dt.timedelta(days=days)
    return [int(patients.loc[i, "patient_index"]) for i in chosen]


def add_second_accession(rng, studies: pd.DataFrame, n: int) -> list[int]:
    """Give n studies a second accession value (`EC..\\EC..`); returns their study_index."""
    chosen = _pick(rng, studies.index, n)
    for i in chosen:
        first = studies.loc[i, "accession_number"]
        studies.loc[i, "accession_number"] = f"{first}{ACCESSION_SEPARATOR}{first}-2"
    return [int(studies.loc[i, "study_index"]) for i in chosen]


def file_under_other_patient(rng, videos: pd.DataFrame, patients: pd.DataFrame,
                             n: int) -> list[int]:
    """For n studies (of cohorts with two patients or more), write one file's PatientID as
    another patient's MRN (`header_mrn`); returns the video_index of those files."""
    if n <= 0 or len(patients) < 2:  # off: the file plan stays as it was
        return []
    videos["header_mrn"] = videos["mrn"]
    readable = videos[videos["damage"] == ""]
    chosen = _pick(rng, sorted(readable["study_index"].unique()), n)
    out = []
    for study in chosen:
        files = readable[readable["study_index"] == study]
        row = files.index[int(rng.integers(len(files)))]
        others = patients.loc[patients["mrn"] != videos.loc[row, "mrn"], "mrn"].tolist()
        videos.loc[row, "header_mrn"] = others[int(rng.integers(len(others)))]
        out.append(int(videos.loc[row, "video_index"]))
    return out


# Header fields a console fills with placeholders, as each of these studies has them.
PLACEHOLDER_DEPARTMENTS = ("DEFAULT", "Cardiology", "Echo Lab", "Radiology")
PLACEHOLDER_FIELDS = {"institution": "UNKNOWN", "station": "UNKNOWN", "referring": "ANONYMOUS",
                      "performing": "DEFAULT^PHYSICIAN", "operator": "NONE"}


def use_placeholder_headers(rng, studies: pd.DataFrame, n: int) -> list[int]:
    """Give n studies placeholder headers: `placeholder_department` names the department the
    export writes (`header_for` fills the other fields); returns their study_index."""
    if n <= 0:
        return []
    studies["placeholder_department"] = ""
    chosen = _pick(rng, studies.index, n)
    for k, i in enumerate(chosen):
        studies.loc[i, "placeholder_department"] = \
            PLACEHOLDER_DEPARTMENTS[k % len(PLACEHOLDER_DEPARTMENTS)]
    return [int(studies.loc[i, "study_index"]) for i in chosen]


def leave_segments_ungraded(rng, cmrs: pd.DataFrame, n: int,
                            prefer: set[int] | None = None) -> list[tuple[int, str]]:
    """Blank the wall-motion grades of one view's segments in n graded CMR reports
    (`wm_ungraded`, `;`-joined segment numbers), of `prefer`red patients while there are
    enough (so the quirk reaches the labels of a tiny cohort); returns (cmr row, view)."""
    if n <= 0:
        return []
    cmrs["wm_ungraded"] = ""
    graded = cmrs.index[cmrs["has_wm"]]
    preferred = [i for i in graded if int(cmrs.loc[i, "patient_index"]) in (prefer or set())]
    chosen = _pick(rng, preferred if len(preferred) >= n else graded, n)
    out = []
    for i in chosen:
        view = str(rng.choice(sorted(VIEW_SEGMENTS)))
        cmrs.loc[i, "wm_ungraded"] = ";".join(str(s) for s in VIEW_SEGMENTS[view])
        out.append((int(i), view))
    return out


def plant_quirks(cohort, settings: dict, seed: int) -> dict:
    """Plant the configured quirks into the cohort's tables in place; returns what was planted
    ({quirk: list}) for `quirks_truth`."""
    rng = _rng(seed)
    n = {q: int(settings.get(q, 0)) for q in QUIRKS}
    planted = {
        "children": make_children(rng, cohort.patients, n["children"]),
        "multi_accession": add_second_accession(rng, cohort.studies, n["multi_accession"]),
        "identity_conflict": file_under_other_patient(rng, cohort.videos, cohort.patients,
                                                      n["identity_conflict"]),
    }
    # adults with a study within the pairing window: where partial grades reach the labels
    paired = set(cohort.studies.loc[cohort.studies["paired"], "patient_index"])
    planted["partial_grading"] = leave_segments_ungraded(
        rng, cohort.cmrs, n["partial_grading"], paired - set(planted["children"]))
    planted["placeholder_headers"] = use_placeholder_headers(rng, cohort.studies,
                                                             n["placeholder_headers"])
    if planted["multi_accession"]:  # the file plan carries its study's accession too
        by_study = cohort.studies.set_index("study_index")["accession_number"]
        cohort.videos["accession_number"] = cohort.videos["study_index"].map(by_study)
    return planted


def quirks_truth(cohort, planted: dict, secret: str) -> pd.DataFrame:
    """truth/quirks.csv: one row per planted quirk, by pseudonymous key only."""
    def patient_key(mrn):
        return keys.pseudonym(secret, "patient", mrn)

    p = cohort.patients.set_index("patient_index")
    st = cohort.studies.set_index("study_index")
    v = cohort.videos.set_index("video_index")
    rows = []
    for index in planted.get("children", []):
        rows.append(("children", patient_key(p.loc[index, "mrn"]), "", "",
                     f"age {int(p.loc[index, 'age_years'])} at the first CMR"))
    for index in planted.get("multi_accession", []):
        rows.append(("multi_accession", patient_key(st.loc[index, "mrn"]),
                     keys.pseudonym(secret, "study", st.loc[index, "study_uid"]), "",
                     "AccessionNumber with 2 values"))
    for index in planted.get("identity_conflict", []):
        study = v.loc[index, "study_index"]
        rows.append(("identity_conflict", patient_key(v.loc[index, "mrn"]),
                     keys.pseudonym(secret, "study", st.loc[study, "study_uid"]),
                     keys.pseudonym(secret, "video", v.loc[index, "sop_instance_uid"]),
                     "one file's PatientID is another patient's"))
    for row, view in planted.get("partial_grading", []):
        rows.append(("partial_grading", patient_key(cohort.cmrs.loc[row, "mrn"]), "", "",
                     f"wall motion of the {view} segments not graded"))
    for index in planted.get("placeholder_headers", []):
        rows.append(("placeholder_headers", patient_key(st.loc[index, "mrn"]),
                     keys.pseudonym(secret, "study", st.loc[index, "study_uid"]), "",
                     f"department {st.loc[index, 'placeholder_department']}, institution "
                     "and station UNKNOWN, physicians ANONYMOUS / DEFAULT^PHYSICIAN / NONE"))
    return pd.DataFrame(rows, columns=QUIRK_COLUMNS)
