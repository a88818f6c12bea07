"""Machine description for benchmark results, and their sections in benchmarks/RESULTS.md.

Import from a benchmark (`benchmarks/` is the script's folder, so it is on sys.path):

    from machine import machine_info, machine_line
    info = machine_info()            # dict: cpu, cores, ram_gib, gpu, python, torch, numpy, ...

Command line:

    .venv/bin/python benchmarks/machine.py                     # print the machine as markdown
    .venv/bin/python benchmarks/machine.py --update train deid # their sections into RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from echocmr.cpu_pin import cpu_model  # noqa: E402  (one reading of the CPU model)

RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"
# Sections in the order of the issue; anything else found in results/ follows alphabetically.
ORDER = ["demo", "preprocess", "ingest_scale", "loader", "bootstrap", "dag", "train", "gpu"]
VERSIONED = ["numpy", "torch", "torchvision", "pandas", "pydicom", "cv2", "snakemake", "sklearn"]


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _gpu() -> str | None:
    """GPU name(s) via torch (CUDA) if importable, else nvidia-smi, else None."""
    try:
        import torch

        if torch.cuda.is_available():
            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            return ", ".join(names)
        return None
    except ImportError:
        pass
    if shutil.which("nvidia-smi"):
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30)
        names = [n.strip() for n in proc.stdout.splitlines() if n.strip()]
        return ", ".join(names) or None
    return None


def _version(module: str) -> str | None:
    try:
        return getattr(importlib.import_module(module), "__version__", None)
    except ImportError:
        return None


def machine_info() -> dict:
    """What a reader needs to compare figures: hardware, software versions, date (UTC)."""
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "ram_gib": _ram_gib(),
        "gpu": _gpu(),
        "os": platform.platform(),
        "python": platform.python_version(),
        **{name: _version(name) for name in VERSIONED},
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
    }


def machine_line(info: dict | None = None) -> str:
    """One-line summary for a benchmark's own markdown section."""
    m = info or machine_info()
    return (f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, GPU: {m['gpu'] or 'none'}; "
            f"Python {m['python']}, torch {m['torch']}, numpy {m['numpy']}")


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished (waited-for) children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def commit_of() -> str:
    """This checkout's commit (`-dirty` with uncommitted changes), for a result's record."""
    return subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
                          capture_output=True, text=True).stdout.strip()


def save_results(out_dir: str | Path, name: str, result: dict, markdown_text: str) -> None:
    """Write `<name>.json` (raw numbers) and `<name>.md` (the RESULTS.md section) of a benchmark."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown_text)


def machine_markdown(info: dict | None = None) -> str:
    m = info or machine_info()
    rows = [
        ("CPU", m["cpu"]),
        ("Cores usable", m["cores"]),
        ("RAM", f"{m['ram_gib']} GiB"),
        ("GPU", m["gpu"] or "none"),
        ("OS", m["os"]),
        ("Python", m["python"]),
        *((name if name != "cv2" else "opencv", m.get(name) or "-") for name in VERSIONED),
        ("Date (UTC)", m["date_utc"]),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows) + "\n"


def _section_names() -> list[str]:
    found = sorted(p.stem for p in RESULTS_DIR.glob("*.md"))
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


def _recorded_machine(name: str, here: dict) -> str | None:
    """The machine a section was measured on, when its JSON names one other than `here`."""
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    m = data.get("machine") if isinstance(data, dict) else None
    if not isinstance(m, dict):
        return None
    if m.get("cpu") == here["cpu"] and (m.get("gpu") or None) == here["gpu"]:
        return None
    return f"{m.get('cpu', '?')}, GPU: {m.get('gpu') or 'none'}"


def _section_of(name: str, here: dict) -> str:
    """results/<name>.md as a RESULTS.md section: its own `## ` heading (or `## <name>`), and
    the machine when its JSON names another than `here`."""
    body = (RESULTS_DIR / f"{name}.md").read_text().strip()
    if not body.startswith("## "):
        body = f"## {name}\n\n{body}"
    recorded = _recorded_machine(name, here)
    if recorded:
        body += f"\n\n_Measured on: {recorded}._"
    return body + "\n"


def _blocks(text: str) -> list[str]:
    """RESULTS.md cut before each `## ` heading (the first block is the preamble)."""
    starts = [0] + [i + 1 for i in range(len(text)) if text.startswith("\n## ", i)]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)], strict=True)]


FAILED_NOTE = "**Benchmarks that failed in the last run_all.sh**"


def update(names: list[str], failed: list[str] | None = None) -> str:
    """Write each named benchmark's section into RESULTS.md: it replaces the block with the
    same `## ` heading line, or is appended. Every other block (earlier runs, notes written by
    hand) is kept as it is."""
    here = machine_info()
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else (
        "# echocmr benchmarks\n\nSections written by `bash benchmarks/run_all.sh` from "
        "`benchmarks/results/<name>.md` (raw numbers in `results/<name>.json`) and notes of "
        "earlier runs; each names its machine, load and command.\n\n")
    blocks = _blocks(text)
    for name in names:
        section = _section_of(name, here)
        heading = section.splitlines()[0]
        for i, block in enumerate(blocks):
            if block.splitlines()[0] == heading:
                blocks[i] = section + "\n"
                break
        else:
            blocks[-1] = blocks[-1].rstrip("\n") + "\n\n"
            blocks.append(section)
    text = "".join(blocks)
    text = text.split(FAILED_NOTE, 1)[0].rstrip("\n") + "\n"  # the last run's note only
    if failed:
        text += (f"\n{FAILED_NOTE} (their sections above are older): "
                 + ", ".join(f"`{f}`" for f in failed) + "\n")
    RESULTS_MD.write_text(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--update", nargs="*", metavar="NAME",
                    help="write these benchmarks' sections into RESULTS.md (none: all found)")
    ap.add_argument("--failed", nargs="*", default=[], help="benchmarks that failed (noted)")
    args = ap.parse_args()
    if args.update is not None:
        update(args.update or _section_names(), args.failed)
        print(f"updated {RESULTS_MD}")
    else:
        print(machine_markdown())


if __name__ == "__main__":
    main()
