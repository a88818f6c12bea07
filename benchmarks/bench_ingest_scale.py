"""Benchmark: ingest at hospital scale, per real-size cine and per core, projected to 100,000 files.

Part 1, stages on real-size cines. A synthetic export at echo-console resolution (default
800x600, half the studies from a second machine at 1016x762; 40-80 frames; the demo's encoding
mix (JPEG YBR 4:2:2, native RGB and grey, RLE) and vendor layout mix) goes through the
workflow's own rules, one stage at a time, with `snakemake --cores 1` and one shard (so each
figure is per core):

  inventory      results/ingest/manifest.csv
  deidentify     results/deid/shards-1/shard-0.csv (header + pixel de-identification)
  crop           results/crop/shards-1/shard-0/index.csv (store + AVI)
  views          views_fit (a fixed cost, reported apart) and views_classify of the shard
  PHI audit      what rule audit does to results/, in one process: the catalogue of the raw
                 export, the byte scan of every file, and the pixel scan (OCR) of every
                 frame-holding file (de-identified cines, crop AVIs and store videos)

For each: wall and CPU seconds (user+sys of the jobs, `RUSAGE_CHILDREN`), Snakemake's fixed
cost (the same call again with nothing to do, subtracted), cines per second per core, and the
peak RSS of any one job (process tree sampled every 0.1 s).

Part 2, bookkeeping at 100,000 rows (`--rows`): the manifest's post-processing (duplicate
instances, identity conflicts, QC rows, CSV write and read), a shard job's walk of the export
(every shard lists the tree and keys every path: `inventory.included_files`), and the PHI
audit's catalogue lookup of a 100,000-line table against 100,000 patients' identifiers.

The projection follows the DAG's shape: the sharded stages (de-identification, crop, view
classification) divide 100,000 cines' core-seconds by the node's cores (`--node-cores`, default
16); the inventory and the PHI audit are one job each, run by `ingest.inventory_workers` and
`audit.workers` processes (the config's values, and the node's cores: the setting at scale);
the manifest's bookkeeping is serial.

    .venv/bin/python benchmarks/bench_ingest_scale.py [--patients 12] [--rows 100000] [--keep DIR]

At least 1,000 real-size cines (the issue's scale): `--patients 230` (about 4.4 cines each).

Writes benchmarks/results/ingest_scale.json and benchmarks/results/ingest_scale.md.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import pandas as pd
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import children_cpu, commit_of, machine_info, machine_line, save_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SECRET = "bench-ingest-scale-secret-0123456789abcdef"
TARGET_FILES, TARGET_HOURS = 100_000, 6.0
STAGE_TARGETS = {
    "inventory": ["results/ingest/manifest.csv"],
    "deidentify": ["results/deid/shards-1/shard-0.csv"],
    "crop": ["results/crop/shards-1/shard-0/index.csv"],
    "views_fit": ["results/views/model/history.csv"],
    "views_classify": ["results/views/shards-1/shard-0.csv"],
}


# ----------------------------------------------------------------------------- the export

def simulate_settings(patients: int, width: int, height: int) -> dict:
    """The demo's simulate section at console resolution: real-size frames, 40-80 of them."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    section = dict(config["simulate"], n_patients=patients)
    section["image"] = {"width": width, "height": height, "alt_fraction": 0.5,
                        "alt_scale": 1.27}
    section["frames"] = {"min": 40, "max": 80}
    return section


def make_export(workdir: Path, patients: int, width: int, height: int) -> Path:
    from echocmr.simulate.export import run_export
    from echocmr.simulate.settings import SimSettings

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    settings = SimSettings.from_config(simulate_settings(patients, width, height),
                                       int(config["seed"]))
    out = workdir / "synthetic"
    run_export(settings, out, SECRET, progress=False)
    return out


def site_config(export: Path) -> dict:
    raw = export / "raw"
    return {"input": {"mode": "site", "dicom_dir": str(raw / "dicom"),
                      "cmr_reports": str(raw / "cmr_reports.csv"),
                      "clinical": str(raw / "clinical.csv"),
                      "echo_reports": str(raw / "echo_reports.csv"),
                      "view_labels": str(raw / "view_labels.csv")},
            "ingest": {"shards": 1, "inventory_workers": 1}}


# ----------------------------------------------------------------------------- measuring

class PeakJobRss:
    """Peak resident memory of any one process under `proc` (a Snakemake job, or `proc` itself
    when `include_root`), sampled every `interval` seconds."""

    def __init__(self, proc: subprocess.Popen, include_root: bool = False,
                 interval: float = 0.1):
        self.pid, self.include_root = proc.pid, include_root
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                procs = root.children(recursive=True) + ([root] if self.include_root else [])
            except psutil.Error:
                return
            for proc in procs:
                try:
                    self.peak = max(self.peak, proc.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()



def measured(cmd: list[str], include_root: bool = False) -> tuple[float, float, int]:
    """(wall s, CPU s of the command and its children, peak RSS bytes of one process)."""
    env = {**os.environ, "ECHOCMR_SECRET": SECRET,
           "PYTHONPATH": str(ROOT / "src"), "PATH": f"{ROOT / '.venv' / 'bin'}:"
                                                   f"{os.environ.get('PATH', '')}"}
    cpu0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    with PeakJobRss(proc, include_root) as rss:
        _, stderr = proc.communicate()
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{stderr[-3000:]}")
    return wall, cpu, rss.peak


def snakemake(workdir: Path, config: Path, targets: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s, peak job RSS bytes) of one `snakemake --cores 1` call; the scheduler
    process itself is not a job, so its memory is left out."""
    return measured([str(ROOT / ".venv" / "bin" / "snakemake"), "-s", str(ROOT / "Snakefile"),
                     "--directory", str(workdir), "--cores", "1", "--configfile", str(config),
                     "--quiet", "all", "--", *targets])


def timed_stage(workdir: Path, config: Path, name: str) -> dict:
    """One stage's jobs, then the same call with nothing to do (Snakemake's fixed cost)."""
    wall, cpu, rss = snakemake(workdir, config, STAGE_TARGETS[name])
    idle_wall, idle_cpu, _ = snakemake(workdir, config, STAGE_TARGETS[name])
    return {"stage": name, "wall_s": wall, "cpu_s": cpu, "overhead_wall_s": idle_wall,
            "overhead_cpu_s": idle_cpu, "job_wall_s": max(wall - idle_wall, 1e-9),
            "job_cpu_s": max(cpu - idle_cpu, 1e-9), "peak_job_rss_mib": rss / 2**20}


def run_phi_audit(workdir: Path, export: Path) -> None:
    """What rule audit does to results/, in one process: the catalogue of the raw export, the
    byte scan of every file, the pixel scan of every frame-holding file."""
    from echocmr.audit.files import build_catalogue, scan_tree
    from echocmr.audit.pixels import scan_pixels

    raw = export / "raw"
    tables = {n: raw / f"{n}.csv" for n in ("cmr_reports", "clinical", "echo_reports",
                                            "view_labels")}
    cat = build_catalogue(raw / "dicom", tables, SECRET)
    results = workdir / "results"
    skip = [results / "logs"]  # the bench's own Snakemake logs; the rule skips its own only
    hits = scan_tree(cat, results, skip=skip)
    pixel_hits, stats = scan_pixels(cat, results, skip=skip, workers=1)
    print(f"audit: {len(hits)} byte hit(s), {len(pixel_hits)} pixel hit(s); "
          f"{stats.summary()}", file=sys.stderr)


def phi_audit(workdir: Path, export: Path) -> dict:
    """run_phi_audit in a process of its own (this one holds the export's generator)."""
    wall, cpu, rss = measured([sys.executable, __file__, "--phi-audit", str(workdir),
                               str(export)], include_root=True)
    return {"stage": "phi_audit", "wall_s": wall, "cpu_s": cpu, "overhead_wall_s": 0.0,
            "overhead_cpu_s": 0.0, "job_wall_s": wall, "job_cpu_s": cpu,
            "peak_job_rss_mib": rss / 2**20}


def disk_gib(*folders: Path) -> float:
    return sum(f.stat().st_size for folder in folders for f in folder.rglob("*")
               if f.is_file()) / 2**30



def counts(workdir: Path) -> dict:
    res = workdir / "results"
    manifest = pd.read_csv(res / "ingest" / "manifest.csv", dtype=str, keep_default_na=False)
    deid = pd.read_csv(res / "deid" / "shards-1" / "shard-0.csv", dtype=str,
                       keep_default_na=False)
    crop = pd.read_csv(res / "crop" / "shards-1" / "shard-0" / "index.csv", dtype=str)
    return {"files": len(manifest), "included": int((manifest["status"] == "included").sum()),
            "deidentified": int((deid["status"] == "included").sum()), "cropped": len(crop),
            "frames": int(pd.to_numeric(manifest["n_frames"], errors="coerce").fillna(0)[
                manifest["status"] == "included"].sum())}


# ----------------------------------------------------------------------------- bookkeeping

def _manifest_rows(template: pd.DataFrame, n: int, rng: random.Random) -> list[dict]:
    """n manifest rows shaped like the real ones, with fresh keys (10 files a study)."""
    base = template.to_dict("records")
    rows = []
    for i in range(n):
        row = dict(base[i % len(base)])
        row.update(file_key=f"F{i:012x}", video_key=f"V{i:012x}",
                   study_key=f"S{i // 10:012x}", patient_key=f"P{i // 20:012x}",
                   shard=str(rng.randrange(64)))
        rows.append(row)
    return rows


def bookkeeping(workdir: Path, n: int) -> dict:
    from echocmr.audit.files import Catalogue
    from echocmr.ingest import inventory
    from echocmr.ingest import reasons as R

    rng = random.Random(7)
    template = pd.read_csv(workdir / "results" / "ingest" / "manifest.csv", dtype=str,
                           keep_default_na=False)
    out = {}
    t0 = time.perf_counter()
    rows = _manifest_rows(template, n, rng)
    seen: set[str] = set()
    for row in rows:  # as build_manifest: duplicate instances, then identity conflicts
        if row["status"] == R.INCLUDED:
            seen.add(row["video_key"])
    inventory.mark_identity_conflicts(rows)
    manifest = pd.DataFrame(rows, columns=inventory.MANIFEST_COLUMNS)
    inventory.inventory_qc(manifest)
    path = workdir / "manifest_big.csv"
    manifest.to_csv(path, index=False)
    pd.read_csv(path, dtype=str, keep_default_na=False)
    out["manifest_s"] = time.perf_counter() - t0

    tree = workdir / "tree"
    for i in range(n):  # empty files: the walk and the keying, not the reading
        folder = tree / f"P{i // 200:05d}" / f"S{i // 10:06d}"
        if i % 10 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IM{i:06d}.dcm").touch()
    t0 = time.perf_counter()
    paths = inventory.list_files(tree)
    for p in paths:
        inventory.file_key_of(SECRET, tree, p)
    out["shard_walk_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cat = Catalogue(secret=SECRET)
    for i in range(n // 5):  # one patient per 5 files: name, MRN, accession
        cat.add_name(f"SURNAME{i:06d}^GIVEN{i % 977:03d}", mrn=f"{10_000_000 + i}")
        cat.add(f"{10_000_000 + i}", "mrn")
        cat.add(f"ACC{i:08d}", "accession_number")
    cat.finalise()
    out["catalogue_build_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    text = path.read_text().splitlines()
    hits = sum(bool(cat.find(line)) for line in text)
    out["catalogue_scan_s"] = time.perf_counter() - t0
    out["catalogue_scan_hits"] = hits
    return out


# ----------------------------------------------------------------------------- report

# Stages that are one job each (the rest are one job per shard), with the config key giving
# their processes.
SINGLE_JOBS = {"inventory": ("ingest", "inventory_workers"), "phi_audit": ("audit", "workers")}


def configured_workers() -> dict[str, int]:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    return {stage: int(config[section][key]) for stage, (section, key) in SINGLE_JOBS.items()}


def stage_hours(per_cine: dict, workers: dict, node_cores: int) -> dict:
    """Wall hours of each stage for TARGET_FILES cines on one node: a sharded stage uses every
    core, a single job the processes it is given (at most the node's cores)."""
    return {stage: core_s * TARGET_FILES / min(workers.get(stage, node_cores), node_cores)
            / 3600 for stage, core_s in per_cine.items()}


def projection(stages: list[dict], c: dict, book: dict, node_cores: int, n_rows: int) -> dict:
    per_cine = {s["stage"]: s["job_cpu_s"] / max(c["included"], 1) for s in stages
                if s["stage"] != "views_fit"}
    serial_h = book["manifest_s"] * TARGET_FILES / n_rows / 3600
    configured = configured_workers()
    scaled = {stage: node_cores for stage in SINGLE_JOBS}
    by_default = stage_hours(per_cine, configured, node_cores)
    at_scale = stage_hours(per_cine, scaled, node_cores)
    return {"core_s_per_cine": per_cine, "core_s_per_cine_total": sum(per_cine.values()),
            "serial_bookkeeping_h": serial_h, "node_cores": node_cores,
            "configured_workers": configured, "stage_hours_configured": by_default,
            "stage_hours_scaled": at_scale,
            "node_hours_100k_configured": sum(by_default.values()) + serial_h,
            "node_hours_100k": sum(at_scale.values()) + serial_h, "target_hours": TARGET_HOURS}


def markdown(r: dict) -> str:
    c, p, b = r["counts"], r["projection"], r["bookkeeping"]
    encodings = ", ".join(f"{k} {v:.0%}" for k, v in r["encodings"].items())
    lines = [
        "## Ingest at hospital scale: per real-size cine and per core",
        "",
        f"Machine: {machine_line(r['machine'])}. Load average at start "
        f"{r['load_start']}, at end {r['load_end']}. Export: {r['patients']} patients at "
        f"{r['width']}x{r['height']} (half the studies at 1.27x that), 40-80 frames, the demo's "
        f"encoding mix ({encodings}) and vendor layouts: "
        f"{c['files']} files, "
        f"{c['included']} cines included ({c['frames']} frames), {c['deidentified']} "
        f"de-identified, {c['cropped']} cropped; on disk: raw {c['disk_gib']['raw']:.1f} GiB, "
        f"de-identified {c['disk_gib']['deid']:.1f} GiB, crop {c['disk_gib']['crop']:.1f} GiB. "
        f"One shard, `snakemake --cores 1`. Command: `{r['command']}`; commit {r['commit']}.",
        "",
        "| stage | jobs CPU s | jobs wall s | Snakemake fixed cost s | cines/s per core | "
        "core-s per cine | peak job RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in r["stages"]:
        rate = c["included"] / s["job_cpu_s"]
        lines.append(
            f"| {s['stage']} | {s['job_cpu_s']:.1f} | {s['job_wall_s']:.1f} | "
            f"{s['overhead_wall_s']:.1f} | "
            f"{'-' if s['stage'] == 'views_fit' else f'{rate:.2f}'} | "
            f"{'(fixed)' if s['stage'] == 'views_fit' else f'{1 / rate:.2f}'} | "
            f"{s['peak_job_rss_mib']:.0f} |")
    lines += [
        "",
        f"Bookkeeping at {r['rows']:,} rows: manifest post-processing + QC rows + CSV write "
        f"and read {b['manifest_s']:.1f} s; one shard job's walk and keying of "
        f"{r['rows']:,} paths {b['shard_walk_s']:.1f} s (every shard repeats it); PHI "
        f"catalogue of {r['rows'] // 5:,} patients built in {b['catalogue_build_s']:.1f} s, "
        f"{r['rows']:,} manifest lines scanned in {b['catalogue_scan_s']:.1f} s.",
        "",
        f"Projection to {TARGET_FILES:,} real-size cines on one {p['node_cores']}-core node "
        f"({p['core_s_per_cine_total']:.2f} core-s per cine through the stages above), wall "
        "hours per stage: sharded stages on every core; the inventory and the PHI audit are "
        "one job each, run by the processes the config gives them:",
        "",
        "| stage | one job per | hours, config as shipped | hours, single jobs given the "
        "node's cores |",
        "|---|---|---|---|",
    ]
    for stage, hours in p["stage_hours_scaled"].items():
        workers = p["configured_workers"].get(stage)
        unit = (f"run ({workers} processes as shipped)" if workers else "shard")
        lines.append(f"| {stage} | {unit} | {p['stage_hours_configured'][stage]:.2f} | "
                     f"{hours:.2f} |")
    lines += [
        f"| manifest bookkeeping | run (serial) | {p['serial_bookkeeping_h']:.2f} | "
        f"{p['serial_bookkeeping_h']:.2f} |",
        f"| **total** | | **{p['node_hours_100k_configured']:.1f}** | "
        f"**{p['node_hours_100k']:.1f}** (goal {TARGET_HOURS:.0f} h) |",
        "",
        "At scale set `ingest.inventory_workers` and `audit.workers` to the node's cores "
        "(docs/scaling.md). Each job's start-up (Python, imports, torch for views) is inside "
        "its CPU seconds and is spread over few cines here, over thousands per job at scale. "
        "The projection assumes the per-shard stages scale linearly over shards and cores "
        "(no shared state), that memory allows one job per core (peak job RSS above) and that "
        "the disk keeps up. On a SLURM cluster the sharded stages divide by the cores "
        "given; the inventory and the audit stay one node's jobs.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=12)
    ap.add_argument("--width", type=int, default=800)
    ap.add_argument("--height", type=int, default=600)
    ap.add_argument("--rows", type=int, default=TARGET_FILES)
    ap.add_argument("--node-cores", type=int, default=16)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="work in DIR and keep it (export, results) instead of a temporary one")
    ap.add_argument("--phi-audit", nargs=2, type=Path, metavar=("WORKDIR", "EXPORT"),
                    help=argparse.SUPPRESS)  # the child process of `phi_audit`
    args = ap.parse_args(argv)
    if args.phi_audit:
        run_phi_audit(*args.phi_audit)
        return {}
    load_start = [round(x, 2) for x in os.getloadavg()]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
    with (nullcontext(args.keep.resolve()) if args.keep
          else tempfile.TemporaryDirectory(prefix="bench_ingest_scale_")) as tmp:
        workdir = Path(tmp)
        export = make_export(workdir, args.patients, args.width, args.height)
        config = workdir / "site.yaml"
        config.write_text(yaml.safe_dump(site_config(export)))
        stages = [timed_stage(workdir, config, "inventory"),
                  timed_stage(workdir, config, "deidentify"),
                  timed_stage(workdir, config, "crop"),
                  timed_stage(workdir, config, "views_fit"),
                  timed_stage(workdir, config, "views_classify"),
                  phi_audit(workdir, export)]
        c = counts(workdir)
        c["disk_gib"] = {"raw": disk_gib(export / "raw"), "deid": disk_gib(
            workdir / "results" / "deid"), "crop": disk_gib(workdir / "results" / "crop")}
        book = bookkeeping(workdir, args.rows)
    result = {"machine": machine_info(), "load_start": load_start, "commit": commit_of(),
              "command": "python benchmarks/bench_ingest_scale.py "
                         + " ".join(argv if argv is not None else sys.argv[1:]),
              "load_end": [round(x, 2) for x in os.getloadavg()], "patients": args.patients,
              "encodings": simulate_settings(args.patients, args.width,
                                             args.height)["encodings"],
              "width": args.width, "height": args.height, "rows": args.rows, "counts": c,
              "stages": stages, "bookkeeping": book,
              "projection": projection(stages, c, book, args.node_cores, args.rows)}
    md = markdown(result)
    save_results(Path(args.out), "ingest_scale", result, md)
    print(md)
    return result


if __name__ == "__main__":
    main()
