"""The cohort rules' file-level steps (read contract CSVs, call the library, write CSVs) and
their script entries: `run_<script>(snakemake)` (docs/ARCHITECTURE.md, "Rules and scripts")
passes the rule's inputs, params and outputs to a `write_*` function, so tests can run a rule's
whole logic without Snakemake and the Snakemake test exercises exactly the same code.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from echocmr.cohort import labels as labels_mod
from echocmr.cohort import pair as pair_mod
from echocmr.cohort import split as split_mod
from echocmr.cohort import table1 as table1_mod
from echocmr.cohort.validate import validate_files
from echocmr.logutil import script_logging
from echocmr.vocab.segments import VIEW_SEGMENTS

log = logging.getLogger("echocmr.cohort")
TABLES = ("cmr_reports", "clinical", "echo_reports")


def read_strings(path, columns=None) -> pd.DataFrame:
    """Contract CSV with text columns as strings and empty cells as missing."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=columns)
    return frame.replace("", pd.NA)


def read_table(path) -> pd.DataFrame:
    """A validated table (numbers typed, empty = missing); keys and dates stay strings."""
    text = {"patient_key": str, "cmr_key": str, "accession_key": str, "cmr_date": str,
            "study_date": str, "sex": str, "race": str}
    return pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])


def write_csv(frame: pd.DataFrame, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")


def label_options(cohort_config: dict) -> dict:
    """labels.cmr_labels keyword options from the `cohort:` config section."""
    return {
        "segments": cohort_config.get("segments") or VIEW_SEGMENTS,
        "thresholds": cohort_config.get("thresholds") or labels_mod.DEFAULT_THRESHOLDS,
        "segment_missing": cohort_config.get("segment_missing", "strict"),
    }


def write_valid_tables(tables: dict, schemas: dict, valid_out: dict, excluded_out) -> None:
    """tables/schemas/valid_out: {name: path} for each of TABLES."""
    valid, excluded = validate_files({name: (tables[name], schemas[name]) for name in TABLES})
    for name in TABLES:
        write_csv(valid[name], valid_out[name])
        log.info("%s: %d valid rows", name, len(valid[name]))
    write_csv(excluded, excluded_out)
    for (table, reason), n in excluded.groupby(["table", "reason"]).size().items():
        log.warning("%s: %d row(s) excluded: %s", table, n, reason)


def write_pairs(manifest, views, cmr_reports, window_days: int, pairs_out, qc_out, *,
                clinical=None, min_age: int | None = None) -> None:
    """Pairing, then (min_age set: cohort.min_age) the adults-only step, which needs the valid
    clinical table for studies whose DICOM header has no age."""
    manifest_df = read_strings(manifest, ["study_key", "study_date", "status", "age_years"])
    views_df = read_strings(views, ["video_key", "study_key", "patient_key", "view", "status"])
    studies = pair_mod.echo_studies(manifest_df, views_df)
    pairs, unpaired = pair_mod.pair_studies(studies, read_table(cmr_reports), window_days)
    qc = [pair_mod.pair_qc(studies, unpaired)]
    dropped = unpaired
    if min_age is not None:
        adults, too_young = pair_mod.exclude_minors(
            pairs, pair_mod.echo_ages(manifest_df), read_table(clinical), min_age)
        qc.append(pair_mod.age_qc(pairs, too_young))
        pairs, dropped = adults, pd.concat([unpaired, too_young], ignore_index=True)
    write_csv(pairs, pairs_out)
    write_csv(pd.concat(qc, ignore_index=True), qc_out)
    log.info("%d echo studies with a kept view, %d kept paired, %d dropped (%s)", len(studies),
             len(pairs), len(dropped),
             {str(k): int(v) for k, v in dropped["reason"].value_counts().items()})


def write_labels(pairs, cmr_reports, cohort_config: dict, labels_out) -> None:
    pairs_df = read_strings(pairs)
    pairs_df["interval_days"] = pairs_df["interval_days"].astype(int)
    labels = labels_mod.study_labels(pairs_df, read_table(cmr_reports),
                                     **label_options(cohort_config))
    write_csv(labels, labels_out)
    log.info("labels for %d studies; non-missing per task: %s", len(labels),
             {k: int(v) for k, v in labels[labels_mod.TASK_LABELS].notna().sum().items()})


def write_split(labels, pair_qc, cohort_config: dict, seed: int, split_out, study_split_out,
                qc_out) -> None:
    labels_df = pd.read_csv(labels, dtype={"study_key": str, "patient_key": str})
    options = cohort_config.get("split", {})
    if options.get("method") == "external":  # external validation: every study is a test study
        usable = labels_df[split_mod.has_any_label(labels_df)].sort_values("study_key")
        study_split = usable[["study_key", "patient_key"]].assign(split="test")
        study_split = study_split.reset_index(drop=True)
    else:
        study_split = split_mod.split_studies(
            labels_df,
            fractions=options.get("fractions", [0.8, 0.1, 0.1]),
            seed=seed,
            method=options.get("method", "patient_stratified"),
        )
    write_csv(split_mod.patient_split(study_split), split_out)
    write_csv(study_split, study_split_out)
    qc = pd.concat([pd.read_csv(pair_qc, keep_default_na=False),
                    split_mod.analysis_qc(labels_df, study_split)], ignore_index=True)
    write_csv(qc, qc_out)
    log.info("split (%s): %s studies", options.get("method", "patient_stratified"),
             {str(k): int(v) for k, v in study_split["split"].value_counts().items()})


def write_table1(study_split, pairs, cmr_reports, clinical, echo_reports, manifest, views,
                 cohort_config: dict, csv_out, md_out, html_out) -> None:
    options = label_options(cohort_config)
    table = table1_mod.build_table1(
        study_split=read_strings(study_split),
        pairs=read_strings(pairs).astype({"interval_days": int}),
        cmr=read_table(cmr_reports),
        clinical=read_table(clinical),
        echo_reports=read_table(echo_reports),
        manifest=read_strings(manifest, ["study_key", "accession_key", "status"]),
        views=read_strings(views, ["study_key", "view", "status"]),
        thresholds=options["thresholds"],
        segments=options["segments"],
        segment_missing=options["segment_missing"],
    )
    write_csv(table, csv_out)
    Path(md_out).write_text(table1_mod.to_markdown(table))
    Path(html_out).write_text(table1_mod.to_html(table))



def run_validate_tables(smk) -> None:
    """Script entry of `rule validate_tables`: check the de-identified tables against
    workflow/schemas/*.yaml."""
    with script_logging(smk):
        write_valid_tables(
            tables={name: smk.input[name] for name in TABLES},
            schemas={name: smk.input[f"{name}_schema"] for name in TABLES},
            valid_out={name: smk.output[name] for name in TABLES},
            excluded_out=smk.output.excluded,
        )


def run_pair(smk) -> None:
    """Script entry of `rule pair`: each echo study with a kept analysis view -> nearest CMR
    within the window; then adults only (cohort.min_age)."""
    with script_logging(smk):
        write_pairs(
            manifest=smk.input.manifest,
            views=smk.input.views,
            cmr_reports=smk.input.cmr_reports,
            window_days=smk.params.window_days,
            pairs_out=smk.output.pairs,
            qc_out=smk.output.qc,
            clinical=smk.input.clinical,
            min_age=smk.params.min_age,
        )


def run_labels(smk) -> None:
    """Script entry of `rule labels`: per-view and global CMR labels of each paired echo
    study."""
    with script_logging(smk):
        write_labels(
            pairs=smk.input.pairs,
            cmr_reports=smk.input.cmr_reports,
            cohort_config=smk.params.cohort,
            labels_out=smk.output.labels,
        )


def run_split(smk) -> None:
    """Script entry of `rule split`: train/val/test assignment (patient level by default) and
    the cohort QC steps."""
    with script_logging(smk):
        write_split(
            labels=smk.input.labels,
            pair_qc=smk.input.pair_qc,
            cohort_config={"split": smk.params.split},
            seed=smk.params.seed,
            split_out=smk.output.split,
            study_split_out=smk.output.study_split,
            qc_out=smk.output.qc,
        )


def run_table1(smk) -> None:
    """Script entry of `rule table1`: the paper's Table 1 as CSV, markdown and HTML."""
    with script_logging(smk):
        write_table1(
            study_split=smk.input.study_split,
            pairs=smk.input.pairs,
            cmr_reports=smk.input.cmr_reports,
            clinical=smk.input.clinical,
            echo_reports=smk.input.echo_reports,
            manifest=smk.input.manifest,
            views=smk.input.views,
            cohort_config=smk.params.cohort,
            csv_out=smk.output.csv,
            md_out=smk.output.md,
            html_out=smk.output.html,
        )
