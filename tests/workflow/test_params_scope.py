"""Params carry what a rule reads (issue 14): every leaf key of the config schema changes some
rule's params (or is a documented structural key, tools.params_scope), and the expensive
rules' params change for their own keys only. The workflow is parsed in process with the
Snakemake API, once per key, without building a DAG (~0.3 s a parse)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml
from snakemake.api import SnakemakeApi
from snakemake.settings.enums import Quietness
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

from echocmr.model.smk import TRAIN_KEYS
from echocmr.views.smk import TRAIN_KEYS as VIEWS_TRAIN_KEYS
from tools.params_scope import CONFIG_RECORDS, STRUCTURAL_KEYS

REPO = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())

# Perturbations the schema alone cannot choose (arrays with a sum, nested tables, files).
ALTERNATIVES = {
    "cohort.split.fractions": [0.6, 0.2, 0.2],
    "cohort.period": {"start": "2000-01-01", "end": "2030-12-31"},
    "model.selection_tasks": ["wma", "lge"],
    "model.task_weights": {"wma": 0.5},
    "model.weights": "init.pt",
    "report.published.table2": {"wma": {"A4C": [0.8, 0.7, 0.9]}},
    "report.published.continuous": {"t1": {"r2": [0.05, None, None]}},
}
# Keys read only in another mode: perturbed on top of this overlay (base and perturbed alike).
CONTEXT = {"views.weights_layout": {"views": {"backend": "pretrained"}}}

# The expensive rules and the keys that may rerun them: their own, and nothing else.
EXPENSIVE = {
    "deidentify": {"ingest.date_shift_max_days", "ingest.jpeg_quality", "ingest.jpeg_blanking",
                   "secret.env", "secret.file"},
    "crop": "ingest.crop.",
    # cpu_pin: the processor pin changes the trained bits (echocmr.cpu_pin), so it retrains
    "views_fit": {"seed", "cpu_pin", *(f"views.{k}" for k in VIEWS_TRAIN_KEYS)},
    "train": {"seed", "cpu_pin", *(f"model.{k}" for k in TRAIN_KEYS if k != "mode")},
}
NETWORK_AND_INGEST = {"deidentify", "crop", "views_fit", "train", "predict", "inventory",
                      "views_classify"}


def leaf_keys(node: dict, prefix: str = "") -> dict[str, dict]:
    """Dotted leaf keys of the schema: objects with properties are walked, all else is a leaf."""
    leaves = {}
    for name, sub in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        if sub.get("type") == "object" and "properties" in sub:
            leaves.update(leaf_keys(sub, f"{key}."))
        else:
            leaves[key] = sub
    return leaves


def get(config: dict, key: str):
    for part in key.split("."):
        config = config[part]
    return config


def nested(key: str, value) -> dict:
    """{"a": {"b": value}} of "a.b": a config overlay setting one key."""
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def merged(*overlays: dict) -> dict:
    out: dict = {}
    for overlay in overlays:
        for k, v in overlay.items():
            out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
                else copy.deepcopy(v)
    return out


def nearby_number(node: dict, value):
    """A valid number next to `value`, within the schema's bounds."""
    types = node.get("type", [])
    step = 1 if "integer" in types else (0.01 if node.get("maximum", 2) <= 1 else 1.0)
    up = value + step
    if "maximum" in node and up > node["maximum"]:
        return value - step
    return up


def perturbed(key: str, node: dict, value, tmp_path: Path):
    """Another valid value of the key (schema-aware; ALTERNATIVES for the tricky ones)."""
    if key in ALTERNATIVES:
        return ALTERNATIVES[key]
    if key == "secret.file":
        secret = tmp_path / "secret.txt"
        secret.write_text("a test secret, not a real one\n")
        return str(secret)
    if "enum" in node:
        return next(v for v in node["enum"] if v != value)
    if isinstance(value, bool):
        return not value
    if value is None:  # a nullable key at null: a value of its type
        types = node.get("type", [])
        return 25 if "number" in types or "integer" in types else "perturbed"
    if isinstance(value, (int, float)):
        return nearby_number(node, value)
    if isinstance(value, list) and key == "report.published.table1":
        return [{**value[0], "n": value[0]["n"] + 1}, *value[1:]]
    if isinstance(value, list) and len(value) > node.get("minItems", 0):
        return value[:-1]  # segment lists, simulated views: one element fewer
    if isinstance(value, list):  # fixed length (model.layers): the first element grows
        return [value[0] + 1, *value[1:]]
    if isinstance(value, str):
        return value + "_other"
    raise AssertionError(f"no perturbation for {key}={value!r}: add one to ALTERNATIVES")


class WorkflowParams:
    """Each rule's non-callable params after parsing the workflow with a config overlay."""

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def parse(self, overlay: dict) -> tuple[dict, dict]:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            workflow = api.workflow(ResourceSettings(), ConfigSettings(config=overlay),
                                    snakefile=REPO / "Snakefile", workdir=self.workdir)._workflow
            params = {rule.name: {k: v for k, v in rule.params.items()
                                  if not callable(v) and k != CONFIG_RECORDS.get(rule.name)}
                      for rule in workflow.rules}
            return params, copy.deepcopy(dict(workflow.config))


def changed_rules(before: dict, after: dict) -> set[str]:
    return {rule for rule in before if before[rule] != after.get(rule)}


@pytest.fixture(scope="module")
def key_rules(tmp_path_factory) -> dict[str, set[str]]:
    """key -> the rules whose params change when the key changes (every non-structural key)."""
    tmp = tmp_path_factory.mktemp("params_scope")
    parser = WorkflowParams(tmp)
    base_cache: dict[str, tuple] = {}
    out = {}
    for key, node in leaf_keys(SCHEMA).items():
        if key in STRUCTURAL_KEYS:
            continue
        context = CONTEXT.get(key, {})
        ctx_id = repr(context)
        if ctx_id not in base_cache:
            base_cache[ctx_id] = parser.parse(context)
        base, config = base_cache[ctx_id]
        value = perturbed(key, node, get(config, key), tmp)
        try:
            after, _ = parser.parse(merged(context, nested(key, value)))
        except Exception as exc:  # name the key whose perturbation the workflow refused
            raise AssertionError(f"{key}={value!r}: {exc}"[:2000]) from None
        out[key] = changed_rules(base, after)
    return out


def test_every_schema_key_is_read_by_some_rules_params_or_is_structural(key_rules):
    unread = sorted(k for k, rules in key_rules.items() if not rules)
    assert not unread, (f"config keys no rule's params carry: {unread}; pass them to the rules "
                        "that read them, or list them in tools.params_scope.STRUCTURAL_KEYS")


def test_structural_keys_are_schema_keys():
    assert set(STRUCTURAL_KEYS) <= set(leaf_keys(SCHEMA))


@pytest.mark.parametrize("rule", sorted(EXPENSIVE))
def test_expensive_rules_change_only_for_their_own_keys(key_rules, rule):
    own = EXPENSIVE[rule]
    rerun_by = {k for k, rules in key_rules.items() if rule in rules}
    if isinstance(own, str):  # a key prefix: the rule's whole section
        assert rerun_by == {k for k in key_rules if k.startswith(own)}
    else:
        assert rerun_by == own


@pytest.mark.parametrize("section", ["model.fuse_min_val", "model.fusion_penalty", "evaluate.",
                                     "report."])
def test_fusion_statistics_and_report_keys_rerun_no_network_crop_or_deidentification(
        key_rules, section):
    keys = [k for k in key_rules if k.startswith(section)]
    assert keys
    for key in keys:
        assert not key_rules[key] & NETWORK_AND_INGEST, (key, key_rules[key])


def test_train_keys_are_the_training_settings():
    from echocmr.model.train import TrainSettings

    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    assert set(TRAIN_KEYS) == fields | {"mode"}


def test_every_script_rule_carries_the_code_fingerprint_of_its_script(tmp_path):
    from echocmr.codehash import ScriptFingerprints

    code = ScriptFingerprints(REPO)
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = api.workflow(ResourceSettings(), ConfigSettings(), snakefile=REPO / "Snakefile",
                                workdir=tmp_path)._workflow
        scripted = {rule.name: (rule.params.get("code"), Path(rule.script).name)
                    for rule in workflow.rules if rule.script}
    assert len(scripted) > 30
    missing = sorted(name for name, (fp, script) in scripted.items() if fp != code.of(script))
    assert not missing, f"rules without their script's code=CODE.of(...) param: {missing}"
