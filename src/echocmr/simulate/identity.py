"""Fictitious identifiers, drawn deterministically from the seed.

Every identifier here looks like what a real export carries (so de-identification and the PHI
audit are exercised for real), and every one is recorded by `truth` for the PHI tests.
"""

from __future__ import annotations

import numpy as np
from pydicom.uid import generate_uid

# pydicom's registered test root: UIDs below it are valid and never collide with real devices.
UID_ROOT = "1.2.826.0.1.3680043.8.498."

FEMALE_NAMES = [
    "MARIA", "LINDA", "SUSAN", "KAREN", "NANCY", "HELEN", "SANDRA", "DONNA", "CAROL", "RUTH",
    "SHARON", "LAURA", "SARAH", "KIMBERLY", "DEBORAH", "JESSICA", "ANGELA", "MELISSA", "BRENDA",
    "AMY", "ANNA", "REBECCA", "KATHLEEN", "PAMELA", "MARTHA", "AMANDA", "STEPHANIE", "JANET",
    "CAROLYN", "CHRISTINE", "MEI", "PRIYA", "YUKI", "FATIMA", "ROSA", "ESPERANZA", "AISHA",
]
MALE_NAMES = [
    "JAMES", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "RICHARD", "JOSEPH", "THOMAS", "CHARLES",
    "DANIEL", "MATTHEW", "ANTHONY", "DONALD", "MARK", "PAUL", "STEVEN", "ANDREW", "KENNETH",
    "JOSHUA", "KEVIN", "BRIAN", "GEORGE", "EDWARD", "RONALD", "TIMOTHY", "JASON", "JEFFREY",
    "RYAN", "JACOB", "GARY", "HIROSHI", "RAJESH", "WEI", "OMAR", "CARLOS", "JOSE", "KWAME",
]
SURNAMES = [
    "HOLLOWAY", "MARSDEN", "QUINTERO", "BRADSHAW", "CALLOWAY", "DELACROIX", "ETHERIDGE",
    "FAIRBANKS", "GALLAGHER", "HARGROVE", "IVERSON", "JANKOWSKI", "KERRIGAN", "LANCASTER",
    "MCALLISTER", "NAKAMURA", "OKONKWO", "PEMBERTON", "QUIGLEY", "RADCLIFFE", "SANTORO",
    "THORNBURY", "UNDERWOOD", "VASQUEZ", "WHITAKER", "YAMASHITA", "ZIMMERMAN", "ABERNATHY",
    "BLACKWOOD", "CHANDRASEKAR", "DUNLEAVY", "ELLSWORTH", "FONTAINE", "GREENHALGH", "HAWTHORNE",
    "IBARRA", "JOHANSSON", "KOWALCZYK", "LINDQVIST", "MORIARTY", "NWACHUKWU", "OYELARAN",
    "PRESCOTT", "RAMANATHAN", "SUTHERLAND", "TANAKA", "VILLANUEVA", "WAKEFIELD", "ZHANG",
]
STAFF = [
    "ROSENTHAL^MIRIAM^^^DR", "OKAFOR^CHIDI^^^DR", "BERGSTROM^ANDERS^^^DR", "PATEL^NIRALI^^^DR",
    "KOVACS^ILONA^^^DR", "FERREIRA^TIAGO^^^DR", "SHAPIRO^DANIEL^^^DR", "LIU^XIAOMEI^^^DR",
]
SONOGRAPHERS = ["MARTINEZ^ELENA", "OBRIEN^KATE", "NGUYEN^THANH", "ADEYEMI^TUNDE",
                "SCHULTZ^HANNA", "DIAZ^MARCO"]
INSTITUTIONS = [
    ("WESTBROOK HEART INSTITUTE", "WHI", "1200 Larkspur Avenue, Westbrook"),
    ("ST. AURELIA MEDICAL CENTER", "SAMC", "88 Harbor View Road, Port Aurelia"),
]
STATIONS = ["ECHO-LAB-03", "ECHO-LAB-07", "CVU-PORTABLE-2", "EPIQ-ECHO5"]
DEVICE_SERIALS = ["US7731942", "US7731977", "US8810433", "US8810468"]


def make_uid(seed: int, *parts: object) -> str:
    """Deterministic, valid DICOM UID for one entity (study, series, instance...)."""
    return generate_uid(prefix=UID_ROOT, entropy_srcs=[str(seed), *map(str, parts)])


# Share of patients whose (older, zero-padded) MRN starts with "00": a text reader that turns
# MRNs into numbers loses the zeros, a pixel de-identifier must still find "00123456".
ZERO_PADDED_MRN_SHARE = 0.15


def draw_mrns(rng: np.random.Generator, n: int,
              zero_rng: np.random.Generator | None = None) -> list[str]:
    """Unique 8-digit medical record numbers; with `zero_rng`, a share start with "00".

    `rng` is used exactly as before (so every later draw from it is unchanged); which MRNs are
    zero-padded and their digits come from `zero_rng` alone. "00dddddd" never equals an MRN
    drawn from 10,000,000-99,999,998, and the padded ones are drawn without replacement.
    """
    values = rng.choice(np.arange(10_000_000, 99_999_999), size=n, replace=False)
    mrns = [str(int(v)) for v in values]
    if zero_rng is not None and n:
        padded = np.flatnonzero(zero_rng.random(n) < ZERO_PADDED_MRN_SHARE)
        short = zero_rng.choice(np.arange(1, 1_000_000), size=len(padded), replace=False)
        for i, k in zip(padded, short, strict=True):
            mrns[int(i)] = f"00{int(k):06d}"
    return mrns


def draw_names(rng: np.random.Generator, sexes: list[str]) -> list[str]:
    """DICOM person names FAMILY^GIVEN^MIDDLE, unique within the cohort."""
    names, seen = [], set()
    for sex in sexes:
        pool = FEMALE_NAMES if sex == "F" else MALE_NAMES
        while True:
            name = (f"{SURNAMES[rng.integers(len(SURNAMES))]}^{pool[rng.integers(len(pool))]}"
                    f"^{chr(65 + int(rng.integers(26)))}")
            if name not in seen:
                seen.add(name)
                names.append(name)
                break
    return names


def draw_accessions(rng: np.random.Generator, n: int, years: list[int]) -> list[str]:
    """Unique accession numbers like `EC19-0412876` (year + running number)."""
    numbers = rng.choice(np.arange(100_000, 9_999_999), size=n, replace=False)
    return [f"EC{y % 100:02d}-{int(k):07d}" for y, k in zip(years, numbers, strict=True)]
