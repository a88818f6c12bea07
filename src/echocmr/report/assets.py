"""Report assets: the config in force and the software versions, recorded beside the results."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import yaml

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
