"""Benchmark: pixel de-identification scored against the simulator's truth boxes (issue 11).

One synthetic export with every vendor layout (the demo settings, `simulate.layouts`), then, on
the same files and the same machine, side by side:

  before   the workflow as it was before issue 11 (commit BEFORE, a git worktree): header
           regions only, JPEG decoded and re-encoded at quality 95
  strokes  the stroke rules alone (commit STROKES, before the learned text detector, a git
           worktree): header regions x pixel sector - OCR-checked stroke lines
  after    this checkout: header regions x pixel sector - boxes of the learned text detector
           - OCR-checked stroke lines, JPEG blanked in the DCT domain
           (`ingest.jpeg_blanking: lossless`)
  reencode this checkout with `ingest.jpeg_blanking: reencode`

Each runs `snakemake results/deid/[shards-<n>/]shard-*.csv` (site mode on the export,
--cores 2: the two shards in parallel) and is timed; `after` is also timed for the pixel audit
(`audit.pixels.scan_pixels` on results/deid in two processes, as the audit rule runs with
--cores 2: the audit's new cost).

Scored, MIDI-B style, against truth/burned_text.csv (never by the same OCR): a planted
identifier is *kept* in the shareable set when its video was written and more than 25% of the
pixels of its truth box are still non-black (> 30) in some frame. Also: cines excluded as
burned_in_text_unresolved; the share of the tissue area blanked by text removal as the shard
table reports it (`text_share`, the text's own boxes included); and, for this checkout, the
share of the scan sector blanked *outside* every drawn text box of the truth file (identifiers
and annotations, 2 px margin): tissue lost to text removal, median, p99 and worst over cines.

The synthetic export is drawn from a held-out seed (`HELDOUT_SEED`), not the config's seed
whose export the stroke rules' thresholds were tuned on; `--seed config` scores the tuning
export as earlier runs did.

Adversarial section (`deid_redteam.py`, its own held-out seed): identifiers this project never
drew (DejaVu fonts, GE-like corner blocks, coloured blocks, bottom bars, text over moving tissue,
on part of the cine, touching the sector edge, YBR and RGB) on real SonoSite cines and moving
tissue, de-identified by the real `deidentify_file`. An identifier is kept when any glyph of it
survives with contrast or Tesseract / PP-OCR reads any token of it; also files refused, files
written BurnedInAnnotation=NO with text left, and tissue lost outside the truth boxes on the bed
and on the real pydicom-data cardiac cines.

Cost section (`--only ratio`): one held-out export de-identified `--rounds` times by `before`
and by this checkout (then its pixel audit), alternating which goes first (A B, B A, ...): the
ratio's median and range over rounds, wall and CPU, instead of one run's.

    .venv/bin/python benchmarks/bench_deid.py [--patients 140] [--seed config|N] [--no-reencode]
    .venv/bin/python benchmarks/bench_deid.py --only adversarial [--per-family 6]
    .venv/bin/python benchmarks/bench_deid.py --only ratio --patients 40 [--rounds 3]

Writes benchmarks/results/deid.json and benchmarks/results/deid.md (`--only X` keeps the other
sections of the last run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import (  # noqa: E402
    children_cpu,
    commit_of,
    machine_info,
    machine_line,
    save_results,
    self_cpu,
)

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "0d2a1d9"  # last commit before issue 11's pixel de-identification
STROKES = "35553a0"  # last commit before the learned text detector
SECRET = "bench-deid-secret-9c1f4e7a2b8d6053"  # >= 128 bits: weaker ones are refused
KEPT_SHARE, LEVEL = 0.25, 30
HELDOUT_SEED = 31_4159  # never used to set a threshold (the config's seed, 20240601, was)
PER_FAMILY = 6


def make_export(workdir: Path, patients: int, seed: int) -> Path:
    sys.path.insert(0, str(ROOT / "src"))
    from echocmr.simulate.export import run_export
    from echocmr.simulate.settings import SimSettings

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    section = dict(config["simulate"], n_patients=patients)
    out = workdir / "synthetic"
    run_export(SimSettings.from_config(section, seed), out, SECRET, progress=False)
    return out


def site_config(export: Path, blanking: str | None) -> dict:
    raw = export / "raw"
    cfg = {"input": {"mode": "site", "dicom_dir": str(raw / "dicom"),
                     "cmr_reports": str(raw / "cmr_reports.csv"),
                     "clinical": str(raw / "clinical.csv"),
                     "echo_reports": str(raw / "echo_reports.csv"),
                     "view_labels": str(raw / "view_labels.csv")},
           "views": {"backend": "labels"}}
    if blanking:
        cfg["ingest"] = {"jpeg_blanking": blanking}
    return cfg


def deid_dir(code: Path, shards: int) -> str:
    """Where `code` writes its shard tables: keyed by the shard count since issue 12."""
    keyed = "def shard_layout" in (code / "src" / "echocmr" / "ingest" / "paths.py").read_text()
    return f"results/deid/shards-{shards}" if keyed else "results/deid"


def run_deid(code: Path, workdir: Path, cfg: dict) -> float:
    """snakemake the de-identification shard tables in `workdir` with the workflow at `code`:
    wall seconds."""
    return run_deid_timed(code, workdir, cfg)[0]




def run_deid_timed(code: Path, workdir: Path, cfg: dict) -> tuple[float, float]:
    """(wall s, CPU s of the jobs) of the de-identification shard tables with `code`."""
    workdir.mkdir(parents=True)
    (workdir / "bench.yaml").write_text(yaml.safe_dump(cfg))
    shards = int(yaml.safe_load((code / "config" / "config.yaml").read_text())
                 ["ingest"]["shards"])
    targets = [f"{deid_dir(code, shards)}/shard-{s}.csv" for s in range(shards)]
    env = dict(os.environ, ECHOCMR_SECRET=SECRET, PYTHONPATH=str(code / "src"))
    # the snakemake of the venv running this script
    base = [str(Path(sys.executable).parent / "snakemake"), "-s", str(code / "Snakefile"),
            "--directory", str(workdir), "--cores", "2"]
    opts = ["--configfile", str(workdir / "bench.yaml"), "--quiet", "all"]
    # the inventory is not what is compared: build it first, untimed
    _run(base + ["results/ingest/manifest.csv"] + opts, env)
    start, cpu = time.perf_counter(), children_cpu()
    _run(base + targets + opts, env)
    return time.perf_counter() - start, children_cpu() - cpu


def _run(cmd: list[str], env: dict) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")


def deid_tables(workdir: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, keep_default_na=False)
                      for p in sorted((workdir / "results" / "deid").rglob("shard-*.csv"))])


def kept_identifiers(workdir: Path, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per planted identifier: was its video written, and is its box still visible."""
    files = {p.stem: p for p in (workdir / "results" / "deid").glob("**/shard-*/*/*/*.dcm")}
    rows = []
    for key, boxes in truth.groupby("video_key"):
        path = files.get(key)
        if path is None:
            rows += [dict(video_key=key, layout=b.layout, identifier_type=b.identifier_type,
                          written=False, kept=False) for b in boxes.itertuples()]
            continue
        arr = pydicom.dcmread(path).pixel_array
        peak = (arr.max(axis=-1) if arr.ndim == 4 else arr).max(axis=0)
        for b in boxes.itertuples():
            box = peak[b.y0:b.y1 + 1, b.x0:b.x1 + 1]
            rows.append(dict(video_key=key, layout=b.layout, identifier_type=b.identifier_type,
                             written=True, kept=bool((box > LEVEL).mean() > KEPT_SHARE)))
    return pd.DataFrame(rows)


def tissue_blanked(export: Path, truth_all: pd.DataFrame) -> pd.Series:
    """Per moving or frozen cine: share of its kept sector that text removal blanked outside
    every truth text box (this checkout's `keep_mask`, the function de-identification uses)."""
    sys.path.insert(0, str(ROOT / "src"))
    from echocmr.deid import pixels as dp

    videos = pd.read_csv(export / "truth" / "videos.csv", keep_default_na=False)
    drawn = dict(tuple(truth_all.groupby("video_key")))
    shares = {}
    for video in videos.itertuples():
        path = export / "raw" / "dicom" / video.relative_path
        try:
            ds = pydicom.dcmread(path)
            area = dp.keep_mask(ds, path, dp.plan_pixels(ds))
        except Exception:  # damaged, no pixels, unsupported: not a cine to score
            continue
        if not area.sector.any():
            continue
        text = np.zeros(area.sector.shape, bool)
        for b in drawn.get(video.video_key, pd.DataFrame()).itertuples():
            text[max(0, b.y0 - 2):b.y1 + 3, max(0, b.x0 - 2):b.x1 + 3] = True
        lost = area.sector & ~area.mask & ~text  # all text removal took: strokes and learned
        shares[video.video_key] = lost.sum() / area.sector.sum()
    return pd.Series(shares, dtype=float)


def pixel_audit_timed(workdir: Path, export: Path) -> tuple[float, float, int]:
    """(wall s, CPU s of this process and its workers, hits) of the audit's pixel scan."""
    sys.path.insert(0, str(ROOT / "src"))
    from echocmr.audit.files import build_catalogue
    from echocmr.audit.pixels import scan_pixels

    raw = export / "raw"
    tables = {n: raw / f"{n}.csv" for n in ("cmr_reports", "clinical", "echo_reports",
                                            "view_labels")}
    cat = build_catalogue(raw / "dicom", tables, SECRET)
    start, cpu = time.perf_counter(), self_cpu() + children_cpu()
    # two processes, as the audit rule reads with --cores 2 (the shards above ran two at once)
    hits, _ = scan_pixels(cat, workdir / "results" / "deid", ocr_sample=0.05, seed=1, workers=2)
    return time.perf_counter() - start, self_cpu() + children_cpu() - cpu, len(hits)


def summarise(name: str, seconds: float, workdir: Path, truth: pd.DataFrame) -> dict:
    table = deid_tables(workdir)
    kept = kept_identifiers(workdir, truth)
    out = {"variant": name, "deid_s": round(seconds, 1), "cines": len(table),
           "included": int((table["status"] == "included").sum()),
           "unresolved": int((table["reason"] == "burned_in_text_unresolved").sum()),
           "identifiers": len(kept), "identifiers_kept": int(kept["kept"].sum()),
           "cines_with_kept_identifier": int(kept.loc[kept["kept"], "video_key"].nunique()),
           "kept_by_layout": kept[kept["kept"]].groupby("layout").size().to_dict()}
    if "text_share" in table:
        share = pd.to_numeric(table["text_share"], errors="coerce").dropna()
        out.update(text_share_median=round(float(share.median()), 5),
                   text_share_worst=round(float(share.max()), 5),
                   text_share_p99=round(float(share.quantile(0.99)), 5))
    return out


def markdown(results: list[dict], audit: dict, n_cines: int, layouts: dict) -> str:
    lines = [f"Demo export with every vendor layout ({n_cines} paths); files by layout: "
             + ", ".join(f"{k} {v}" for k, v in layouts.items()) + ".", "",
             "| variant | de-identification wall s (2 shards, --cores 2) | included | "
             "unresolved | planted identifiers kept / planted (cines) | text removal: "
             "median / p99 / worst share of tissue |",
             "|---|---|---|---|---|---|"]
    for r in results:
        share = (f"{r['text_share_median']:.2%} / {r['text_share_p99']:.2%} / "
                 f"{r['text_share_worst']:.2%}" if "text_share_median" in r else "-")
        lines.append(f"| {r['variant']} | {r['deid_s']} | {r['included']} | {r['unresolved']} "
                     f"| {r['identifiers_kept']} / {r['identifiers']} "
                     f"({r['cines_with_kept_identifier']} cines) | {share} |")
    t = audit["tissue"]
    lines += ["", f"Tissue blanked by text removal outside every drawn text box (this checkout, "
              f"{t['cines']} cines): median {t['median']:.2%}, p99 {t['p99']:.2%}, worst "
              f"{t['worst']:.2%}."]
    lines += ["", f"Pixel audit of `after`'s results/deid: {audit['seconds']:.1f} s, "
              f"{audit['hits']} hit(s). (De-identification + pixel audit) / before: "
              f"{audit['ratio']:.2f}x.", ""]
    c = audit["context"]
    cores = machine_info()["cores"]
    busy = max(c["load_start"], c["load_end"]) >= cores
    lines.append(f"Commit {c['commit']}; 1-minute load average {c['load_start']} at start, "
                 f"{c['load_end']} at end ("
                 + (f"at or above the {cores} cores: other work shared the CPU, wall times are "
                    "inflated)." if busy else f"below the {cores} cores: a quiet machine)."))
    lines.append("")
    for r in results:
        if r["kept_by_layout"]:
            lines.append(f"- {r['variant']}: kept identifiers by layout {r['kept_by_layout']}")
    return "\n".join(lines) + "\n"


ADVERSARIAL_HEADING = "### Adversarial family (red-team bed)"


def adversarial_section(workdir: Path, per_family: int) -> dict:
    """Build the red-team bed, de-identify every file, score it; the real cardiac files too."""
    sys.path.insert(0, str(ROOT / "src"))
    import deid_redteam as rt

    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    bed = rt.build_bed(workdir / "raw", per_family)
    (workdir / "deid").mkdir()
    results = [rt.deidentify_bed_file(f, workdir / "deid", SECRET) for f in bed]
    (workdir / "real").mkdir()
    real = rt.real_file_results(workdir / "real", SECRET)
    real_shares = [r["tissue_lost"] for r in real
                   if r["cardiac"] and r["tissue_lost"] is not None]
    kept_files = [{"file": r.name, "family": r.family, "background": r.background,
                   "codec": r.codec, "burned_in_source": r.burned_in_source,
                   "kept": [{"kind": k.kind, "strokes": k.strokes_kept, "read_by": k.read_by}
                            for k in r.kept]} for r in results if r.kept]
    return {"seed": rt.REDTEAM_SEED, "per_family": per_family, "summary": rt.summarise(results),
            "files_with_kept": kept_files, "real_files": real,
            "real_cardiac_tissue": rt.shares_summary(real_shares),
            "deid_s_per_file": round(float(np.median([r.seconds for r in results])), 2),
            "seconds": round(time.perf_counter() - start, 1),
            "load": [round(load_start, 2), round(os.getloadavg()[0], 2)]}


def _share(t: dict) -> str:
    if not t.get("cines"):
        return "-"
    return f"{t['median']:.2%} / {t['p99']:.2%} / {t['worst']:.2%}"


def _real_list(adv: dict, cardiac: bool) -> str:
    return "; ".join(f"{r['file']} {r['outcome']}"
                     + (f" {r['tissue_lost']:.2%}" if r["tissue_lost"] is not None else "")
                     for r in adv["real_files"] if r["cardiac"] == cardiac)


def adversarial_markdown(adv: dict) -> str:
    summ = adv["summary"]
    readers = " + ".join(summ["readers"])
    lines = [ADVERSARIAL_HEADING, "",
             f"{adv['per_family']} files per family (seed {adv['seed']}, held out), 25 frames "
             f"each, de-identified by `deidentify_file`. Kept = a glyph left with contrast or a "
             f"token read ({readers}). Load average {adv['load'][0]} at start, "
             f"{adv['load'][1]} at end; {adv['seconds']} s in all.", "",
             "| family | files | refused | identifiers kept / in written files | by strokes | "
             + " | ".join(f"read by {r}" for r in summ["readers"])
             + " | files written NO with text left | tissue lost median / p99 / worst |",
             "|---|---|---|---|---|" + "---|" * len(summ["readers"]) + "---|---|"]
    for name, b in [*summ["by_family"].items(), ("**all**", summ["all"])]:
        lines.append(f"| {name} | {b['files']} | {b['refused']} | {b['identifiers_kept']} / "
                     f"{b['identifiers_in_written']} | {b['kept_by_strokes']} | "
                     + " | ".join(str(b["read_by"].get(r, 0)) for r in summ["readers"])
                     + f" | {b['flag_no_with_text_left']} | {_share(b['tissue_lost'])} |")
    lines += ["", "By the source's BurnedInAnnotation: " + "; ".join(
        f"{flag}: {b['identifiers_kept']} kept in {b['files_with_kept']} of {b['files']} files"
        for flag, b in summ["by_source_flag"].items()) + ".",
              f"Refusals: {summ['refusal_reasons'] or 'none'}.", "",
              "Real pydicom-data ultrasound (no planted text; all text removal inside the "
              "sector counts as tissue lost): cardiac " + _real_list(adv, True)
              + f" (median / p99 / worst {_share(adv['real_cardiac_tissue'])}); not cardiac "
              + _real_list(adv, False) + ".", ""]
    for f in adv["files_with_kept"]:
        lines.append(f"- kept in {f['file']} ({f['background']}, {f['codec']}, source flag "
                     f"{f['burned_in_source']}): " + ", ".join(
                         f"{k['kind']} ({'strokes' if k['strokes'] else 'no strokes'}"
                         + (f"; read by {', '.join(k['read_by'])}" if k["read_by"] else "")
                         + ")" for k in f["kept"]))
    return "\n".join(lines) + "\n"


def synthetic_section(tmp: Path, args) -> tuple[dict, str]:
    """The export scored before / strokes / after / reencode (the original benchmark)."""
    tmp.mkdir(parents=True)
    load_start = os.getloadavg()[0]
    seed = (int(yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["seed"])
            if args.seed == "config" else int(args.seed))
    export = make_export(tmp, args.patients, seed)
    truth_all = pd.read_csv(export / "truth" / "burned_text.csv", keep_default_na=False)
    truth = truth_all[truth_all["kind"] == "identifier"]
    old, strokes = tmp / "before_code", tmp / "strokes_code"
    for folder, commit in ((old, BEFORE), (strokes, STROKES)):
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder),
                        commit], check=True, capture_output=True)
    try:
        results = [summarise("before", run_deid(old, tmp / "before", site_config(export, None)),
                             tmp / "before", truth),
                   summarise("strokes", run_deid(strokes, tmp / "strokes",
                                                 site_config(export, "lossless")),
                             tmp / "strokes", truth)]
        variants = [("after", "lossless")] + ([] if args.no_reencode
                                              else [("reencode", "reencode")])
        for name, blanking in variants:
            seconds = run_deid(ROOT, tmp / name, site_config(export, blanking))
            results.append(summarise(name, seconds, tmp / name, truth))
        audit_s, _, hits = pixel_audit_timed(tmp / "after", export)
        lost = tissue_blanked(export, truth_all)
    finally:
        for folder in (old, strokes):
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(folder)], capture_output=True)
            shutil.rmtree(folder, ignore_errors=True)
    n_cines = len(list((export / "raw" / "dicom").rglob("*")))
    videos = pd.read_csv(export / "truth" / "videos.csv", keep_default_na=False)
    layouts = videos["layout"].value_counts().to_dict() if "layout" in videos else {}
    before = results[0]["deid_s"]
    audit = {"seconds": round(audit_s, 1), "hits": hits,
             "ratio": (results[2]["deid_s"] + audit_s) / before,
             "tissue": {"cines": len(lost), "median": float(lost.median()),
                        "p99": float(lost.quantile(0.99)), "worst": float(lost.max())}}
    audit["context"] = {"commit": commit_of(), "load_start": round(load_start, 2),
                        "load_end": round(os.getloadavg()[0], 2)}
    result = {"patients": args.patients, "seed": seed, "variants": results,
              "pixel_audit": audit, "layouts": layouts}
    text = (f"Synthetic export seed {seed}"
            + (" (held out: no threshold was set on it)." if seed == HELDOUT_SEED else ".")
            + " " + markdown(results, audit, n_cines, layouts))
    return result, text


RATIO_HEADING = "### Cost of pixel de-identification: interleaved rounds"


def ratio_section(tmp: Path, args) -> dict:
    """`before` (header regions only, commit BEFORE) and this checkout (`after`, lossless
    blanking, then the pixel audit) on one export, `args.rounds` times, alternating which goes
    first: the ratio's median and spread, wall and CPU, instead of one run's."""
    tmp.mkdir(parents=True)
    load_start = os.getloadavg()[0]
    export = make_export(tmp, args.patients, HELDOUT_SEED)
    old = tmp / "before_code"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), BEFORE],
                   check=True, capture_output=True)
    rounds = []
    try:
        for i in range(args.rounds):
            timed = {}
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            for name in order:
                code, blanking = (old, None) if name == "before" else (ROOT, "lossless")
                work = tmp / f"{name}-{i}"
                timed[name] = run_deid_timed(code, work, site_config(export, blanking))
                if name == "after":
                    timed["audit"] = pixel_audit_timed(work, export)[:2]
                shutil.rmtree(work)
            rounds.append({"order": list(order), **{k: [round(x, 2) for x in v]
                                                    for k, v in timed.items()}})
            print(f"round {i + 1}: {rounds[-1]}", file=sys.stderr)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                       capture_output=True)
        shutil.rmtree(old, ignore_errors=True)
    videos = pd.read_csv(export / "truth" / "videos.csv", keep_default_na=False)
    return {"patients": args.patients, "seed": HELDOUT_SEED, "cines": len(videos),
            "rounds": rounds, "ratios": ratio_summary(rounds), "commit": commit_of(),
            "load": [round(load_start, 2), round(os.getloadavg()[0], 2)]}



def ratio_summary(rounds: list[dict]) -> dict:
    """Per measure (wall 0, CPU 1): median, min and max over rounds of after / before and of
    (after + audit) / before."""
    out = {}
    for axis, col in (("wall", 0), ("cpu", 1)):
        for name, with_audit in (("deid", False), ("deid_audit", True)):
            values = [(r["after"][col] + (r["audit"][col] if with_audit else 0))
                      / r["before"][col] for r in rounds]
            out[f"{name}_{axis}"] = {"median": round(statistics.median(values), 2),
                                     "min": round(min(values), 2), "max": round(max(values), 2)}
    return out


def ratio_markdown(r: dict) -> str:
    cores = machine_info()["cores"]
    busy = r["load"][0] >= cores  # at the end the load is this run's own (2 shards at once)
    lines = [RATIO_HEADING, "",
             f"One held-out export (seed {r['seed']}, {r['patients']} patients, {r['cines']} "
             f"cines), de-identified {len(r['rounds'])} times by each side, alternating which "
             "goes first: `before` = header regions only (the workflow before pixel "
             "de-identification), `after` = this checkout (learned detector + stroke rules, "
             "DCT-domain blanking), then the pixel audit of `after`'s output. 2 shards, "
             "`--cores 2`; CPU = user + system seconds of the jobs.", "",
             "| round | order | before wall / CPU s | after wall / CPU s | audit wall / CPU s "
             "| after / before (wall, CPU) | (after + audit) / before (wall, CPU) |",
             "|---|---|---|---|---|---|---|"]
    for i, x in enumerate(r["rounds"], 1):
        b, a, au = x["before"], x["after"], x["audit"]
        lines.append(f"| {i} | {' then '.join(x['order'])} | {b[0]} / {b[1]} | {a[0]} / "
                     f"{a[1]} | {au[0]} / {au[1]} | {a[0] / b[0]:.2f}x, {a[1] / b[1]:.2f}x | "
                     f"{(a[0] + au[0]) / b[0]:.2f}x, {(a[1] + au[1]) / b[1]:.2f}x |")
    s = r["ratios"]

    def spread(key: str) -> str:
        return f"{s[key]['median']:.2f}x ({s[key]['min']:.2f}-{s[key]['max']:.2f})"

    lines += ["", f"Median (range) over rounds: after / before {spread('deid_wall')} wall, "
              f"{spread('deid_cpu')} CPU; (after + audit) / before {spread('deid_audit_wall')}"
              f" wall, {spread('deid_audit_cpu')} CPU.", "",
              f"Commit {r['commit']}; 1-minute load average {r['load'][0]} at start ("
              + (f"at or above the {cores} cores: other work shared the CPU, wall times are "
                 "inflated)" if busy else f"below the {cores} cores: no other job)")
              + f", {r['load'][1]} at end (this run's own two shards).", ""]
    return "\n".join(lines)


# The results file's own heading: its RESULTS.md block (beside the "## deid" notes of earlier
# runs, which machine.py --update leaves alone).
DEID_HEADING = "## deid: the last `bench_deid.py` run"
SECTION_HEADINGS = {"adversarial": ADVERSARIAL_HEADING, "ratio": RATIO_HEADING}


def split_sections(text: str) -> dict[str, str]:
    """deid.md cut at its section headings: synthetic (the text before any), adversarial,
    ratio."""
    marks = sorted((text.find(h), name) for name, h in SECTION_HEADINGS.items() if h in text)
    starts = [0] + [pos for pos, _ in marks] + [len(text)]
    names = ["synthetic"] + [name for _, name in marks]
    return {name: text[starts[i]:starts[i + 1]] for i, name in enumerate(names)}


def previous_sections(out_dir: Path) -> tuple[dict, dict[str, str]]:
    """The last run's results (json) and its markdown by section: a section not rerun (`--only`)
    is kept as it was."""
    try:
        old = json.loads((out_dir / "deid.json").read_text())
        sections = split_sections((out_dir / "deid.md").read_text())
    except (OSError, ValueError):
        return {}, {}
    old.pop("machine", None)
    return old, sections


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=140)
    ap.add_argument("--seed", default=str(HELDOUT_SEED),
                    help="synthetic export seed; 'config' = the tuning seed of config.yaml")
    ap.add_argument("--no-reencode", action="store_true",
                    help="skip the jpeg_blanking: reencode variant (a shorter run)")
    ap.add_argument("--per-family", type=int, default=PER_FAMILY)
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved before/after rounds of the cost section")
    ap.add_argument("--only", choices=("synthetic", "adversarial", "ratio"))
    args = ap.parse_args()
    out_dir = ROOT / "benchmarks" / "results"
    result, sections = previous_sections(out_dir)
    with tempfile.TemporaryDirectory(prefix="bench_deid_") as tmp:
        tmp = Path(tmp)
        if args.only in (None, "synthetic"):
            synthetic, sections["synthetic"] = synthetic_section(tmp / "synthetic", args)
            result = {**synthetic, "adversarial": result.get("adversarial"),
                      "ratio": result.get("ratio")}
        if args.only in (None, "adversarial"):
            (tmp / "adversarial").mkdir()
            result["adversarial"] = adversarial_section(tmp / "adversarial", args.per_family)
            sections["adversarial"] = adversarial_markdown(result["adversarial"])
        if args.only in (None, "ratio"):
            result["ratio"] = ratio_section(tmp / "ratio", args)
            sections["ratio"] = ratio_markdown(result["ratio"])
    if sections.get("synthetic", "").startswith(DEID_HEADING):
        sections["synthetic"] = sections["synthetic"][len(DEID_HEADING):]
    text = DEID_HEADING + "\n\n" + "\n\n".join(
        sections[k].strip("\n") for k in ("synthetic", "adversarial", "ratio")
        if sections.get(k)) + "\n"
    result = {"machine": machine_line(), **result}
    save_results(out_dir, "deid", result, text)
    print(text)


if __name__ == "__main__":
    main()
