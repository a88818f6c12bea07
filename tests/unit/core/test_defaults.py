"""Each default has one value (issue 14): the config schema's `default:` is the value a key takes
when nothing sets it, and every library fallback equals it (config/README.md, "Defaults").

config/config.yaml is the demo run on top of those defaults; config/presets/paper.yaml restores
the paper's values of every key the demo changes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from echocmr import keys
from echocmr.cohort.labels import DEFAULT_THRESHOLDS
from echocmr.deid.deidentify import deid_settings
from echocmr.ingest.settings import inventory_settings
from echocmr.model import stage
from echocmr.model.train import TrainSettings
from echocmr.simulate.settings import DEFAULTS as SIMULATE_DEFAULTS

REPO = Path(__file__).resolve().parents[3]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config/presets/paper.yaml").read_text())
UNSET = object()


def schema_default(*path: str):
    node = SCHEMA
    for key in path:
        node = node["properties"][key]
    return node["default"]


def leaf_defaults(node: dict, path: tuple = ()):
    """(path, default) of every schema key that is not an object of further keys."""
    for key, sub in (node.get("properties") or {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            yield from leaf_defaults(sub, (*path, key))
        elif "default" in sub:
            yield (*path, key), sub["default"]


def lookup(config: dict, path: tuple):
    for key in path:
        if not isinstance(config, dict) or key not in config:
            return UNSET
        config = config[key]
    return config


def test_schema_has_defaults():
    assert len(list(leaf_defaults(SCHEMA))) > 100


def test_paper_preset_restores_every_key_the_demo_changes():
    """Where config.yaml departs from a default, paper.yaml says the paper's value (so the paper
    preset never inherits a demo shortcut)."""
    unrestored = [".".join(path) for path, default in leaf_defaults(SCHEMA)
                  if lookup(CONFIG, path) not in (UNSET, default)
                  and lookup(PAPER, path) is UNSET]
    assert unrestored == []


def test_training_settings_fallbacks_are_the_schema_defaults():
    fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
    shared = [name for name in fields if name in SCHEMA["properties"]["model"]["properties"]]
    assert len(shared) > 10
    for name in shared:
        field = fields[name]
        value = field.default_factory() if field.default is dataclasses.MISSING else field.default
        assert value == schema_default("model", name), name
    assert stage.DEFAULT_THREADS == schema_default("model", "threads")


def test_simulate_fallbacks_are_the_schema_defaults():
    assert SIMULATE_DEFAULTS["n_patients"] == schema_default("simulate", "n_patients")
    # the whole section: tests/unit/simulate/test_simulate_cohort.py
    # (test_schema_defaults_match_library_defaults)


@pytest.mark.parametrize("key, value", [
    ("date_shift_max_days", lambda: keys.DATE_SHIFT_MAX_DAYS),
    ("date_shift_max_days", lambda: inventory_settings({"shards": 1}, "s").date_shift_max_days),
    ("date_shift_max_days", lambda: deid_settings({}, "s").max_shift_days),
    ("min_frames", lambda: inventory_settings({"shards": 1}, "s").min_frames),
    ("colour_fraction", lambda: inventory_settings({"shards": 1}, "s").colour_fraction),
    ("jpeg_quality", lambda: deid_settings({}, "s").jpeg_quality),
])
def test_ingest_fallbacks_are_the_schema_defaults(key, value):
    assert value() == schema_default("ingest", key)


def test_ingest_date_shift_has_one_value():
    assert keys.DATE_SHIFT_MAX_DAYS == schema_default("ingest", "date_shift_max_days") \
        == CONFIG["ingest"]["date_shift_max_days"]


def test_label_thresholds_fallback_is_the_schema_default():
    assert DEFAULT_THRESHOLDS == {k: schema_default("cohort", "thresholds", k)
                                  for k in DEFAULT_THRESHOLDS}


def test_secret_env_has_one_library_value():
    """The secret's variable: the schema's default, copied once in the library (`keys`)."""
    assert keys.SECRET_ENV == schema_default("secret", "env") == CONFIG["secret"]["env"]
