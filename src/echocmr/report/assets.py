"""Report assets: the config in force and the software versions, recorded beside the results."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import yaml

from echocmr.logutil import script_logging

PACKAGES = ("snakemake", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "torch",
            "torchvision", "pydicom", "pylibjpeg", "opencv-python-headless", "av", "pyyaml",
            "jsonschema")


def software_versions(packages=PACKAGES) -> str:
    lines = [f"python {sys.version.split()[0]}", f"platform {platform.platform()}"]
    for name in packages:
        try:
            lines.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} (not installed in this environment)")
    return "\n".join(lines) + "\n"


def pin_lines(pin_jsons: dict) -> str:
    """The run record's processor pin: this machine's CPU, then each training job's record
    (echocmr.cpu_pin), one line per model."""
    import json

    from echocmr.cpu_pin import cpu_model

    lines = [f"\nprocessor (this job) {cpu_model()}"]
    for name, path in sorted(pin_jsons.items()):
        rec = json.loads(open(path).read())
        env = " ".join(f"{k}={v}" for k, v in rec["env"].items() if v)
        lines.append(f"{name.removeprefix('pin__')}: {'pinned' if rec['pinned'] else 'NOT pinned'}"
                     f" on {rec['cpu_model']}; ATen {rec['aten_cpu_capability']}, oneDNN "
                     f"convolutions {'on' if rec['onednn_convolutions'] else 'off'}, "
                     f"{rec['threads']} thread(s), deterministic "
                     f"{rec['deterministic_algorithms']}; {env}")
    return "\n".join(lines) + "\n"


def config_yaml(config: dict) -> str:
    """The config as run (defaults filled in by the schema), keys sorted for stable bytes."""
    return yaml.safe_dump(_plain(config), sort_keys=True, default_flow_style=False)


def _plain(value):
    # Snakemake hands config sections over as its own mapping types; YAML wants plain ones.
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def text_html(text: str, title: str) -> str:
    """A standalone HTML page showing `text` verbatim (for the report's run record)."""
    import html

    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head>\n<body><h3>{html.escape(title)}</h3>"
            f"<pre>{html.escape(text)}</pre></body></html>\n")



# The report's table pages (rule report_assets): input name -> page title.
PAGE_TITLES = {
    "qc_flow": "QC flow: counts in, excluded (by reason) and out at every step",
    "table1": "Table 1: baseline characteristics of the analysed cohort",
    "view_metrics": "View classifier metrics",
    "metrics_binary": "Binary metrics: AUROC with 95% bootstrap CI (test split)",
    "metrics_continuous": "Continuous metrics: MAE, R2, Bland-Altman (test split)",
    "delong": "Video models vs clinical baseline: AUROC difference, test and p-value "
              "(test split; method column: DeLong or Obuchowski clustered by patient)",
    "operating_points": "Operating points on the test split at the threshold chosen on "
                        "validation (Youden J): sensitivity, specificity, PPV, NPV",
    "replication": "Replication: published vs reproduced, with verdicts",
}


def run_report_assets(smk) -> None:
    """Script entry of `rule report_assets`: every table as a standalone HTML page, the config
    used, software versions with the processor pin, and the report's front page."""
    import shutil

    import pandas as pd

    from echocmr.report.dropped_rows import TITLE, dropped_counts, dropped_line, read_dropped
    from echocmr.report.front_page import write_front_page
    from echocmr.report.replication import replication_display, verdict_counts
    from echocmr.report.tables import frame_html, operating_points_display

    with script_logging(smk):
        shutil.copyfile(smk.input.view_confusion, smk.output.view_confusion)
        rejected, excluded = read_dropped(smk.input.rejected, smk.input.excluded)
        # the QC page also shows the table rows dropped, per reason
        extra = {"qc_flow": [(dropped_counts(rejected, excluded),
                              f"{dropped_line(rejected, excluded)} {TITLE}.")]}
        for name, title in PAGE_TITLES.items():
            more = tuple(extra.get(name, ()))
            if name == "operating_points":
                frame = operating_points_display(pd.read_csv(smk.input[name]))
            elif name == "replication":  # for reading: rounded as the paper, verdict first
                table = pd.read_csv(smk.input[name])
                frame = replication_display(table)
                more = ((verdict_counts(table), "Verdicts"),)
            else:
                frame = pd.read_csv(smk.input[name], keep_default_na=False)
            with open(smk.output[name], "w") as handle:
                handle.write(frame_html(frame, title, more))
        write_front_page(smk.params.config, smk.output.front_page)
        config_text = config_yaml(smk.params.config)
        versions = software_versions() + pin_lines(
            {k: v for k, v in smk.input.items() if k.startswith("pin__")})
        for path, text in ((smk.output.config, config_text),
                           (smk.output.versions, versions)):
            with open(path, "w") as handle:
                handle.write(text)
        with open(smk.output.config_used, "w") as handle:
            handle.write(text_html(config_text, "Configuration used"))
        with open(smk.output.software_versions, "w") as handle:
            handle.write(text_html(versions, "Software versions"))
